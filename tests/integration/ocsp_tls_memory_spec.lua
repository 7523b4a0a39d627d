-- Memory growth of certbench.ocsp and certbench.tls (luv's test-leaks.lua): thousands of
-- requests, parses and verifications (passing and failing), and of TLS handshakes (complete,
-- refused by the server, and refused connections), with collectgarbage, must keep the resident
-- size within 1.5x of what it was after a warm-up. A leaked X509, SSL, BIO pair, libuv handle or
-- write request per cycle would grow it by megabytes.
local h = require "support.helper"
local servers = require "support.servers"
local ocsp = require "certbench.ocsp"
local tls = require "certbench.tls"
local x509 = require "certbench.x509"
local loop = require "certbench.loop"

-- ASan's quarantine keeps freed memory resident: there LeakSanitizer is the check
local ASAN = os.getenv("CERTBENCH_ASAN") ~= nil

local function grows(n, cycle)
  for i = 1, n // 10 do cycle(i) end -- warm-up
  collectgarbage()
  collectgarbage()
  local base = h.rss_kb()
  for i = 1, n do
    cycle(i)
    if i % 100 == 0 then collectgarbage() end
  end
  collectgarbage()
  collectgarbage()
  return h.rss_kb() / base, base
end

describe("ocsp and tls memory", function()
  local dir, fx, C

  setup(function()
    dir = h.tmpdir()
    fx = require("support.ocsp").make(dir)
    C = {}
    for _, n in ipairs { "ca", "good", "responder" } do C[n] = assert(x509.load_file(fx[n].cert)) end
  end)

  it("stays within 1.5x over 5,000 OCSP request, parse and verify cycles", function()
    if ASAN then pending("resident size under ASan") return end
    local req = assert(ocsp.request { cert = C.good, issuer = C.ca, nonce = "fixed-nonce" })
    local der = fx:respond(req, { ndays = 1 })
    local broken = der:sub(1, #der - 20)
    local ratio, base = grows(5000, function(i)
      local q = assert(ocsp.request { cert = C.good, issuer = C.ca, nonce = true, digest = i % 2 == 0 and "sha256" or "sha1" })
      assert(ocsp.parse_request(q))
      local r = assert(ocsp.parse_response(der))
      assert(r:verify { issuer = C.ca, cert = C.good, nonce = "fixed-nonce" })
      assert(not r:verify { issuer = C.ca, cert = C.good, nonce = "other" })
      assert(not r:verify { issuer = C.responder })
      assert(not ocsp.parse_response(broken))
    end)
    assert.is_true(ratio < 1.5, ("resident size grew %.2fx from %d kB"):format(ratio, base))
  end)

  it("stays within 1.5x over TLS handshakes: complete, refused by the server, and refused connections", function()
    if ASAN then pending("resident size under ASan") return end
    local port = servers.free_port()
    local srv = servers.start(("exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s")
      :format(port, h.q(fx.good.cert), h.q(fx.good.key)), port)
    local mport = servers.free_port()
    local msrv = servers.start(("exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s -Verify 1 -verify_return_error -CAfile %s")
      :format(mport, h.q(fx.good.cert), h.q(fx.good.key), h.q(fx.ca.cert)), mport)
    local closed = servers.free_port()
    local ok, ratio, base = pcall(grows, 600, function(i)
      local kind = i % 3
      if kind == 0 then
        local r = assert(tls.handshake { host = "127.0.0.1", port = port, peer_name = "good.example.com", ca_file = { C.ca } })
        assert(r.verified, r.verify_error)
      elseif kind == 1 then
        local r, _, code = tls.handshake { host = "127.0.0.1", port = mport, ca_file = { C.ca }, settle = 2 }
        assert(not r and code == "alert:certificate_required", code)
      else
        -- a few at once, in tasks
        local res = loop.all {
          function() return tls.handshake { host = "127.0.0.1", port = closed } end,
          function() return tls.handshake { host = "127.0.0.1", port = closed } end,
        }
        assert(res[1][3] == "connect" and res[2][3] == "connect")
      end
    end)
    servers.stop(srv)
    servers.stop(msrv)
    assert(ok, ratio)
    assert.is_true(ratio < 1.5, ("resident size grew %.2fx from %d kB"):format(ratio, base))
  end)
end)
