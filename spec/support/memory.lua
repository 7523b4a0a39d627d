-- spec/support/memory.lua: memory growth of a workload, measured in a fresh certbench process.
-- The resident size of the test process itself says little: what earlier tests in the same busted
-- run allocated, freed and fragmented stays in it, and garbage the Lua collector has not yet
-- finalized (a TLS connection's SSL objects weigh tens of kB it never sees) raises the peak the
-- heap keeps. A child that runs only the workload, collects garbage at a fixed pace and reports
-- its resident size at checkpoints after a warm-up shows what grows with the cycles: a leak.
--
-- In the parent (the spec):
--   memory.run(script, args) -> { {cycle=, kb=, lua_kb=}, ... } | nil, output
--       runs `certbench run script args...` (h.bin: the ASan build under CERTBENCH_ASAN)
--   memory.growth(points) -> kB the resident size grew from the first checkpoint to the last,
--       and a line of every checkpoint for the failure message
--   memory.check(what, source, args, max_kb) runs the workload `source` (Lua text, written to a
--       fresh folder after a line that lets it require "support.*"; its arguments in `arg`) and
--       fails unless the child exits 0 and, outside ASan, its resident size grew by less than
--       max_kb; a spec's workload stays next to its bound. Under ASan the quarantine keeps freed
--       memory resident: there LeakSanitizer, at the child's exit, is the check (pass fewer
--       cycles: memory.ASAN)
-- In the child (the script):
--   memory.cycles(n, cycle[, every]) runs cycle(i) for a warm-up of n // 5 cycles, then n more,
--       with a full collection every `every` (10) cycles, and prints "checkpoint I KB LUA_KB" after
--       the warm-up and at each fifth of the n
local h = require "support.helper"

local M = {}

-- glibc keeps freed memory below a threshold it raises after each large free: fixed thresholds
-- make the resident size follow what is allocated, not the largest block freed so far
local TUNABLES = "glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072"

function M.run(script, args)
  local cmd = ("CERTBENCH_SRC=%s GLIBC_TUNABLES=%s %s run %s"):format(h.q(h.root), TUNABLES, h.q(h.bin), h.q(script))
  for _, a in ipairs(args or {}) do cmd = cmd .. " " .. h.q(a) end
  local out, rc = h.run(cmd)
  if rc ~= 0 then return nil, ("%s exited %s:\n%s"):format(script, tostring(rc), out) end
  local points = {}
  for i, kb, lua_kb in out:gmatch("checkpoint (%d+) (%d+) (%d+)") do
    points[#points + 1] = { cycle = tonumber(i), kb = tonumber(kb), lua_kb = tonumber(lua_kb) }
  end
  if #points < 2 then return nil, ("%s reported no checkpoints:\n%s"):format(script, out) end
  return points
end

function M.growth(points)
  local t = {}
  for _, p in ipairs(points) do t[#t + 1] = ("%d: %d kB (Lua %d kB)"):format(p.cycle, p.kb, p.lua_kb) end
  return points[#points].kb - points[1].kb, table.concat(t, ", ")
end

M.ASAN = os.getenv("CERTBENCH_ASAN") ~= nil

function M.check(what, source, args, max_kb)
  local script = h.tmpdir() .. "/" .. what:gsub("[^%w]+", "_") .. ".lua"
  h.write(script, 'package.path = os.getenv("CERTBENCH_SRC") .. "/spec/?.lua;" .. package.path\n' .. source)
  local points, err = M.run(script, args)
  assert(points, err)
  if M.ASAN then return end
  local grew, all = M.growth(points)
  print(("\n# %s memory: %s"):format(what, all))
  assert(grew < max_kb, ("%s: resident size grew by %d kB after the warm-up (%s)"):format(what, grew, all))
end

function M.cycles(n, cycle, every)
  every = every or 10
  local function collect()
    collectgarbage()
    collectgarbage()
  end
  local function checkpoint(i)
    collect()
    io.write(("checkpoint %d %d %d\n"):format(i, h.rss_kb(), math.floor(collectgarbage("count"))))
    io.flush()
  end
  for i = 1, n // 5 do
    cycle(i)
    if i % every == 0 then collect() end
  end
  checkpoint(0)
  for i = 1, n do
    cycle(i)
    if i % every == 0 then collect() end
    if i % (n // 5) == 0 then checkpoint(i) end
  end
end

return M
