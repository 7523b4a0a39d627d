-- spec/detect_spec.lua: certbench.detect, the content detector under convert, show and pfx split:
-- every kind of object in DER, PEM and armorless Base-64; the text forms Windows tools write
-- (CRLF, BOM, UTF-16); the text openssl puts around blocks; every error, with what it names.
local h = require "support.helper"
local detect = require "certbench.detect"
local pkey = require "certbench.pkey"
local pkcs7 = require "certbench.pkcs7"
local fx = require("support.pfx").make(h.tmpdir())

local function d(data) return assert(detect.detect(data)) end
local function one(data)
  local info = d(data)
  assert.equal(1, #info.objects)
  return info.objects[1], info
end
local function utf16le(s)
  return (s:gsub(".", function(c) return c .. "\0" end))
end
local function utf16be(s)
  return (s:gsub(".", function(c) return "\0" .. c end))
end

describe("detect: DER", function()
  it("tells every kind of object apart by its structure", function()
    local p7 = assert(pkcs7.build { certs = { fx.leaf, fx.sub } })
    local cases = {
      { fx.leaf:to_der(), "certificate" },
      { fx.csr:to_der(), "csr" },
      { fx.crl:to_der(), "crl" },
      { fx.leaf_key:to_der(), "private_key", "pkcs8", "RSA" },
      { fx.other_key:to_der(), "private_key", "pkcs8", "EC" },
      { fx.leaf_key:to_der { format = "traditional" }, "private_key", "pkcs1", "RSA" },
      { fx.other_key:to_der { format = "traditional" }, "private_key", "sec1", "EC" },
      { pkey.generate("ed25519"):to_der(), "private_key", "pkcs8", "Ed25519" },
      { fx.leaf_key:public_der(), "public_key", "spki", "RSA" },
      { p7, "pkcs7" },
      { fx.pfx(), "pkcs12" },
    }
    for _, c in ipairs(cases) do
      local o, info = one(c[1])
      assert.equal("der", info.encoding)
      assert.equal(c[2], o.kind)
      assert.equal(c[1], o.der)
      assert.equal(#c[1], o.size)
      if c[3] then assert.equal(c[3], o.format) end
      if c[4] then assert.equal(c[4], o.algorithm) end
      assert.equal(c[2], (detect.der_info(c[1])))
    end
  end)

  it("sees an encrypted PKCS#8 key and names its scheme", function()
    local der = assert(fx.leaf_key:to_der { password = "x" })
    local o = one(der)
    assert.equal("private_key", o.kind)
    assert.is_true(o.encrypted)
    assert.equal("pkcs8", o.encryption)
    assert.equal("PBES2", o.cipher)
    assert.equal("encrypted private key (PKCS#8, PBES2)", o.what)
  end)

  it("reads a PKCS#1 RSA public key and a PKITS certificate", function()
    -- RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e } (tiny numbers: only the shape matters)
    local rsapub = "\x30\x0a\x02\x03\x00\xc3\x55\x02\x03\x01\x00\x01"
    local o = one(rsapub)
    assert.equal("public_key", o.kind)
    assert.equal("pkcs1", o.format)
    assert.equal("certificate", one(h.read(h.data .. "/pkits/certs/GoodCACert.crt")).kind)
    assert.equal("crl", one(h.read(h.data .. "/pkits/crls/GoodCACRL.crl")).kind)
  end)

  it("says a DER file is truncated, naming what it would have been", function()
    for _, c in ipairs {
      { fx.leaf:to_der(), "certificate" }, { fx.pfx(), "PKCS#12" }, { fx.crl:to_der(), "CRL" },
      { fx.leaf_key:to_der(), "private key" },
    } do
      local der = c[1]
      local info, err, code = detect.detect(der:sub(1, #der // 2), { name = "x.der" })
      assert.is_nil(info)
      assert.equal("truncated", code)
      assert.matches("^x%.der: truncated: a ", err)
      assert.matches(c[2], err, 1, true)
      assert.matches(("announces %d bytes, but only %d are there"):format(#der, #der // 2), err, 1, true)
    end
  end)

  it("refuses several DER objects back to back, listing them", function()
    local data = fx.leaf:to_der() .. fx.sub:to_der() .. fx.crl:to_der()
    local info, err, code = detect.detect(data, { name = "two.cer" })
    assert.is_nil(info)
    assert.equal("concatenated", code)
    assert.matches("two.cer: 3 DER objects back to back: certificate (" .. #fx.leaf:to_der() .. " bytes), certificate", err, 1, true)
    assert.matches("CRL (", err, 1, true)
  end)

  it("refuses garbage after a DER object, but ignores NUL and white-space padding", function()
    local der = fx.leaf:to_der()
    local info, err, code = detect.detect(der .. "garbage!", { name = "x" })
    assert.is_nil(info)
    assert.equal("trailing", code)
    assert.equal("x: 8 bytes after the certificate (" .. #der .. " bytes) that are not another DER object", err)
    local o, i2 = one(der .. "\0\0\r\n")
    assert.equal(der, o.der)
    assert.matches("4 bytes of padding", i2.warnings[1], 1, true)
  end)

  it("follows BER indefinite lengths (some Windows p7b files)", function()
    -- SEQUENCE (indefinite) { OID signedData, [0] (indefinite) { SEQUENCE {} } }
    local ber = "\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x80\x30\x00\x00\x00\x00\x00"
    local o = one(ber)
    assert.equal("pkcs7", o.kind)
    assert.equal(#ber, o.size)
    local info, _, code = detect.detect(ber:sub(1, -3))
    assert.is_nil(info)
    assert.equal("truncated", code)
  end)

  it("names unknown DER", function()
    local info, err, code = detect.detect("\x30\x03\x01\x01\xff", { name = "u" })
    assert.is_nil(info)
    assert.equal("not_pki", code)
    assert.equal("u: DER data of unknown type (a SEQUENCE of 1 elements): not a certificate, CSR, CRL, key, PKCS#7 or PKCS#12", err)
  end)
end)

describe("detect: PEM", function()
  it("reads every label and keeps what the content says", function()
    local text = fx.leaf:to_pem() .. fx.csr:to_pem() .. fx.crl:to_pem() .. fx.leaf_key:to_pem()
      .. fx.other_key:to_pem { format = "traditional" } .. fx.leaf_key:public_pem()
      .. pkcs7.to_pem(assert(pkcs7.build { certs = { fx.root } }))
    local info = d(text)
    assert.equal("pem", info.encoding)
    local kinds = {}
    for _, o in ipairs(info.objects) do kinds[#kinds + 1] = o.kind end
    assert.same({ "certificate", "csr", "crl", "private_key", "private_key", "public_key", "pkcs7" }, kinds)
    assert.equal("sec1", info.objects[5].format)
    assert.equal("EC PRIVATE KEY", info.objects[5].label)
    assert.equal(fx.crl:to_der(), info.objects[3].der)
    assert.same({ certificate = 1, csr = 1, crl = 1, private_key = 2, public_key = 1, pkcs7 = 1 }, info.counts)
    assert.equal(1, info.objects[1].line)
    assert.is_false(info.text_around)
  end)

  it("reads what openssl pkcs12 -in writes: Bag Attributes, subject=/issuer= lines, a legacy-encrypted key", function()
    local info = d(fx.bundle())
    assert.is_true(info.text_around)
    assert.equal(4, #info.objects)
    local key = info.objects[1]
    assert.equal("private_key", key.kind)
    assert.equal("pkcs1", key.format)
    assert.is_true(key.encrypted)
    assert.equal("legacy", key.encryption)
    assert.equal("DES-EDE3-CBC", key.cipher)
    assert.is_nil(key.der)
    assert.equal("4,ENCRYPTED", key.headers["Proc-Type"])
    assert.equal("01000000", key.attributes.localKeyID)
    assert.equal("vcs-certificate", key.attributes.friendlyName)
    assert.equal("encrypted private key (PKCS#1 RSA, legacy PEM encryption DES-EDE3-CBC)", key.what)
    -- the re-armored block keeps the headers, so the key still decrypts
    assert.truthy(pkey.load(key.pem, { password = "keypw" }))
    local cert = info.objects[2]
    assert.equal(fx.leaf:to_der(), cert.der)
    assert.equal(fx.leaf:subject():oneline(), cert.attributes.subject)
    assert.equal(fx.leaf:issuer():oneline(), cert.attributes.issuer)
    assert.matches("^Bag Attributes\n", cert.preamble)
    assert.equal("PEM (text around the blocks): 1 encrypted private key (PKCS#1 RSA, legacy PEM encryption DES-EDE3-CBC), 3 certificates",
      detect.summary(info))
  end)

  it("reads CRLF, CR-only, a UTF-8 BOM, UTF-16LE and UTF-16BE with or without a BOM", function()
    local pem = fx.leaf:to_pem()
    local der = fx.leaf:to_der()
    local cases = {
      { pem:gsub("\n", "\r\n"), nil, "crlf" },
      { pem:gsub("\n", "\r"), nil, "cr" },
      { "\239\187\191" .. pem, "utf-8", "lf" },
      { "\255\254" .. utf16le(pem:gsub("\n", "\r\n")), "utf-16le", "crlf" },
      { utf16le(pem), "utf-16le", "lf" },
      { "\254\255" .. utf16be(pem), "utf-16be", "lf" },
      { utf16be(pem), "utf-16be", "lf" },
    }
    for i, c in ipairs(cases) do
      local o, info = one(c[1])
      assert.equal(der, o.der, "case " .. i)
      assert.equal(c[2], info.bom, "case " .. i)
      assert.equal(c[3], info.line_ends, "case " .. i)
    end
    assert.equal("PEM (UTF-16LE, CRLF): 1 certificate", detect.summary(d("\255\254" .. utf16le(pem:gsub("\n", "\r\n")))))
  end)

  it("converts UTF-16 text around the blocks to UTF-8 (a friendlyName with non-ASCII letters)", function()
    local text = "Bag Attributes\n    friendlyName: Tønsberg ☃ 𝄞\n" .. fx.leaf:to_pem()
    local u16 = {}
    for _, cp in utf8.codes(text) do
      if cp >= 0x10000 then
        local v = cp - 0x10000
        local hi, lo = 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)
        u16[#u16 + 1] = string.char(hi & 255, hi >> 8, lo & 255, lo >> 8)
      else
        u16[#u16 + 1] = string.char(cp & 255, cp >> 8)
      end
    end
    local o = one("\255\254" .. table.concat(u16))
    assert.equal("Tønsberg ☃ 𝄞", o.attributes.friendlyName)
  end)

  it("takes Base-64 without the armor lines", function()
    for _, der in ipairs { fx.leaf:to_der(), fx.pfx(), fx.crl:to_der() } do
      local b64 = detect.b64encode(der):gsub(("."):rep(76), "%0\r\n")
      local o, info = one(b64)
      assert.equal("base64", info.encoding)
      assert.equal(der, o.der)
    end
  end)

  it("trusts the content over the label: a PKCS#7 chain in CERTIFICATE armor, as certsrv writes it", function()
    local p7 = assert(pkcs7.build { certs = { fx.leaf, fx.sub, fx.root } })
    local o, info = one(detect.pem("CERTIFICATE", p7))
    assert.equal("pkcs7", o.kind)
    assert.equal("CERTIFICATE", o.label)
    assert.matches("Microsoft CA web enrollment", o.note, 1, true)
    assert.matches("PEM block 1 (line 1): the block is labelled CERTIFICATE but holds a PKCS#7 bundle", info.warnings[1], 1, true)
    -- a PKCS#1 key under a PKCS#8 label
    local k = one(detect.pem("PRIVATE KEY", fx.leaf_key:to_der { format = "traditional" }))
    assert.equal("pkcs1", k.format)
    assert.matches("labelled PRIVATE KEY but holds a private key (PKCS#1 RSA)", k.note, 1, true)
  end)

  it("keeps unknown labels as unknown objects, and the trust part of TRUSTED CERTIFICATE", function()
    local o = one("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    assert.equal("unknown", o.kind)
    assert.equal("PEM block 'OPENSSH PRIVATE KEY'", o.what)
    local aux = "\x30\x0c\x30\x0a\x06\x08\x2b\x06\x01\x05\x05\x07\x03\x01"
    local t = one(detect.pem("TRUSTED CERTIFICATE", fx.root:to_der() .. aux))
    assert.equal("certificate", t.kind)
    assert.equal(fx.root:to_der(), t.der)
    assert.equal(aux, t.trust_der)
  end)

  it("says which block and line hold bad Base-64", function()
    local pem = fx.sub:to_pem() .. fx.leaf:to_pem()
    local lines = {}
    for l in pem:gmatch("[^\n]+") do lines[#lines + 1] = l end
    local second = #fx.sub:to_pem():gsub("[^\n]", "") + 1 -- BEGIN line of block 2
    lines[second + 3] = lines[second + 3]:sub(1, 10) .. "%" .. lines[second + 3]:sub(12)
    local info, err, code = detect.detect(table.concat(lines, "\n") .. "\n", { name = "b.pem" })
    assert.is_nil(info)
    assert.equal("bad_base64", code)
    assert.equal(("b.pem: PEM block 2 (CERTIFICATE, line %d): bad Base-64: character \"%%\" on line %d"):format(
      second, second + 3), err)
  end)

  it("says when a block lost a line or its end", function()
    local pem = fx.leaf:to_pem()
    -- a whole line lost: the Base-64 is fine, the DER too short
    local cut = pem:gsub("\n[^\n]+\n(%-%-%-%-%-END)", "\n%1")
    local info, err, code = detect.detect(cut, { name = "c.pem" })
    assert.is_nil(info)
    assert.equal("truncated", code)
    assert.matches("c.pem: PEM block 1 (CERTIFICATE, line 1): truncated: a certificate whose header announces", err, 1, true)
    -- three characters lost
    info, err, code = detect.detect((pem:gsub("\n(%w%w%w)", "\n", 1)), { name = "c.pem" })
    assert.equal("bad_base64", code)
    assert.matches("c.pem: PEM block 1 (CERTIFICATE, line 1): bad Base-64: ", err, 1, true)
    assert.matches("not a multiple of 4", err, 1, true)
    -- no END line
    info, err, code = detect.detect((pem:gsub("%-%-%-%-%-END.*$", "")), { name = "c.pem" })
    assert.equal("truncated", code)
    assert.equal("c.pem: truncated: PEM block 1 (CERTIFICATE, line 1) has no END line", err)
    -- a BEGIN inside a block
    info, err, code = detect.detect((pem:gsub("%-%-%-%-%-END CERTIFICATE%-%-%-%-%-\n", "")) .. fx.sub:to_pem())
    assert.equal("truncated", code)
    assert.matches("has no END line before the next BEGIN", err, 1, true)
    -- mismatched END
    info, err, code = detect.detect((pem:gsub("END CERTIFICATE", "END X509 CRL")))
    assert.equal("bad_pem", code)
    assert.matches("BEGIN CERTIFICATE is closed by END X509 CRL", err, 1, true)
    -- Base-64 fine, DER cut short
    local short = detect.pem("CERTIFICATE", fx.leaf:to_der():sub(1, 300))
    info, err, code = detect.detect(short)
    assert.equal("truncated", code)
    assert.matches("PEM block 1 (CERTIFICATE, line 1): truncated: a certificate", err, 1, true)
    -- a mangled armor line
    info, err, code = detect.detect("-----BEGIN CERTIFICATE----\nMIIB\n-----END CERTIFICATE-----\n")
    assert.equal("bad_pem", code)
    assert.matches("line 1: a mangled PEM armor line", err, 1, true)
  end)

  it("says what the data is when it is not PKI data", function()
    local cases = {
      { "", "empty", "empty file" },
      { "   \n\n", "empty", "empty file (only white space)" },
      { "hello world\nsecond line\n", "not_pki", 'not PKI data: text without a PEM block or Base-64 (first line: "hello world")' },
      { "\137PNG\r\n\26\n\0\0\0\13IHDR", "not_pki", "not PKI data: this looks like a PNG image" },
      { "PK\3\4\20\0\0\0", "not_pki", "not PKI data: this looks like a ZIP archive" },
      { "\254\237\254\237\0\0\0\2", "not_pki", "Java KeyStore" },
      { "\1\2\3\4\5\6\7\8\9", "not_pki", "not PKI data: binary data that is not DER (first bytes 01 02 03 04 05 06 07 08)" },
      { "ssh-rsa AAAAB3NzaC1yc2E user@host\n", "not_pki", "an OpenSSH public key" },
      { "0 days left on the old certificate\n", "not_pki", 'not PKI data: text without a PEM block or Base-64 (first line: "0 days left' },
    }
    for _, c in ipairs(cases) do
      local info, err, code = detect.detect(c[1], { name = "f" })
      assert.is_nil(info)
      assert.equal(c[2], code)
      assert.matches(c[3], err, 1, true)
      assert.equal("f: ", err:sub(1, 3))
    end
  end)
end)

describe("detect: helpers", function()
  it("Base-64 encodes and decodes, and refuses what is not Base-64", function()
    for _, s in ipairs { "", "a", "ab", "abc", "abcd", ("\0\255"):rep(100) } do
      assert.equal(s, detect.b64decode(detect.b64encode(s)))
    end
    assert.equal("TWFu", detect.b64encode("Man"))
    assert.equal("Man", detect.b64decode(" T W\r\nF u "))
    local r, err = detect.b64decode("TWF")
    assert.is_nil(r)
    assert.equal("3 Base-64 characters, not a multiple of 4 (a line lost or cut?)", err)
    r, err = detect.b64decode("TW=u")
    assert.is_nil(r)
    assert.equal("'=' padding in the middle of the Base-64 text", err)
    r, err = detect.b64decode("TW*u")
    assert.equal('character "*" is not Base-64', err)
  end)

  it("writes PEM in 64 columns, with CRLF on request", function()
    local p = detect.pem("CERTIFICATE", fx.leaf:to_der())
    assert.equal(fx.leaf:to_pem(), p)
    local w = detect.pem("CERTIFICATE", fx.leaf:to_der(), { crlf = true })
    assert.equal(p:gsub("\n", "\r\n"), w)
  end)

  it("reads files and names them in errors; raises on wrong argument types", function()
    local info = assert(detect.file(fx.path("chain.pem")))
    assert.equal(2, info.counts.certificate)
    local none, err, code = detect.file(fx.path("missing.pem"))
    assert.is_nil(none)
    assert.equal("io", code)
    assert.matches("missing.pem", err, 1, true)
    assert.has_error(function() detect.detect(42) end, "detect.detect: data must be a string, not number")
    assert.has_error(function() detect.detect("x", "y") end, "detect.detect: options must be a table")
    assert.has_error(function() detect.der_info(nil) end)
  end)
end)

describe("detect: the test data", function()
  -- every key file of keys/ and every PFX of pfx/, with what it is
  local expected = {
    ["keys/lua-resty-openssl/ec_key_encrypted.pem"] = "encrypted private key (SEC1 EC, legacy PEM encryption AES-256-CBC)",
    ["keys/oscrypto/test-aes128.key"] = "encrypted private key (PKCS#1 RSA, legacy PEM encryption AES-128-CBC)",
    ["keys/oscrypto/test-aes256.key"] = "encrypted private key (PKCS#1 RSA, legacy PEM encryption AES-256-CBC)",
    ["keys/oscrypto/test-dsa-aes128.key"] = "encrypted private key (DSA, legacy PEM encryption AES-128-CBC)",
    ["keys/oscrypto/test-dsa.key"] = "private key (DSA)",
    ["keys/oscrypto/test-ec-aes128.key"] = "encrypted private key (SEC1 EC, legacy PEM encryption AES-128-CBC)",
    ["keys/oscrypto/test-ec.key"] = "private key (SEC1 EC)",
    ["keys/oscrypto/test-pkcs8-aes128-der.key"] = "encrypted private key (PKCS#8, PBES2)",
    ["keys/oscrypto/test-pkcs8-aes256.key"] = "encrypted private key (PKCS#8, PBES2)",
    ["keys/oscrypto/test-pkcs8-blank-der.key"] = "encrypted private key (PKCS#8, pbeWithMD5AndDES-CBC)",
    ["keys/oscrypto/test-pkcs8-blank.key"] = "encrypted private key (PKCS#8, pbeWithMD5AndDES-CBC)",
    ["keys/oscrypto/test-pkcs8-des.key"] = "encrypted private key (PKCS#8, pbeWithMD5AndDES-CBC)",
    ["keys/oscrypto/test-pkcs8-tripledes.key"] = "encrypted private key (PKCS#8, PBES2)",
    ["keys/oscrypto/test-pkcs8.key"] = "private key (PKCS#8 RSA)",
    ["keys/oscrypto/test-tripledes.key"] = "encrypted private key (PKCS#1 RSA, legacy PEM encryption DES-EDE3-CBC)",
    ["keys/oscrypto/test.crt"] = "certificate",
    ["keys/oscrypto/test.key"] = "private key (PKCS#1 RSA)",
    ["keys/paramiko/test_ecdsa_password_256.key"] = "encrypted private key (SEC1 EC, legacy PEM encryption AES-128-CBC)",
    ["keys/paramiko/test_ecdsa_password_384.key"] = "encrypted private key (SEC1 EC, legacy PEM encryption AES-128-CBC)",
    ["keys/paramiko/test_ecdsa_password_521.key"] = "encrypted private key (SEC1 EC, legacy PEM encryption AES-128-CBC)",
    ["keys/paramiko/test_rsa_password.key"] = "encrypted private key (PKCS#1 RSA, legacy PEM encryption DES-EDE3-CBC)",
    ["pfx/oscrypto/expected/test-pkcs8-der.key"] = "private key (PKCS#8 RSA)",
    ["pfx/oscrypto/expected/test-pkcs8-dsa-der.key"] = "private key (PKCS#8 DSA)",
    ["pfx/oscrypto/expected/test-third-der.key"] = "private key (PKCS#1 RSA)",
    ["pfx/rustcrypto/expected/key.der"] = "private key (PKCS#8 RSA)",
    ["pfx/rustcrypto/expected/cert.der"] = "certificate",
  }
  it("recognizes every PFX (DER, or Base-64 text for the RFC 9579 vectors) and every key file", function()
    local p = io.popen("cd " .. h.q(h.data) .. " && find pfx keys pkits/pkcs12 -type f | sort")
    local n = 0
    for f in p:lines() do
      local info, err = detect.file(h.data .. "/" .. f)
      assert(info, err)
      assert.equal(1, #info.objects, f)
      local o = info.objects[1]
      if f:match("%.p12$") or f:match("%.pfx$") then
        assert.equal("pkcs12", o.kind, f)
        assert.equal("der", info.encoding, f)
      elseif f:match("^pfx/go%-pkcs12/.*%.txt$") then
        assert.equal("pkcs12", o.kind, f)
        assert.equal("base64", info.encoding, f)
      elseif f:match("expected/.*%.crt$") then
        assert.equal("certificate", o.kind, f)
      else
        assert.equal(expected[f], o.what, f)
      end
      n = n + 1
    end
    p:close()
    assert.is_true(n >= 75, "only " .. n .. " files")
  end)

  it("reads the p7b files, the PEM CRLs and a CRLF PEM", function()
    for _, f in ipairs { "p7b/pkits/pkits.p7b", "p7b/real-world/DODROOTCA3_IB.p7c", "p7b/signed/pkcs7-signed.pem" } do
      assert.equal("pkcs7", one(h.read(h.data .. "/" .. f)).kind)
    end
    assert.equal("crl", one(h.read(h.data .. "/crls/pem/no_revoked.crl")).kind)
    local _, info = one(h.read(h.data .. "/ocsp/asn1crypto/ocsp-with-pkup.pem"))
    assert.equal("crlf", info.line_ends)
    local o = one(h.read(h.data .. "/chains/rust-pki/amazon.com/1-ocsp.ocspResp"))
    assert.equal("ocsp_response", o.kind)
  end)
end)
