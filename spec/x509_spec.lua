-- spec/x509_spec.lua: certbench.x509, loading and reading certificates.
local h = require "helper"
local x509 = require "certbench.x509"

local corpus = h.corpus
local function cfile(p) return h.read(corpus .. "/" .. p) end

local GS = "chains/asn1crypto/globalsign_example_keys/"

describe("x509.load", function()
  it("reads a PEM certificate", function()
    local c = assert(x509.load(cfile(GS .. "rootCA.cer")))
    assert.equal(3, c:version())
    assert.equal("C = US, ST = MA, L = Boston, O = Example LLC, OU = Root CA, CN = Test Root CA", c:subject():text())
    assert.is_true(c:subject() == c:issuer())
  end)

  it("reads DER and gives back the same bytes", function()
    local der = cfile(GS .. "rootCA-der.cer")
    local c = assert(x509.load(der))
    assert.equal(der, c:to_der())
    local p = assert(x509.load(cfile(GS .. "rootCA.cer")))
    assert.is_true(c == p)
    assert.is_true(c:equals(p))
  end)

  it("writes PEM that loads back", function()
    local c = assert(x509.load(cfile(GS .. "SSL1.cer")))
    local pem = c:to_pem()
    assert.truthy(pem:match("^%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-\n"))
    assert.truthy(pem:match("\n%-%-%-%-%-END CERTIFICATE%-%-%-%-%-\n$"))
    for line in pem:gmatch("[^\n]+") do assert.is_true(#line <= 64) end
    assert.equal(c:to_der(), x509.load(pem):to_der())
  end)

  it("gives the serial as upper-case hex", function()
    local c = assert(x509.load(cfile("chains/lua-resty-openssl/Github.pem")))
    local out = h.openssl("x509 -noout -serial -in " .. h.q(corpus .. "/chains/lua-resty-openssl/Github.pem"))
    assert.equal(out:match("serial=(%x+)"), c:serial())
    assert.equal(c:serial():upper(), c:serial())
  end)

  it("skips text before the block (openssl x509 -text output)", function()
    local data = cfile("chains/lua-resty-openssl/Github.pem")
    assert.truthy(data:match("^Certificate:"))
    local c = assert(x509.load(data))
    assert.equal("github.com", c:subject():get("CN"))
  end)

  it("copes with CRLF, a BOM and Bag Attributes", function()
    local pem = x509.load(cfile(GS .. "SSL1.cer")):to_pem()
    local data = "\239\187\191Bag Attributes\r\n    localKeyID: 01 00 00 00 \r\nsubject=/CN=x\r\n"
      .. pem:gsub("\n", "\r\n")
    local c = assert(x509.load(data))
    assert.equal(pem, c:to_pem())
  end)

  it("reads base64 without the armor lines", function()
    local pem = x509.load(cfile(GS .. "SSL1.cer")):to_pem()
    local body = pem:gsub("%-%-%-%-%-[^\n]*\n", "")
    assert.equal(pem, assert(x509.load(body)):to_pem())
  end)

  it("names what went wrong", function()
    local c, err = x509.load("")
    assert.is_nil(c); assert.matches("no certificate in the data", err)
    c, err = x509.load("hello world, no certificate here!")
    assert.is_nil(c); assert.matches("no certificate in the data", err)
    c, err = x509.load(cfile(GS .. "rootCA.key"))
    assert.is_nil(c); assert.matches("no certificate in the data %(found .*PRIVATE KEY", err)
    local der = cfile(GS .. "rootCA-der.cer")
    c, err = x509.load(der:sub(1, 200))
    assert.is_nil(c); assert.matches("truncated DER", err)
    c, err = x509.load("-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n")
    assert.is_nil(c); assert.matches("bad base64 in PEM block 1", err)
    c, err = x509.load("-----BEGIN CERTIFICATE-----\nMIIBIjAN\n")
    assert.is_nil(c); assert.matches("PEM block 1 %(CERTIFICATE%) has no END line", err)
    assert.has_error(function() x509.load(nil) end)
  end)
end)

describe("x509.load_all", function()
  it("reads every certificate of a bundle and skips other blocks", function()
    local a = cfile(GS .. "SSL1.cer")
    local b = cfile(GS .. "IssuingCA.cer")
    local key = cfile(GS .. "SSL1.key")
    local list = assert(x509.load_all(key .. "\nsome text\n" .. a .. "\r\n" .. b))
    assert.equal(2, #list)
    assert.equal(x509.load(a):to_der(), list[1]:to_der())
    assert.equal(x509.load(b):to_der(), list[2]:to_der())
    assert.is_true(list[1]:issuer() == list[2]:subject())
  end)

  it("reads a single DER certificate as a list of one", function()
    local list = assert(x509.load_all(cfile(GS .. "rootCA-der.cer")))
    assert.equal(1, #list)
  end)

  it("names the bad block", function()
    local a = cfile(GS .. "SSL1.cer")
    local bad = "-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----\n"
    local list, err = x509.load_all(a .. bad)
    assert.is_nil(list)
    assert.equal("x509.load_all: bad base64 in PEM block 2", err)
    -- load stops at the first certificate and does not care
    assert.truthy(x509.load(a .. bad))
  end)
end)
