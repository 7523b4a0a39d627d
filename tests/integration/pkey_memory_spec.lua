-- Memory growth: 20,000 cycles of generating, writing, loading (plain, encrypted, failing),
-- signing and hashing, with collectgarbage, must keep the resident size within 1.5x of what it
-- was after a warm-up (luv's test-leaks.lua). A leak of a key, a BIO, a cipher context or a
-- decrypted buffer per cycle would grow it by megabytes.
local pkey = require "certbench.pkey"
local digest = require "certbench.digest"
local rand = require "certbench.rand"
local h = require "support.helper"

describe("pkey memory", function()
  it("stays within 1.5x resident size over 20,000 key cycles", function()
    local rsa = pkey.generate "rsa:2048"
    local rsa_pem = rsa:to_pem()
    local rsa_trad_enc = rsa:to_pem { format = "traditional", password = "pw", cipher = "aes-128-cbc" }
    local ec_enc = pkey.generate("ec:P-384"):to_pem { password = "pw", iter = 1 }
    local ed_der = pkey.generate("ed25519"):to_der()

    local function cycle(i)
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
    end

    for i = 1, 2000 do cycle(i) end
    collectgarbage()
    collectgarbage()
    local before = h.rss_kb()
    for i = 1, 20000 do
      cycle(i)
      if i % 1000 == 0 then collectgarbage() end
    end
    collectgarbage()
    collectgarbage()
    local after = h.rss_kb()
    print(("\n# pkey memory: resident %.1f MiB after warm-up, %.1f MiB after 20,000 cycles (%.2fx)")
      :format(before / 1024, after / 1024, after / before))
    assert.is_true(after <= before * 1.5,
      ("resident size grew from %d kB to %d kB"):format(before, after))
  end)
end)
