-- tests/interop/pkcs7_spec.lua: .p7b bundles both ways between certbench and the openssl CLI
-- (crl2pkcs7, pkcs7 -print_certs), and every corpus bundle against openssl's reading.
local h = require "support.helper"
local pkcs7 = require "certbench.pkcs7"
local x509 = require "certbench.x509"

local dir = h.tmpdir()
local function f(name) return dir .. "/" .. name end

local sh = h.sh

local corpus = h.data
local CHAIN = corpus .. "/chains/asn1crypto/globalsign_example_keys/"
local CRL = corpus .. "/crls/pem/crl.pem"

local function bundle()
  local text = h.read(CHAIN .. "SSL1.cer") .. h.read(CHAIN .. "IssuingCA.cer") .. h.read(CHAIN .. "rootCA.cer")
  h.write(f("bundle.pem"), text)
  return assert(x509.load_all(text))
end

local function subjects(out)
  local list = {}
  for s in out:gmatch("subject=([^\n]*)") do list[#list + 1] = s end
  return list
end

describe("openssl crl2pkcs7, read by certbench", function()
  it("-nocrl, DER and PEM, keeps the order", function()
    local want = bundle()
    for _, form in ipairs { "DER", "PEM" } do
      local out = f("b." .. form)
      sh("openssl crl2pkcs7 -nocrl -certfile " .. f("bundle.pem") .. " -outform " .. form .. " -out " .. out)
      local r = assert(pkcs7.read(out))
      assert.equal(3, #r.certs)
      for i = 1, 3 do assert.is_true(want[i] == r.certs[i]) end
      assert.same({}, r.crls)
      assert.is_false(r.signed)
    end
  end)

  it("with a CRL, which stays DER", function()
    local want = bundle()
    sh("openssl crl2pkcs7 -in " .. CRL .. " -certfile " .. f("bundle.pem") .. " -outform DER -out " .. f("crl.p7b"))
    sh("openssl crl -in " .. CRL .. " -outform DER -out " .. f("crl.der"))
    local r = assert(pkcs7.read(f("crl.p7b")))
    assert.equal(3, #r.certs)
    assert.is_true(want[1] == r.certs[1])
    assert.same({ h.read(f("crl.der")) }, r.crls)
  end)
end)

describe("certbench's p7b, read by openssl", function()
  it("openssl pkcs7 -print_certs lists the certificates in order, DER and PEM", function()
    local certs = bundle()
    local der = assert(pkcs7.build { certs = { certs[3], certs[1], certs[2] } })
    h.write(f("cb.p7b"), der)
    h.write(f("cb.pem"), pkcs7.to_pem(der))
    local want = {}
    for _, c in ipairs { certs[3], certs[1], certs[2] } do
      want[#want + 1] = c:subject():text()
    end
    for _, args in ipairs { "-inform DER -in " .. f("cb.p7b"), "-in " .. f("cb.pem") } do
      local out = sh("openssl pkcs7 -print_certs -noout " .. args)
      assert.same(want, subjects(out))
    end
  end)

  it("with a CRL: openssl sees it, and gives back the same DER", function()
    local certs = bundle()
    sh("openssl crl -in " .. CRL .. " -outform DER -out " .. f("crl.der"))
    local crl = h.read(f("crl.der"))
    h.write(f("cbcrl.p7b"), assert(pkcs7.build { certs = { certs[1] }, crls = { crl } }))
    local out = sh("openssl pkcs7 -inform DER -print_certs -noout -in " .. f("cbcrl.p7b"))
    assert.equal(1, #subjects(out))
    assert.matches("Certificate Revocation List", out)
    -- openssl re-encodes it: the CRL must survive byte for byte
    sh("openssl pkcs7 -inform DER -in " .. f("cbcrl.p7b") .. " -outform DER -out " .. f("again.p7b"))
    assert.same({ crl }, assert(pkcs7.read(f("again.p7b"))).crls)
  end)

  it("an empty bundle", function()
    h.write(f("empty.p7b"), assert(pkcs7.build {}))
    local out = sh("openssl pkcs7 -inform DER -print -noout -in " .. f("empty.p7b"))
    assert.matches("pkcs7%-signedData", out)
  end)
end)

describe("corpus p7b, compared with openssl", function()
  local out = h.run("cd " .. h.q(corpus) .. " && find p7b -type f | sort")
  for path in out:gmatch("[^\n]+") do
    it(path, function()
      local full = corpus .. "/" .. path
      local inform = path:match("%.pem$") and "PEM" or "DER"
      local o = sh("openssl pkcs7 -print_certs -noout -inform " .. inform .. " -in " .. h.q(full))
      local want = subjects(o)
      local r = assert(pkcs7.read(full))
      assert.equal(#want, #r.certs)
      assert.is_true(#want > 0)
      for i, c in ipairs(r.certs) do
        -- openssl's one-line form, as x509:subject():text() writes it
        assert.equal(want[i], c:subject():text())
      end
    end)
  end
end)
