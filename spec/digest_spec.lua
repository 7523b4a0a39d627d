local digest = require "certbench.digest"
local rand = require "certbench.rand"
local secret = require "certbench.secret"

describe("certbench.digest", function()
  -- FIPS 180 / RFC 1321 vectors of "abc" and of the empty string
  local abc = {
    md5 = "900150983CD24FB0D6963F7D28E17F72",
    sha1 = "A9993E364706816ABA3E25717850C26C9CD0D89D",
    sha224 = "23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7",
    sha256 = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
    sha384 = "CB00753F45A35E8BB5A03D699AC65007272C32AB0EDED1631A8B605A43FF5BED"
          .. "8086072BA1E7CC2358BAECA134C825A7",
    sha512 = "DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A"
          .. "2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F",
  }

  describe("hash", function()
    for alg, want in pairs(abc) do
      it("computes " .. alg .. " of 'abc'", function()
        assert.equal(want, digest.hex(digest.hash(alg, "abc")))
        assert.equal(want, digest.hex(digest[alg]("abc")))
        assert.equal(#want / 2, digest.size(alg))
      end)
    end
    it("hashes the empty string and binary data", function()
      assert.equal("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                   digest.hex(digest.sha256("")))
      assert.equal(32, #digest.sha256("\0\1\2\255"))
      assert.not_equal(digest.sha256("a\0b"), digest.sha256("a\0c"))
    end)
    it("takes names in any case and with a dash", function()
      assert.equal(digest.sha256("x"), digest.hash("SHA-256", "x"))
      assert.equal(digest.sha384("x"), digest.hash("Sha384", "x"))
      assert.equal(digest.sha1("x"), digest.hash("SHA1", "x"))
    end)
    it("raises for an unknown algorithm, naming the known ones", function()
      assert.has_error(function() digest.hash("sha3-256", "x") end,
        "bad argument #1 to 'hash' (unknown digest 'sha3-256' (use sha256, sha384, sha512, sha224, sha1 or md5))")
      assert.has_error(function() digest.hash("a-very-long-name-that-is-not-a-digest", "x") end)
      assert.has_error(function() digest.size("md4") end)
    end)
    it("raises for data that is not a string", function()
      assert.has_error(function() digest.hash("sha256", {}) end)
      assert.has_error(function() digest.sha256(nil) end)
      assert.has_error(function() digest.hash(nil, "x") end)
    end)
  end)

  describe("hmac", function()
    -- RFC 4231 test case 2, RFC 2202 test case 2
    it("matches the RFC 4231 and RFC 2202 vectors", function()
      local data = "what do ya want for nothing?"
      assert.equal("5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843",
                   digest.hex(digest.hmac("sha256", "Jefe", data)))
      assert.equal("164B7A7BFCF819E2E395FBE73B56E0A387BD64222E831FD610270CD7EA250554"
                .. "9758BF75C05A994A6D034F65F8F0E6FDCAEAB1A34D4A6B4B636E070A38BCE737",
                   digest.hex(digest.hmac("sha512", "Jefe", data)))
      assert.equal("EFFCDF6AE5EB2FA2D27416D5F184DF9C259A7C79",
                   digest.hex(digest.hmac("sha1", "Jefe", data)))
    end)
    it("takes the key as a secret", function()
      local s = secret.new("Jefe")
      assert.equal(digest.hmac("sha256", "Jefe", "msg"), digest.hmac("sha256", s, "msg"))
      s:close()
      assert.has_error(function() digest.hmac("sha256", s, "msg") end)
    end)
    it("accepts an empty key and raises for a missing one", function()
      assert.equal(32, #digest.hmac("sha256", "", "x"))
      assert.has_error(function() digest.hmac("sha256", nil, "x") end)
      assert.has_error(function() digest.hmac("nope", "k", "x") end)
    end)
  end)

  describe("new (streaming)", function()
    it("gives the one-shot result, update is chainable", function()
      local d = digest.new("sha256")
      assert.equal(d, d:update("a"))
      assert.equal(digest.sha256("abc"), d:update("b"):update("c"):final())
    end)
    it("streams large data in pieces", function()
      local d = digest.new("sha512")
      local parts = {}
      for i = 1, 100 do
        local piece = string.rep(string.char(i), 1000 + i)
        parts[#parts + 1] = piece
        d:update(piece)
      end
      assert.equal(digest.sha512(table.concat(parts)), d:final())
    end)
    it("computes an HMAC when given a key", function()
      local d = digest.new("sha256", "Jefe")
      d:update("what do ya "):update("want for nothing?")
      assert.equal("5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843",
                   digest.hex(d:final()))
      assert.equal(digest.hmac("sha1", "k", ""), digest.new("sha1", secret.new("k")):final())
    end)
    it("is finished after final: update and final raise", function()
      local d = digest.new("sha1")
      d:final()
      assert.has_error(function() d:update("x") end, "attempt to use a finished digest")
      assert.has_error(function() d:final() end, "attempt to use a finished digest")
      d:close() -- idempotent
    end)
    it("names its algorithm and state", function()
      local d = digest.new("SHA-384")
      assert.equal("sha384", d:algorithm())
      assert.equal("certbench.digest (sha384)", tostring(d))
      local hm = digest.new("sha256", "k")
      assert.equal("certbench.digest (hmac-sha256)", tostring(hm))
      hm:final()
      assert.equal("certbench.digest (hmac-sha256, finished)", tostring(hm))
    end)
    it("closes with <close> and raises on bad arguments", function()
      do local d <close> = digest.new("md5"); d:update("x") end
      assert.has_error(function() digest.new("whirlpool") end)
      assert.has_error(function() digest.new("sha256"):update(nil) end)
    end)
  end)

  describe("hex and fingerprint", function()
    it("writes upper-case hex, with an optional one-character separator", function()
      assert.equal("00FF10AB", digest.hex("\0\255\16\171"))
      assert.equal("00:FF:10:AB", digest.hex("\0\255\16\171", ":"))
      assert.equal("00 FF", digest.hex("\0\255", " "))
      assert.equal("", digest.hex(""))
      assert.equal("7F", digest.hex("\127", ":"))
    end)
    it("raises for a longer separator or a non-string", function()
      assert.has_error(function() digest.hex("ab", "::") end)
      assert.has_error(function() digest.hex(nil) end)
    end)
    it("fingerprints like openssl -fingerprint", function()
      assert.equal("A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D",
                   digest.fingerprint("sha1", "abc"))
    end)
  end)

  describe("equals", function()
    it("compares bytes, strings or secrets", function()
      assert.is_true(digest.equals("abc", "abc"))
      assert.is_false(digest.equals("abc", "abd"))
      assert.is_false(digest.equals("abc", "ab"))
      assert.is_true(digest.equals("", ""))
      assert.is_true(digest.equals(secret.new("pw"), "pw"))
      assert.has_error(function() digest.equals("a", nil) end)
    end)
  end)
end)

describe("certbench.rand", function()
  describe("bytes", function()
    it("returns n bytes, different each time", function()
      assert.equal("", rand.bytes(0))
      assert.equal(1, #rand.bytes(1))
      local a, b = rand.bytes(32), rand.bytes(32)
      assert.equal(32, #a)
      assert.not_equal(a, b)
      assert.equal(1048576, #rand.bytes(1048576))
    end)
    it("raises for a negative or huge count", function()
      assert.has_error(function() rand.bytes(-1) end)
      assert.has_error(function() rand.bytes(1048577) end)
      assert.has_error(function() rand.bytes("x") end)
      assert.has_error(function() rand.bytes(1.5) end)
    end)
    it("is not constant in any bit position (a broken generator would show)", function()
      local orv, andv = 0, 0xFF
      for _ = 1, 64 do
        local b = rand.bytes(1):byte()
        orv, andv = orv | b, andv & b
      end
      assert.equal(0xFF, orv)
      assert.equal(0, andv)
    end)
  end)

  describe("serial", function()
    it("is 32 upper-case hex digits by default, positive, without a leading zero", function()
      for _ = 1, 500 do
        local s = rand.serial()
        assert.equal(32, #s)
        assert.truthy(s:match("^[1-7][0-9A-F]+$"), s)
      end
    end)
    it("has exactly 2*bytes digits for 1 to 20 bytes", function()
      assert.truthy(rand.serial(1):match("^[1-7][0-9A-F]$"))
      assert.truthy(rand.serial(8):match("^[1-7][0-9A-F]+$"))
      assert.equal(16, #rand.serial(8))
      assert.equal(40, #rand.serial(20))
    end)
    it("differs every time", function()
      local seen = {}
      for _ = 1, 1000 do
        local s = rand.serial(8)
        assert.is_nil(seen[s])
        seen[s] = true
      end
    end)
    it("uses every first digit 1..7 (the draw is not biased to one value)", function()
      local firsts = {}
      for _ = 1, 2000 do firsts[rand.serial(1):sub(1, 1)] = true end
      for d = 1, 7 do assert.is_true(firsts[tostring(d)], "first digit " .. d) end
    end)
    it("raises for 0 or more than 20 bytes", function()
      assert.has_error(function() rand.serial(0) end)
      assert.has_error(function() rand.serial(21) end)
      assert.has_error(function() rand.serial("big") end)
    end)
  end)

  describe("uniform", function()
    it("draws in [0, n)", function()
      assert.equal(0, rand.uniform(1))
      local seen = {}
      for _ = 1, 600 do
        local v = rand.uniform(6)
        assert.is_true(v >= 0 and v < 6)
        seen[v] = true
      end
      for v = 0, 5 do assert.is_true(seen[v]) end
      local big = rand.uniform(math.maxinteger)
      assert.is_true(big >= 0)
    end)
    it("raises for n < 1", function()
      assert.has_error(function() rand.uniform(0) end)
      assert.has_error(function() rand.uniform(-5) end)
    end)
  end)
end)
