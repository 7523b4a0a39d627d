-- certbench.tls: the API without a TLS server: addresses, arguments, the verdict on a chain
-- (tls.verify on certificates made here), and connections that fail before TLS starts. The
-- handshakes themselves are in tests/interop/tls_spec.lua, against openssl s_server.
local h = require "support.helper"
local tls = require "certbench.tls"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"
local store = require "certbench.store"
local loop = require "certbench.loop"

local NOW = os.time()

-- a port nothing listens on: bound, then closed
local function closed_port()
  local out = h.run([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']])
  return assert(tonumber(out:match("%d+")))
end

describe("certbench.tls", function()
  local ca, ca_key, other, other_key
  local function leaf(o)
    local k = pkey.generate("ec")
    local cert = assert(x509.new {
      subject = o.subject or "/CN=vcs1.example.com", issuer = o.issuer or ca, issuer_key = o.issuer_key or ca_key,
      public_key = k, san = o.san, eku = { "serverAuth", "clientAuth" },
      not_before = o.not_before, not_after = o.not_after,
    })
    return cert, k
  end

  setup(function()
    ca_key = pkey.generate("ec")
    ca = assert(x509.new { subject = "/O=certbench/CN=Spec CA", issuer_key = ca_key, ca = true })
    other_key = pkey.generate("ec")
    other = assert(x509.new { subject = "/CN=Other CA", issuer_key = other_key, ca = true })
  end)

  it("is reachable from the root module", function()
    assert.equal(tls, require("certbench").tls)
  end)

  describe("addresses", function()
    it("tells IP addresses from names", function()
      assert.equal("ipv4", tls.is_ip("192.0.2.1"))
      assert.equal("ipv6", tls.is_ip("2001:db8::1"))
      assert.equal("ipv6", tls.is_ip("::1"))
      assert.is_nil(tls.is_ip("256.1.1.1"))
      assert.is_nil(tls.is_ip("vcs1.example.com"))
      assert.is_nil(tls.is_ip("1.2.3"))
      assert.is_nil(tls.is_ip(nil))
    end)

    it("splits HOST:PORT, [v6]:PORT and bare hosts with a default port", function()
      assert.same({ "vcs1.example.com", 5061 }, { tls.split_address("vcs1.example.com:5061") })
      assert.same({ "192.0.2.1", 443 }, { tls.split_address("192.0.2.1:443") })
      assert.same({ "2001:db8::1", 5061 }, { tls.split_address("[2001:db8::1]:5061") })
      assert.same({ "2001:db8::1", 5061 }, { tls.split_address("2001:db8::1", 5061) })
      assert.same({ "vcs1", 5061 }, { tls.split_address("vcs1", 5061) })
      local h1, e1 = tls.split_address("vcs1")
      assert.is_nil(h1)
      assert.matches("has no port", e1)
      local h2, e2 = tls.split_address("vcs1:99999")
      assert.is_nil(h2)
      assert.matches("1 to 65535", e2)
      assert.is_nil((tls.split_address("")))
      assert.is_nil((tls.split_address(":443")))
      assert.is_nil((tls.split_address(nil)))
    end)
  end)

  describe("verify", function()
    it("verifies a chain to the CA and the peer name", function()
      local cert = leaf { san = { "DNS:vcs1.example.com" } }
      local r = tls.verify({ chain = { cert } }, { peer_name = "vcs1.example.com", ca_file = { ca } })
      assert.is_true(r.verified)
      assert.is_true(r.peer_name_ok)
      assert.equal(2, #r.verified_chain)
      assert.is_nil(r.verify_error)
      -- with a store, and at a given time
      local r2 = tls.verify({ chain = { cert } }, { peer_name = "vcs1.example.com", store = store.new { cas = { ca } }, time = NOW + 60 })
      assert.is_true(r2.verified)
      -- without a peer name only the chain is judged
      local r3 = tls.verify({ chain = { cert } }, { ca_file = { ca } })
      assert.is_true(r3.verified)
      assert.is_nil(r3.peer_name_ok)
    end)

    it("explains an IP peer address against DNS-only names, as TLS verify mode sees it", function()
      local cert = leaf { san = { "DNS:vcs1.example.com", "DNS:cluster.example.com" } }
      local r = tls.verify({ chain = { cert } }, { peer_name = "192.0.2.10", ca_file = { ca } })
      assert.is_false(r.verified)
      assert.is_false(r.peer_name_ok)
      assert.equal("ip_address_mismatch", r.verify_reason)
      assert.equal("the peer address 192.0.2.10 is an IP address, and the certificate has no IP address in "
        .. "its subjectAltName (its names: vcs1.example.com, cluster.example.com): in TLS verify mode the peer "
        .. "address must be a name the certificate carries, so configure the peer by its FQDN (the guide's "
        .. "Appendix 1; certbench names servers by FQDN only)", r.verify_error)
      -- a CN-only certificate: the CN is named
      local cn = leaf { subject = "/CN=vcs3.example.com" }
      local r2 = tls.verify({ chain = { cn } }, { peer_name = "192.0.2.10", ca_file = { ca } })
      assert.matches("its names: CN=vcs3.example.com", r2.verify_error)
      local ipc = leaf { san = { "DNS:vcs2.example.com", "IP:192.0.2.11" } }
      assert.is_true(tls.verify({ chain = { ipc } }, { peer_name = "192.0.2.11", ca_file = { ca } }).verified)
      local r3 = tls.verify({ chain = { ipc } }, { peer_name = "192.0.2.10", ca_file = { ca } })
      assert.matches("192.0.2.10 is not among the certificate's IP addresses %(192.0.2.11%)", r3.verify_error)
    end)

    it("explains DNS names that do not match", function()
      local cert = leaf { san = { "DNS:vcs1.example.com" } }
      local r = tls.verify({ chain = { cert } }, { peer_name = "vcs2.example.com", ca_file = { ca } })
      assert.equal("hostname_mismatch", r.verify_reason)
      assert.equal("the peer address vcs2.example.com matches none of the certificate's DNS names "
        .. "(vcs1.example.com) (its CN is not used when DNS names are present)", r.verify_error)
      local cn = leaf { subject = "/CN=vcs3.example.com" }
      assert.is_true(tls.verify({ chain = { cn } }, { peer_name = "vcs3.example.com", ca_file = { ca } }).verified)
      local r2 = tls.verify({ chain = { cn } }, { peer_name = "vcs4.example.com", ca_file = { ca } })
      assert.matches("does not match the certificate's CN %(vcs3.example.com%); it has no DNS names", r2.verify_error)
      local wild = leaf { san = { "DNS:*.example.com" } }
      assert.is_true(tls.verify({ chain = { wild } }, { peer_name = "vcs5.example.com", ca_file = { ca } }).verified)
    end)

    it("explains unknown CAs, expiry and dates in the future", function()
      local cert = leaf { san = { "DNS:vcs1.example.com" } }
      local r = tls.verify({ chain = { cert } }, { peer_name = "vcs1.example.com", ca_file = { other } })
      assert.equal("unable_to_get_issuer_cert_locally", r.verify_reason)
      assert.matches("the server certificate %(CN = vcs1.example.com%) is issued by O = certbench, CN = Spec CA, which is "
        .. "neither in the CA file nor sent by the server %(unknown CA", r.verify_error)
      local old = leaf { san = { "DNS:vcs1.example.com" }, not_before = 1577836800, not_after = 1580515200 }
      local r2 = tls.verify({ chain = { old } }, { peer_name = "vcs1.example.com", ca_file = { ca } })
      assert.equal("cert_has_expired", r2.verify_reason)
      assert.matches("the server certificate CN = vcs1.example.com expired on 2020%-02%-01T00:00:00Z", r2.verify_error)
      local young = leaf { san = { "DNS:vcs1.example.com" }, not_before = NOW + 86400, not_after = NOW + 2 * 86400 }
      local r3 = tls.verify({ chain = { young } }, { peer_name = "vcs1.example.com", ca_file = { ca } })
      assert.equal("cert_not_yet_valid", r3.verify_reason)
      assert.matches("is not valid before", r3.verify_error)
      local self = assert(x509.new { subject = "/CN=vcs1.example.com", issuer_key = other_key, san = { "DNS:vcs1.example.com" } })
      local r4 = tls.verify({ chain = { self } }, { peer_name = "vcs1.example.com", ca_file = { ca } })
      assert.matches("is self%-signed and not in the CA file", r4.verify_error)
    end)

    it("says what is missing", function()
      local r = tls.verify({ chain = {} }, { peer_name = "x", ca_file = { ca } })
      assert.is_false(r.verified)
      assert.equal("the server sent no certificate", r.verify_error)
      local cert = leaf { san = { "DNS:vcs1.example.com" } }
      local r2 = tls.verify({ chain = { cert } }, { peer_name = "vcs1.example.com" })
      assert.is_false(r2.verified)
      assert.is_true(r2.peer_name_ok)
      assert.matches("no CA given", r2.verify_error)
      local r3 = tls.verify({ chain = { cert } }, { ca_file = "/nonexistent/ca.pem" })
      assert.is_false(r3.verified)
      assert.matches("/nonexistent/ca.pem", r3.verify_error)
    end)
  end)

  describe("handshake", function()
    it("raises on wrong arguments", function()
      assert.has_error(function() tls.handshake() end)
      assert.has_error(function() tls.handshake {} end)
      assert.has_error(function() tls.handshake { host = "x" } end)
      assert.has_error(function() tls.handshake { host = "x", port = 0 } end)
      assert.has_error(function() tls.handshake { host = "x", port = 70000 } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1.5 } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, peer_name = 5 } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, sni = 5 } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, alpn = { "" } } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, alpn = 5 } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, timeout = -1 } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, cert = ca } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, cert = 5, key = ca_key } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, cert = ca, key = 5 } end)
      assert.has_error(function() tls.handshake { host = "x", port = 1, cert = ca, key = ca_key, chain = { 5 } } end)
      assert.has_error(function() tls.handshake { host = "127.0.0.1", port = 1, version = "SSLv3" } end)
      assert.has_error(function() tls.handshake { host = "127.0.0.1", port = 1, ca_file = 5 } end)
    end)

    it("refuses client credentials that do not fit, before connecting", function()
      local cert = leaf { san = { "DNS:c" } }
      local r, err, code = tls.handshake { host = "127.0.0.1", port = 1, cert = cert, key = other_key }
      assert.is_nil(r)
      assert.equal("config", code)
      assert.matches("the client key does not match the client certificate", err)
      local r2, err2, code2 = tls.handshake { host = "127.0.0.1", port = 1, cert = "/nonexistent.pem", key = other_key }
      assert.is_nil(r2)
      assert.equal("config", code2)
      assert.matches("client certificate: .*/nonexistent.pem", err2)
      local r3, err3, code3 = tls.handshake { host = "127.0.0.1", port = 1, cert = cert, key = "/nonexistent.key" }
      assert.is_nil(r3)
      assert.equal("config", code3)
      assert.matches("client key: .*/nonexistent.key", err3)
    end)

    it("says when nothing listens, with what it saw so far", function()
      local port = closed_port()
      local r, err, code, partial = tls.handshake { host = "127.0.0.1", port = port }
      assert.is_nil(r)
      assert.equal("connect", code)
      assert.equal(("127.0.0.1:%d: cannot connect: connection refused"):format(port), err)
      assert.same({}, partial.chain)
      assert.is_false(partial.handshake_complete)
      assert.is_false(partial.client_cert_requested)
      -- an IPv6 literal in brackets is an address too
      local r2, _, code2 = tls.handshake { host = "[::1]", port = port, timeout = 5 }
      assert.is_nil(r2)
      assert.equal("connect", code2)
    end)

    it("says when a name does not resolve", function()
      local r, err, code = tls.handshake { host = "no-such-host.invalid", port = 443, timeout = 5 }
      assert.is_nil(r)
      assert.truthy(code == "connect" or code == "timeout", code)
      assert.matches("^no%-such%-host.invalid:443: ", err)
    end)

    it("leaves no handle behind, in tasks and outside them", function()
      local port = closed_port()
      local before, res_before = loop.stats().handles, loop.stats().resources
      for _ = 1, 50 do tls.handshake { host = "127.0.0.1", port = port } end
      local fns = {}
      for i = 1, 50 do fns[i] = function() return tls.handshake { host = "127.0.0.1", port = port } end end
      local res = loop.all(fns)
      for _, r in ipairs(res) do assert.equal("connect", r[3]) end
      collectgarbage()
      collectgarbage()
      loop.sleep(0.05) -- the close callbacks
      assert.equal(before, loop.stats().handles)
      assert.equal(res_before, loop.stats().resources) -- no handshake left on the loop's list
    end)

    it("names TLS alerts", function()
      assert.equal("certificate_required", tls.alert_name(116))
      assert.equal("handshake_failure", tls.alert_name(40))
      assert.equal("unknown_ca", tls.alert_name(48))
      assert.is_nil(tls.alert_name(255))
    end)
  end)
end)
