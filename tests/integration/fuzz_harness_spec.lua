-- tests/integration/fuzz_harness_spec.lua: the libFuzzer harness (tests/fuzz/fuzz_lua.c) itself. A fuzz
-- run that cannot fail proves nothing: a Lua error in a target (a failed assert, an invariant's
-- error) must be reported by libFuzzer as a crash with the message and the input saved, and the
-- Lua code of a target must give libFuzzer coverage feedback, or a target that runs mostly Lua
-- (detect, ca_index) is a random search. Needs `ninja fuzz` (ninja test builds it first).
local h = require "support.helper"

local bin = h.root .. "/build-fuzz/fuzz_lua"

-- fuzz(target, args, env) -> output, exit code of the harness on target (a name or a path)
local function fuzz(target, args, env)
  return h.run(("cd %s && %s CERTBENCH_SRC=%s ASAN_OPTIONS=detect_leaks=0 %s -target=%s %s"):format(
    h.q(h.root), env or "", h.q(h.root), h.q(bin), h.q(target), args))
end

local function cov(out)
  local last
  for n in out:gmatch("cov: (%d+)") do last = tonumber(n) end
  return last
end

describe("fuzz harness", function()
  local dir

  setup(function()
    assert(io.open(bin), bin .. " is missing: build it with `ninja fuzz`"):close()
    dir = h.tmpdir()
    h.write(dir .. "/assert.lua", [[
return function(data)
  assert(not data:find("boom", 1, true), "deliberate invariant: boom in the input")
end
]])
    -- three nested conditions on three bytes: about 2^24 inputs by chance, a few thousand with
    -- feedback from each line reached
    h.write(dir .. "/magic.lua", [[
return function(data)
  if data:byte(1) == 0x46 then
    if data:byte(2) == 0x55 then
      if data:byte(3) == 0x5a then
        error("magic found")
      end
    end
  end
end
]])
    h.write(dir .. "/seed-ok", "hello")
    h.write(dir .. "/seed-boom", "a boom here")
  end)

  it("reports a failed assert in a target as a crash, with the message and the input saved", function()
    -- fuzzing from a corpus (libFuzzer saves the input only then, not when given single files)
    local corpus = dir .. "/crash-corpus"
    h.sh("mkdir -p " .. h.q(corpus) .. " && cp " .. h.q(dir .. "/seed-boom") .. " " .. h.q(corpus))
    local out, rc = fuzz(dir .. "/assert.lua", "-runs=10 -artifact_prefix=" .. h.q(dir .. "/") .. " " .. h.q(corpus))
    assert.are_not.equal(0, rc, out)
    assert.truthy(out:find("deliberate invariant: boom in the input", 1, true), out)
    assert.truthy(out:find("libFuzzer: deadly signal", 1, true), out)
    local saved = h.run("ls " .. h.q(dir) .. " | grep '^crash-'")
    local name = saved:match("(crash%-%x+)")
    assert.truthy(name, "no crash file in " .. dir)
    assert.equal("a boom here", h.read(dir .. "/" .. name))
  end)

  it("passes the same target on an input that keeps the invariant", function()
    local out, rc = fuzz(dir .. "/assert.lua", h.q(dir .. "/seed-ok"))
    assert.equal(0, rc, out)
  end)

  it("fails on a single input that breaks the invariant, as tests/run's fuzz_smoke replays seeds", function()
    local out, rc = fuzz(dir .. "/assert.lua", h.q(dir .. "/seed-ok") .. " " .. h.q(dir .. "/seed-boom"))
    assert.are_not.equal(0, rc, out)
    assert.truthy(out:find("deliberate invariant", 1, true), out)
  end)

  it("gives the Lua lines of a target as coverage (smoke, a Lua-only path, had cov: 1)", function()
    local out, rc = fuzz("smoke", "-runs=200 -seed=1", "CERTBENCH_FUZZ_LUACOV=0")
    assert.equal(0, rc, out)
    local c_only = cov(out)
    assert.truthy(c_only, out)
    out, rc = fuzz("smoke", "-runs=200 -seed=1")
    assert.equal(0, rc, out)
    assert.truthy(cov(out) and cov(out) >= c_only + 10, ("%d without the hook: "):format(c_only) .. out)
  end)

  it("finds a three-byte magic in Lua with the feedback, and not without it", function()
    local args = "-seed=7 -runs=400000 -max_total_time=120 -artifact_prefix=" .. h.q(dir .. "/m-")
    local out, rc = fuzz(dir .. "/magic.lua", args)
    assert.are_not.equal(0, rc, out)
    assert.truthy(out:find("magic found", 1, true), out)
    -- the control: the same number of runs without the line hook never gets there
    out, rc = fuzz(dir .. "/magic.lua", "-seed=7 -runs=400000 -max_total_time=120", "CERTBENCH_FUZZ_LUACOV=0")
    assert.equal(0, rc, out)
    assert.falsy(out:find("magic found", 1, true))
  end)
end)
