-- OCSP against the real thing: `openssl ocsp -index ... -port` responders on 127.0.0.1 started
-- and stopped here (a delegated responder with OCSPSigning and one where the CA signs itself),
-- certbench's requests read by `openssl ocsp -reqin`, openssl's requests and responses read by
-- certbench field by field against `-req_text`/`-resp_text`, the `certbench ocsp check` command,
-- and the answers of broken responders.
local h = require "support.helper"
local servers = require "support.servers"
local ocsp = require "certbench.ocsp"
local x509 = require "certbench.x509"
local loop = require "certbench.loop"
local cjson = require "cjson"

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- openssl's "Jan  2 03:04:05 2024 GMT" -> epoch
local function openssl_time(s)
  local mon, d, hh, mm, ss, y = s:match("(%a+)%s+(%d+) (%d+):(%d+):(%d+) (%d+) GMT")
  assert(mon, "not an openssl time: " .. tostring(s))
  y, d = tonumber(y), tonumber(d)
  local m = MONTHS[mon]
  local yy = m <= 2 and y - 1 or y
  local era = yy // 400
  local yoe = yy - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
  return days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
end

-- start_responder: openssl ocsp -port, waited for by its log line, not by a connection: the
-- responder blocks on a probe that connects and sends nothing
local function start_responder(port, signer, extra)
  local log = os.tmpname()
  local s = servers.start(("exec openssl ocsp -index %s -port %d -rsigner %s -rkey %s -CA %s -ignore_err %s")
    :format(h.q(signer.index), port, h.q(signer.cert), h.q(signer.key), h.q(signer.ca), extra), nil, log)
  for _ = 1, 200 do
    if h.read(log):find("waiting for OCSP client connections", 1, true) then return s end
    h.run("sleep 0.05")
  end
  servers.stop(s)
  error("openssl ocsp did not start: " .. h.read(log))
end

describe("OCSP interop", function()
  local dir, fx, C, port, srv, srv_ca

  setup(function()
    dir = h.tmpdir()
    port = servers.free_port()
    fx = require("support.ocsp").make(dir, { url = ("http://127.0.0.1:%d/"):format(port) })
    fx.responder.index, fx.responder.ca = fx.index, fx.ca.cert
    fx.ca.index, fx.ca.ca = fx.index, fx.ca.cert
    C = {}
    for _, n in ipairs { "ca", "other", "good", "revoked", "unknown", "hold", "stranger", "responder" } do
      C[n] = assert(x509.load_file(fx[n].cert))
    end
    srv = start_responder(port, fx.responder, "-ndays 1")
    local p2 = servers.free_port()
    srv_ca = start_responder(p2, fx.ca, "")
    srv_ca.url = ("http://127.0.0.1:%d/"):format(p2)
  end)

  teardown(function()
    servers.stop(srv)
    servers.stop(srv_ca)
  end)

  describe("ocsp.check against openssl ocsp -port", function()
    it("says good, with the delegated responder's signature and the times", function()
      local r = assert(ocsp.check { cert = C.good, issuer = C.ca })
      assert.equal("good", r.status)
      assert.equal(fx.url, r.url) -- from the certificate's AIA
      assert.equal("POST", r.method)
      assert.equal("delegated", r.signer_kind)
      assert.equal("CN=OCSP Responder,O=certbench", r.signer)
      assert.equal("CN=OCSP Responder,O=certbench", r.responder)
      assert.is_true(r.no_check)
      assert.equal("1001", r.serial)
      assert.is_true(math.abs(r.this_update - os.time()) < 120)
      assert.equal(r.this_update + 86400, r.next_update)
      assert.is_true(math.abs(r.produced_at - os.time()) < 120)
      assert.is_false(r.nonce)
      assert.same({}, r.warnings)
    end)

    it("says revoked with the time and the reason, and unknown", function()
      local r = assert(ocsp.check { cert = C.revoked, issuer = C.ca })
      assert.equal("revoked", r.status)
      assert.equal(fx.revoked_at, r.revocation_time)
      assert.equal("keyCompromise", r.reason)
      local hold = assert(ocsp.check { cert = C.hold, issuer = C.ca })
      assert.equal("revoked", hold.status)
      assert.is_nil(hold.reason)
      local u = assert(ocsp.check { cert = C.unknown, issuer = C.ca })
      assert.equal("unknown", u.status)
    end)

    it("sends short requests by GET, with a nonce the responder echoes", function()
      local r = assert(ocsp.check { cert = C.good, issuer = C.ca, method = "get", nonce = true })
      assert.equal("GET", r.method)
      assert.is_true(r.nonce)
      assert.equal("good", r.status)
      assert.matches("GET /M[%w%%]+ HTTP", h.read(srv.log))
      local r2 = assert(ocsp.check { cert = C.revoked, issuer = C.ca, method = "post", nonce = "0123456789abcdef" })
      assert.equal("revoked", r2.status)
      assert.is_true(r2.nonce)
    end)

    it("asks with a SHA-256 CertID, which the responder answers in kind", function()
      local r = assert(ocsp.check { cert = C.revoked, issuer = C.ca, digest = "sha256" })
      assert.equal("revoked", r.status)
      assert.equal("sha256", r.response.responses[1].hash_alg)
    end)

    it("accepts the CA signing its own answers", function()
      local r = assert(ocsp.check { cert = C.good, issuer = C.ca, url = srv_ca.url })
      assert.equal("issuer", r.signer_kind)
      assert.equal("CN=OCSP Test CA,O=certbench", r.signer)
      assert.is_nil(r.next_update)
      assert.matches("no nextUpdate", r.warnings[1])
    end)

    it("refuses the answer for another CA's certificate, signed by a responder that CA never certified", function()
      local r, err, code = ocsp.check { cert = C.stranger, issuer = C.other }
      assert.is_nil(r)
      assert.equal("verify", code)
      assert.matches("OCSP Responder.* is not issued by the certificate's issuer O = certbench, CN = Other CA", err)
    end)

    it("runs many checks at once in loop tasks", function()
      local fns = {}
      local names = { "good", "revoked", "unknown", "hold", "good", "revoked" }
      for i, n in ipairs(names) do
        fns[i] = function() return ocsp.check { cert = C[n], issuer = C.ca, nonce = true, method = i % 2 == 0 and "get" or "post" } end
      end
      local res = loop.all(fns)
      local want = { "good", "revoked", "unknown", "revoked", "good", "revoked" }
      for i, r in ipairs(res) do
        assert.truthy(r[1], tostring(r[2]))
        assert.equal(want[i], r[1].status)
      end
    end)
  end)

  describe("what each side writes, the other reads", function()
    it("openssl ocsp -reqin reads certbench's requests", function()
      for _, alg in ipairs { "sha1", "sha256" } do
        local der, nonce = assert(ocsp.request { cert = C.revoked, issuer = C.ca, nonce = true, digest = alg })
        local f = dir .. "/cb-req-" .. alg .. ".der"
        h.write(f, der)
        local out, rc = h.openssl("ocsp -reqin " .. h.q(f) .. " -req_text")
        assert.equal(0, rc, out)
        assert.matches("Hash Algorithm: " .. alg, out)
        assert.matches("Serial Number: 1002", out)
        local id = ocsp.cert_id(C.ca, C.revoked, alg)
        assert.matches("Issuer Name Hash: " .. id.issuer_name_hash, out)
        assert.matches("Issuer Key Hash: " .. id.issuer_key_hash, out)
        assert.matches("OCSP Nonce:", out)
        local hex = ("%02X"):rep(#nonce):format(nonce:byte(1, -1))
        assert.truthy(out:gsub("%s", ""):find(hex, 1, true), "the nonce is not in openssl's text")
      end
    end)

    it("the offline openssl responder answers certbench's request, and openssl accepts its answer", function()
      local der = assert(ocsp.request { cert = C.revoked, issuer = C.ca, nonce = true })
      local resp = fx:respond(der, { ndays = 1 })
      h.write(dir .. "/offline.der", resp)
      local out, rc = h.openssl(("ocsp -respin %s -CAfile %s -issuer %s -cert %s -no_nonce")
        :format(h.q(dir .. "/offline.der"), h.q(fx.ca.cert), h.q(fx.ca.cert), h.q(fx.revoked.cert)))
      assert.equal(0, rc, out)
      assert.matches("Response verify OK", out)
      assert.matches("revoked", out)
    end)

    it("certbench reads openssl's requests field by field", function()
      for _, alg in ipairs { "sha1", "sha256" } do
        local der = fx:request("good", { nonce = true, digest = alg })
        local req = assert(ocsp.parse_request(der))
        h.write(dir .. "/o-req.der", der)
        local text = h.openssl("ocsp -reqin " .. h.q(dir .. "/o-req.der") .. " -req_text")
        local id = req.cert_ids[1]
        assert.equal(alg, id.hash_alg)
        assert.equal(text:match("Issuer Name Hash: (%x+)"), id.issuer_name_hash)
        assert.equal(text:match("Issuer Key Hash: (%x+)"), id.issuer_key_hash)
        assert.equal(text:match("Serial Number: (%x+)"), id.serial)
        assert.equal(16, #req.nonce)
      end
    end)

    it("certbench reads openssl's responses field by field", function()
      for _, case in ipairs {
        { name = "good", o = { ndays = 1 } }, { name = "revoked", o = { signer = "ca", key_id = true } },
        { name = "hold", o = {} }, { name = "unknown", o = { no_certs = true, ndays = 2 } },
      } do
        local der = assert(ocsp.request { cert = C[case.name], issuer = C.ca, nonce = true })
        local resp = fx:respond(der, case.o)
        local r = assert(ocsp.parse_response(resp))
        h.write(dir .. "/o-resp.der", resp)
        local text = h.openssl("ocsp -respin " .. h.q(dir .. "/o-resp.der") .. " -resp_text -noverify")
        assert.equal("successful", text:match("OCSP Response Status: (%a+)"))
        assert.equal(openssl_time(text:match("Produced At: ([^\n]+)")), r.produced_at)
        local s = r.responses[1]
        assert.equal(text:match("Serial Number: (%x+)"), s.serial)
        assert.equal(text:match("Issuer Name Hash: (%x+)"), s.issuer_name_hash)
        assert.equal(text:match("Issuer Key Hash: (%x+)"), s.issuer_key_hash)
        assert.equal(text:match("Cert Status: (%a+)"), s.status)
        assert.equal(openssl_time(text:match("This Update: ([^\n]+)")), s.this_update)
        local nu = text:match("Next Update: ([^\n]+)")
        assert.equal(nu and openssl_time(nu) or nil, s.next_update)
        local rt = text:match("Revocation Time: ([^\n]+)")
        assert.equal(rt and openssl_time(rt) or nil, s.revocation_time)
        assert.equal(text:match("Revocation Reason: (%a+)"), s.reason)
        local rid = text:match("Responder Id: ([^\n]+)")
        if r.responder_key_hash then assert.equal(rid, r.responder_key_hash)
        else assert.equal(rid, r.responder_name:text()) end
        local ncerts = select(2, text:gsub("\nCertificate:\n", ""))
        assert.equal(ncerts, #r.certs)
      end
    end)
  end)

  describe("broken responders", function()
    local bad, bad_url

    setup(function()
      local p = servers.free_port()
      local script = dir .. "/bad.py"
      h.write(script, [[
import http.server, sys
ANSWERS = {
  "/trylater": (200, "application/ocsp-response", bytes([0x30, 0x03, 0x0a, 0x01, 0x03])),
  "/html": (200, "text/html", b"<html>proxy login</html>"),
  "/missing": (404, "text/plain", b"no"),
}
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        key = "/" + self.path.split("/")[1]
        code, ctype, body = ANSWERS.get(key, (404, "text/plain", b"?"))
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = answer
    do_POST = answer
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
]])
      bad = servers.start(("exec python3 %s %d"):format(h.q(script), p), p)
      bad_url = "http://127.0.0.1:" .. p
    end)

    teardown(function() servers.stop(bad) end)

    it("reports a refusal (tryLater) as code status", function()
      local r, err, code = ocsp.check { cert = C.good, issuer = C.ca, url = bad_url .. "/trylater" }
      assert.is_nil(r)
      assert.equal("status", code)
      assert.matches("the responder answered tryLater: the responder is busy", err)
    end)

    it("reports a page that is not an OCSP response as code parse", function()
      local r, err, code = ocsp.check { cert = C.good, issuer = C.ca, url = bad_url .. "/html", method = "get" }
      assert.is_nil(r)
      assert.equal("parse", code)
      assert.matches("not an OCSP response %(the server sent text/html%)", err)
    end)

    it("reports an HTTP error as code http", function()
      local r, err, code = ocsp.check { cert = C.good, issuer = C.ca, url = bad_url .. "/missing" }
      assert.is_nil(r)
      assert.equal("http", code)
      assert.matches("HTTP 404", err)
    end)
  end)

  describe("certbench ocsp check", function()
    local function cb(args) return h.run3(h.q(h.bin) .. " " .. args) end

    it("exits 0 for good, 3 for revoked, 1 for unknown, with a readable report", function()
      local out, err, rc = cb(("ocsp check %s --issuer %s"):format(h.q(fx.good.cert), h.q(fx.ca.cert)))
      assert.equal(0, rc, err)
      assert.matches("CN = good.example.com %(serial 1001%): GOOD", out)
      assert.matches("signed by +O = certbench, CN = OCSP Responder %(delegated responder, id%-pkix%-ocsp%-nocheck%)", out)
      assert.matches("next update +%d%d%d%d%-%d%d%-%d%dT", out)
      out, err, rc = cb(("ocsp check %s --issuer %s --nonce --method get"):format(h.q(fx.revoked.cert), h.q(fx.ca.cert)))
      assert.equal(3, rc, err)
      assert.matches("REVOKED on 2024%-01%-02T03:04:05Z %(keyCompromise%)", out)
      assert.matches("nonce +sent and matched", out)
      assert.matches("%(GET%)", out)
      out, err, rc = cb(("ocsp check %s --issuer %s"):format(h.q(fx.unknown.cert), h.q(fx.ca.cert)))
      assert.equal(1, rc, err)
      assert.matches("UNKNOWN", out)
    end)

    it("writes JSON with --json", function()
      local out, err, rc = cb(("--json ocsp check %s --issuer %s --url %s --digest sha256")
        :format(h.q(fx.revoked.cert), h.q(fx.ca.cert), h.q(srv_ca.url)))
      assert.equal(3, rc, err)
      local j = cjson.decode(out)
      assert.equal("revoked", j.status)
      assert.equal("2024-01-02T03:04:05Z", j.revocation_time)
      assert.equal("keyCompromise", j.reason)
      assert.equal("issuer", j.signer_kind)
      assert.equal(srv_ca.url, j.url)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", j.this_update)
      assert.equal("1002", j.serial)
    end)

    it("finds the issuer after the certificate in the same file", function()
      local both = dir .. "/good-and-ca.pem"
      h.write(both, h.read(fx.good.cert) .. h.read(fx.ca.cert))
      local out, err, rc = cb("ocsp check " .. h.q(both))
      assert.equal(0, rc, err)
      assert.matches("GOOD", out)
      local _, err2, rc2 = cb("ocsp check " .. h.q(fx.good.cert))
      assert.equal(2, rc2)
      assert.matches("the issuer's certificate is needed %(%-%-issuer ISSUER.pem%)", err2)
    end)

    it("exits 1 with the reason when there is no usable answer", function()
      local _, err, rc = cb(("ocsp check %s --issuer %s --url http://127.0.0.1:%d/"):format(
        h.q(fx.good.cert), h.q(fx.ca.cert), servers.free_port()))
      assert.equal(1, rc)
      assert.matches("certbench: ocsp check: http://127.0.0.1:%d+/: .*[Cc]onnect", err)
      local _, err2, rc2 = cb(("ocsp check %s --issuer %s"):format(h.q(fx.good.cert), h.q(fx.other.cert)))
      assert.equal(1, rc2)
      assert.matches("O = certbench, CN = Other CA is not the issuer of CN = good.example.com", err2)
      local _, err3, rc3 = cb(("ocsp check %s --issuer %s"):format(h.q(dir .. "/nothing.pem"), h.q(fx.ca.cert)))
      assert.equal(1, rc3)
      assert.matches("nothing.pem", err3)
    end)

    it("a certificate without an OCSP URL: one line naming the file and --url, exit 2", function()
      -- the self-signed CA has no Authority Information Access, as openssl shows
      assert.not_matches("OCSP", h.openssl("x509 -noout -ext authorityInfoAccess -in " .. h.q(fx.ca.cert)))
      local out, err, rc = cb(("ocsp check %s --issuer %s"):format(h.q(fx.ca.cert), h.q(fx.ca.cert)))
      assert.equal(2, rc, out .. err)
      assert.matches("^certbench: ocsp check: [^\n]*ca[^\n]*: CN=[^\n]* has no OCSP URL in its Authority Information Access: "
        .. "give the responder with %-%-url URL\n$", err)
      assert.not_matches("url=", err)
    end)
  end)
end)
