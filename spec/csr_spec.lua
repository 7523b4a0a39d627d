-- spec/csr_spec.lua: certbench.csr, PKCS#10 requests.
local csr = require "certbench.csr"
local pkey = require "certbench.pkey"
local name = require "certbench.name"

local key = pkey.generate("ec")

describe("csr.new", function()
  it("builds a request with every kind of field and reads it back", function()
    local r, err, warn = csr.new{
      subject = "/C=NO/O=net2/CN=vcs.example.com", key = key,
      san = { "DNS:vcs.example.com", "IP:192.0.2.1", "email:x@y", "URI:sip:x@y" },
      key_usage = { "digitalSignature", "keyEncipherment" },
      eku = { "serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.99" },
      extensions = { { name = "basicConstraints", value = "CA:FALSE", critical = true },
                     { oid = "1.2.3.4.5", value_der = "\5\0" } },
    }
    assert.truthy(r, err)
    assert.is_nil(warn)
    assert.equal(1, r:version())
    assert.equal("C = NO, O = net2, CN = vcs.example.com", r:subject():text())
    assert.is_true(r:verify())
    assert.equal("ecdsa-with-SHA256", r:signature_algorithm())
    assert.is_true(key:matches(r))
    assert.is_true(r:public_key():public_der() == key:public_der())
    local got = {}
    for _, n in ipairs(r:san()) do got[#got + 1] = n.type .. "=" .. n.value end
    assert.same({ "DNS=vcs.example.com", "IP=192.0.2.1", "email=x@y", "URI=sip:x@y" }, got)
    assert.same({ "digitalSignature", "keyEncipherment" }, r:key_usage())
    assert.same({ "serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.99" }, r:eku())
    assert.same({ ca = false, critical = true }, r:basic_constraints())
    local exts = r:extensions()
    assert.equal(5, #exts)
    local names = {}
    for _, e in ipairs(exts) do names[#names + 1] = e.name .. (e.critical and "!" or "") end
    assert.same({ "keyUsage!", "extendedKeyUsage", "subjectAltName", "basicConstraints!", "1.2.3.4.5" }, names)
    assert.equal("\5\0", exts[5].der)
    assert.matches("DNS:vcs.example.com", exts[3].text)
    assert.same({}, r:policies())
    assert.same({}, r:crl_distribution_points())
    assert.is_nil(r:ski())
  end)

  it("takes the table forms of subject and SAN", function()
    local r = assert(csr.new{ subject = { { "C", "NO" }, { CN = "t" } }, key = key,
                              san = { dns = { "a.example", "b.example" }, ip = "192.0.2.9",
                                      email = { "m@example" }, uri = { "https://example" } } })
    assert.equal("/C=NO/CN=t", r:subject():oneline())
    local kinds = {}
    for _, n in ipairs(r:san()) do kinds[n.type] = (kinds[n.type] or 0) + 1 end
    assert.same({ DNS = 2, IP = 1, email = 1, URI = 1 }, kinds)
    local n = assert(name.parse("/CN=obj"))
    assert.equal("CN=obj", tostring(assert(csr.new{ subject = n, key = key }):subject()))
    -- strings as comma lists
    local s = assert(csr.new{ subject = "/CN=s", key = key, key_usage = "digitalSignature, keyAgreement",
                              eku = "clientAuth" })
    assert.same({ "digitalSignature", "keyAgreement" }, s:key_usage())
    assert.same({ "clientAuth" }, s:eku())
  end)

  it("signs with sha384/sha512, warns for SHA-1, refuses MD5", function()
    assert.equal("ecdsa-with-SHA384", assert(csr.new{ subject = "/CN=x", key = key, digest = "sha384" }):signature_algorithm())
    assert.equal("ecdsa-with-SHA512", assert(csr.new{ subject = "/CN=x", key = key, digest = "SHA-512" }):signature_algorithm())
    local r, err, warn = csr.new{ subject = "/CN=x", key = key, digest = "sha1" }
    assert.truthy(r); assert.is_nil(err)
    assert.matches("SHA%-1", warn)
    assert.equal("ecdsa-with-SHA1", r:signature_algorithm())
    local m, merr = csr.new{ subject = "/CN=x", key = key, digest = "md5" }
    assert.is_nil(m); assert.matches("'md5' is not allowed", merr)
    local ed = pkey.generate("ed25519")
    local e = assert(csr.new{ subject = "/CN=ed", key = ed })
    assert.equal("ED25519", e:signature_algorithm())
    assert.is_true(e:verify())
  end)

  it("returns nil, err for bad values and raises for wrong types", function()
    local cases = {
      { { subject = "/CN=x", key = key, san = { "IP:300.1.1.1" } }, "not an IPv4 or IPv6" },
      { { subject = "/CN=x", key = key, san = { "bogus" } }, "TYPE:value" },
      { { subject = "/CN=x", key = key, key_usage = { "x" } }, "unknown key usage" },
      { { subject = "/CN=x", key = key, eku = { "x y" } }, "unknown extended key usage" },
      { { subject = "/CN=x", key = key, extensions = { { name = "noSuchExtension", value = "x" } } }, "bad extension" },
      { { subject = "CN=x,FOO=y", key = key }, "unknown attribute type 'FOO'" },
      { { subject = "/CN=x", key = key:public() }, "must be a private key" },
    }
    for _, c in ipairs(cases) do
      local r, err = csr.new(c[1])
      assert.is_nil(r, c[2])
      assert.matches(c[2], err)
    end
    assert.has_error(function() csr.new() end)
    assert.has_error(function() csr.new{ key = key } end)
    assert.has_error(function() csr.new{ subject = "/CN=x" } end)
    assert.has_error(function() csr.new{ subject = "/CN=x", key = "pem" } end)
    assert.has_error(function() csr.new{ subject = "/CN=x", key = key, san = 5 } end)
    assert.has_error(function() csr.new{ subject = "/CN=x", key = key, digest = 256 } end)
  end)
end)

describe("csr.load", function()
  local r = assert(csr.new{ subject = "/CN=load", key = key, san = { "DNS:load.example" } })

  it("reads PEM and DER, and writes both", function()
    local pem = r:to_pem()
    assert.matches("^%-%-%-%-%-BEGIN CERTIFICATE REQUEST%-%-%-%-%-\n", pem)
    local a = assert(csr.load(pem))
    local b = assert(csr.load(r:to_der()))
    assert.is_true(a == r)
    assert.is_true(b:equals(r))
    assert.equal(r:to_der(), a:to_der())
    local new = pem:gsub("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
    assert.is_true(assert(csr.load("text before\r\n" .. new:gsub("\n", "\r\n"))) == r)
  end)

  it("reads files and names them in messages", function()
    local h = require "helper"
    local d = h.tmpdir()
    h.write(d .. "/r.csr", r:to_pem())
    assert.is_true(assert(csr.load_file(d .. "/r.csr")) == r)
    h.write(d .. "/bad.csr", "junk")
    local x, err = csr.load_file(d .. "/bad.csr")
    assert.is_nil(x)
    assert.equal(d .. "/bad.csr: no certificate request in the data (neither PEM nor DER)", err)
    x, err = csr.load_file(d .. "/missing.csr")
    assert.is_nil(x); assert.matches("missing.csr: No such file", err)
  end)

  it("names what went wrong", function()
    local x, err = csr.load("nothing")
    assert.is_nil(x); assert.matches("no certificate request in the data", err)
    x, err = csr.load(key:to_pem())
    assert.is_nil(x); assert.matches("found PRIVATE KEY", err)
    x, err = csr.load(r:to_der():sub(1, 50))
    assert.is_nil(x); assert.matches("truncated DER", err)
    x, err = csr.load("-----BEGIN CERTIFICATE REQUEST-----\n@@@@\n-----END CERTIFICATE REQUEST-----\n")
    assert.is_nil(x); assert.matches("bad base64 in PEM block 1", err)
    assert.has_error(function() csr.load() end)
  end)

  it("detects a broken self-signature", function()
    local der = r:to_der()
    -- flip a bit in the last byte of the signature
    local bad = der:sub(1, -2) .. string.char(der:byte(-1) ~ 1)
    local x = assert(csr.load(bad))
    local ok, err = x:verify()
    assert.is_false(ok); assert.matches("csr:verify", err)
  end)

  it("prints text like openssl req -text", function()
    local t = r:text()
    for _, s in ipairs { "Certificate Request:", "Version: 1 (0x0)", "Subject: CN = load", "Public Key Algorithm: id-ecPublicKey",
                         "ASN1 OID: prime256v1", "NIST CURVE: P-256", "Requested Extensions:",
                         "X509v3 Subject Alternative Name:", "DNS:load.example", "Signature Algorithm: ecdsa-with-SHA256",
                         "Signature Value:" } do
      assert.truthy(t:find(s, 1, true), s)
    end
  end)

  it("raises on a closed request", function()
    local x = assert(csr.load(r:to_der()))
    x:close()
    x:close()
    local ok, err = pcall(x.subject, x)
    assert.is_false(ok); assert.matches("attempt to use a closed request", err)
    assert.equal("certbench.csr (closed)", tostring(x))
    assert.equal("certbench.csr: CN=load", tostring(r))
    assert.is_true(csr.is_csr(r))
    assert.is_false(csr.is_csr({}))
  end)
end)
