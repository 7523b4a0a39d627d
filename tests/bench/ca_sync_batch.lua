-- tests/bench/ca_sync_batch.lua DIR: what making a batch of new certificate-sized files durable
-- costs, the two ways plugins/ca/issue.lua (CA:_commit) can: fs.sync of the files, their
-- folder and the index (one fdatasync each, write-back of all started first) against one
-- syncfs(2) of the file system. The figures behind SYNC_EACH_MAX. Medians; the folder must be on
-- the disk to measure (not tmpfs). Run: build/certbench run tests/bench/ca_sync_batch.lua DIR
local fs = require "certbench.fs"
local loop = require "certbench.loop"
local dir = assert(arg[1], "usage: ca_sync_batch.lua DIR")
local NS = {}
for v in (arg[2] or "1 2 4 8 16 32 64 256 1000"):gmatch("%d+") do NS[#NS + 1] = tonumber(v) end
local pem = string.rep(string.rep("A", 63) .. "\n", 14) -- a P-256 certificate's PEM size
local round = 0
local function batch(n, how)
  round = round + 1
  local d = dir .. "/r" .. round
  assert(fs.mkdir(d .. "/newcerts", { parents = true }))
  assert(fs.append(d .. "/index.txt", "V\tfirst\n"))
  assert(fs.syncfs(d)) -- every batch starts from a clean disk
  local files = {}
  for i = 1, n do files[i] = d .. "/newcerts/" .. i .. ".pem"; assert(fs.create(files[i], pem)) end
  assert(fs.append(d .. "/index.txt", string.rep("V\tline\n", n), { sync = false }))
  local t = loop.now()
  if how == "list" then
    files[n + 1] = d .. "/newcerts"
    files[n + 2] = d .. "/index.txt"
    assert(fs.sync(files))
  else
    assert(fs.syncfs(d))
  end
  local dt = loop.now() - t
  for i = 1, n do fs.remove(d .. "/newcerts/" .. i .. ".pem") end
  fs.remove(d .. "/newcerts"); fs.remove(d .. "/index.txt"); fs.remove(d)
  return dt
end
local function median(t) table.sort(t); return t[(#t + 1) // 2] end
print(string.format("%6s %16s %12s %8s", "files", "fs.sync(list)", "syncfs", "ratio"))
for _, n in ipairs(NS) do
  local a, b = {}, {}
  local reps = n >= 256 and 3 or 9
  for r = 1, reps do a[r] = batch(n, "list"); b[r] = batch(n, "syncfs") end
  local ma, mb = median(a), median(b)
  print(string.format("%6d %13.1f ms %9.1f ms %7.2fx", n, ma * 1e3, mb * 1e3, ma / mb))
end
