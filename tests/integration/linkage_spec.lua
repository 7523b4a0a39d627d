-- certbench's crypto calls must bind to BoringSSL. libzip and libcurl (through libssh2) pull
-- OpenSSL's libcrypto.so.3 into the process too, and both libraries export the same names;
-- the link order of build.ninja decides. LD_BIND_NOW makes the dynamic linker resolve every
-- reference at start, and LD_DEBUG=bindings prints where each one went.
local h = require "support.helper"

local BSSL = "/usr/lib/x86_64-linux-gnu/android/libcrypto.so.0"
local BSSL_SSL = "/usr/lib/x86_64-linux-gnu/android/libssl.so.0"
local OSSL = "libcrypto.so.3"

local function bindings(cmd)
  local out = h.run("cd " .. h.q(h.root) .. " && LD_BIND_NOW=1 LD_DEBUG=bindings " .. cmd .. " 2>&1 >/dev/null")
  local list = {}
  for from, to, sym in out:gmatch("binding file (%S+) %[%d+%] to (%S+) %[%d+%]: normal symbol `([^']+)'") do
    list[#list + 1] = { from = from, to = to, sym = sym }
  end
  return list
end

-- symbols every build of certbench calls, whatever modules it has
local EXPECTED = { "RAND_bytes", "OpenSSL_version", "OPENSSL_cleanse", "ERR_get_error_line" }

local function check(list, from_pattern)
  local to_bssl, to_ossl = {}, {}
  for _, b in ipairs(list) do
    if b.from:find(from_pattern) then
      if b.to == BSSL or b.to == BSSL_SSL then to_bssl[b.sym] = true end
      if b.to:find(OSSL, 1, true) then to_ossl[#to_ossl + 1] = b.sym end
    end
  end
  local missing = {}
  for _, s in ipairs(EXPECTED) do if not to_bssl[s] then missing[#missing + 1] = s end end
  return missing, to_ossl
end

describe("linkage", function()
  it("the program's crypto symbols bind to BoringSSL, none to OpenSSL's libcrypto.so.3", function()
    local list = bindings(h.q(h.root .. "/build/certbench") .. " version")
    assert.is_true(#list > 100, "LD_DEBUG printed no bindings")
    local missing, to_ossl = check(list, "build/certbench$")
    assert.same({}, missing)   -- these went to BoringSSL
    assert.same({}, to_ossl)   -- and nothing went to OpenSSL
    -- libcrypto.so.3 is really in the process: the test would prove nothing otherwise
    local present = false
    for _, b in ipairs(list) do if b.to:find(OSSL, 1, true) then present = true break end end
    assert.is_true(present, "libcrypto.so.3 is not loaded: the test is moot")
  end)

  it("the module for a stock lua5.4 binds to BoringSSL too", function()
    local list = bindings("lua5.4 -e 'package.cpath=\"build/?.so;\"..package.cpath; require(\"certbench\")'")
    local missing, to_ossl = check(list, "build/certbench%.so$")
    assert.same({}, missing)
    assert.same({}, to_ossl)
  end)

  it("at run time the library answering is BoringSSL", function()
    assert.is_true(require("_certbench.info").is_boringssl())
    assert.matches("^BoringSSL", require("certbench").versions().boringssl)
  end)
end)
