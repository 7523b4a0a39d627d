local pkey = require "certbench.pkey"
local digest = require "certbench.digest"
local secret = require "certbench.secret"
local h = require "support.helper"

-- a small DER writer, to build the structures the loader must refuse
local function der_len(n)
  if n < 128 then return string.char(n) end
  local s = ""
  while n > 0 do s = string.char(n & 0xFF) .. s; n = n >> 8 end
  return string.char(0x80 | #s) .. s
end
local function tlv(tag, ...)
  local content = table.concat({ ... })
  return string.char(tag) .. der_len(#content) .. content
end
local SEQ, INT, OCT, OID, NULL = 0x30, 0x02, 0x04, 0x06, 0x05
local O = {
  pbes2 = "\42\134\72\134\247\13\1\5\13", pbkdf2 = "\42\134\72\134\247\13\1\5\12",
  aes256 = "\96\134\72\1\101\3\4\1\42", rc2 = "\42\134\72\134\247\13\3\2",
  hmac_sha256 = "\42\134\72\134\247\13\2\9", hmac_md5 = "\42\134\72\134\247\13\2\6",
  rsa = "\42\134\72\134\247\13\1\1\1", ec = "\42\134\72\206\61\2\1", x25519 = "\43\101\110",
  ed448 = "\43\101\113", dsa = "\42\134\72\206\56\4\1", unknown = "\42\3\4",
}

local function body_of(pem) -- the base64 lines of a PEM block, without the armor
  return (pem:gsub("%-%-%-%-%-[^\n]*%-%-%-%-%-\n", ""))
end

local function expect_fail(code, pattern, ...)
  local k, err, c = ...
  assert.is_nil(k)
  assert.equal(code, c, err)
  assert.is_string(err)
  if pattern then assert.matches(pattern, err, 1, true) end
end

describe("certbench.pkey", function()
  -- keys made once: RSA generation is slow under ASan
  local rsa, ec, ed, rsa2
  setup(function()
    rsa = pkey.generate { type = "rsa", bits = 2048 }
    rsa2 = pkey.generate "rsa:2048"
    ec = pkey.generate { type = "ec", curve = "P-256" }
    ed = pkey.generate "ed25519"
  end)

  describe("generate", function()
    it("makes RSA keys of the asked size, 2048 by default", function()
      assert.equal("rsa", rsa:type())
      assert.equal(2048, rsa:bits())
      assert.is_nil(rsa:curve())
      assert.is_true(rsa:is_private())
      assert.equal(2048, pkey.generate({ type = "rsa" }):bits())
      assert.equal(3072, pkey.generate("rsa:3072"):bits())
    end)
    it("makes EC keys on P-256 (default), P-384 and P-521, taking openssl's curve names", function()
      assert.equal("ec", ec:type())
      assert.equal("P-256", ec:curve())
      assert.equal(256, ec:bits())
      assert.equal("P-256", pkey.generate({ type = "ec" }):curve())
      assert.equal("P-256", pkey.generate("ec"):curve())
      assert.equal("P-384", pkey.generate("ec:P-384"):curve())
      assert.equal("P-384", pkey.generate({ type = "EC", curve = "secp384r1" }):curve())
      local k = pkey.generate { type = "ec", curve = "P-521" }
      assert.equal("P-521", k:curve())
      assert.equal(521, k:bits())
      assert.equal("P-256", pkey.generate("ec:prime256v1"):curve())
    end)
    it("makes Ed25519 keys", function()
      assert.equal("ed25519", ed:type())
      assert.is_nil(ed:curve())
      assert.equal(253, ed:bits())
      assert.is_true(ed:is_private())
      assert.equal("ed25519", pkey.generate({ type = "ed25519" }):type())
    end)
    it("never makes the same key twice", function()
      assert.not_equal(rsa:fingerprint(), rsa2:fingerprint())
      assert.not_equal(ed:fingerprint(), pkey.generate("ed25519"):fingerprint())
    end)
    it("raises for a bad spec, saying what is allowed", function()
      assert.has_error(function() pkey.generate { type = "rsa", bits = 1024 } end)
      assert.has_error(function() pkey.generate { type = "rsa", bits = 3000 } end,
        "pkey.generate: RSA bits must be 2048 to 8192, a multiple of 128 (2048, 3072, 4096...), not 3000")
      assert.has_error(function() pkey.generate { type = "rsa", bits = 8320 } end)
      assert.has_error(function() pkey.generate { type = "rsa", bits = 2048.5 } end)
      assert.has_error(function() pkey.generate "rsa:big" end)
      assert.has_error(function() pkey.generate "dsa" end)
      assert.has_error(function() pkey.generate "ed25519:x" end)
      assert.has_error(function() pkey.generate { type = "ec", curve = "P-192" } end,
        "pkey.generate: curve must be P-256, P-384 or P-521, not P-192")
      assert.has_error(function() pkey.generate { type = "x448" } end)
      assert.has_error(function() pkey.generate {} end)
      assert.has_error(function() pkey.generate(42) end)
    end)
  end)

  describe("to_pem / to_der and load, round trips", function()
    local function same(a, b)
      assert.is_not_nil(b)
      assert.equal(a:fingerprint(), b:fingerprint())
      assert.equal(a:is_private(), b:is_private())
      assert.is_true(a:matches(b))
    end
    it("writes PKCS#8 by default", function()
      for _, k in ipairs { rsa, ec, ed } do
        local pem = k:to_pem()
        assert.matches("^%-%-%-%-%-BEGIN PRIVATE KEY%-%-%-%-%-\n", pem)
        assert.matches("\n%-%-%-%-%-END PRIVATE KEY%-%-%-%-%-\n$", pem)
        for line in pem:gmatch("[^\n]+") do assert.is_true(#line <= 64) end
        same(k, pkey.load(pem))
        local der = k:to_der()
        assert.equal(0x30, der:byte(1))
        same(k, pkey.load(der))
        assert.equal(der, k:to_der { format = "pkcs8" })
      end
    end)
    it("writes the traditional forms of RSA and EC keys", function()
      local pem = rsa:to_pem { format = "traditional" }
      assert.matches("^%-%-%-%-%-BEGIN RSA PRIVATE KEY%-%-%-%-%-\n", pem)
      same(rsa, pkey.load(pem))
      pem = ec:to_pem { format = "traditional" }
      assert.matches("^%-%-%-%-%-BEGIN EC PRIVATE KEY%-%-%-%-%-\n", pem)
      same(ec, pkey.load(pem))
      same(rsa, pkey.load(rsa:to_der { format = "traditional" }))
      same(ec, pkey.load(ec:to_der { format = "traditional" }))
    end)
    for _, cipher in ipairs { "aes-256-cbc", "aes-192-cbc", "aes-128-cbc", "des-ede3-cbc" } do
      it("encrypts PKCS#8 with " .. cipher .. " and reads it back with the password", function()
        for _, k in ipairs { rsa, ec, ed } do
          local pem = k:to_pem { password = "pw", cipher = cipher, iter = 1000 }
          assert.matches("^%-%-%-%-%-BEGIN ENCRYPTED PRIVATE KEY%-%-%-%-%-\n", pem)
          same(k, pkey.load(pem, { password = "pw" }))
          expect_fail("encrypted", "key is encrypted: a password is needed", pkey.load(pem))
          expect_fail("bad_password", "wrong password (or corrupt key)", pkey.load(pem, { password = "pW" }))
          local der = k:to_der { password = "pw", cipher = cipher, iter = 1000 }
          same(k, pkey.load(der, { password = "pw" }))
          expect_fail("encrypted", nil, pkey.load(der))
        end
      end)
      it("encrypts traditional PEM with " .. cipher .. " (Proc-Type/DEK-Info)", function()
        for _, k in ipairs { rsa, ec } do
          local pem = k:to_pem { format = "traditional", password = "pw", cipher = cipher }
          assert.truthy(pem:find("\nProc-Type: 4,ENCRYPTED\nDEK-Info: " .. cipher:upper() .. ",", 1, true))
          assert.truthy(pem:match("DEK%-Info: [^,]+,%x+\n\n"))
          same(k, pkey.load(pem, { password = "pw" }))
          expect_fail("encrypted", nil, pkey.load(pem))
          expect_fail("bad_password", nil, pkey.load(pem, { password = "wrong" }))
        end
      end)
    end
    it("encrypts with AES-256-CBC, PBES2, PBKDF2-HMAC-SHA256, 100000 iterations by default", function()
      local der = ec:to_der { password = "pw" }
      assert.truthy(der:find(O.pbes2, 1, true))
      assert.truthy(der:find(O.pbkdf2, 1, true))
      assert.truthy(der:find(O.hmac_sha256, 1, true))
      assert.truthy(der:find(O.aes256, 1, true))
      assert.truthy(der:find(tlv(INT, "\1\134\160"), 1, true)) -- 100000
      assert.matches("DEK%-Info: AES%-256%-CBC,%x+", ec:to_pem { format = "traditional", password = "pw" })
    end)
    it("uses a fresh salt and IV each time", function()
      local a = ec:to_der { password = "pw", iter = 1 }
      local b = ec:to_der { password = "pw", iter = 1 }
      assert.not_equal(a, b)
      assert.equal(#a, #b)
      local salt_a = a:match(O.pbkdf2 .. "..\4\16(" .. string.rep(".", 16) .. ")")
      local salt_b = b:match(O.pbkdf2 .. "..\4\16(" .. string.rep(".", 16) .. ")")
      assert.is_string(salt_a)
      assert.not_equal(salt_a, salt_b)
      local iv1 = ec:to_pem({ format = "traditional", password = "pw" }):match("DEK%-Info: [^,]+,(%x+)")
      local iv2 = ec:to_pem({ format = "traditional", password = "pw" }):match("DEK%-Info: [^,]+,(%x+)")
      assert.equal(32, #iv1)
      assert.not_equal(iv1, iv2)
    end)
    it("takes the password as a secret, and the empty password", function()
      local s = secret.new("s3cret")
      local pem = ec:to_pem { password = s, iter = 10 }
      same(ec, pkey.load(pem, { password = "s3cret" }))
      same(ec, pkey.load(pem, { password = s }))
      local empty = ec:to_pem { password = "", iter = 10 }
      same(ec, pkey.load(empty, { password = "" }))
      expect_fail("encrypted", nil, pkey.load(empty))
      expect_fail("bad_password", nil, pkey.load(empty, { password = " " }))
      local trad = rsa:to_pem { format = "traditional", password = "" }
      same(rsa, pkey.load(trad, { password = "" }))
      s:close()
      assert.has_error(function() pkey.load(pem, { password = s }) end)
    end)
    it("ignores a password for a key that is not encrypted", function()
      same(ec, pkey.load(ec:to_pem(), { password = "unused" }))
    end)
    it("refuses an iteration count above max_iter", function()
      local pem = ec:to_pem { password = "pw", iter = 5000 }
      expect_fail("unsupported", "asks for 5000 KDF iterations, more than the limit of 4999",
        pkey.load(pem, { password = "pw", max_iter = 4999 }))
      same(ec, pkey.load(pem, { password = "pw", max_iter = 5000 }))
      assert.has_error(function() pkey.load(pem, { max_iter = 0 }) end)
    end)
  end)

  describe("load: what surrounds the key", function()
    it("ignores text around the block, CRLF line ends and a UTF-8 BOM", function()
      local pem = ec:to_pem()
      local k = pkey.load("Bag Attributes\n    localKeyID: 01 00 00 00 \nKey Attributes: <No Attributes>\n"
        .. pem .. "trailing words\n")
      assert.equal(ec:fingerprint(), k:fingerprint())
      assert.equal(ec:fingerprint(), pkey.load((pem:gsub("\n", "\r\n"))):fingerprint())
      assert.equal(ec:fingerprint(), pkey.load("\239\187\191" .. pem):fingerprint())
      assert.equal(ec:fingerprint(), pkey.load((pem:gsub("\n", "\r"))):fingerprint())
      local enc = rsa:to_pem { format = "traditional", password = "pw" }
      assert.equal(rsa:fingerprint(), pkey.load((enc:gsub("\n", "\r\n")), { password = "pw" }):fingerprint())
    end)
    it("reads UTF-16LE text with a BOM (Windows Notepad)", function()
      local utf16 = "\255\254" .. ec:to_pem():gsub(".", "%0\0")
      assert.equal(ec:fingerprint(), pkey.load(utf16):fingerprint())
    end)
    it("takes the first key block of a bundle, skipping certificates and EC PARAMETERS", function()
      local cert = "subject=CN = x\n-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n"
      local params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
      local k = pkey.load(cert .. params .. ec:to_pem { format = "traditional" } .. rsa:to_pem())
      assert.equal(ec:fingerprint(), k:fingerprint())
      k = pkey.load(rsa:public_pem() .. ec:to_pem())
      assert.equal(rsa:fingerprint(), k:fingerprint())
      assert.is_false(k:is_private())
    end)
    it("trusts the content's shape over a wrong PEM label", function()
      local k = pkey.load(pkey.pem_encode("RSA PRIVATE KEY", ec:to_der { format = "traditional" }))
      assert.equal(ec:fingerprint(), k:fingerprint())
      k = pkey.load(pkey.pem_encode("PRIVATE KEY", rsa:to_der { format = "traditional" }))
      assert.equal(rsa:fingerprint(), k:fingerprint())
      k = pkey.load(pkey.pem_encode("EC PRIVATE KEY", ed:to_der()))
      assert.equal(ed:fingerprint(), k:fingerprint())
      k = pkey.load(pkey.pem_encode("PRIVATE KEY", ec:to_der { password = "pw", iter = 1 }), { password = "pw" })
      assert.equal(ec:fingerprint(), k:fingerprint())
      local enc = rsa:to_pem { format = "traditional", password = "pw" }
      k = pkey.load(enc:gsub("RSA PRIVATE KEY", "EC PRIVATE KEY"), { password = "pw" })
      assert.equal(rsa:fingerprint(), k:fingerprint())
    end)
    it("reads base64 without the armor", function()
      assert.equal(ec:fingerprint(), pkey.load(body_of(ec:to_pem())):fingerprint())
    end)
    it("tolerates missing base64 padding and indented lines", function()
      local pem = ec:to_pem()
      local body = body_of(pem):gsub("=", "")
      local k = pkey.load("-----BEGIN PRIVATE KEY-----\n" .. body:gsub("\n", "\n   ")
        .. "-----END PRIVATE KEY-----\n")
      assert.equal(ec:fingerprint(), k:fingerprint())
    end)
    it("follows the format option: pem only or der only", function()
      expect_fail("not_a_key", nil, pkey.load(ec:to_der(), { format = "pem" }))
      expect_fail("not_a_key", nil, pkey.load(ec:to_pem(), { format = "der" }))
      expect_fail("not_a_key", nil, pkey.load(body_of(ec:to_pem()), { format = "der" }))
      assert.is_not_nil(pkey.load(ec:to_der(), { format = "der" }))
      assert.is_not_nil(pkey.load(ec:to_pem(), { format = "pem" }))
    end)
  end)

  describe("load: public keys", function()
    it("reads SubjectPublicKeyInfo PEM and DER", function()
      for _, k in ipairs { rsa, ec, ed } do
        local pem = k:public_pem()
        assert.matches("^%-%-%-%-%-BEGIN PUBLIC KEY%-%-%-%-%-\n", pem)
        local p = pkey.load(pem)
        assert.is_false(p:is_private())
        assert.equal(k:fingerprint(), p:fingerprint())
        assert.equal(k:type(), p:type())
        assert.equal(k:bits(), p:bits())
        p = pkey.load(k:public_der())
        assert.equal(k:fingerprint(), p:fingerprint())
      end
    end)
    it("reads PKCS#1 RSA public keys (BEGIN RSA PUBLIC KEY), PEM and DER", function()
      local spki = rsa:public_der()
      local pkcs1 = spki:sub(25) -- after SEQ, AlgorithmIdentifier, BIT STRING header
      assert.equal("\48\130\1\10", pkcs1:sub(1, 4))
      local p = pkey.load(pkey.pem_encode("RSA PUBLIC KEY", pkcs1))
      assert.equal(rsa:fingerprint(), p:fingerprint())
      assert.is_false(p:is_private())
      assert.equal(rsa:fingerprint(), pkey.load(pkcs1):fingerprint())
    end)
  end)

  describe("load: failures and their codes", function()
    it("says not_a_key for garbage, empty data and non-key PEM", function()
      expect_fail("not_a_key", "the data is empty", pkey.load(""))
      expect_fail("not_a_key", "neither PEM nor a DER key", pkey.load("hello world"))
      expect_fail("not_a_key", nil, pkey.load("\48\3\2\1\0"))
      expect_fail("not_a_key", nil, pkey.load(string.rep("\0", 100)))
      expect_fail("not_a_key", "no key found (the PEM data holds CERTIFICATE, not a key)",
        pkey.load("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
      expect_fail("not_a_key", "no key found (no PEM key block)", pkey.load("-----BEGIN broken"))
    end)
    it("says not_a_key for a damaged PEM block", function()
      local pem = ec:to_pem()
      expect_fail("not_a_key", "has no END line", pkey.load((pem:gsub("%-%-%-%-%-END.*", ""))))
      expect_fail("not_a_key", "malformed base64", pkey.load((pem:gsub("\n(.)", "\n*%1", 1))))
      expect_fail("not_a_key", "malformed", pkey.load((pem:gsub("\n[^\n]+\n%-%-%-%-%-END", "\n-----END"))))
      expect_fail("not_a_key", "malformed", pkey.load(pkey.pem_encode("PUBLIC KEY", "\48\0")))
      expect_fail("not_a_key", "malformed", pkey.load(pkey.pem_encode("ENCRYPTED PRIVATE KEY", "\48\0")))
    end)
    it("says not_a_key for a structure with a known algorithm but a broken key", function()
      local bad = tlv(SEQ, tlv(INT, "\0"), tlv(SEQ, tlv(OID, O.rsa), tlv(NULL)), tlv(OCT, "junk"))
      expect_fail("not_a_key", "malformed RSA private key", pkey.load(bad))
    end)
    it("says encrypted / bad_password for legacy PEM, with a damaged DEK-Info as not_a_key", function()
      local pem = rsa:to_pem { format = "traditional", password = "pw", cipher = "aes-128-cbc" }
      expect_fail("encrypted", "key is encrypted: a password is needed", pkey.load(pem))
      expect_fail("bad_password", "wrong password (or corrupt key)", pkey.load(pem, { password = "x" }))
      expect_fail("not_a_key", "malformed DEK-Info IV", pkey.load((pem:gsub("(DEK%-Info: [^,]+,)%x%x", "%1ZZ"))))
      expect_fail("not_a_key", "malformed DEK-Info IV", pkey.load((pem:gsub("(DEK%-Info: [^,]+,%x+)", "%100"))))
      expect_fail("not_a_key", "malformed DEK-Info header", pkey.load((pem:gsub("(DEK%-Info: [^,]+),", "%1 "))))
      expect_fail("not_a_key", "without a DEK-Info header", pkey.load((pem:gsub("DEK%-Info", "DEK-Inf"))))
      expect_fail("unsupported", "unsupported PEM encryption: BF-CBC",
        pkey.load((pem:gsub("AES%-128%-CBC,(%x+)", "BF-CBC,%1")), { password = "pw" }))
    end)
    it("tells a wrong password even when the padding happens to be right", function()
      -- 300 wrong passwords: ~1 in 256 gives valid CBC padding; the plaintext still fails
      local pem = ec:to_pem { format = "traditional", password = "right", cipher = "aes-128-cbc" }
      for i = 1, 300 do
        local k, _, code = pkey.load(pem, { password = "wrong" .. i })
        assert.is_nil(k)
        assert.equal("bad_password", code)
      end
    end)
    it("says unsupported for algorithms certbench does not take", function()
      expect_fail("unsupported", "unsupported key algorithm: X25519",
        pkey.load(tlv(SEQ, tlv(INT, "\0"), tlv(SEQ, tlv(OID, O.x25519)), tlv(OCT, tlv(OCT, string.rep("\7", 32))))))
      expect_fail("unsupported", "unsupported key algorithm: Ed448",
        pkey.load(tlv(SEQ, tlv(INT, "\0"), tlv(SEQ, tlv(OID, O.ed448)), tlv(OCT, tlv(OCT, string.rep("\7", 57))))))
      expect_fail("unsupported", "unsupported key algorithm: OID 1.2.3.4",
        pkey.load(tlv(SEQ, tlv(INT, "\0"), tlv(SEQ, tlv(OID, O.unknown)), tlv(OCT, "x"))))
      expect_fail("unsupported", "unsupported key algorithm: Ed448",
        pkey.load(pkey.pem_encode("PUBLIC KEY", tlv(SEQ, tlv(SEQ, tlv(OID, O.ed448)), tlv(0x03, "\0" .. string.rep("\1", 57))))))
      expect_fail("unsupported", "OPENSSH PRIVATE KEY",
        pkey.load("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"))
      expect_fail("unsupported", "unsupported key format: PGP PRIVATE KEY BLOCK",
        pkey.load("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQ\n-----END PGP PRIVATE KEY BLOCK-----\n"))
    end)
    it("says unsupported for unknown PKCS#8 encryption, before asking for a password", function()
      local ct = tlv(OCT, string.rep("\1", 32))
      local unknown = tlv(SEQ, tlv(SEQ, tlv(OID, O.unknown), tlv(SEQ)), ct)
      expect_fail("unsupported", "unsupported PKCS#8 encryption: encryption algorithm 1.2.3.4 is not supported", pkey.load(unknown))
      local function pbes2(kdf_params, enc)
        return tlv(SEQ, tlv(SEQ, tlv(OID, O.pbes2), tlv(SEQ, tlv(SEQ, tlv(OID, O.pbkdf2), kdf_params), enc)), ct)
      end
      local salt_iter = tlv(OCT, "saltsalt") .. tlv(INT, "\8\0")
      local rc2 = pbes2(tlv(SEQ, salt_iter), tlv(SEQ, tlv(OID, O.rc2), tlv(SEQ, tlv(INT, "\58"), tlv(OCT, "12345678"))))
      -- RC2-CBC is read (core/lib/pbe.c, the PBE of PKCS#12 files too): a password is needed
      expect_fail("encrypted", nil, pkey.load(rc2))
      local camellia = pbes2(tlv(SEQ, salt_iter), tlv(SEQ, tlv(OID, "\42\131\8\140\154\75\61\1\1\1\2"), tlv(OCT, "1234567812345678")))
      expect_fail("unsupported", "unsupported PKCS#8 encryption: PBES2 with cipher CAMELLIA-128-CBC", pkey.load(camellia))
      local aes = tlv(SEQ, tlv(OID, O.aes256), tlv(OCT, string.rep("\0", 16)))
      local md5prf = pbes2(tlv(SEQ, salt_iter, tlv(SEQ, tlv(OID, O.hmac_md5), tlv(NULL))), aes)
      expect_fail("unsupported", "unsupported PKCS#8 encryption: PBKDF2 with PRF 1.2.840.113549.2.6", pkey.load(md5prf, { password = "x" }))
      -- well-formed, supported: now the password matters
      local ok = pbes2(tlv(SEQ, salt_iter, tlv(SEQ, tlv(OID, O.hmac_sha256), tlv(NULL))), aes)
      expect_fail("encrypted", nil, pkey.load(ok))
      expect_fail("bad_password", nil, pkey.load(ok, { password = "x" }))
      local short_iv = pbes2(tlv(SEQ, salt_iter), tlv(SEQ, tlv(OID, O.aes256), tlv(OCT, "\0")))
      expect_fail("not_a_key", "not a key: AES-256-CBC with an IV of the wrong size", pkey.load(short_iv, { password = "x" }))
      local no_iter = pbes2(tlv(SEQ, tlv(OCT, "saltsalt")), aes)
      expect_fail("not_a_key", "malformed PBKDF2 parameters", pkey.load(no_iter, { password = "x" }))
    end)
    it("names the source with the name option", function()
      expect_fail("not_a_key", "server.key: not a key", pkey.load("junk", { name = "server.key" }))
      expect_fail("encrypted", "server.key: key is encrypted: a password is needed",
        pkey.load(ec:to_pem { password = "pw", iter = 1 }, { name = "server.key" }))
    end)
    it("raises for arguments of the wrong type", function()
      assert.has_error(function() pkey.load(nil) end, "pkey.load: data must be a string, not nil")
      assert.has_error(function() pkey.load(42) end)
      assert.has_error(function() pkey.load("x", "pw") end, "pkey.load: options must be a table, not string")
      assert.has_error(function() pkey.load("x", { format = "p12" }) end)
      assert.has_error(function() pkey.load("x", { password = {} }) end)
      assert.has_error(function() pkey.load("x", { max_iter = "many" }) end)
    end)
  end)

  describe("load_file", function()
    it("reads a file and names it in errors", function()
      local dir = h.tmpdir()
      h.write(dir .. "/k.pem", ec:to_pem { password = "pw", iter = 1 })
      local k = pkey.load_file(dir .. "/k.pem", { password = "pw" })
      assert.equal(ec:fingerprint(), k:fingerprint())
      expect_fail("bad_password", dir .. "/k.pem: wrong password", pkey.load_file(dir .. "/k.pem", { password = "no" }))
      expect_fail("io", dir .. "/missing.pem: No such file or directory", pkey.load_file(dir .. "/missing.pem"))
      expect_fail("encrypted", "other: key is encrypted", pkey.load_file(dir .. "/k.pem", { name = "other" }))
    end)
  end)

  describe("writing errors", function()
    it("returns nil, err for a public key", function()
      local pub = ec:public()
      local pem, err = pub:to_pem()
      assert.is_nil(pem)
      assert.equal("key:to_pem: this is a public key, it has no private part to write", err)
      assert.is_nil((pub:to_der()))
    end)
    it("raises for options that cannot go together or are unknown", function()
      assert.has_error(function() ed:to_pem { format = "traditional" } end)
      assert.has_error(function() rsa:to_der { format = "traditional", password = "pw" } end)
      assert.has_error(function() ec:to_pem { format = "openssh" } end)
      assert.has_error(function() ec:to_pem { password = "pw", cipher = "des-cbc" } end)
      assert.has_error(function() ec:to_pem { password = "pw", cipher = "aes-256-gcm" } end)
      assert.has_error(function() ec:to_pem { password = "pw", iter = 0 } end)
      assert.has_error(function() ec:to_pem "pkcs8" end)
      assert.has_error(function() ec:to_pem { password = 12 .. "" , iter = "x" } end)
    end)
  end)

  describe("save", function()
    it("writes a 0600 file, refuses to overwrite without force", function()
      local dir = h.tmpdir()
      local path = dir .. "/key.pem"
      assert.is_true(ec:save(path))
      assert.equal("600", h.mode(path))
      assert.equal(ec:fingerprint(), pkey.load(h.read(path)):fingerprint())
      local ok, err = rsa:save(path)
      assert.is_nil(ok)
      assert.matches("exists", err)
      assert.is_true(rsa:save(path, { force = true, format = "traditional", password = "pw" }))
      assert.equal(rsa:fingerprint(), pkey.load(h.read(path), { password = "pw" }):fingerprint())
      assert.is_true(ed:save(dir .. "/key.der", { form = "der" }))
      assert.equal(ed:to_der(), h.read(dir .. "/key.der"))
      assert.is_nil((ec:public():save(dir .. "/pub.pem")))
      assert.has_error(function() ec:save(dir .. "/x", { form = "txt" }) end)
    end)
  end)

  describe("public, fingerprint", function()
    it("public() keeps only the public half", function()
      for _, k in ipairs { rsa, ec, ed } do
        local p = k:public()
        assert.is_false(p:is_private())
        assert.equal(k:type(), p:type())
        assert.equal(k:public_der(), p:public_der())
        assert.equal(k:public_pem(), p:public_pem())
        assert.is_true(k:matches(p))
        assert.is_true(p:matches(k))
        assert.is_false(p:public():is_private())
      end
    end)
    it("fingerprints the SPKI DER, SHA-256 by default, colon-separated upper-case hex", function()
      local fp = ec:fingerprint()
      assert.equal("", (fp:gsub("^%x%x", ""):gsub(":[%dA-F][%dA-F]", "")))
      assert.equal(32 * 3 - 1, #fp)
      assert.equal(digest.hex(digest.sha256(ec:public_der()), ":"), fp)
      assert.equal(digest.hex(digest.sha1(ec:public_der()), ":"), ec:fingerprint("sha1"))
      assert.equal(64 * 3 - 1, #ec:fingerprint("sha512"))
      assert.equal(digest.sha256(ec:public_der()), ec:spki_sha256())
      assert.equal(32, #ec:spki_sha256())
      assert.equal(fp, ec:public():fingerprint())
      assert.has_error(function() ec:fingerprint("crc32") end)
    end)
  end)

  describe("matches", function()
    it("compares public keys: same key, its public half, another key, another type", function()
      assert.is_true(rsa:matches(rsa))
      assert.is_true(rsa:matches(pkey.load(rsa:to_pem())))
      local ok, why = rsa:matches(rsa2)
      assert.is_false(ok)
      assert.equal("the other key is a different rsa key", why)
      ok, why = rsa:matches(ec)
      assert.is_false(ok)
      assert.equal("the key is rsa, the other key is ec", why)
      ok, why = ed:matches(pkey.generate "ed25519")
      assert.is_false(ok)
      assert.matches("different ed25519 key", why)
      ok = ec:matches(pkey.generate "ec:P-384")
      assert.is_false(ok)
    end)
    it("raises for something that is not a key, a certificate or a request", function()
      assert.has_error(function() rsa:matches("pem text") end)
      assert.has_error(function() rsa:matches(nil) end)
      assert.has_error(function() rsa:matches(digest.new("sha1")) end)
    end)
    it("compares with a certificate and a request (certbench.x509 / certbench.csr)", function()
      local x509 = require "certbench.x509"
      local cert = assert(x509.load(h.read(h.data .. "/keys/oscrypto/test.crt")))
      local key = assert(pkey.load(h.read(h.data .. "/keys/oscrypto/test.key")))
      assert.is_true(key:matches(cert))
      local ok, why = rsa:matches(cert)
      assert.is_false(ok)
      assert.matches("certificate", why)
    end)
  end)

  describe("sign and verify", function()
    local data = "the data to sign\0with a zero byte"
    it("signs with RSA PKCS#1 v1.5, SHA-256 by default, deterministic", function()
      local sig = rsa:sign(data)
      assert.equal(256, #sig)
      assert.equal(sig, rsa:sign(data, { digest = "sha256" }))
      assert.is_true(rsa:verify(data, sig))
      assert.is_true(rsa:public():verify(data, sig))
      local ok, why = rsa:verify(data .. "x", sig)
      assert.is_false(ok)
      assert.equal("key:verify: the signature does not match", why)
      assert.is_false((rsa:verify(data, sig, { digest = "sha384" })))
      assert.is_false((rsa2:verify(data, sig)))
    end)
    for _, alg in ipairs { "sha1", "sha384", "sha512", "sha224" } do
      it("signs with RSA and " .. alg, function()
        local sig = rsa:sign(data, { digest = alg })
        assert.is_true(rsa:verify(data, sig, { digest = alg }))
        assert.is_false((rsa:verify(data, sig)))
      end)
    end
    it("signs with RSA-PSS (salt = digest length), randomized", function()
      local a = rsa:sign(data, { padding = "pss" })
      local b = rsa:sign(data, { padding = "pss" })
      assert.not_equal(a, b)
      assert.is_true(rsa:verify(data, a, { padding = "pss" }))
      assert.is_false((rsa:verify(data, a)))
      assert.is_false((rsa:verify(data, rsa:sign(data), { padding = "pss" })))
      assert.is_true(rsa:verify(data, rsa:sign(data, { padding = "pss", digest = "sha512" }),
        { padding = "pss", digest = "sha512" }))
    end)
    it("signs with ECDSA (DER signatures, randomized)", function()
      local a, b = ec:sign(data), ec:sign(data)
      assert.not_equal(a, b)
      assert.equal(0x30, a:byte(1))
      assert.is_true(ec:verify(data, a))
      assert.is_true(ec:verify(data, b))
      assert.is_false((ec:verify("other", a)))
      local p384 = pkey.generate "ec:P-384"
      assert.is_true(p384:verify(data, p384:sign(data, { digest = "sha384" }), { digest = "sha384" }))
    end)
    it("signs with Ed25519, which hashes by itself (a digest option is ignored)", function()
      local sig = ed:sign(data)
      assert.equal(64, #sig)
      assert.equal(sig, ed:sign(data, { digest = "sha512" }))
      assert.is_true(ed:verify(data, sig))
      assert.is_true(ed:public():verify(data, sig, { digest = "sha256" }))
      assert.is_false((ed:verify(data, sig:sub(1, 63) .. "x")))
      assert.is_false((ed:verify(data, "")))
    end)
    it("refuses to sign with a public key, returns false for garbage signatures", function()
      local sig, err = rsa:public():sign(data)
      assert.is_nil(sig)
      assert.equal("key:sign: this is a public key, it cannot sign", err)
      assert.is_false((rsa:verify(data, "garbage")))
      assert.is_false((ec:verify(data, "")))
      assert.is_false((ec:verify(data, rsa:sign(data))))
    end)
    it("raises for MD5, unknown digests, PSS on a non-RSA key, a bad padding name", function()
      assert.has_error(function() rsa:sign(data, { digest = "md5" }) end)
      assert.has_error(function() rsa:sign(data, { digest = "sha3" }) end)
      assert.has_error(function() ed:sign(data, { digest = "sha3" }) end)
      assert.has_error(function() ec:sign(data, { padding = "pss" }) end)
      assert.has_error(function() ec:verify(data, "x", { padding = "pss" }) end)
      assert.has_error(function() rsa:sign(data, { padding = "oaep" }) end)
      assert.has_error(function() rsa:sign(nil) end)
      assert.has_error(function() rsa:verify(data, nil) end)
      assert.has_error(function() rsa:sign(data, "sha256") end)
    end)
  end)

  describe("object life", function()
    it("prints type, size and kind", function()
      assert.equal("certbench.pkey (rsa 2048, private)", tostring(rsa))
      assert.equal("certbench.pkey (ec P-256, public)", tostring(ec:public()))
      assert.equal("certbench.pkey (ed25519, private)", tostring(ed))
    end)
    it("closes idempotently; a closed key raises", function()
      local k = pkey.generate "ec"
      k:close()
      k:close()
      assert.equal("certbench.pkey (closed)", tostring(k))
      for _, m in ipairs { "type", "bits", "curve", "is_private", "public", "public_der",
                           "to_pem", "to_der", "fingerprint", "sign" } do
        assert.has_error(function() k[m](k) end)
      end
      local ok, err = pcall(k.to_pem, k)
      assert.is_false(ok)
      assert.matches("attempt to use a closed key", err)
      assert.has_error(function() ec:matches(k) end)
      assert.is_true(pkey.is_key(k))
    end)
    it("closes with <close>", function()
      local ref
      do
        local k <close> = pkey.generate "ed25519"
        ref = k
        assert.equal("ed25519", k:type())
      end
      assert.equal("certbench.pkey (closed)", tostring(ref))
    end)
    it("is_key tells keys from other values", function()
      assert.is_true(pkey.is_key(ec))
      assert.is_false(pkey.is_key("key"))
      assert.is_false(pkey.is_key(digest.new("sha1")))
      assert.is_false(pkey.is_key(nil))
    end)
    it("is reachable as certbench.pkey from the root module", function()
      assert.equal(pkey, require("certbench").pkey)
    end)
  end)

  describe("the keys of the test data (tests/data/keys)", function()
    -- every key file, with its password from MANIFEST.md, and what certbench makes of it
    local cases = {
      { "oscrypto/test.key", nil, "rsa" },
      { "oscrypto/test-pkcs8.key", nil, "rsa" },
      { "oscrypto/test-ec.key", nil, "ec" }, -- SEC1 with explicit curve parameters
      { "oscrypto/test-aes128.key", "password123", "rsa" },
      { "oscrypto/test-aes256.key", "password123", "rsa" },
      { "oscrypto/test-tripledes.key", "password123", "rsa" },
      { "oscrypto/test-ec-aes128.key", "password123", "ec" },
      { "oscrypto/test-pkcs8-aes256.key", "password123", "rsa" },
      { "oscrypto/test-pkcs8-aes128-der.key", "password123", "rsa" },
      { "oscrypto/test-pkcs8-des.key", "password123", "rsa" }, -- PBES1 MD5-DES
      { "oscrypto/test-pkcs8-tripledes.key", "password123", "rsa" },
      { "oscrypto/test-pkcs8-blank.key", "", "rsa" },
      { "oscrypto/test-pkcs8-blank-der.key", "", "rsa" },
      { "oscrypto/test-dsa.key", nil, "unsupported" },
      { "oscrypto/test-dsa-aes128.key", "password123", "unsupported" },
      { "oscrypto/test.crt", nil, "not_a_key" },
      { "paramiko/test_rsa_password.key", "television", "rsa" },
      { "paramiko/test_ecdsa_password_256.key", "television", "ec", "P-256" },
      { "paramiko/test_ecdsa_password_384.key", "television", "ec", "P-384" },
      { "paramiko/test_ecdsa_password_521.key", "television", "ec", "P-521" },
      { "lua-resty-openssl/ec_key_encrypted.pem", "123456", "ec" },
    }
    for _, case in ipairs(cases) do
      local file, pw, want, curve = case[1], case[2], case[3], case[4]
      it(file .. " -> " .. want, function()
        local data = h.read(h.data .. "/keys/" .. file)
        local k, err, code = pkey.load(data, { password = pw })
        if want == "rsa" or want == "ec" then
          assert.is_not_nil(k, err)
          assert.equal(want, k:type())
          assert.is_true(k:is_private())
          if curve then assert.equal(curve, k:curve()) end
          -- the key works: a signature verifies with the public half
          assert.is_true(k:public():verify("x", k:sign("x")))
          -- and survives a round trip through every format
          assert.equal(k:fingerprint(), pkey.load(k:to_pem { password = "pw", iter = 1 }, { password = "pw" }):fingerprint())
          if pw then
            expect_fail("encrypted", "key is encrypted: a password is needed", pkey.load(data))
            expect_fail("bad_password", "wrong password (or corrupt key)", pkey.load(data, { password = pw .. "x" }))
          end
        else
          assert.is_nil(k)
          assert.equal(want, code, err)
          if want == "unsupported" then assert.matches("DSA", err) end
          if pw then
            expect_fail("encrypted", nil, pkey.load(data))
            expect_fail("bad_password", nil, pkey.load(data, { password = "not" .. pw }))
          end
        end
      end)
    end
    it("test.key, test-pkcs8.key and the encrypted RSA keys are one key", function()
      local dir = h.data .. "/keys/oscrypto/"
      local ref = pkey.load(h.read(dir .. "test.key")):fingerprint()
      for _, f in ipairs { "test-pkcs8.key", "test-aes128.key", "test-aes256.key", "test-tripledes.key",
                           "test-pkcs8-aes256.key", "test-pkcs8-aes128-der.key", "test-pkcs8-des.key",
                           "test-pkcs8-tripledes.key" } do
        assert.equal(ref, pkey.load(h.read(dir .. f), { password = "password123" }):fingerprint(), f)
      end
      assert.equal(ref, pkey.load(h.read(dir .. "test-pkcs8-blank.key"), { password = "" }):fingerprint())
    end)
  end)
end)
