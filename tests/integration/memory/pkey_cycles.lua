-- tests/integration/memory/pkey_cycles.lua: the workload of pkey_memory_spec.lua, run by it in a
-- fresh certbench process (spec/support/memory.lua says why).
--   certbench run pkey_cycles.lua N
--       N cycles of generating, writing, loading (plain, encrypted, failing), signing and hashing
-- It prints "checkpoint I KB LUA_KB" lines (memory.cycles).
package.path = os.getenv("CERTBENCH_SRC") .. "/spec/?.lua;" .. package.path
local memory = require "support.memory"
local pkey = require "certbench.pkey"
local digest = require "certbench.digest"
local rand = require "certbench.rand"

local rsa = pkey.generate "rsa:2048"
local rsa_pem = rsa:to_pem()
local rsa_trad_enc = rsa:to_pem { format = "traditional", password = "pw", cipher = "aes-128-cbc" }
local ec_enc = pkey.generate("ec:P-384"):to_pem { password = "pw", iter = 1 }
local ed_der = pkey.generate("ed25519"):to_der()

memory.cycles(tonumber(arg[1]), function(i)
  local k = pkey.generate(i % 2 == 0 and "ec" or "ed25519")
  local pem = k:to_pem()
  local k2 = assert(pkey.load(pem))
  assert(k2:matches(k))
  assert(k:public():verify("data", k:sign("data")))
  k2:fingerprint()
  assert(pkey.load(rsa_pem)):bits()
  assert(pkey.load(ec_enc, { password = "pw" }))
  assert(pkey.load(rsa_trad_enc, { password = "pw" }))
  assert(pkey.load(ed_der))
  -- the failure paths free what they allocated too
  assert(not pkey.load(ec_enc, { password = "wrong" }))
  assert(not pkey.load(rsa_trad_enc))
  assert(not pkey.load("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"))
  assert(not pkey.load(rand.bytes(64)))
  local enc = k:to_der { password = "pw", iter = 1 }
  assert(pkey.load(enc, { password = "pw" }))
  digest.new("sha256"):update(pem):final()
  digest.hmac("sha512", "key", pem)
  if i % 2 == 0 then k:close() end -- half closed explicitly, half left to the collector
end)
