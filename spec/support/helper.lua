-- spec/support/helper.lua: what specs and integration tests share. `local h = require "support.helper"`.
--   h.root            the source tree;   h.data  its test data, tests/data (see its MANIFEST.md)
--   h.tmpdir()        a fresh folder, removed at exit
--   h.run(cmd)        -> stdout+stderr text, exit code (through /bin/sh)
--   h.sh(cmd)         -> output, asserting exit code 0
--   h.certbench(args) -> output, exit code of build/certbench with args (a string)
--   h.openssl(args)   -> output, exit code of the openssl CLI
--   h.read(path), h.write(path, data)
--   h.q(s)            shell-quotes s
--   h.rss_kb()        this process's resident size now, in kB (the memory tests' measure)
--   h.peak_rss_kb()   its peak resident size (VmHWM), in kB
--   h.size(path)      -> bytes in the file, nil when there is none
--   h.wait_until(cond, what[, secs]) polls cond() until it is true; fails naming `what` after secs
--                     (30): another process's progress is waited for, never slept for
--   h.shared_lock_as_nobody(path) -> {held=, release=}: user nobody holds a shared flock on path (a
--                     file or folder it can read) in another process, until release() (60 s at
--                     most); returns once it is held; held() says whether it still is
local M = {}

M.root = os.getenv("CERTBENCH_SRC") or (io.popen("pwd"):read("l"))
-- every file a test reads is in the tree: no test depends on what lies beside it
M.data = M.root .. "/tests/data"
M.bin = M.root .. (os.getenv("CERTBENCH_ASAN") and "/build-asan/certbench" or "/build/certbench")

local tmpdirs = {}
function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/certbench-test.XXXXXX")
  local d = p:read("l")
  p:close()
  tmpdirs[#tmpdirs + 1] = d
  return d
end

-- clean up at exit (busted closes the state at the end)
setmetatable(tmpdirs, { __gc = function(t)
  for _, d in ipairs(t) do os.execute("rm -rf '" .. d .. "'") end
end })

function M.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function M.run(cmd)
  local p = io.popen("(\n" .. cmd .. "\n) 2>&1; echo \"__rc=$?\"")
  local out = p:read("a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  out = out:gsub("__rc=%d+%s*$", "")
  return out, rc
end

-- run with stdout and stderr apart: -> stdout, stderr, rc
function M.run3(cmd)
  local errf = os.tmpname()
  local p = io.popen("(\n" .. cmd .. "\n) 2>" .. M.q(errf) .. "; echo \"__rc=$?\"")
  local out = p:read("a")
  p:close()
  local f = io.open(errf, "rb")
  local err = f and f:read("a") or ""
  if f then f:close() end
  os.remove(errf)
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  out = out:gsub("__rc=%d+%s*$", "")
  return out, err, rc
end

-- sh(cmd) -> output; fails the test (naming the command and its output) unless it exits 0
function M.sh(cmd)
  local out, rc = M.run(cmd)
  assert(rc == 0, cmd .. "\n" .. out)
  return out
end

function M.certbench(args)
  return M.run(M.q(M.bin) .. " " .. args)
end

function M.openssl(args)
  return M.run("openssl " .. args)
end

function M.read(path)
  local f = assert(io.open(path, "rb"))
  local d = f:read("a")
  f:close()
  return d
end

function M.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function M.mode(path)
  local out = M.run("stat -c %a " .. M.q(path))
  return out:match("%d+")
end

function M.size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

-- the bound only turns a hang into a failure: it is not a time the test expects, and it leaves a
-- machine loaded by parallel builds and tests room
function M.wait_until(cond, what, secs)
  local deadline = os.time() + (secs or 30)
  while not cond() do
    assert(os.time() <= deadline, ("waited %d s for %s"):format(secs or 30, what))
    M.run("sleep 0.05")
  end
end

function M.shared_lock_as_nobody(path)
  local sig = M.tmpdir()
  M.sh("chmod 0755 " .. M.q(sig)) -- nobody polls its go file there
  local go, log = sig .. "/go", sig .. "/log"
  local wait = ("for i in $(seq 600); do [ -e %s ] && exit 0; sleep 0.1; done"):format(M.q(go))
  local pid = M.sh(("setpriv --reuid=nobody --regid=nogroup --clear-groups flock -s %s sh -c %s >%s 2>&1 </dev/null & echo $!")
    :format(M.q(path), M.q(wait), M.q(log))):match("%d+")
  -- an exclusive lock cannot be had while a shared one is held: that is the holder's sign
  local function held()
    local _, rc = M.run("flock -n -x " .. M.q(path) .. " true")
    return rc ~= 0
  end
  local function gone() return select(2, M.run("kill -0 " .. pid .. " 2>/dev/null")) ~= 0 end
  M.wait_until(function() return held() or gone() end, "nobody's shared lock on " .. path)
  -- nobody cannot always reach path (a folder above it closed to others): then nothing is held
  -- and the test would prove nothing
  assert(held(), ("nobody could not lock %s: %s"):format(path, M.read(log)))
  return { held = held, release = function() M.write(go, "") end }
end

-- resident size from /proc/self/statm (its second field, in pages): the one measure every
-- memory test uses, so that their ratios and messages mean the same thing
local page_kb
function M.rss_kb()
  if not page_kb then
    local p = io.popen("getconf PAGESIZE")
    page_kb = (tonumber(p:read("l")) or 4096) // 1024
    p:close()
  end
  local f = assert(io.open("/proc/self/statm"))
  local _, resident = f:read("n", "n")
  f:close()
  return resident * page_kb
end

function M.peak_rss_kb()
  return tonumber(M.read("/proc/self/status"):match("VmHWM:%s*(%d+)"))
end

-- h.corpus was a corpus outside the tree, nil when it was not there (and tests skipped): a use
-- left over from before fails instead of skipping
return setmetatable(M, { __index = function(_, k)
  if k == "corpus" then error("h.corpus is gone: the test data is h.data (tests/data)", 2) end
end })
