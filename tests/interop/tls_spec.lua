-- certbench.tls against `openssl s_server` on 127.0.0.1, started and stopped here, with
-- certificates made by the openssl CLI: a good chain (root -> intermediate -> server), the
-- wrong name, an IP address as the peer name, an expired server certificate, an unknown CA,
-- mutual TLS with and without a client certificate (TLS 1.2 and 1.3), version pinning, ALPN,
-- SNI, a silent server, a server that does not speak TLS, and handshakes run concurrently.
local h = require "support.helper"
local servers = require "support.servers"
local tls = require "certbench.tls"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"
local store = require "certbench.store"
local loop = require "certbench.loop"

local function openssl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. "\n" .. out)
  return out
end

local EC = "ec -pkeyopt ec_paramgen_curve:P-256"

-- the PKI: root -> inter -> {vcs1, ip, cn, client, expired}; rogue -> {rogue_srv, rogue_client}
local function make_pki(d)
  local P = {}
  local function path(n) return d .. "/" .. n end
  local function ca(name, subj, issuer)
    local p = path(name)
    if not issuer then
      openssl(("req -x509 -newkey %s -nodes -days 30 -subj %s -addext basicConstraints=critical,CA:TRUE "
        .. "-addext keyUsage=critical,keyCertSign,cRLSign -keyout %s.key -out %s.pem"):format(EC, h.q(subj), h.q(p), h.q(p)))
    else
      h.write(p .. ".ext", "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n")
      openssl(("req -new -newkey %s -nodes -subj %s -keyout %s.key -out %s.csr"):format(EC, h.q(subj), h.q(p), h.q(p)))
      openssl(("x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -set_serial 0x%d -days 30 -extfile %s.ext -out %s.pem")
        :format(h.q(p), h.q(path(issuer)), h.q(path(issuer)), 100, h.q(p), h.q(p)))
    end
    P[name] = { cert = p .. ".pem", key = p .. ".key" }
  end
  local serial = 0x500
  local function leaf(name, subj, ext, issuer, keyspec)
    local p = path(name)
    serial = serial + 1
    h.write(p .. ".ext", "basicConstraints=CA:FALSE\n" .. ext)
    openssl(("req -new -newkey %s -nodes -subj %s -keyout %s.key -out %s.csr"):format(keyspec or EC, h.q(subj), h.q(p), h.q(p)))
    openssl(("x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -set_serial 0x%x -days 30 -extfile %s.ext -out %s.pem")
      :format(h.q(p), h.q(path(issuer)), h.q(path(issuer)), serial, h.q(p), h.q(p)))
    P[name] = { cert = p .. ".pem", key = p .. ".key" }
  end
  ca("root", "/O=certbench/CN=TLS Test Root")
  ca("inter", "/O=certbench/CN=TLS Test Intermediate", "root")
  ca("rogue", "/O=elsewhere/CN=Rogue CA")
  local both = "extendedKeyUsage=serverAuth,clientAuth\n"
  leaf("vcs1", "/CN=vcs1.example.com", "subjectAltName=DNS:vcs1.example.com,DNS:localhost\n" .. both, "inter", "rsa:2048")
  leaf("ip", "/CN=vcs2.example.com", "subjectAltName=DNS:vcs2.example.com,IP:127.0.0.1\n" .. both, "inter")
  leaf("cn", "/CN=vcs3.example.com", both, "inter")
  leaf("client", "/CN=client.example.com", "extendedKeyUsage=clientAuth\n", "inter")
  leaf("rogue_srv", "/CN=vcs1.example.com", "subjectAltName=DNS:vcs1.example.com\n" .. both, "rogue")
  leaf("rogue_client", "/CN=client.example.com", "extendedKeyUsage=clientAuth\n", "rogue")
  -- expired: `openssl ca` is the CLI's way to dates in the past
  local db = path("db")
  h.run("mkdir -p " .. h.q(db))
  h.write(db .. "/index.txt", "")
  h.write(db .. "/serial", "0600\n")
  h.write(path("ca.cnf"), ([[
[ ca ]
default_ca = inter
[ inter ]
database = %s/index.txt
new_certs_dir = %s
serial = %s/serial
certificate = %s
private_key = %s
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = ext
[ any ]
commonName = supplied
[ ext ]
basicConstraints = CA:FALSE
subjectAltName = DNS:vcs1.example.com
extendedKeyUsage = serverAuth
]]):format(db, db, db, P.inter.cert, P.inter.key))
  local p = path("expired")
  openssl(("req -new -newkey %s -nodes -subj /CN=vcs1.example.com -keyout %s.key -out %s.csr"):format(EC, h.q(p), h.q(p)))
  openssl(("ca -batch -notext -config %s -startdate 20200101000000Z -enddate 20200201000000Z -in %s.csr -out %s.pem")
    :format(h.q(path("ca.cnf")), h.q(p), h.q(p)))
  P.expired = { cert = p .. ".pem", key = p .. ".key" }
  -- the client's key encrypted, and the client certificate with its chain in one file
  openssl(("pkcs8 -topk8 -v2 aes256 -in %s -passout pass:secret -out %s"):format(h.q(P.client.key), h.q(path("client-enc.key"))))
  P.client.enc_key = path("client-enc.key")
  P.client.with_chain = path("client-chain.pem")
  h.write(P.client.with_chain, h.read(P.client.cert) .. h.read(P.inter.cert))
  return P
end

describe("certbench.tls against openssl s_server", function()
  local P, S, dir

  local function s_server(name, cert, extra)
    S[name] = servers.start(function(port)
      return ("cd %s && exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s %s")
        :format(h.q(dir), port, h.q(cert.cert), h.q(cert.key), extra or "")
    end)
    return S[name]
  end

  setup(function()
    dir = h.tmpdir()
    P = make_pki(dir)
    S = {}
    local chain = "-cert_chain " .. h.q(P.inter.cert)
    s_server("good", P.vcs1, chain .. " -alpn h2,http/1.1")
    s_server("tls12", P.vcs1, chain .. " -tls1_2")
    s_server("tls13", P.vcs1, chain .. " -tls1_3")
    s_server("ip", P.ip, chain)
    s_server("cn", P.cn, chain)
    s_server("expired", P.expired, chain)
    s_server("rogue", P.rogue_srv)
    local verify = " -Verify 1 -verify_return_error -CAfile " .. h.q(P.root.cert) .. " -chainCAfile " .. h.q(P.inter.cert)
    s_server("mtls", P.vcs1, chain .. verify)
    s_server("mtls12", P.vcs1, chain .. verify .. " -tls1_2")
    s_server("sni", P.vcs1, chain .. (" -servername vcs2.example.com -servername_fatal -cert2 %s -key2 %s")
      :format(h.q(P.ip.cert), h.q(P.ip.key)))
    -- a listener that accepts and never answers, and a server that speaks HTTP, not TLS
    S.silent = servers.start(function(silent_port) return ("exec python3 -c %s"):format(h.q(([[
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", %d)); s.listen(64)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
]]):format(silent_port))) end)
    S.plain = servers.http(dir)
  end)

  teardown(function()
    for _, s in pairs(S or {}) do servers.stop(s) end
  end)

  local function hs(name, o)
    o = o or {}
    o.host = o.host or "127.0.0.1"
    o.port = S[name].port
    if o.peer_name == nil and o.host == "127.0.0.1" then o.peer_name = "vcs1.example.com" end
    if o.ca_file == nil and o.store == nil and not o.no_ca then o.ca_file = P.root.cert end
    o.no_ca = nil
    return tls.handshake(o)
  end

  local function subject(cert) return cert:subject():rfc4514() end

  describe("a good chain", function()
    it("is shown as presented and verified to the root, over TLS 1.3", function()
      local r = assert(hs("good"))
      assert.equal("TLSv1.3", r.version)
      assert.matches("^TLS_", r.cipher)
      assert.equal(2, #r.chain)
      assert.equal("CN=vcs1.example.com", subject(r.chain[1]))
      assert.equal("CN=TLS Test Intermediate,O=certbench", subject(r.chain[2]))
      assert.is_true(r.verified)
      assert.is_nil(r.verify_error)
      assert.equal(3, #r.verified_chain)
      assert.equal("CN=TLS Test Root,O=certbench", subject(r.verified_chain[3]))
      assert.is_true(r.peer_name_ok)
      assert.equal("vcs1.example.com", r.peer_name)
      assert.equal("vcs1.example.com", r.sni)
      assert.equal("127.0.0.1", r.peer_address)
      assert.equal(S.good.port, r.peer_port)
      assert.is_false(r.client_cert_requested)
      assert.is_false(r.client_cert_sent)
      assert.is_true(r.handshake_complete)
      assert.is_nil(r.alpn)
      assert.matches("rsa", r.server_signature)
    end)

    it("is verified by the name it was reached by, and negotiates ALPN", function()
      local r = assert(hs("good", { host = "localhost", alpn = { "h2", "http/1.1" } }))
      assert.is_true(r.verified, r.verify_error)
      assert.equal("localhost", r.peer_name)
      assert.equal("localhost", r.sni)
      assert.equal("h2", r.alpn)
      local r2 = assert(hs("good", { alpn = "http/1.1" }))
      assert.equal("http/1.1", r2.alpn)
    end)

    it("takes the trusted CAs as a list of certificates or a store", function()
      local root = assert(x509.load_file(P.root.cert))
      assert.is_true(assert(hs("good", { ca_file = { root } })).verified)
      assert.is_true(assert(hs("good", { store = store.new { cas = { root } } })).verified)
    end)

    it("speaks TLS 1.2 to a TLS 1.2 server, and each version on request", function()
      local r = assert(hs("tls12"))
      assert.equal("TLSv1.2", r.version)
      assert.matches("^ECDHE%-RSA%-", r.cipher)
      assert.is_true(r.verified)
      assert.equal("TLSv1.2", assert(hs("good", { version = "TLSv1.2" })).version)
      assert.equal("TLSv1.3", assert(hs("tls13", { min_version = "TLSv1.2" })).version)
      local r2, err, code, p = hs("tls12", { version = "TLSv1.3" })
      assert.is_nil(r2)
      assert.equal("alert:protocol_version", code)
      assert.matches("no TLS version in common", err)
      assert.is_false(p.handshake_complete)
      local r3, err3, code3 = hs("tls13", { max_version = "TLSv1.2" })
      assert.is_nil(r3)
      assert.equal("alert:protocol_version", code3)
      assert.matches("this client allowed TLSv1.2 to TLSv1.2", err3)
    end)
  end)

  describe("names", function()
    it("reports a name the certificate does not carry", function()
      local r = assert(hs("good", { peer_name = "vcs9.example.com" }))
      assert.is_false(r.verified)
      assert.is_false(r.peer_name_ok)
      assert.equal("hostname_mismatch", r.verify_reason)
      assert.matches("the peer address vcs9.example.com matches none of the certificate's DNS names %(vcs1.example.com, localhost%)", r.verify_error)
    end)

    it("explains an IP address as the peer address when the certificate has only DNS names", function()
      local r = assert(hs("good", { peer_name = "127.0.0.1" }))
      assert.is_false(r.verified)
      assert.is_false(r.peer_name_ok)
      assert.equal("ip_address_mismatch", r.verify_reason)
      assert.matches("the peer address 127.0.0.1 is an IP address, and the certificate has no IP address", r.verify_error)
      assert.matches("configure the peer by its FQDN", r.verify_error)
      assert.is_nil(r.sni) -- no SNI for an address
    end)

    it("accepts an IP address the certificate carries, and says which ones it carries otherwise", function()
      local r = assert(hs("ip", { peer_name = "127.0.0.1" }))
      assert.is_true(r.verified, r.verify_error)
      local r2 = assert(hs("ip", { peer_name = "127.0.0.2" }))
      assert.is_false(r2.verified)
      assert.matches("127.0.0.2 is not among the certificate's IP addresses %(127.0.0.1%)", r2.peer_name_error)
    end)

    it("uses the CN only when there are no DNS names", function()
      local r = assert(hs("cn", { peer_name = "vcs3.example.com" }))
      assert.is_true(r.verified, r.verify_error)
      local r2 = assert(hs("cn", { peer_name = "vcs4.example.com" }))
      assert.is_false(r2.verified)
      assert.matches("does not match the certificate's CN %(vcs3.example.com%)", r2.verify_error)
    end)

    it("sends the SNI asked for, or none", function()
      -- the server picks its second certificate (sent without its chain) for vcs2 and refuses
      -- other names
      local root, inter = assert(x509.load_file(P.root.cert)), assert(x509.load_file(P.inter.cert))
      local r = assert(hs("sni", { peer_name = "vcs2.example.com", ca_file = { root, inter } }))
      assert.equal("CN=vcs2.example.com", subject(r.chain[1]))
      assert.is_true(r.verified, r.verify_error)
      local r2, err, code = hs("sni", { sni = "other.example.com" })
      assert.is_nil(r2)
      assert.equal("alert:unrecognized_name", code)
      assert.matches("does not know the name sent as SNI %(other.example.com%)", err)
      local r3 = assert(hs("sni", { sni = false }))
      assert.is_nil(r3.sni)
      assert.equal("CN=vcs1.example.com", subject(r3.chain[1]))
    end)
  end)

  describe("chains that do not verify", function()
    it("reports an expired server certificate", function()
      local r = assert(hs("expired"))
      assert.is_false(r.verified)
      assert.equal("cert_has_expired", r.verify_reason)
      assert.matches("the server certificate CN = vcs1.example.com expired on 2020%-02%-01T00:00:00Z", r.verify_error)
      assert.is_true(r.peer_name_ok)
    end)

    it("reports an unknown CA, and still shows the chain", function()
      local r = assert(hs("rogue"))
      assert.is_false(r.verified)
      assert.equal("unable_to_get_issuer_cert_locally", r.verify_reason)
      assert.matches("is issued by O = elsewhere, CN = Rogue CA, which is neither in the CA file nor sent by the server %(unknown CA", r.verify_error)
      assert.equal(1, #r.chain)
      assert.equal("CN=Rogue CA,O=elsewhere", r.chain[1]:issuer():rfc4514())
    end)

    it("reports both problems when the CA is unknown and the name wrong", function()
      local r = assert(hs("rogue", { peer_name = "vcs9.example.com" }))
      assert.matches("unknown CA.*; also, the peer address vcs9.example.com matches none", r.verify_error)
    end)

    it("shows the chain without verifying it when no CA is given", function()
      local r = assert(hs("good", { no_ca = true }))
      assert.is_false(r.verified)
      assert.equal("no CA given (ca_file): the chain was not verified", r.verify_error)
      assert.equal(2, #r.chain)
      assert.is_true(r.peer_name_ok)
    end)

    it("reports an unreadable CA file", function()
      local r = assert(hs("good", { ca_file = dir .. "/missing.pem" }))
      assert.is_false(r.verified)
      assert.matches("missing.pem", r.verify_error)
    end)
  end)

  describe("mutual TLS", function()
    for _, v in ipairs { { "mtls", "TLSv1.3", "certificate_required" }, { "mtls12", "TLSv1.2", "handshake_failure" } } do
      local name, version, alert = v[1], v[2], v[3]

      it(version .. ": says the server requires a client certificate when none is sent", function()
        local r, err, code, p = hs(name)
        assert.is_nil(r)
        assert.equal("alert:" .. alert, code)
        assert.matches("the server sent the TLS alert " .. alert, err)
        assert.matches("the server requires a client certificate %(mutual TLS%) and none was sent", err)
        assert.is_true(p.client_cert_requested)
        assert.is_false(p.client_cert_sent)
        assert.equal(alert, p.alert_received)
        -- the server's chain was seen before the refusal, and is judged as usual
        assert.equal(2, #p.chain)
        assert.is_true(p.verified, p.verify_error)
        assert.equal("CN=TLS Test Root,O=certbench", p.client_ca_names[1]:rfc4514())
      end)

      it(version .. ": completes with a client certificate and its chain", function()
        local r = assert(hs(name, { cert = P.client.with_chain, key = P.client.key }))
        assert.equal(version, r.version)
        assert.is_true(r.client_cert_requested)
        assert.is_true(r.client_cert_sent)
        assert.is_true(r.verified, r.verify_error)
        if version == "TLSv1.3" then assert.equal("ticket", r.settled_by) end
      end)

      it(version .. ": says the server refused a client certificate of an unknown CA", function()
        local r, err, code, p = hs(name, { cert = P.rogue_client.cert, key = P.rogue_client.key })
        assert.is_nil(r)
        assert.matches("^alert:", code)
        assert.matches("the server refused the client certificate CN = client.example.com", err)
        assert.is_true(p.client_cert_sent)
      end)
    end

    it("takes the certificate and key as objects, a chain list and an encrypted key", function()
      local cert = assert(x509.load_file(P.client.cert))
      local inter = assert(x509.load_file(P.inter.cert))
      local key = assert(pkey.load_file(P.client.key))
      assert.is_true(assert(hs("mtls", { cert = cert, key = key, chain = { inter } })).client_cert_sent)
      assert.is_true(assert(hs("mtls", { cert = P.client.cert, key = P.client.enc_key, key_password = "secret",
        chain = { inter } })).client_cert_sent)
      local r, err, code = hs("mtls", { cert = P.client.cert, key = P.client.enc_key, key_password = "wrong" })
      assert.is_nil(r)
      assert.equal("config", code)
      assert.matches("client key: .*client%-enc.key", err)
    end)

    it("refuses a key that is not the certificate's before connecting", function()
      local r, err, code = hs("mtls", { cert = P.client.cert, key = P.vcs1.key })
      assert.is_nil(r)
      assert.equal("config", code)
      assert.matches("the client key does not match the client certificate", err)
    end)

    it("sends no certificate to a server that does not ask", function()
      local r = assert(hs("good", { cert = P.client.cert, key = P.client.key }))
      assert.is_false(r.client_cert_requested)
      assert.is_false(r.client_cert_sent)
    end)
  end)

  describe("failures of the connection", function()
    it("times out on a server that never answers", function()
      local t0 = loop.now()
      local r, err, code = hs("silent", { timeout = 0.5 })
      assert.is_nil(r)
      assert.equal("timeout", code)
      assert.matches("timed out in the TLS handshake", err)
      -- the timeout given (0.5 s), not the default 30 s; room for a loaded machine
      assert.is_true(loop.now() - t0 < 10)
    end)

    it("says when nothing listens", function()
      local r, err, code = tls.handshake { host = "127.0.0.1", port = servers.free_port() }
      assert.is_nil(r)
      assert.equal("connect", code)
      assert.matches("cannot connect: connection refused", err)
    end)

    it("says when the server does not speak TLS", function()
      local r, err, code = tls.handshake { host = "127.0.0.1", port = S.plain.port, timeout = 5 }
      assert.is_nil(r)
      assert.equal("tls", code)
      assert.matches("TLS handshake failed: wrong version number", err)
    end)
  end)

  describe("on the event loop", function()
    it("runs many handshakes at once in loop tasks", function()
      local names = { "good", "tls12", "tls13", "ip", "cn", "expired", "rogue", "mtls", "silent", "silent" }
      local fns, events = {}, {}
      for i, n in ipairs(names) do
        fns[i] = function()
          events[#events + 1] = "begin " .. i
          return (function(...) events[#events + 1] = "end " .. i return ... end)(hs(n, { timeout = 1.5, peer_name = n == "ip" and "127.0.0.1" or n == "cn" and "vcs3.example.com" or nil,
            cert = n == "mtls" and P.client.with_chain or nil, key = n == "mtls" and P.client.key or nil }))
        end
      end
      local t0 = loop.now()
      local res = loop.all(fns)
      local elapsed = loop.now() - t0
      local verified = { good = true, tls12 = true, tls13 = true, ip = true, cn = true, expired = false, rogue = false, mtls = true }
      for i, n in ipairs(names) do
        local r = res[i]
        if n == "silent" then
          assert.is_nil(r[1])
          assert.equal("timeout", r[3])
        else
          assert.truthy(r[1], n .. ": " .. tostring(r[2]))
          assert.equal(verified[n], r[1].verified, n)
        end
      end
      -- the two silent servers time out together, while the others complete: every handshake
      -- began before any ended (the order of events; the time a loaded machine stretches is
      -- only printed)
      print(("\n# %d handshakes at once: %.3f s"):format(#names, elapsed))
      for i = 1, #names do assert.equal("begin " .. i, events[i], table.concat(events, ", ")) end
    end)

    it("keeps a pool of handshakes going", function()
      local pool = loop.pool(3)
      for _ = 1, 6 do pool:submit(function() return hs("good") end) end
      local res = pool:wait()
      assert.equal(6, #res)
      for _, r in ipairs(res) do assert.is_true(r[1].verified) end
      assert.equal(3, pool.peak)
    end)
  end)
end)
