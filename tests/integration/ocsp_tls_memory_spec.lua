-- Memory growth of certbench.ocsp and certbench.tls (luv's test-leaks.lua): thousands of
-- requests, parses and verifications (passing and failing), and of TLS handshakes (complete,
-- refused by the server, and refused connections). A leaked X509, SSL, BIO pair, libuv handle or
-- write request per cycle would grow the resident size by megabytes.
-- The cycles run in a fresh certbench process (tests/integration/memory/ocsp_tls_cycles.lua, with
-- spec/support/memory.lua): measured in this busted process, the resident size also held what the
-- specs run before had left in the heap and up to 100 handshakes' garbage waiting for the
-- collector, and grew 2.5x with no leak. After a warm-up the child's resident size stays flat to
-- a few pages (30 kB over the 5,000 OCSP cycles, 20 kB over the 600 handshakes): it must not grow
-- by MAX_KB, which a leak of 100 bytes an OCSP cycle or 900 bytes a handshake passes. An X509
-- kept per response parsed grew it by 29 MB, an SSL_CTX left per handshake by 1.9 MB.
local h = require "support.helper"
local servers = require "support.servers"
local memory = require "support.memory"
local ocsp = require "certbench.ocsp"
local x509 = require "certbench.x509"

-- under ASan the quarantine keeps freed memory resident: there the child runs fewer cycles and
-- LeakSanitizer, at its exit, is the check
local ASAN = os.getenv("CERTBENCH_ASAN") ~= nil
local SCRIPT = h.root .. "/tests/integration/memory/ocsp_tls_cycles.lua"
local MAX_KB = 512

local function check(what, n, ...)
  local points, err = memory.run(SCRIPT, { what, tostring(ASAN and n // 20 or n), ... })
  assert(points, err)
  if ASAN then return end
  local grew, all = memory.growth(points)
  print(("\n# %s memory: %s"):format(what, all))
  assert.is_true(grew < MAX_KB, ("resident size grew by %d kB over %d cycles after the warm-up (%s)"):format(grew, n, all))
end

describe("ocsp and tls memory", function()
  local dir, fx

  setup(function()
    dir = h.tmpdir()
    fx = require("support.ocsp").make(dir)
    local ca, good = assert(x509.load_file(fx.ca.cert)), assert(x509.load_file(fx.good.cert))
    local req = assert(ocsp.request { cert = good, issuer = ca, nonce = "fixed-nonce" })
    h.write(dir .. "/response.der", fx:respond(req, { ndays = 1 }))
  end)

  it("does not grow over 5,000 OCSP request, parse and verify cycles", function()
    check("ocsp", 5000, dir)
  end)

  it("does not grow over TLS handshakes: complete, refused by the server, and refused connections", function()
    local srv = servers.start(function(port) return ("exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s")
      :format(port, h.q(fx.good.cert), h.q(fx.good.key)) end)
    local msrv = servers.start(function(port) return ("exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s -Verify 1 -verify_return_error -CAfile %s")
      :format(port, h.q(fx.good.cert), h.q(fx.good.key), h.q(fx.ca.cert)) end)
    local port, mport = srv.port, msrv.port
    local closed = servers.free_port()
    local ok, err = pcall(check, "tls", 600, dir, tostring(port), tostring(mport), tostring(closed))
    servers.stop(srv)
    servers.stop(msrv)
    assert(ok, err)
  end)
end)
