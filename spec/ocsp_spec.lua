-- certbench.ocsp: requests, responses and their verification, on a CA and responders made with
-- the openssl CLI (spec/support/ocsp.lua) whose responses `openssl ocsp` makes offline
-- (-reqin/-respout), hand-made signed responses for the paths openssl never takes, and
-- OpenSSL's own OCSP test set from the corpus. The live responder is in tests/interop/ocsp_spec.lua.
local h = require "support.helper"
local A = require "support.asn1"
local ocsp = require "certbench.ocsp"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"
local digest = require "certbench.digest"
local store = require "certbench.store"

local NOW = os.time()

local function gtime(t) return A.tlv(0x18, os.date("!%Y%m%d%H%M%SZ", t)) end

describe("certbench.ocsp", function()
  local fx, C, K

  setup(function()
    fx = require("support.ocsp").make(h.tmpdir())
    C, K = {}, {}
    for _, n in ipairs { "ca", "other", "good", "revoked", "unknown", "hold", "noaia", "stranger",
      "responder", "noeku", "foreign" } do
      C[n] = assert(x509.load_file(fx[n].cert))
      K[n] = assert(pkey.load_file(fx[n].key))
    end
  end)

  -- a response from openssl ocsp for a certbench request
  local function answer(name, ro, qo)
    qo = qo or {}
    local req, nonce = assert(ocsp.request { cert = C[name], issuer = name == "stranger" and C.other or C.ca,
      nonce = qo.nonce, digest = qo.digest })
    local der = fx:respond(req, ro)
    return assert(ocsp.parse_response(der)), nonce, der
  end

  -- build: a signed BasicOCSPResponse made here (EC P-256 keys, ecdsa-with-SHA256)
  local function build(o)
    local singles = {}
    for _, s in ipairs(o.singles) do
      local st
      if s.status == "good" then st = "\x80\0"
      elseif s.status == "unknown" then st = "\x82\0"
      else
        st = A.tlv(0xa1, gtime(s.revoked_at) .. (s.reason and A.explicit(0, A.tlv(0x0a, string.char(s.reason))) or ""))
      end
      singles[#singles + 1] = A.seq(s.id, st, gtime(s.this or NOW), s.next and A.explicit(0, gtime(s.next)) or "",
        s.exts and A.explicit(1, s.exts) or "")
    end
    local rid = o.rid or A.explicit(2, A.octets(ocsp.key_hash(o.signer)))
    local tbs = A.seq(rid, gtime(o.produced or NOW), A.seq(table.concat(singles)), o.exts and A.explicit(1, o.exts) or "")
    local sig = assert(o.key:sign(o.sign_this or tbs, { digest = "sha256" }))
    local certs = ""
    if o.certs then
      local l = {}
      for i, cert in ipairs(o.certs) do l[i] = cert:to_der() end
      certs = A.explicit(0, A.seq(table.concat(l)))
    end
    local basic = A.seq(tbs, A.seq(A.oid("1.2.840.10045.4.3.2")), A.tlv(0x03, "\0" .. sig), certs)
    return A.seq(A.tlv(0x0a, "\0"), A.explicit(0, A.seq(A.oid("1.3.6.1.5.5.7.48.1.1"), A.octets(basic))))
  end

  local function certid(name_hash, key_hash, serial)
    return A.seq(A.seq(A.oid("1.3.14.3.2.26"), "\5\0"), A.octets(name_hash), A.octets(key_hash), A.int(serial))
  end

  local function ext(oid, critical, value)
    return A.seq(A.seq(A.oid(oid), critical and "\1\1\255" or "", A.octets(value)))
  end

  it("is reachable from the root module", function()
    assert.equal(ocsp, require("certbench").ocsp)
  end)

  describe("request", function()
    it("makes a SHA-1 CertID of the issuer's name and key and the serial, without a nonce by default", function()
      local der, nonce = assert(ocsp.request { cert = C.good, issuer = C.ca })
      assert.is_nil(nonce)
      local req = assert(ocsp.parse_request(der))
      assert.equal(1, req.version)
      assert.is_false(req.signed)
      assert.is_nil(req.nonce)
      assert.equal(1, #req.cert_ids)
      local id = req.cert_ids[1]
      assert.equal("sha1", id.hash_alg)
      assert.equal(digest.hex(digest.sha1(C.ca:subject():der())), id.issuer_name_hash)
      -- openssl's SKI is the SHA-1 of the key bits too (RFC 5280 method 1)
      assert.equal(C.ca:ski(), id.issuer_key_hash)
      assert.equal(digest.hex(ocsp.key_hash(C.ca)), id.issuer_key_hash)
      assert.equal("1001", id.serial)
    end)

    it("sends a fresh 16-byte nonce with nonce = true, and given bytes as they are", function()
      local d1, n1 = assert(ocsp.request { cert = C.good, issuer = C.ca, nonce = true })
      local d2, n2 = assert(ocsp.request { cert = C.good, issuer = C.ca, nonce = true })
      assert.equal(16, #n1)
      assert.not_equal(n1, n2)
      assert.not_equal(d1, d2)
      local r1 = assert(ocsp.parse_request(d1))
      assert.equal(n1, r1.nonce)
      assert.equal(1, #r1.extensions)
      assert.equal(ocsp.NONCE_OID, r1.extensions[1].oid)
      assert.is_false(r1.extensions[1].critical)
      -- the value is the DER of an OCTET STRING (RFC 8954)
      assert.equal("\4\16" .. n1, r1.extensions[1].value)
      local d3, n3 = assert(ocsp.request { cert = C.good, issuer = C.ca, nonce = "abc" })
      assert.equal("abc", n3)
      assert.equal("abc", assert(ocsp.parse_request(d3)).nonce)
      local _, n4 = assert(ocsp.request { cert = C.good, issuer = C.ca, nonce = false })
      assert.is_nil(n4)
    end)

    it("hashes with SHA-256, SHA-384 and SHA-512 on request", function()
      for alg, len in pairs { sha256 = 32, sha384 = 48, sha512 = 64 } do
        local req = assert(ocsp.parse_request((ocsp.request { cert = C.good, issuer = C.ca, digest = alg })))
        local id = req.cert_ids[1]
        assert.equal(alg, id.hash_alg)
        assert.equal(2 * len, #id.issuer_name_hash)
        assert.equal(digest.hex(digest.hash(alg, C.ca:subject():der())), id.issuer_name_hash)
        assert.equal(digest.hex(ocsp.key_hash(C.ca, alg)), id.issuer_key_hash)
      end
      local req = assert(ocsp.parse_request((ocsp.request { cert = C.good, issuer = C.ca, digest = "SHA-256" })))
      assert.equal("sha256", req.cert_ids[1].hash_alg)
    end)

    it("takes a serial instead of the certificate, and PEM text for either", function()
      local a = assert(ocsp.request { serial = "1001", issuer = C.ca })
      local b = assert(ocsp.request { cert = h.read(fx.good.cert), issuer = h.read(fx.ca.cert) })
      assert.equal(a, b)
      local big = assert(ocsp.parse_request((ocsp.request { serial = "00FF00", issuer = C.ca })))
      assert.equal("FF00", big.cert_ids[1].serial) -- as openssl prints it, the zero byte that keeps it positive dropped
      local neg = assert(ocsp.parse_request((ocsp.request { serial = "-01", issuer = C.ca })))
      assert.equal("-01", neg.cert_ids[1].serial)
    end)

    it("reports unreadable certificates and raises on wrong arguments", function()
      local der, err = ocsp.request { cert = "not a certificate", issuer = C.ca }
      assert.is_nil(der)
      assert.matches("ocsp.request: cert:", err)
      assert.has_error(function() ocsp.request() end, "ocsp.request: a table of options expected")
      assert.has_error(function() ocsp.request { issuer = C.ca } end)
      assert.has_error(function() ocsp.request { cert = C.good } end)
      assert.has_error(function() ocsp.request { issuer = C.ca, serial = "xyz" } end)
      assert.has_error(function() ocsp.request { cert = C.good, issuer = C.ca, digest = "md5" } end)
      assert.has_error(function() ocsp.request { cert = C.good, issuer = C.ca, nonce = "" } end)
      assert.has_error(function() ocsp.request { cert = C.good, issuer = C.ca, nonce = ("x"):rep(33) } end)
      assert.has_error(function() ocsp.request { cert = C.good, issuer = C.ca, nonce = 5 } end)
      local closed = assert(x509.load_file(fx.good.cert))
      closed:close()
      assert.has_error(function() ocsp.request { cert = closed, issuer = C.ca } end)
    end)

    it("gives the CertID alone with cert_id", function()
      local id = assert(ocsp.cert_id(C.ca, C.good))
      assert.equal("sha1", id.hash_alg)
      assert.equal("1001", id.serial)
      assert.equal(C.ca:ski(), id.issuer_key_hash)
      assert.equal(0x30, id.der:byte(1))
      local id2 = assert(ocsp.cert_id(C.ca, "0x1001", "sha256"))
      assert.equal("1001", id2.serial)
      assert.equal(64, #id2.issuer_key_hash)
      assert.has_error(function() ocsp.cert_id("x", C.good) end)
      assert.has_error(function() ocsp.cert_id(C.ca, C.good, "md5") end)
      assert.has_error(function() ocsp.cert_id(C.ca, "nothex") end)
    end)
  end)

  describe("parse_request", function()
    it("reads a request made by openssl, nonce and all", function()
      local req = assert(ocsp.parse_request(fx:request("good", { nonce = true })))
      assert.equal(1, #req.cert_ids)
      assert.equal("1001", req.cert_ids[1].serial)
      assert.equal(C.ca:ski(), req.cert_ids[1].issuer_key_hash)
      assert.equal(16, #req.nonce)
      local req2 = assert(ocsp.parse_request(fx:request("revoked", { digest = "sha256" })))
      assert.equal("sha256", req2.cert_ids[1].hash_alg)
      assert.is_nil(req2.nonce)
    end)

    it("refuses what is not a request, with the offset", function()
      local good = ocsp.request { cert = C.good, issuer = C.ca, nonce = true }
      for _, bad in ipairs { "", "\48", good:sub(1, -2), good .. "\0", "\4\0", A.seq(A.seq(A.seq())) } do
        local r, err = ocsp.parse_request(bad)
        assert.is_nil(r)
        assert.matches("^ocsp.parse_request: ", err)
      end
      local _, err = ocsp.parse_request(good .. "\0")
      assert.matches("data after the OCSPRequest", err)
      local _, e2 = ocsp.parse_request(A.seq(A.seq(A.seq())))
      assert.matches("requestList is empty", e2)
      assert.has_error(function() ocsp.parse_request(nil) end)
    end)
  end)

  describe("parse_response", function()
    it("reads every field of a good answer from a delegated responder", function()
      local r, nonce = answer("good", { ndays = 1 }, { nonce = true })
      assert.equal("successful", r.status)
      assert.equal(0, r.status_code)
      assert.equal("basic", r.response_type)
      assert.equal(1, r.version)
      assert.is_true(r.responder_name:equals(C.responder:subject()))
      assert.is_nil(r.responder_key_hash)
      assert.is_true(math.abs(r.produced_at - NOW) < 120)
      assert.equal(nonce, r.nonce)
      assert.equal(1, #r.responses)
      local s = r.responses[1]
      assert.equal("good", s.status)
      assert.equal("1001", s.serial)
      assert.equal("sha1", s.hash_alg)
      assert.equal(C.ca:ski(), s.issuer_key_hash)
      assert.is_true(math.abs(s.this_update - NOW) < 120)
      assert.equal(s.this_update + 86400, s.next_update)
      assert.is_nil(s.revocation_time)
      assert.equal(1, #r.certs)
      assert.is_true(r.certs[1]:equals(C.responder))
      assert.matches("ecdsa", r.signature_algorithm)
      assert.equal("Nonce", r.extensions[1].name)
      assert.truthy(r.der)
      assert.is_true(ocsp.is_response(r))
      assert.equal("CN=OCSP Responder,O=certbench", r:responder_text())
    end)

    it("reads revoked answers with and without a reason, unknown ones, and byKey responder IDs", function()
      local r = answer("revoked", { key_id = true, signer = "ca" })
      local s = r.responses[1]
      assert.equal("revoked", s.status)
      assert.equal(fx.revoked_at, s.revocation_time)
      assert.equal("keyCompromise", s.reason)
      assert.equal(1, s.reason_code)
      assert.is_nil(s.next_update)
      assert.equal(digest.hex(ocsp.key_hash(C.ca)), r.responder_key_hash)
      assert.is_nil(r.responder_name)
      assert.equal("key hash " .. r.responder_key_hash, r:responder_text())
      assert.matches("RSA", r.signature_algorithm)
      local hold = answer("hold").responses[1]
      assert.equal("revoked", hold.status)
      assert.is_nil(hold.reason)
      assert.equal(fx.revoked_at, hold.revocation_time)
      assert.equal("unknown", answer("unknown").responses[1].status)
      assert.same({}, answer("good", { no_certs = true }).certs)
    end)

    it("reads the status of a refusal, which carries nothing else", function()
      for code, name in pairs { [1] = "malformedRequest", [2] = "internalError", [3] = "tryLater",
        [5] = "sigRequired", [6] = "unauthorized" } do
        local r = assert(ocsp.parse_response(A.seq(A.tlv(0x0a, string.char(code)))))
        assert.equal(name, r.status)
        assert.equal(code, r.status_code)
        assert.is_nil(r.responses)
        local ok, err = r:verify { issuer = C.ca }
        assert.is_nil(ok)
        assert.matches("the responder answered " .. name, err)
      end
      local r, err = ocsp.parse_response(A.seq(A.tlv(0x0a, "\4")))
      assert.is_nil(r)
      assert.matches("unknown responseStatus", err)
    end)

    it("keeps other response types unparsed", function()
      local r = assert(ocsp.parse_response(A.seq(A.tlv(0x0a, "\0"),
        A.explicit(0, A.seq(A.oid("1.2.3.4"), A.octets("x"))))))
      assert.equal("1.2.3.4", r.response_type)
      local ok, err = r:verify { issuer = C.ca }
      assert.is_nil(ok)
      assert.matches("unsupported response type 1.2.3.4", err)
    end)

    it("refuses every truncation and trailing bytes, without raising", function()
      local _, _, der = answer("good", { ndays = 1 }, { nonce = true })
      for n = 0, #der - 1, 7 do
        local r, err = ocsp.parse_response(der:sub(1, n))
        assert.is_nil(r)
        assert.matches("^ocsp.parse_response: ", err)
      end
      local r, err = ocsp.parse_response(der .. "\0\0")
      assert.is_nil(r)
      assert.matches("data after the OCSPResponse", err)
      local _, e2 = ocsp.parse_response("\4\0")
      assert.matches("offset 0: an OCSPResponse", e2)
      assert.has_error(function() ocsp.parse_response(42) end)
    end)

    it("names the broken part", function()
      local id = ocsp.cert_id(C.ca, C.good).der
      local function resp(single)
        local tbs = A.seq(A.explicit(2, A.octets(("\1"):rep(20))), gtime(NOW), A.seq(single))
        local basic = A.seq(tbs, A.seq(A.oid("1.2.840.10045.4.3.2")), A.tlv(0x03, "\0sig"))
        return A.seq(A.tlv(0x0a, "\0"), A.explicit(0, A.seq(A.oid("1.3.6.1.5.5.7.48.1.1"), A.octets(basic))))
      end
      local cases = {
        { A.seq(id, "\x83\0", gtime(NOW)), "certStatus is not good" },
        { A.seq(id, "\x80\1\0", gtime(NOW)), "not an empty NULL" },
        { A.seq(id, "\x80\0", A.tlv(0x18, "2024")), "thisUpdate is not a valid GeneralizedTime" },
        { A.seq(id, "\x80\0"), "thisUpdate missing" },
        { A.seq(id, A.tlv(0xa1, gtime(NOW) .. A.explicit(0, A.tlv(0x0a, "\255"))), gtime(NOW)), "bad CRLReason" },
        { A.seq(A.seq(A.seq(A.oid("1.3.14.3.2.26"), "\1\1\0"), A.octets(""), A.octets(""), A.int(1)), "\x80\0", gtime(NOW)), "hash algorithm parameters" },
      }
      for _, case in ipairs(cases) do
        local r, err = ocsp.parse_response(resp(case[1]))
        assert.is_nil(r, case[2])
        assert.matches(case[2], err, 1, true)
      end
    end)

    it("loads DER and base64 text (openssl's .ors files)", function()
      local _, _, der = answer("good")
      local r = assert(ocsp.load(der))
      assert.equal("good", r.responses[1].status)
      h.write(fx:path("b64.der"), der)
      local b64 = assert(ocsp.load((h.run("base64 < " .. h.q(fx:path("b64.der"))))))
      assert.equal("successful", b64.status)
      local bad, err = ocsp.load("not base64 at all!")
      assert.is_nil(bad)
      assert.matches("neither DER nor base64", err)
      local bad2, err2 = ocsp.load("AAAA")
      assert.is_nil(bad2)
      assert.matches("^ocsp.load: ", err2)
      assert.has_error(function() ocsp.load() end)
    end)
  end)

  describe("verify", function()
    it("accepts a delegated responder issued by the CA with OCSPSigning, noting noCheck", function()
      local r = answer("good", { ndays = 1 })
      local info = assert(r:verify { issuer = C.ca, cert = C.good })
      assert.equal("delegated", info.signer_kind)
      assert.is_true(info.signer:equals(C.responder))
      assert.is_true(info.no_check)
      assert.equal("good", info.status)
      assert.equal("1001", info.single.serial)
      assert.same({}, info.warnings)
      -- without the certificate: every CertID must be the issuer's
      assert.truthy(r:verify { issuer = C.ca })
      assert.truthy(r:verify { issuer = C.ca, serial = "1001" })
    end)

    it("accepts the CA itself, by name and by key hash", function()
      for _, kid in ipairs { false, true } do
        local r = answer("revoked", { signer = "ca", key_id = kid })
        local info = assert(r:verify { issuer = C.ca, cert = C.revoked })
        assert.equal("issuer", info.signer_kind)
        assert.is_false(info.no_check)
        assert.equal("revoked", info.status)
        assert.equal(1, #info.warnings) -- no nextUpdate
        assert.matches("no nextUpdate", info.warnings[1])
      end
    end)

    -- found by tests/fuzz/ocsp_response.lua (seed corpus/ocsp_response/signer-key-undecodable.der)
    it("names a signer candidate whose key does not decode, instead of raising", function()
      local der = C.ca:to_der()
      -- the key algorithm's OID (id-ecPublicKey or rsaEncryption) with its last arc changed
      local oid = C.ca:key_algorithm() == "rsaEncryption" and "\42\134\72\134\247\13\1\1\1" or "\42\134\72\206\61\2\1"
      local i = assert(der:find(oid, 1, true), C.ca:key_algorithm())
      local weird = assert(x509.load(der:sub(1, i + #oid - 2) .. "\127" .. der:sub(i + #oid)))
      assert.is_nil(weird:public_key())
      local r = answer("revoked", { signer = "ca" })
      local ok, err = r:verify { issuer = weird, cert = C.revoked }
      assert.is_nil(ok)
      assert.matches("x509:public_key: unsupported or malformed key", err, 1, true)
    end)

    it("refuses a responder without id-kp-OCSPSigning", function()
      local r = answer("good", { signer = "noeku" })
      local ok, err = r:verify { issuer = C.ca, cert = C.good }
      assert.is_nil(ok)
      assert.matches("has no id%-kp%-OCSPSigning", err)
    end)

    it("refuses a responder certified by another CA unless it is trusted by configuration", function()
      local r = answer("good", { signer = "foreign" })
      local ok, err = r:verify { issuer = C.ca, cert = C.good }
      assert.is_nil(ok)
      assert.matches("is not issued by the certificate's issuer", err)
      local info = assert(r:verify { issuer = C.ca, cert = C.good, trusted = { C.foreign } })
      assert.equal("trusted", info.signer_kind)
    end)

    it("needs the responder's certificate: in the response or trusted", function()
      local r = answer("good", { no_certs = true })
      local ok, err = r:verify { issuer = C.ca, cert = C.good }
      assert.is_nil(ok)
      assert.matches("names neither the issuer", err)
      local info = assert(r:verify { issuer = C.ca, cert = C.good, trusted = { C.responder } })
      assert.equal("trusted", info.signer_kind)
    end)

    it("refuses an answer checked against the wrong issuer", function()
      local r = answer("good", { signer = "ca" })
      local ok, err = r:verify { issuer = C.other, cert = C.good }
      assert.is_nil(ok)
      assert.matches("is not issued by the certificate's issuer O = certbench, CN = Other CA", err, 1, true)
      -- the stranger has serial 1001 too, from the other CA: not the certificate this answer is about
      local r2 = answer("good")
      local ok2, err2 = r2:verify { issuer = C.ca, cert = C.stranger }
      assert.is_nil(ok2)
      assert.matches("CN = stranger.example.com is issued by O = certbench, CN = Other CA, not by the issuer given", err2, 1, true)
      assert.is_nil(r2:find(C.other, C.stranger))
    end)

    it("says when the asked certificate is not in the response", function()
      local r = answer("good")
      local ok, err = r:verify { issuer = C.ca, cert = C.revoked }
      assert.is_nil(ok)
      assert.matches("no answer for serial 1002", err)
    end)

    it("checks the times against `time` with a skew", function()
      local r = answer("good", { ndays = 1, signer = "ca" })
      local s = r.responses[1]
      local ok, err = r:verify { issuer = C.ca, time = s.this_update - 3600 }
      assert.is_nil(ok)
      assert.matches("is in the future", err)
      assert.truthy(r:verify { issuer = C.ca, time = s.this_update - 200 })
      assert.is_nil(r:verify { issuer = C.ca, time = s.this_update - 200, skew = 0 })
      local ok2, err2 = r:verify { issuer = C.ca, time = s.next_update + 3600 }
      assert.is_nil(ok2)
      assert.matches("expired at", err2)
      local r2 = answer("good", { signer = "ca" })
      local ok3, err3 = r2:verify { issuer = C.ca, time = r2.responses[1].this_update + 7200, max_age = 3600 }
      assert.is_nil(ok3)
      assert.matches("older than 3600 seconds", err3)
      assert.truthy(r2:verify { issuer = C.ca, time = r2.responses[1].this_update + 600, max_age = 3600 })
    end)

    it("refuses a delegated responder certificate that has expired", function()
      local r = answer("good")
      local ok, err = r:verify { issuer = C.ca, time = C.responder:not_after() + 86400 }
      assert.is_nil(ok)
      assert.matches("OCSP Responder.* expired on", err)
    end)

    it("matches the nonce it sent", function()
      local r, nonce = answer("good", nil, { nonce = true })
      assert.truthy(r:verify { issuer = C.ca, nonce = nonce })
      local ok, err = r:verify { issuer = C.ca, nonce = "something else" }
      assert.is_nil(ok)
      assert.matches("nonce differs", err)
      local r2 = answer("good")
      local ok2, err2 = r2:verify { issuer = C.ca, nonce = nonce }
      assert.is_nil(ok2)
      assert.matches("has none", err2)
    end)

    it("verifies the issuer against a trust store when given one", function()
      local r = answer("good")
      assert.truthy(r:verify { issuer = C.ca, store = store.new { cas = { C.ca } } })
      local ok, err = r:verify { issuer = C.ca, store = store.new { cas = { C.other } } }
      assert.is_nil(ok)
      assert.matches("does not verify against the trust store", err)
    end)

    it("refuses hashes of another issuer even under a valid signature", function()
      local nh = digest.sha1(C.ca:subject():der())
      local kh = ocsp.key_hash(C.ca)
      local cases = {
        { certid(("\0"):rep(20), kh, 0x1001), "issuer name hash of the CertID" },
        { certid(nh, ("\0"):rep(20), 0x1001), "issuer key hash of the CertID" },
        { certid(("\0"):rep(20), ("\0"):rep(20), 0x1001), "issuer name and key hashes" },
      }
      for _, case in ipairs(cases) do
        local der = build { signer = C.responder, key = K.responder, certs = { C.responder },
          singles = { { id = case[1], status = "good" } } }
        local r = assert(ocsp.parse_response(der))
        local ok, err = r:verify { issuer = C.ca, cert = C.good }
        assert.is_nil(ok)
        assert.matches(case[2], err, 1, true)
      end
      -- and the same response with the right hashes verifies: the builder is sound
      local der = build { signer = C.responder, key = K.responder, certs = { C.responder },
        singles = { { id = certid(nh, kh, 0x1001), status = "good", next = NOW + 3600 } } }
      assert.truthy(assert(ocsp.parse_response(der)):verify { issuer = C.ca, cert = C.good })
    end)

    it("refuses a bad signature and unknown critical extensions", function()
      local id = ocsp.cert_id(C.ca, C.good).der
      local base = { signer = C.responder, key = K.responder, certs = { C.responder } }
      local function with(t) local o = {}; for k, v in pairs(base) do o[k] = v end; for k, v in pairs(t) do o[k] = v end; return o end
      local bad = build(with { singles = { { id = id, status = "good" } }, sign_this = "other bytes" })
      local ok, err = assert(ocsp.parse_response(bad)):verify { issuer = C.ca }
      assert.is_nil(ok)
      assert.matches("signature does not verify with the key of .*OCSP Responder.*bad signature", err)
      local crit = build(with { singles = { { id = id, status = "good" } }, exts = ext("1.2.3.4", true, "x") })
      local ok2, err2 = assert(ocsp.parse_response(crit)):verify { issuer = C.ca }
      assert.is_nil(ok2)
      assert.matches("unsupported critical response extension 1.2.3.4", err2)
      local noncrit = build(with { singles = { { id = id, status = "good" } }, exts = ext("1.2.3.4", false, "x") })
      assert.truthy(assert(ocsp.parse_response(noncrit)):verify { issuer = C.ca })
      local scrit = build(with { singles = { { id = id, status = "good", exts = ext("1.2.3.5", true, "y") } } })
      local ok3, err3 = assert(ocsp.parse_response(scrit)):verify { issuer = C.ca }
      assert.is_nil(ok3)
      assert.matches("unsupported critical extension 1.2.3.5 in the answer for serial 1001", err3)
      local rev = build(with { singles = { { id = id, status = "revoked", revoked_at = NOW - 60, reason = 4 } } })
      local rr = assert(ocsp.parse_response(rev))
      assert.equal("superseded", rr.responses[1].reason)
      assert.equal("revoked", assert(rr:verify { issuer = C.ca, cert = C.good }).status)
      -- a raw (not DER-wrapped) nonce, as old responders send, is matched too
      local raw = build(with { singles = { { id = id, status = "good" } }, exts = ext(ocsp.NONCE_OID, false, "rawnonce") })
      local rn = assert(ocsp.parse_response(raw))
      assert.equal("rawnonce", rn.nonce)
      assert.truthy(rn:verify { issuer = C.ca, nonce = "rawnonce" })
    end)

    it("raises on wrong arguments", function()
      local r = answer("good")
      assert.has_error(function() r:verify() end)
      assert.has_error(function() r:verify {} end)
      assert.has_error(function() r:verify { issuer = C.ca, trusted = "x" } end)
      assert.has_error(function() r:verify { issuer = C.ca, trusted = { "x" } } end)
      assert.has_error(function() r:verify { issuer = C.ca, time = 1.5 } end)
      assert.has_error(function() r:verify { issuer = C.ca, cert = "x" } end)
    end)

    it("finds the answer for a certificate", function()
      local r = answer("good")
      assert.equal("1001", r:find(C.ca, C.good).serial)
      assert.equal("1001", r:find(C.ca, "001001").serial)
      assert.is_nil(r:find(C.ca, C.revoked))
      assert.is_nil(r:find(C.other, C.good))
      assert.has_error(function() r:find("x", C.good) end)
      assert.has_error(function() r:find(C.ca, 5) end)
    end)
  end)

  describe("OpenSSL's OCSP test set", function()
    local D = h.data .. "/ocsp/openssl-ocsp/"
    local function files(level)
      local issuer = assert(h.run("ls " .. D .. level .. "_Issuer_*.pem")):match("[^\n]+")
      local cert = assert(h.run("ls " .. D .. level .. "_Cert_*.pem")):match("[^\n]+")
      return assert(x509.load_file(issuer)), assert(x509.load_file(cert))
    end
    local function check(name, issuer_file)
      local level = name:match("(N?D%d)$")
      local issuer, cert = files(level)
      if issuer_file then issuer = assert(x509.load_file(D .. issuer_file)) end
      local r = assert(ocsp.load(h.read(D .. name .. ".ors")))
      return r:verify { issuer = issuer, cert = cert, time = r.responses[1].this_update + 60 }
    end

    it("verifies ND1-3 (signed by the CA) and D1-3 (delegated)", function()
      for _, n in ipairs { "ND1", "ND2", "ND3" } do
        local info, err = check(n)
        assert.truthy(info, err)
        assert.equal("issuer", info.signer_kind)
        assert.equal("good", info.status)
      end
      for _, n in ipairs { "D1", "D2", "D3" } do
        local info, err = check(n)
        assert.truthy(info, err)
        assert.equal("delegated", info.signer_kind)
      end
    end)

    it("refuses every broken one, for the reason it is broken", function()
      local why = {
        ISOP = { "signature does not verify" }, WRID = { "responder ID" }, WINH = { "signature does not verify" },
        WIKH = { "signature does not verify" }, ISDOSC = { "does not carry a valid signature of the issuer" },
        -- byKey IDs no longer match the changed key; a byName one does, and the CA's signature fails
        WKDOSC = { "responder ID", "does not carry a valid signature of the issuer" },
      }
      local n = 0
      for prefix, reasons in pairs(why) do
        for _, level in ipairs { "ND1", "ND2", "ND3", "D1", "D2", "D3" } do
          local name = prefix .. "_" .. level
          if io.open(D .. name .. ".ors") then
            local info, err = check(name)
            assert.is_nil(info, name .. " verified")
            local found = false
            for _, reason in ipairs(reasons) do found = found or err:find(reason, 1, true) ~= nil end
            assert.is_true(found, name .. ": " .. err)
            n = n + 1
          end
        end
      end
      assert.equal(30, n)
    end)

    it("refuses issuers with the wrong name or key; a bad signature on the issuer itself is the store's business", function()
      for _, level in ipairs { "ND1", "ND2", "ND3", "D1", "D2", "D3" } do
        local kind = level:match("^N") and "ICA" or "Root"
        if level == "ND1" or level == "D1" then kind = "ICA" else kind = "Root" end
        assert.is_nil(check(level, ("WSNIC_%s_Issuer_%s.pem"):format(level, kind)), "WSNIC " .. level)
        assert.is_nil(check(level, ("WKIC_%s_Issuer_%s.pem"):format(level, kind)), "WKIC " .. level)
        assert.truthy(check(level, ("ISIC_%s_Issuer_%s.pem"):format(level, kind)), "ISIC " .. level)
      end
    end)

    it("reads the other corpus responses and requests", function()
      local base = h.data .. "/ocsp/"
      local direct = assert(ocsp.parse_response(h.read(base .. "rust-pki/ocsp_direct_ca/resp.der")))
      local ca = assert(x509.load_file(base .. "rust-pki/ocsp_direct_ca/ca.der"))
      local ee = assert(x509.load_file(base .. "rust-pki/ocsp_direct_ca/ee.der"))
      local info, err = direct:verify { issuer = ca, cert = ee, time = direct.responses[1].this_update + 60 }
      assert.truthy(info, err)
      local dod = assert(ocsp.parse_response(h.read(base .. "rust-pki/ocsp_dod/47-ocsp-resp.der")))
      local dodca = assert(x509.load_file(base .. "rust-pki/ocsp_dod/ca63.der"))
      local dodee = assert(x509.load_file(base .. "rust-pki/ocsp_dod/47.der"))
      local dinfo, derr = dod:verify { issuer = dodca, cert = dodee, time = dod.responses[1].this_update + 60 }
      assert.truthy(dinfo, derr)
      local dreq = assert(ocsp.parse_request(h.read(base .. "rust-pki/ocsp_dod/47-ocsp-req.der")))
      assert.equal(dodee:serial(), dreq.cert_ids[1].serial)
      local a = assert(ocsp.parse_response(h.read(base .. "asn1crypto/ocsp_response")))
      assert.equal("good", a.responses[1].status)
      assert.truthy(ocsp.parse_request(h.read(base .. "asn1crypto/ocsp_request")))
      assert.truthy(ocsp.parse_request(h.read(base .. "rust-pki/ocsp_tests/2-ocsp.ocspReq")))
    end)
  end)

  describe("get_url", function()
    it("appends the URL-encoded base64 of the request (RFC 6960 A.1)", function()
      assert.equal("http://x/ocsp/%2B%2F8%3D", ocsp.get_url("http://x/ocsp", "\251\255"))
      assert.equal("http://x/%2B%2F%2F8", ocsp.get_url("http://x/", "\251\255\252"))
      local der = ocsp.request { cert = C.good, issuer = C.ca, nonce = true }
      local url = assert(ocsp.get_url("http://127.0.0.1/", der))
      assert.is_nil(url:find("[+=]", 8))
      assert.is_nil(ocsp.get_url("http://x/", ("x"):rep(200)))
    end)
  end)

  describe("check, without a responder", function()
    it("needs a URL", function()
      local r, err, code = ocsp.check { cert = C.noaia, issuer = C.ca }
      assert.is_nil(r)
      assert.equal("no_url", code)
      assert.matches("CN = noaia.example.com has no OCSP URL", err, 1, true)
    end)

    it("reports a responder that does not answer", function()
      local r, err, code = ocsp.check { cert = C.good, issuer = C.ca, timeout = 5 }
      assert.is_nil(r)
      assert.equal("connect", code)
      assert.matches("^ocsp check: http://127.0.0.1:9/ocsp", err)
    end)

    it("raises on wrong arguments", function()
      assert.has_error(function() ocsp.check() end)
      assert.has_error(function() ocsp.check { cert = 5, issuer = C.ca } end)
      assert.has_error(function() ocsp.check { cert = C.good, issuer = C.ca, method = "put" } end)
      assert.has_error(function() ocsp.check { cert = C.good, issuer = C.ca, url = 5 } end)
      local r, err = ocsp.check { cert = "junk", issuer = C.ca }
      assert.is_nil(r)
      assert.matches("ocsp.check: cert:", err)
    end)
  end)
end)
