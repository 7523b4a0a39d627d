-- tests/integration/memory/ocsp_tls_cycles.lua: the workload of ocsp_tls_memory_spec.lua, run by it
-- in a fresh certbench process (spec/support/memory.lua says why).
--   certbench run ocsp_tls_cycles.lua ocsp N DIR
--       N OCSP request, parse and verify cycles (passing and failing) with DIR's ca.pem, good.pem,
--       responder.pem and response.der (a response for good.pem, nonce "fixed-nonce")
--   certbench run ocsp_tls_cycles.lua tls N DIR PORT MPORT CLOSED
--       N TLS handshakes: complete (PORT), refused by the server asking for a client certificate
--       (MPORT), and two at once to a port nobody listens on (CLOSED)
-- It prints "checkpoint I KB LUA_KB" lines (memory.cycles).
package.path = os.getenv("CERTBENCH_SRC") .. "/spec/?.lua;" .. package.path
local h = require "support.helper"
local memory = require "support.memory"
local ocsp = require "certbench.ocsp"
local tls = require "certbench.tls"
local x509 = require "certbench.x509"
local loop = require "certbench.loop"

local what, n, dir = arg[1], tonumber(arg[2]), arg[3]
local C = {}
for _, name in ipairs { "ca", "good", "responder" } do C[name] = assert(x509.load_file(dir .. "/" .. name .. ".pem")) end

if what == "ocsp" then
  local der = h.read(dir .. "/response.der")
  local broken = der:sub(1, #der - 20)
  memory.cycles(n, function(i)
    local q = assert(ocsp.request { cert = C.good, issuer = C.ca, nonce = true, digest = i % 2 == 0 and "sha256" or "sha1" })
    assert(ocsp.parse_request(q))
    local r = assert(ocsp.parse_response(der))
    assert(r:verify { issuer = C.ca, cert = C.good, nonce = "fixed-nonce" })
    assert(not r:verify { issuer = C.ca, cert = C.good, nonce = "other" })
    assert(not r:verify { issuer = C.responder })
    assert(not ocsp.parse_response(broken))
  end)
elseif what == "tls" then
  local port, mport, closed = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
  memory.cycles(n, function(i)
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
else
  error("usage: ocsp_tls_cycles.lua ocsp|tls N DIR [PORT MPORT CLOSED]")
end
