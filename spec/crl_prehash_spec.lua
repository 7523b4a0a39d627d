-- spec/crl_prehash_spec.lua: a CRL over 1 MB has its tbsCertList hashed on a helper of the
-- core's one thread pool (core/lib/par.h) while the parser scans its entries (issue 15: it used
-- to start a thread of its own for every such parse). Each run is a separate program, so the
-- threads it holds are its own: the pool's helper is made once and kept, never one per parse;
-- without helpers (CERTBENCH_THREADS=1) or with CERTBENCH_CRL_PREHASH=0 the CRL is hashed when
-- verified, and every way gives the same verdicts. A parse that fails after the hash started
-- stops it before the parser's memory goes (under ASan: tests/run --asan-only).
local crl = require "certbench.crl"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"
local h = require "support.helper"

-- runs in `certbench run`: loads and verifies the big CRL three times and the tampered one
-- (broken DER near its end) three times, then prints the verdicts and its thread count
local SCRIPT = [[
local crl = require "certbench.crl"
local x509 = require "certbench.x509"
local fs = require "certbench.fs"
local dir = os.getenv("PREHASH_DIR")
local ca = assert(x509.load(assert(fs.read(dir .. "/ca.pem"))))
local good = assert(fs.read(dir .. "/big.crl"))
local bad = assert(fs.read(dir .. "/broken.crl"))
local other = assert(x509.load(assert(fs.read(dir .. "/other.pem"))))
local out = {}
for _ = 1, 3 do
  local c = assert(crl.load(good))
  out[#out + 1] = tostring(c:verify(ca))
  out[#out + 1] = tostring(c:verify(other))
  local b, err = crl.load(bad)
  out[#out + 1] = b and "loaded" or (err:match("bad DER") and "bad DER" or err)
end
print(table.concat(out, " "))
print("threads " .. #assert(fs.list("/proc/self/task")))
]]

describe("a big CRL's hash", function()
  local dir
  setup(function()
    dir = h.tmpdir()
    local key = assert(pkey.generate("ec:P-256"))
    local ca = assert(x509.new { subject = "/CN=prehash CA", issuer_key = key, ca = true, days = 2 })
    local okey = assert(pkey.generate("ec:P-256"))
    local other = assert(x509.new { subject = "/CN=prehash CA", issuer_key = okey, ca = true, days = 2 })
    local entries = {}
    for i = 1, 40000 do
      entries[i] = { serial = ("7%07X%08X%08X%08X"):format(i, i * 7, i * 13, i), date = 1700000000 + i }
    end
    local der = assert(crl.new { issuer = ca, key = key, entries = entries, days = 1 }):to_der()
    assert.is_true(#der > 1048576) -- over PREHASH_MIN
    -- entry 39990: SEQUENCE { INTEGER serial, time }; its SEQUENCE tag becomes a SET's
    local serial = entries[39990].serial:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)
    local at = assert(der:find(serial, 1, true)) - 4
    assert.equal(0x30, der:byte(at))
    h.write(dir .. "/big.crl", der)
    h.write(dir .. "/broken.crl", der:sub(1, at - 1) .. "\x31" .. der:sub(at + 1))
    h.write(dir .. "/ca.pem", ca:to_pem())
    h.write(dir .. "/other.pem", other:to_pem())
    h.write(dir .. "/run.lua", SCRIPT)
  end)

  local function run(env)
    local out, rc = h.run(("PREHASH_DIR=%s %s %s run %s"):format(h.q(dir), env, h.q(h.bin), h.q(dir .. "/run.lua")))
    assert.equal(0, rc, out)
    local verdicts, threads = out:match("^(.-)\nthreads (%d+)\n")
    assert(verdicts, out)
    assert.equal(("true false bad DER "):rep(3):sub(1, -2), verdicts)
    return tonumber(threads)
  end

  it("is done by one helper of the pool, kept across parses, not a thread per parse", function()
    assert.equal(2, run("CERTBENCH_THREADS=2"))
    assert.equal(2, run("CERTBENCH_THREADS=4")) -- one item: one helper, however many are allowed
  end)

  it("is done at verification without helpers or with CERTBENCH_CRL_PREHASH=0, with the same verdicts", function()
    assert.equal(1, run("CERTBENCH_THREADS=1"))
    assert.equal(1, run("CERTBENCH_THREADS=2 CERTBENCH_CRL_PREHASH=0"))
  end)
end)
