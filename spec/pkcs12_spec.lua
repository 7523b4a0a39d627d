-- spec/pkcs12_spec.lua: certbench.pkcs12, parse and build, every error path. The PFX files of
-- the test data (tests/data) are read with their expected content here; tests/interop/pkcs12_spec.lua
-- does the openssl/keytool/certtool directions.
local h = require "support.helper"
local A = require "support.asn1"
local p12 = require "certbench.pkcs12"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local digest = require "certbench.digest"
local secret = require "certbench.secret"
local memory = require "support.memory"

local corpus = h.data
local function cfile(p) return h.read(corpus .. "/" .. p) end
local PFX = "pfx/"

-- the RustCrypto example*.pfx files all hold this key and certificate
local function rust_expected()
  return pkey.load(cfile(PFX .. "rustcrypto/expected/key.der")), x509.load(cfile(PFX .. "rustcrypto/expected/cert.der"))
end

local function sha1_hex(der) return digest.hex(digest.sha1(der)) end

describe("pkcs12.parse", function()
  it("reads OpenSSL 3's defaults (PBES2 AES-256, PBKDF2-SHA256, SHA-256 MAC) with an empty password", function()
    local key, cert = rust_expected()
    local r, err = p12.parse(cfile(PFX .. "rustcrypto/example.pfx"), "")
    assert.is_nil(err)
    assert.equal(key:to_der(), r.key:to_der())
    assert.equal(cert:to_der(), r.cert:to_der())
    assert.same({}, r.chain)
    assert.same({
      mac = "sha256", mac_iterations = 2048, mac_verified = true,
      key_encryption = "PBES2/PBKDF2-SHA256/AES-256-CBC", key_iterations = 2048,
      cert_encryption = "PBES2/PBKDF2-SHA256/AES-256-CBC", cert_iterations = 2048,
      password_form = "UTF-16",
    }, r.algorithms)
    assert.equal(2, #r.bags)
    assert.equal("cert", r.bags[1].type)
    assert.equal("certBag", r.bags[1].bag_type)
    assert.equal("key", r.bags[2].type)
    assert.equal("pkcs8ShroudedKeyBag", r.bags[2].bag_type)
    -- OpenSSL's localKeyID is the SHA-1 of the certificate
    assert.equal(sha1_hex(cert:to_der()), r.bags[1].local_key_id)
    assert.equal(r.bags[1].local_key_id, r.bags[2].local_key_id)
    assert.equal(2, r.bags[1].key_bag)
    assert.is_true(r.bags[1].object == r.cert)
    assert.is_true(r.bags[2].object == r.key)
    assert.same({}, r.warnings)
  end)

  it("treats nil like the empty password", function()
    local r = assert(p12.parse(cfile(PFX .. "rustcrypto/example.pfx")))
    assert.truthy(r.key)
    assert.equal("UTF-16", r.algorithms.password_form)
  end)

  it("opens a PFX whose empty password is the absent one (Windows), with \"\" and with nil", function()
    for _, pw in ipairs { "", false } do
      local r, err = p12.parse(cfile(PFX .. "go-pkcs12/windows_azure_tools.p12"), pw or nil)
      assert.is_nil(err)
      assert.equal("absent", r.algorithms.password_form)
      assert.equal("CN=Windows Azure Tools", r.cert:subject():rfc4514())
      assert.is_true(r.key:matches(r.cert))
      assert.equal("pbeWithSHAAnd40BitRC2-CBC", r.algorithms.cert_encryption)
      assert.equal("pbeWithSHAAnd3-KeyTripleDES-CBC", r.algorithms.key_encryption)
      assert.equal(1, r.algorithms.mac_iterations)
    end
  end)

  it("takes the password as a certbench.secret", function()
    local s = secret.new("1234")
    local r = assert(p12.parse(cfile(PFX .. "rustcrypto/example2.pfx"), s))
    assert.equal("none", r.algorithms.cert_encryption)
    s:close()
    assert.has_error(function() p12.parse(cfile(PFX .. "rustcrypto/example2.pfx"), s) end)
  end)

  it("says wrong password, apart from other failures", function()
    local r, err, code = p12.parse(cfile(PFX .. "rustcrypto/example2.pfx"), "12345", { name = "x.pfx" })
    assert.is_nil(r)
    assert.equal("bad_password", code)
    assert.equal("x.pfx: wrong password (the sha256 MAC does not verify)", err)
  end)

  it("says a password is needed when the empty one fails", function()
    local r, err, code = p12.parse(cfile(PFX .. "rustcrypto/example2.pfx"), "")
    assert.is_nil(r)
    assert.equal("bad_password", code)
    assert.matches("a password is needed", err)
    assert.matches("tried as \"\" and as absent", err, 1, true)
  end)

  it("finds a wrong password without a MAC by the decryption", function()
    local r = assert(p12.parse(cfile(PFX .. "rustcrypto/example5.pfx"), "1234"))
    assert.is_nil(r.algorithms.mac)
    assert.is_nil(r.algorithms.mac_verified)
    local r2, err, code = p12.parse(cfile(PFX .. "rustcrypto/example5.pfx"), "4321")
    assert.is_nil(r2)
    assert.equal("bad_password", code)
    assert.matches("wrong password: .* does not decrypt %(.*no MAC%)", err)
    local _, err2 = p12.parse(cfile(PFX .. "rustcrypto/example5.pfx"))
    assert.matches("empty password.*a password is needed", err2)
  end)

  it("chooses the certificate by key, lists the rest in file order, and every key", function()
    local r = assert(p12.parse(cfile(PFX .. "go-pkcs12/example_signed_certificates_chain.p12"), "password"))
    assert.equal(3, #r.keys)
    assert.equal(9, #r.bags)
    assert.equal(r.keys[1], r.key)
    assert.is_true(r.key:matches(r.cert))
    assert.equal("example-ca", r.bags[1].friendly_name)
    assert.equal("CN=example-ca,OU=example-ca,O=example-ca,L=example-ca,ST=example-ca,C=de",
                 r.cert:subject():rfc4514())
    assert.equal(5, #r.chain)
    -- bags 4..9 are certificates; the chosen one is bag 4, the chain the others in order
    local expect = {}
    for i = 5, 9 do expect[#expect + 1] = r.bags[i].object end
    for i, c in ipairs(expect) do assert.is_true(c == r.chain[i]) end
    assert.equal(3, r.bags[7].key_bag)
    assert.equal("example-server (example-intermediate-ca)", r.bags[7].friendly_name)
  end)

  it("reads certificate-only and key-only files", function()
    local key, cert = rust_expected()
    local r = assert(p12.parse(cfile(PFX .. "rustcrypto/example15.pfx"), "1234"))
    assert.is_nil(r.key)
    assert.is_nil(r.cert)
    assert.equal(1, #r.chain)
    assert.equal(cert:to_der(), r.chain[1]:to_der())
    assert.is_nil(r.algorithms.key_encryption)
    r = assert(p12.parse(cfile(PFX .. "rustcrypto/example16.pfx"), "1234"))
    assert.equal(key:to_der(), r.key:to_der())
    assert.is_nil(r.cert)
    assert.same({}, r.chain)
    assert.is_nil(r.algorithms.cert_encryption)
  end)

  it("reads an unencrypted keyBag", function()
    local r = assert(p12.parse(cfile(PFX .. "rustcrypto/example7.pfx"), "1234"))
    assert.equal("keyBag", r.bags[#r.bags].bag_type)
    assert.equal("none", r.algorithms.key_encryption)
    assert.is_nil(r.algorithms.key_iterations)
    assert.is_true(r.key:matches(r.cert))
    assert.equal(1, #r.chain)
  end)

  it("reports Windows' attributes", function()
    local r = assert(p12.parse(cfile(PFX .. "rustcrypto/ValidCertificatePathTest1EE_windows_aes.p12.pfx"), "password"))
    local k = r.bags[1]
    assert.equal("key", k.type)
    assert.equal("01000000", k.local_key_id)
    assert.equal("Valid Certificate Path Test1 EE", k.friendly_name)
    assert.same({ { oid = "1.3.6.1.4.1.311.17.1", name = "msCSPName",
                    value = "Microsoft Enhanced Cryptographic Provider v1.0" } }, k.attributes)
  end)

  it("stops at a KDF iteration count over the limit", function()
    local r, err, code = p12.parse(cfile(PFX .. "rustcrypto/example10.pfx"), "1234", { max_iterations = 100000 })
    assert.is_nil(r)
    assert.equal("unsupported", code)
    assert.matches("600000 iterations, over the limit of 100000", err)
    assert.truthy(p12.parse(cfile(PFX .. "rustcrypto/example10.pfx"), "1234"))
  end)

  it("refuses a MAC it cannot compute, unless asked to read without it", function()
    local f = cfile(PFX .. "rustcrypto/example11.pfx")
    local r, err, code = p12.parse(f, "1234")
    assert.is_nil(r)
    assert.equal("unsupported", code)
    assert.matches("BLAKE2b%-512", err)
    r = assert(p12.parse(f, "1234", { verify_mac = false }))
    assert.equal("BLAKE2b-512", r.algorithms.mac)
    assert.is_false(r.algorithms.mac_verified)
    assert.matches("not verified", r.warnings[1])
    assert.is_true(r.key:matches(r.cert))
    -- the password is still checked, by the decryption
    local r2, _, code2 = p12.parse(f, "nope", { verify_mac = false })
    assert.is_nil(r2)
    assert.equal("bad_password", code2)
  end)

  it("verifies RFC 9579 PBMAC1 and rejects its invalid vectors", function()
    for _, n in ipairs { "a1", "a2", "a3" } do
      local r, err = p12.parse(cfile(PFX .. "go-pkcs12/rfc9579-" .. n .. ".txt"), "1234")
      assert.is_nil(err)
      assert.matches("^PBMAC1/PBKDF2%-SHA%d+/HMAC%-SHA%d+$", r.algorithms.mac)
      assert.is_true(r.key:matches(r.cert))
    end
    assert.equal("PBMAC1/PBKDF2-SHA512/HMAC-SHA512",
                 p12.parse(cfile(PFX .. "go-pkcs12/rfc9579-a3.txt"), "1234").algorithms.mac)
    local expect = { a4 = "bad_password", a5 = "bad_password", a6 = "malformed" }
    for n, code in pairs(expect) do
      local r, _, c = p12.parse(cfile(PFX .. "go-pkcs12/rfc9579-" .. n .. ".txt"), "1234")
      assert.is_nil(r)
      assert.equal(code, c)
    end
  end)

  it("rejects a PBMAC1 key too short to protect anything, whatever the password", function()
    for _, pw in ipairs { "realpassword", "fakepassword" } do
      local r, err, code = p12.parse(cfile(PFX .. "go-pkcs12/pbmac1-short-key-bypass.txt"), pw)
      assert.is_nil(r)
      assert.equal("malformed", code)
      assert.matches("key length of 1 bytes", err)
    end
  end)

  it("reads BER: indefinite lengths and chunked strings", function()
    local key, cert = rust_expected()
    -- the MAC covers the AuthenticatedSafe bytes, so only the outside is re-encoded here ...
    local r = assert(p12.parse(A.berify(cfile(PFX .. "rustcrypto/example.pfx"), 100), ""))
    assert.equal(cert:to_der(), r.cert:to_der())
    -- ... and everything in a file without a MAC, encrypted content included
    r = assert(p12.parse(A.berify(cfile(PFX .. "rustcrypto/example5.pfx"), 50, true), "1234"))
    assert.equal(key:to_der(), r.key:to_der())
    assert.equal(cert:to_der(), r.cert:to_der())
  end)

  it("keeps CRL, secret and unknown bags as DER, with a note, and reads the rest", function()
    local key, cert = rust_expected()
    local crl_bag = A.seq(A.oid(A.BAG .. "4"),
      A.explicit(0, A.seq(A.oid(A.X509_CRL), A.explicit(0, A.octets("CRL-DER")))))
    local secret_bag = A.seq(A.oid(A.BAG .. "5"), A.explicit(0, A.seq(A.oid("1.2.3.4"), A.explicit(0, A.octets("s")))))
    local odd_bag = A.seq(A.oid("1.2.3.4.5"), A.explicit(0, A.octets("x")))
    local cert_bag = A.seq(A.oid(A.BAG .. "3"),
      A.explicit(0, A.seq(A.oid(A.X509_CERT), A.explicit(0, A.octets(cert:to_der())))),
      A.set(A.seq(A.oid("1.2.840.113549.1.9.20"), A.set(A.bmp("leaf")))))
    local key_bag = A.seq(A.oid(A.BAG .. "1"), A.explicit(0, key:to_der()))
    -- a safeContentsBag nests SafeContents
    local nested = A.seq(A.oid(A.BAG .. "6"), A.explicit(0, A.seq(key_bag)))
    local pfx = A.pfx_from_safes { A.seq(crl_bag, cert_bag, secret_bag, odd_bag), A.seq(nested) }
    local r = assert(p12.parse(pfx, "anything"))
    assert.equal(5, #r.bags)
    assert.equal("crl", r.bags[1].type)
    assert.equal("crlBag", r.bags[1].bag_type)
    assert.equal("CRL-DER", r.bags[1].der)
    assert.matches("unsupported bag: crlBag", r.bags[1].problem)
    assert.equal("leaf", r.bags[2].friendly_name)
    assert.equal("secret", r.bags[3].type)
    assert.matches("unsupported bag: secretBag", r.bags[3].problem)
    assert.equal("unknown", r.bags[4].type)
    assert.equal("1.2.3.4.5", r.bags[4].bag_type)
    assert.equal("key", r.bags[5].type)
    assert.equal(key:to_der(), r.key:to_der())
    assert.is_true(r.cert == r.bags[2].object)
    assert.is_nil(r.algorithms.mac)
    assert.equal("none", r.algorithms.key_encryption)
    assert.equal(3, #r.warnings)
    assert.matches("^bag 1: unsupported bag: crlBag", r.warnings[1])
  end)

  it("keeps a certificate that does not parse as DER, with a note", function()
    local bad = A.seq(A.oid(A.BAG .. "3"), A.explicit(0, A.seq(A.oid(A.X509_CERT), A.explicit(0, A.octets("\48\3\1\1\1")))))
    local r = assert(p12.parse(A.pfx_from_safes { A.seq(bad) }, ""))
    assert.equal("cert", r.bags[1].type)
    assert.is_nil(r.bags[1].object)
    assert.matches("does not parse", r.bags[1].problem)
    assert.same({}, r.chain)
  end)

  it("notes a private key it cannot read", function()
    local pki = A.seq(A.int(0), A.seq(A.oid("1.3.101.113")), A.octets(A.octets(("\1"):rep(57)))) -- Ed448
    local r = assert(p12.parse(A.pfx_from_safes { A.seq(A.seq(A.oid(A.BAG .. "1"), A.explicit(0, pki))) }))
    assert.is_nil(r.key)
    assert.matches("algorithm 1.3.101.113 cannot be read", r.bags[1].problem)
  end)

  it("tells not-a-PFX, truncated, malformed and unsupported apart", function()
    local good = cfile(PFX .. "rustcrypto/example.pfx")
    local cases = {
      { "", "not_pfx", "empty input" },
      { "hello world, this is text\n", "not_pfx", "not DER" },
      { cfile("chains/asn1crypto/globalsign_example_keys/rootCA.cer"), "not_pfx", "PEM text %(BEGIN CERTIFICATE%)" },
      { cfile("chains/asn1crypto/globalsign_example_keys/rootCA-der.cer"), "not_pfx", "a certificate" },
      { cfile("p7b/pkits/pkits_ee.p7b"), "not_pfx", "PKCS#7" },
      { cfile(PFX .. "rustcrypto/expected/key.der"), "not_pfx", "version 0" },
      { good:sub(1, 1000), "truncated", "1000 bytes where its header announces" },
      { good:sub(1, 1), "truncated", "truncated" },
      { A.berify(good):sub(1, -30), "truncated", "truncated or corrupt" },
      { A.seq(A.int(3), A.seq(A.oid(A.DATA), A.explicit(0, A.octets("junk")))), "malformed", "AuthenticatedSafe" },
      { A.seq(A.int(3), A.seq(A.oid(A.DATA), A.explicit(0, A.octets(A.seq(A.seq(A.oid(A.DATA))))))), "malformed", "ContentInfo 1" },
      { A.seq(A.int(3), A.seq(A.oid(A.DATA), A.explicit(0, A.octets(A.seq())))) .. "", nil },
      { A.seq(A.int(3), A.seq(A.oid(A.DATA), A.explicit(0, A.octets(A.seq()))), A.seq(A.int(1))), "malformed", "MacData" },
      { A.seq(A.int(3), A.seq(A.oid(A.SIGNED_DATA), A.explicit(0, A.seq()))), "unsupported", "public%-key integrity mode" },
      { A.seq(A.int(3), A.seq(A.oid("1.2.3"), A.explicit(0, A.seq()))), "malformed", "content type 1.2.3" },
      { A.pfx_from_safes { A.seq(A.seq(A.oid(A.BAG .. "1"))) }, "malformed", "SafeBag" },
    }
    for i, case in ipairs(cases) do
      local r, err, code = p12.parse(case[1], "1234")
      if case[2] == nil then
        assert(r, "case " .. i .. ": " .. tostring(err))
        assert.same({}, r.bags)
      else
        assert.is_nil(r, "case " .. i)
        assert.equal(case[2], code, "case " .. i .. ": " .. err)
        assert.matches(case[3], err, nil, false, "case " .. i)
        assert.matches("^pfx: ", err)
      end
    end
  end)

  it("says which encryption it does not know", function()
    local algid = A.seq(A.oid("1.2.3.4.5"), A.seq(A.octets("salt"), A.int(1)))
    local epki = A.seq(algid, A.octets(("x"):rep(16)))
    local pfx = A.pfx_from_safes { A.seq(A.seq(A.oid(A.BAG .. "2"), A.explicit(0, epki))) }
    local r, err, code = p12.parse(pfx, "x")
    assert.is_nil(r)
    assert.equal("unsupported", code)
    assert.matches("encryption algorithm 1.2.3.4.5 is not supported", err)
    -- and PBES2 with a cipher it does not know
    local pbes2 = A.seq(A.oid("1.2.840.113549.1.5.13"), A.seq(
      A.seq(A.oid("1.2.840.113549.1.5.12"), A.seq(A.octets("saltsalt"), A.int(1))),
      A.seq(A.oid("1.2.643.7.1.1.5.1"), A.octets(("i"):rep(16)))))
    pfx = A.pfx_from_safes { A.seq(A.seq(A.oid(A.BAG .. "2"), A.explicit(0, A.seq(pbes2, A.octets(("x"):rep(16)))))) }
    r, err, code = p12.parse(pfx, "x")
    assert.equal("unsupported", code)
    assert.matches("PBES2 with cipher 1.2.643.7.1.1.5.1, which is not supported", err)
  end)

  it("reads base64 text", function()
    local b64 = cfile(PFX .. "go-pkcs12/rfc9579-a1.txt")
    assert.is_nil(b64:find("\48\130", 1, true))
    assert.truthy(p12.parse(b64, "1234").key)
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() p12.parse(nil, "x") end, "pkcs12.parse: data must be a string, not nil")
    assert.has_error(function() p12.parse({}, "x") end)
    assert.has_error(function() p12.parse("x", {}) end)
    assert.has_error(function() p12.parse("x", "x", { max_iterations = 0 }) end)
  end)

  it("reads files and names them in messages", function()
    local r = assert(p12.read(corpus .. "/" .. PFX .. "rustcrypto/example.pfx", ""))
    assert.truthy(r.key)
    local _, err = p12.read(corpus .. "/" .. PFX .. "rustcrypto/example.pfx", "wrong")
    assert.matches("example.pfx: wrong password", err, 1, true)
    local r2, err2 = p12.read("/nonexistent/x.pfx", "")
    assert.is_nil(r2)
    assert.matches("/nonexistent/x.pfx", err2, 1, true)
  end)
end)

describe("pkcs12 corpus", function()
  -- every PFX of tests/data/pfx with its password and what it must contain
  local ROOT = { pkits = "pkits/pkcs12/", rust = PFX .. "rustcrypto/", go = PFX .. "go-pkcs12/",
                 osc = PFX .. "oscrypto/" }
  local function osc_expected(name)
    return { key = ROOT.osc .. "expected/" .. name .. ".key", cert = ROOT.osc .. "expected/" .. name:gsub("pkcs8%-", "") .. ".crt" }
  end
  local P3 = "pbeWithSHAAnd3-KeyTripleDES-CBC"
  local R40 = "pbeWithSHAAnd40BitRC2-CBC"
  local R128 = "pbeWithSHAAnd128BitRC2-CBC"
  local AES = function(prf, bits) return ("PBES2/PBKDF2-%s/AES-%d-CBC"):format(prf, bits) end
  local RKEY = { key = ROOT.rust .. "expected/key.der", cert = ROOT.rust .. "expected/cert.der" }
  local files = {
    { ROOT.pkits .. "ValidCertificatePathTest1EE.p12", "password", mac = "sha1", key = P3, cert = P3, iter = 2048 },
    { ROOT.osc .. "test-aes128.p12", "password123", mac = "sha1", key = P3, cert = R40, expect = osc_expected("test-pkcs8-der") },
    { ROOT.osc .. "test-aes256.p12", "password123", mac = "sha1", key = P3, cert = R40, expect = osc_expected("test-pkcs8-der") },
    { ROOT.osc .. "test-rc2.p12", "password123", mac = "sha1", key = R40, cert = R40, expect = osc_expected("test-pkcs8-der") },
    { ROOT.osc .. "test-tripledes.p12", "password123", mac = "sha1", key = P3, cert = R40, expect = osc_expected("test-pkcs8-der") },
    { ROOT.osc .. "test-tripledes-blank.p12", "", mac = "sha1", key = P3, cert = R40, expect = osc_expected("test-pkcs8-der") },
    { ROOT.osc .. "test-dsa.p12", "password123", mac = "sha1", key = P3, cert = R40, dsa = true },
    { ROOT.osc .. "test-third.p12", "password123", mac = "sha1", key = P3, cert = R40, chain = 2,
      expect = { key = ROOT.osc .. "expected/test-third-der.key", cert = ROOT.osc .. "expected/test-third-der.crt",
                 chain = { ROOT.osc .. "expected/test-inter-der.crt" } } },
    { ROOT.go .. "windows_azure_tools.p12", "", mac = "sha1", key = P3, cert = R40, iter = 2000, mac_iter = 1, form = "absent" },
    { ROOT.go .. "testing_at_example_com.p12", "", mac = "sha1", key = P3, cert = R40 },
    { ROOT.go .. "example_com_aescbc128.p12", "rHyQTJsubhfxcpH5JttyilHE6BBsNoZp", mac = "sha256", key = AES("SHA256", 128), cert = AES("SHA256", 128) },
    { ROOT.go .. "example_com_aescbc192.p12", "password", mac = "sha256", key = AES("SHA256", 192), cert = AES("SHA256", 192) },
    { ROOT.go .. "ad_standalone_com_aescbc256.p12", "password", mac = "sha256", key = AES("SHA256", 256), cert = AES("SHA256", 256), iter = 2000 },
    { ROOT.go .. "example_signed_certificates_chain.p12", "password", mac = "sha256", key = AES("SHA256", 256), cert = AES("SHA256", 256), iter = 10000, chain = 5 },
    { ROOT.go .. "rfc9579-a1.txt", "1234", mac = "PBMAC1/PBKDF2-SHA256/HMAC-SHA256", key = AES("SHA256", 256), cert = AES("SHA256", 256) },
    { ROOT.go .. "rfc9579-a2.txt", "1234", mac = "PBMAC1/PBKDF2-SHA512/HMAC-SHA256", key = AES("SHA256", 256), cert = AES("SHA256", 256) },
    { ROOT.go .. "rfc9579-a3.txt", "1234", mac = "PBMAC1/PBKDF2-SHA512/HMAC-SHA512", key = AES("SHA256", 256), cert = AES("SHA256", 256) },
    { ROOT.go .. "rfc9579-a4.txt", "1234", fails = "bad_password" },
    { ROOT.go .. "rfc9579-a5.txt", "1234", fails = "bad_password" },
    { ROOT.go .. "rfc9579-a6.txt", "1234", fails = "malformed" },
    { ROOT.go .. "pbmac1-short-key-bypass.txt", "realpassword", fails = "malformed" },
    { PFX .. "lua-resty-openssl/badssl.com-client.p12", "badssl.com", mac = "sha1", key = P3, cert = R40 },
    { ROOT.rust .. "ValidCertificatePathTest1EE_windows_aes.p12.pfx", "password", mac = "sha256", key = AES("SHA256", 256), cert = AES("SHA256", 256), iter = 2000 },
    { ROOT.rust .. "ValidCertificatePathTest1EE_windows_tdes.p12.pfx", "password", mac = "sha1", key = P3, cert = P3, iter = 2000 },
    { ROOT.rust .. "ValidCertificatePathTest1EE_macos.p12", "password", mac = "sha1", key = P3, cert = R40, mac_iter = 1 },
    { ROOT.rust .. "ValidCertificatePathTest1EE_firefox.p12", "password", mac = "sha1", key = P3, cert = R40, iter = 600000 },
    { ROOT.rust .. "example.pfx", "", mac = "sha256", key = AES("SHA256", 256), cert = AES("SHA256", 256), expect = RKEY },
    { ROOT.rust .. "example2.pfx", "1234", mac = "sha256", key = AES("SHA256", 256), cert = "none", expect = RKEY },
    { ROOT.rust .. "example3.pfx", "1234", mac = "sha256", key = AES("SHA256", 128), cert = "none", expect = RKEY },
    { ROOT.rust .. "example4.pfx", "1234", mac = "sha1", key = AES("SHA1", 256), cert = AES("SHA1", 192), expect = RKEY },
    { ROOT.rust .. "example5.pfx", "1234", mac = nil, key = AES("SHA1", 256), cert = AES("SHA1", 192), expect = RKEY },
    { ROOT.rust .. "example6.pfx", "1234", mac = "sha256", key = AES("SHA256", 256), cert = AES("SHA256", 256), iter = 1, expect = RKEY },
    { ROOT.rust .. "example7.pfx", "1234", mac = "sha256", key = "none", cert = "none", chain = 1 },
    { ROOT.rust .. "example8.pfx", "1234", mac = "sha384", key = AES("SHA1", 256), cert = AES("SHA1", 192), expect = RKEY },
    { ROOT.rust .. "example9.pfx", "1234", mac = "sha512", key = AES("SHA1", 256), cert = AES("SHA1", 256), expect = RKEY },
    { ROOT.rust .. "example10.pfx", "1234", mac = "sha256", key = AES("SHA256", 256), cert = AES("SHA256", 192), iter = 600000, expect = RKEY },
    { ROOT.rust .. "example11.pfx", "1234", fails = "unsupported", why = "BLAKE2b-512 MAC" },
    { ROOT.rust .. "example12.pfx", "1234", mac = "sha256", key = AES("SHA256", 256), cert = AES("SHA256", 192), iter = 1, mac_iter = 2048, expect = RKEY },
    { ROOT.rust .. "example13.pfx", "1234", mac = "sha256", key = AES("SHA1", 256), cert = AES("SHA1", 192), mac_iter = 1, expect = RKEY },
    { ROOT.rust .. "example14.pfx", "1234", mac = "sha1", key = AES("SHA1", 256), cert = P3, expect = RKEY },
    { ROOT.rust .. "example15.pfx", "1234", mac = "sha1", cert = AES("SHA1", 192), nokey = true, chain = 1 },
    { ROOT.rust .. "example16.pfx", "1234", mac = "sha1", key = AES("SHA1", 256), nocert = true },
    { ROOT.rust .. "example17.pfx", "1234", mac = "sha256", key = AES("SHA256", 256), cert = AES("SHA256", 256), expect = RKEY },
    { ROOT.rust .. "test-rc2-128-iter1.p12", "hunter2", mac = "sha1", key = R128, cert = R128, iter = 1, pki_sha256 = "CCDF40F8D0881C5AA3CB9C563399F5FB590F7615EF7DA4D057031BC809C9190D" },
    { ROOT.rust .. "test-rc2-128-iter2048.p12", "hunter2", mac = "sha1", key = R128, cert = R128, pki_sha256 = "CCDF40F8D0881C5AA3CB9C563399F5FB590F7615EF7DA4D057031BC809C9190D" },
    { ROOT.rust .. "test-rc2-128-iter100000.p12", "hunter2", mac = "sha1", key = R128, cert = R128, iter = 100000, pki_sha256 = "CCDF40F8D0881C5AA3CB9C563399F5FB590F7615EF7DA4D057031BC809C9190D" },
    { ROOT.rust .. "test-rc2-40-iter2048.p12", "hunter2", mac = "sha1", key = R40, cert = R40, pki_sha256 = "CCDF40F8D0881C5AA3CB9C563399F5FB590F7615EF7DA4D057031BC809C9190D" },
    { ROOT.rust .. "pyca-cert-rc2-key-3des.p12", "cryptography", mac = "sha1", key = P3, cert = R40, ec = true },
  }

  it("covers every PFX of the corpus", function()
    local listed = {}
    for _, f in ipairs(files) do listed[f[1]] = true end
    local out = h.run("cd " .. h.q(corpus) .. " && find pfx pkits/pkcs12 -type f ! -path '*/expected/*' | sort")
    local missing = {}
    for p in out:gmatch("[^\n]+") do
      if not listed[p] then missing[#missing + 1] = p end
    end
    assert.same({}, missing)
  end)

  for _, f in ipairs(files) do
    it("reads " .. f[1], function()
      local r, err, code = p12.parse(cfile(f[1]), f[2])
      if f.fails then
        assert.is_nil(r)
        assert.equal(f.fails, code, err)
        return
      end
      assert(r, err)
      local a = r.algorithms
      assert.equal(f.mac, a.mac)
      if f.mac then assert.equal(f.mac_iter or f.iter or 2048, a.mac_iterations) end
      assert.equal(f.key, a.key_encryption)
      assert.equal(f.cert, a.cert_encryption)
      if f.key and f.key ~= "none" then assert.equal(f.iter or 2048, a.key_iterations) end
      if f.cert and f.cert ~= "none" then assert.equal(f.iter or 2048, a.cert_iterations) end
      assert.equal(f.form or "UTF-16", a.password_form)
      assert.equal(f.chain or 0, #r.chain)
      if f.nokey then assert.is_nil(r.key) else assert.truthy(r.key) end
      if f.nokey or f.nocert then
        assert.is_nil(r.cert)
      else
        assert.truthy(r.cert)
        assert.is_true(f.dsa or r.key:matches(r.cert))
      end
      if f.dsa then assert.equal("dsa", r.key:type()) end
      if f.ec then assert.equal("ec", r.key:type()) end
      if f.expect then
        assert.equal(pkey.load(cfile(f.expect.key)):to_der(), r.key:to_der())
        assert.equal(x509.load(cfile(f.expect.cert)):to_der(), r.cert:to_der())
        for i, c in ipairs(f.expect.chain or {}) do assert.equal(cfile(c), r.chain[i]:to_der()) end
      end
      if f.pki_sha256 then assert.equal(f.pki_sha256, digest.hex(digest.sha256(r.key:to_der()))) end
      assert.same({}, r.warnings)
    end)
  end
end)

describe("pkcs12.build", function()
  local key, cert = rust_expected()
  local third_key = pkey.load(cfile(PFX .. "oscrypto/expected/test-third-der.key"))
  local third = x509.load(cfile(PFX .. "oscrypto/expected/test-third-der.crt"))
  local inter = x509.load(cfile(PFX .. "oscrypto/expected/test-inter-der.crt"))
  local root = x509.load(cfile("chains/asn1crypto/globalsign_example_keys/rootCA-der.cer"))

  it("writes the modern profile by default", function()
    local der = assert(p12.build { key = key, cert = cert, password = "pw", friendly_name = "server" })
    local r = assert(p12.parse(der, "pw"))
    assert.same({
      mac = "sha256", mac_iterations = 2048, mac_verified = true,
      key_encryption = "PBES2/PBKDF2-SHA256/AES-256-CBC", key_iterations = 2048,
      cert_encryption = "PBES2/PBKDF2-SHA256/AES-256-CBC", cert_iterations = 2048,
      password_form = "UTF-16",
    }, r.algorithms)
    assert.equal(key:to_der(), r.key:to_der())
    assert.is_true(cert == r.cert)
    for _, b in ipairs(r.bags) do
      assert.equal("server", b.friendly_name)
      assert.equal(sha1_hex(cert:to_der()), b.local_key_id)
    end
    assert.equal("certBag", r.bags[1].bag_type)
    assert.equal("pkcs8ShroudedKeyBag", r.bags[2].bag_type)
  end)

  it("writes the legacy and windows2016 profiles", function()
    for prof, iter in pairs { legacy = 2048, windows2016 = 2000 } do
      local r = assert(p12.parse(assert(p12.build { key = key, cert = cert, password = "pw", profile = prof }), "pw"))
      assert.equal("sha1", r.algorithms.mac)
      assert.equal(iter, r.algorithms.mac_iterations)
      assert.equal("pbeWithSHAAnd3-KeyTripleDES-CBC", r.algorithms.key_encryption)
      assert.equal("pbeWithSHAAnd3-KeyTripleDES-CBC", r.algorithms.cert_encryption)
      assert.equal(iter, r.algorithms.key_iterations)
      assert.equal(key:to_der(), r.key:to_der())
    end
  end)

  it("keeps the chain in the order given", function()
    local der = assert(p12.build { key = third_key, cert = third, chain = { root, inter }, password = "pw" })
    local r = assert(p12.parse(der, "pw"))
    assert.is_true(r.cert == third)
    assert.equal(2, #r.chain)
    assert.is_true(r.chain[1] == root)
    assert.is_true(r.chain[2] == inter)
    assert.is_nil(r.bags[2].local_key_id)
    assert.is_nil(r.bags[2].friendly_name)
  end)

  it("takes overrides of the profile: algorithms, iterations, no key id, no MAC, no encryption", function()
    local der = assert(p12.build { key = key, cert = cert, password = "pw", key_id = false, mac = "none",
                                   key_pbe = "none", cert_pbe = "none" })
    local r = assert(p12.parse(der, "whatever"))
    assert.is_nil(r.algorithms.mac)
    assert.equal("none", r.algorithms.key_encryption)
    assert.equal("keyBag", r.bags[2].bag_type)
    assert.is_nil(r.bags[1].local_key_id)
    assert.is_true(r.key:matches(r.cert))
    der = assert(p12.build { key = key, cert = cert, password = "pw", key_pbe = "aes-128-cbc",
                             cert_pbe = "rc2-40", prf = "sha512", mac = "sha512", iterations = 3,
                             mac_iterations = 1 })
    r = assert(p12.parse(der, "pw"))
    assert.same({ mac = "sha512", mac_iterations = 1, mac_verified = true,
                  key_encryption = "PBES2/PBKDF2-SHA512/AES-128-CBC", key_iterations = 3,
                  cert_encryption = "pbeWithSHAAnd40BitRC2-CBC", cert_iterations = 3,
                  password_form = "UTF-16" }, r.algorithms)
    der = assert(p12.build { key = key, cert = cert, password = "pw", profile = "legacy", key_pbe = "aes-192-cbc", prf = "sha1" })
    assert.equal("PBES2/PBKDF2-SHA1/AES-192-CBC", p12.parse(der, "pw").algorithms.key_encryption)
  end)

  it("writes certificate-only and key-only files", function()
    local r = assert(p12.parse(assert(p12.build { chain = { cert, inter }, password = "pw" }), "pw"))
    assert.is_nil(r.key)
    assert.equal(2, #r.chain)
    assert.is_nil(r.algorithms.key_encryption)
    r = assert(p12.parse(assert(p12.build { key = key, password = "pw", friendly_name = "k" }), "pw"))
    assert.equal(key:to_der(), r.key:to_der())
    assert.equal(1, #r.bags)
    assert.equal("k", r.bags[1].friendly_name)
    assert.is_nil(r.bags[1].local_key_id)
  end)

  it("writes the empty password as OpenSSL does, readable with \"\" and nil", function()
    local der = assert(p12.build { key = key, cert = cert, password = "" })
    assert.truthy(p12.parse(der, "").key)
    assert.truthy(p12.parse(der).key)
    local _, _, code = p12.parse(der, "x")
    assert.equal("bad_password", code)
  end)

  it("writes UTF-8 passwords and friendly names (as UTF-16)", function()
    local der = assert(p12.build { key = key, cert = cert, password = "pässwörd ✓", friendly_name = "Zertifikat für 𝄞" })
    local r = assert(p12.parse(der, "pässwörd ✓"))
    assert.equal("Zertifikat für 𝄞", r.bags[1].friendly_name)
    assert.equal("bad_password", select(3, p12.parse(der, "passwort")))
  end)

  it("takes the password as a certbench.secret", function()
    local s = secret.new("geheim")
    local der = assert(p12.build { key = key, cert = cert, password = s, profile = "legacy" })
    assert.truthy(p12.parse(der, s).key)
    assert.truthy(p12.parse(der, "geheim").key)
  end)

  it("writes an EC and an Ed25519 key", function()
    for _, spec in ipairs { "ec:P-384", "ed25519" } do
      local k = pkey.generate(spec)
      local r = assert(p12.parse(assert(p12.build { key = k, password = "pw", profile = "legacy" }), "pw"))
      assert.equal(k:to_der(), r.key:to_der())
    end
  end)

  it("refuses a key that does not match the certificate", function()
    local der, err = p12.build { key = pkey.generate("ec"), cert = cert, password = "pw" }
    assert.is_nil(der)
    assert.equal("pkcs12.build: the key does not match the certificate", err)
  end)

  it("raises on bad options", function()
    assert.has_error(function() p12.build() end, "pkcs12.build: expects a table of options, not nil")
    assert.has_error(function() p12.build { key = key } end, "pkcs12.build: a password is needed (\"\" for none)")
    assert.has_error(function() p12.build { password = "x" } end)
    assert.has_error(function() p12.build { key = key, password = "x", profile = "old" } end,
                     "pkcs12.build: unknown profile 'old' (modern, legacy, windows2016)")
    assert.has_error(function() p12.build { key = key, password = "x", key_pbe = "des" } end)
    assert.has_error(function() p12.build { key = key, password = "x", mac = "md5" } end)
    assert.has_error(function() p12.build { key = key, password = "x", prf = "none" } end)
    assert.has_error(function() p12.build { key = key, password = "x", iterations = 0 } end)
    assert.has_error(function() p12.build { key = cert, password = "x" } end)
    assert.has_error(function() p12.build { cert = key, password = "x" } end)
    assert.has_error(function() p12.build { cert = cert, chain = { cert, "x" }, password = "x" } end,
                     "pkcs12.build: chain[2] is not a certificate")
    assert.has_error(function() p12.build { cert = cert, chain = "x", password = "x" } end)
    assert.has_error(function() p12.build { key = key, password = "x", friendly_name = "\255\254" } end)
    local k = pkey.generate("ec")
    k:close()
    assert.has_error(function() p12.build { key = k, password = "x" } end)
  end)

  it("writes fresh salts every time", function()
    local a = p12.build { key = key, password = "pw" }
    local b = p12.build { key = key, password = "pw" }
    assert.not_equal(a, b)
  end)
end)

describe("pkcs12 memory", function()
  -- 100,000 parse/free cycles of a small PFX (1 iteration, so the KDF does not dominate), in a
  -- fresh certbench process (spec/support/memory.lua says why): after a warm-up its resident
  -- size stays flat to two pages (8 kB). The bound of 512 kB is stricter than 1.5x of the
  -- child's 5 MB: a leak of 6 bytes a cycle fails it. The parser's bag array left unfreed (the
  -- bags themselves freed) grew it by 840 MB.
  it("100,000 parse/free cycles leave the resident size flat", function()
    local key, cert = rust_expected()
    local file = h.tmpdir() .. "/small.pfx"
    h.write(file, assert(p12.build { key = key, cert = cert, password = "pw", iterations = 1 }))
    memory.check("pkcs12", [[
      local memory = require "support.memory"
      local h = require "support.helper"
      local p12 = require "certbench.pkcs12"
      local der = h.read(arg[1])
      memory.cycles(tonumber(arg[2]), function()
        local r = p12.parse(der, "pw")
        assert(r.key and r.cert)
        r.key:close() -- the certificate left to the collector
      end)
    ]], { file, tostring(memory.ASAN and 3000 or 100000) }, 512)
  end)
end)
