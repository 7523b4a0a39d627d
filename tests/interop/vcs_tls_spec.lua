-- tests/interop/vcs_tls_spec.lua: `vcs tls-check` against openssl s_server (and an openssl ocsp
-- responder, which binds its port on every interface: only 127.0.0.1 is used) started and stopped here: mutual TLS, and the common failures of
-- TLS verify mode with the reason each one gets.
local h = require "support.helper"
local servers = require "support.servers"
local fs = require "certbench.fs"
local ca_plugin = require "certbench.plugins.ca"
local vcs = require "certbench.plugins.vcs"
local cjson = require "cjson"

local function by_id(res)
  local t = {}
  for _, c in ipairs(res.checks) do t[c.id] = c end
  return t
end

describe("vcs tls-check", function()
  local dir, ca, ocsp_port, P = nil, nil, nil, {}
  local started = {}

  -- issue(name, opts) -> {cert=, key=} for name from the test CA
  local function issue(name, o)
    o = o or {}
    local out = dir .. "/" .. name
    local plan = assert(vcs.plan { fqdn = name .. ".example.com", san_fqdn = true })
    assert(vcs.csr { plan = plan, out_dir = out, key = "ec:P-256" })
    local profile = o.profile or "vcs-server"
    local cert = assert(ca:issue { csr = assert(fs.read(out .. "/request.pem")), profile = profile,
                                   not_before = o.not_before, not_after = o.not_after })
    assert(fs.write(out .. "/server.pem", cert:to_pem()))
    return { cert = out .. "/server.pem", key = out .. "/privkey.pem", serial = cert:serial(), x509 = cert }
  end

  local function s_server(id, extra)
    local s = servers.start(function(port) return ("exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s %s")
      :format(port, h.q(id.cert), h.q(id.key), extra or "") end)
    started[#started + 1] = s
    return s
  end

  setup(function()
    dir = h.tmpdir()
    ca = assert(ca_plugin.init(dir .. "/ca", { subject = "/O=net2/CN=TLS Test Root", key = "ec:P-256", encrypt = false }))
    ocsp_port = servers.free_port()
    local with_ocsp = { eku = { "serverAuth", "clientAuth" }, key_usage = { "digitalSignature" },
                        ocsp_urls = { ("http://127.0.0.1:%d"):format(ocsp_port) } }
    P.vcs1 = issue("vcs1")
    P.vcs2 = issue("vcs2")
    P.server_only = issue("web", { profile = "server" })
    local now = os.time()
    P.expired = issue("old", { not_before = now - 40 * 86400, not_after = now - 86400 })
    P.good = issue("good", { profile = with_ocsp })
    P.bad = issue("bad", { profile = with_ocsp })
    assert(ca:revoke { serial = P.bad.serial, reason = "keyCompromise" })
    local crl = assert(ca:gencrl { days = 7 })
    assert(fs.write(dir .. "/ca.crl", crl:to_pem()))
    P.ca = dir .. "/ca/cacert.pem"
    -- another CA, for "unknown CA"
    local other = assert(ca_plugin.init(dir .. "/other", { subject = "/CN=Other Root", key = "ec:P-256", encrypt = false }))
    P.other_ca = dir .. "/other/cacert.pem"
    other:close()
    started[#started + 1] = servers.ocsp(dir .. "/ca/index.txt", ocsp_port, P.ca,
      dir .. "/ca/private/cakey.pem", dir .. "/ocsp.log")
  end)

  teardown(function()
    for _, s in ipairs(started) do servers.stop(s) end
    if ca then ca:close() end
  end)

  it("mutual TLS: the chain shown and trusted, the peer address, the client certificate accepted", function()
    local s = s_server(P.vcs1, "-CAfile " .. h.q(P.ca) .. " -Verify 2")
    local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "vcs1.example.com",
                                      cert = P.vcs2.cert, key = P.vcs2.key }
    assert.is_true(res.ok)
    assert.is_true(res.ok)
    local c = by_id(res)
    for _, id in ipairs { "handshake", "chain", "verify", "peer-address", "validity", "eku", "client-cert" } do
      assert.equal("pass", c[id].status, id .. ": " .. c[id].reason)
    end
    assert.matches("vcs1.example.com <- TLS Test Root", c.verify.reason, 1, true)
    assert.matches("vcs2.example.com was sent and accepted", c["client-cert"].reason, 1, true)
    assert.is_true(res.client_cert_requested)
    assert.equal(2, #res.chain) -- s_server -CAfile sends the root too
    assert.matches("CN = vcs1.example.com", res.chain[1].subject, 1, true)
    servers.stop(s)
  end)

  it("judges the validity as vcs check does, in the same words (one helper, describe.validity)", function()
    local now = os.time()
    for _, c in ipairs { { "soon", now - 86400, now + 10 * 86400 + 3600, "warn" },
                         { "later", now - 86400, now + 90 * 86400, "pass" } } do
      local id = issue(c[1], { not_before = c[2], not_after = c[3] })
      local s = s_server(id)
      local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = c[1] .. ".example.com" }
      local local_res = vcs.check { key = id.key, cert = id.cert, ca = P.ca }
      local t, l = by_id(res).validity, by_id(local_res).validity
      assert.equal(c[4], t.status, t.reason)
      assert.equal(l.status, t.status)
      assert.equal(l.reason, t.reason)
    end
  end)

  it("says when the peer requires a client certificate and none was given", function()
    local s = s_server(P.vcs1, "-CAfile " .. h.q(P.ca) .. " -Verify 2")
    local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "vcs1.example.com" }
    assert.is_true(not res.ok)
    local c = by_id(res)
    assert.equal("fail", c["client-cert"].status)
    assert.matches("requires a client certificate", c["client-cert"].reason, 1, true)
    assert.equal("fail", c.handshake.status)
    -- the chain was seen all the same
    assert.equal("pass", c.verify.status)
    servers.stop(s)
  end)

  it("takes the CA as a .p7b (openssl crl2pkcs7), a DER file and a ZIP, as convert reads them", function()
    local s = s_server(P.vcs1)
    local p7b, der, zip = dir .. "/ca.p7b", dir .. "/ca.der", dir .. "/ca.zip"
    assert.equal(0, select(2, h.openssl(("crl2pkcs7 -nocrl -certfile %s -outform DER -out %s"):format(h.q(P.ca), h.q(p7b)))))
    assert.equal(0, select(2, h.openssl(("x509 -in %s -outform DER -out %s"):format(h.q(P.ca), h.q(der)))))
    h.sh(("cd %s && zip -q %s ca.der"):format(h.q(dir), h.q(zip)))
    for _, ca_file in ipairs { p7b, der, zip } do
      local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = ca_file, peer_address = "vcs1.example.com" }
      local c = by_id(res)
      assert.equal("pass", c.verify.status, ca_file .. ": " .. tostring(c.verify.reason))
    end
    -- and a .p7b of another CA: still verified, and refused
    local other = dir .. "/other.p7b"
    assert.equal(0, select(2, h.openssl(("crl2pkcs7 -nocrl -certfile %s -outform DER -out %s"):format(h.q(P.other_ca), h.q(other)))))
    local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = other, peer_address = "vcs1.example.com" }
    assert.equal("fail", by_id(res).verify.status)
    servers.stop(s)
  end)

  it("explains a peer address configured as an IP address", function()
    local s = s_server(P.vcs1)
    local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca }
    assert.is_true(not res.ok)
    local c = by_id(res)
    assert.equal("fail", c["peer-address"].status)
    assert.matches("the peer address 127.0.0.1 is an IP address", c["peer-address"].reason, 1, true)
    assert.matches("configure the peer by its FQDN", c["peer-address"].reason, 1, true)
    assert.equal("pass", c.verify.status)
    -- a name the certificate does not carry
    res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "vcs9.example.com" }
    assert.matches("matches none of the certificate's DNS names", by_id(res)["peer-address"].reason, 1, true)
    servers.stop(s)
  end)

  -- spec/regress/malformed_times_spec.lua covers the loaders; a peer's certificate comes from
  -- the handshake instead, and its nil notAfter stopped tls-check ("attempt to compare")
  it("names a peer certificate whose notAfter is no time (openssl s_server serves it)", function()
    local d = h.tmpdir()
    h.sh("python3 " .. h.q(h.root .. "/spec/support/time.py") .. " " .. h.q(d))
    local s = s_server { cert = d .. "/leaf-bad-notafter.pem", key = d .. "/leaf.key" }
    local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = d .. "/ca.pem", peer_address = "vcs.example.com" }
    assert.is_false(res.ok)
    local c = by_id(res)
    assert.equal("fail", c.validity.status)
    assert.matches('notAfter is not a valid time (UTCTime "351332000000Z")', c.validity.reason, 1, true)
    assert.equal("notAfter not a valid time", res.chain[1].not_after)
    servers.stop(s)
  end)

  it("explains an unknown CA, an expired certificate and a server-only one", function()
    local s = s_server(P.vcs1)
    local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.other_ca, peer_address = "vcs1.example.com" }
    assert.is_true(not res.ok)
    assert.matches("unknown CA", by_id(res).verify.reason, 1, true)
    servers.stop(s)
    s = s_server(P.expired)
    res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "old.example.com" }
    assert.is_true(not res.ok)
    local c = by_id(res)
    assert.equal("fail", c.validity.status)
    assert.matches("expired", c.validity.reason, 1, true)
    assert.matches("expired", c.verify.reason, 1, true)
    servers.stop(s)
    s = s_server(P.server_only)
    res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "web.example.com" }
    assert.is_true(res.ok)
    assert.equal("warn", by_id(res).eku.status)
    assert.matches("without clientAuth", by_id(res).eku.reason, 1, true)
    servers.stop(s)
  end)

  it("checks revocation with CRLs and with OCSP", function()
    local s = s_server(P.bad)
    local res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "bad.example.com",
                                      crls = { dir .. "/ca.crl" } }
    assert.is_true(not res.ok)
    assert.equal("fail", by_id(res)["crl:0"].status)
    assert.matches("revoked", by_id(res)["crl:0"].reason, 1, true)
    res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "bad.example.com", ocsp = true }
    assert.is_true(not res.ok)
    assert.equal("fail", by_id(res)["ocsp:0"].status)
    assert.matches("keyCompromise", by_id(res)["ocsp:0"].reason, 1, true)
    servers.stop(s)
    s = s_server(P.good)
    res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "good.example.com", ocsp = true,
                                crls = { dir .. "/ca.crl" } }
    assert.is_true(res.ok, cjson.encode(res.checks))
    assert.equal("pass", by_id(res)["ocsp:0"].status)
    assert.equal("pass", by_id(res)["crl:0"].status)
    servers.stop(s)
    -- a certificate without a responder
    s = s_server(P.vcs1)
    res = vcs.tls_check { target = "127.0.0.1:" .. s.port, ca = P.ca, peer_address = "vcs1.example.com", ocsp = true }
    assert.equal("warn", by_id(res)["ocsp:0"].status)
    servers.stop(s)
  end)

  it("CLI: text, --json, exit 1 without a connection, 2 for bad options", function()
    local s = s_server(P.vcs1, "-CAfile " .. h.q(P.ca) .. " -Verify 2")
    local base = ("vcs tls-check 127.0.0.1:%d --ca %s"):format(s.port, h.q(P.ca))
    local out, rc = h.certbench(base .. " --peer-address vcs1.example.com --cert " .. h.q(P.vcs2.cert) .. " --key " .. h.q(P.vcs2.key))
    assert.equal(0, rc, out)
    assert.matches("PASS  client certificate", out, 1, true)
    assert.matches("the peer passes TLS verify mode", out, 1, true)
    assert.matches("  0 CN = vcs1.example.com\n      issuer O = net2, CN = TLS Test Root", out, 1, true)
    out, rc = h.certbench(base .. " --json")
    assert.equal(3, rc, out)
    local j = cjson.decode(out:match("%b{}"))
    assert.is_false(j.ok)
    -- --quiet drops the PASS lines and the summary, not why the peer fails: one line on stderr
    local qo, qe, qrc = h.run3(h.q(h.bin) .. " " .. base .. " --quiet")
    assert.equal(3, qrc, qe)
    assert.equal("", qo)
    assert.matches("^certbench: vcs tls%-check: [^\n]*requires a client certificate[^\n]*\n$", qe)
    servers.stop(s)
    local port = servers.free_port()
    out, rc = h.certbench(("vcs tls-check 127.0.0.1:%d --ca %s --timeout 5"):format(port, h.q(P.ca)))
    assert.equal(1, rc, out)
    assert.matches("127.0.0.1:" .. port, out, 1, true)
    out, rc = h.certbench("vcs tls-check 127.0.0.1:99999 --ca " .. h.q(P.ca))
    assert.equal(2, rc, out)
    out, rc = h.certbench("vcs tls-check 127.0.0.1:5061 --ca " .. h.q(P.ca) .. " --cert " .. h.q(P.vcs2.cert))
    assert.equal(2, rc, out)
    assert.matches("--cert and --key go together", out, 1, true)
    out, rc = h.certbench("vcs tls-check 127.0.0.1 --ca " .. h.q(P.ca) .. " --timeout soon")
    assert.equal(2, rc, out)
  end)
end)
