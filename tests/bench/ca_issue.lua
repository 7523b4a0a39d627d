-- tests/bench/ca_issue.lua: the certbench side of tests/bench/ca_issue.sh (see there).
--   certbench run ca_issue.lua csrs  DIR N          N requests (ECDSA P-256, a key each) in
--                                                   DIR/csrs.pem and DIR/csr/<i>.pem (first
--                                                   OPENSSL_N only)
--   certbench run ca_issue.lua run   DIR N WORKDIR  prints "name value" lines (microseconds
--                                                   per certificate)
-- Times are wall-clock (the issuance includes its fsync/syncfs), from a monotonic clock.
local plugin = require "certbench.plugins.ca"
local pkey = require "certbench.pkey"
local csr = require "certbench.csr"
local x509 = require "certbench.x509"
local fs = require "certbench.fs"
local db = require "certbench.plugins.ca.db"

local mode, dir, N = arg[1], arg[2], tonumber(arg[3])

local function wall()
  local f = io.open("/proc/uptime")
  local up = f:read("n")
  f:close()
  return up
end
-- /proc/uptime has 10 ms resolution: good enough for runs of a second and more, but use the
-- finer clock of `date` when it is there
local function now()
  local p = io.popen("date +%s.%N")
  local v = tonumber(p:read("a"))
  p:close()
  return v or wall()
end

if mode == "csrs" then
  local openssl_n = tonumber(os.getenv("OPENSSL_N") or "1000")
  fs.mkdir(dir .. "/csr")
  local parts = {}
  for i = 1, N do
    local key = pkey.generate("ec:P-256")
    local pem = assert(csr.new({ subject = "/C=NO/O=net2/CN=host" .. i .. ".example.com", key = key,
                                 san = { "DNS:host" .. i .. ".example.com" } })):to_pem()
    parts[i] = pem
    if i <= openssl_n then assert(fs.write(dir .. "/csr/" .. i .. ".pem", pem, { sync = false })) end
  end
  assert(fs.write(dir .. "/csrs.pem", table.concat(parts)))
  return
end

assert(mode == "run", "usage: ca_issue.lua csrs|run DIR N WORKDIR")
local work = arg[4]
local data = assert(fs.read(dir .. "/csrs.pem"))
local pems = {}
for pem in data:gmatch("%-%-%-%-%-BEGIN CERTIFICATE REQUEST%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE REQUEST%-%-%-%-%-\n") do
  pems[#pems + 1] = pem
  if #pems == N then break end
end
assert(#pems == N, "fewer requests than " .. N)

-- prints "name wall_us cpu_us" per certificate (cpu: user + system time of this process)
local function out(name, v) io.stdout:write(string.format("%s %.2f\n", name, v)) io.stdout:flush() end
local function measure(name, n, fn)
  collectgarbage()
  local t, c = now(), os.clock()
  fn()
  local dt, dc = now() - t, os.clock() - c
  out(name, dt / n * 1e6)
  out(name .. "_cpu", dc / n * 1e6)
end

local function fresh(name)
  local d = work .. "/" .. name
  os.execute("rm -rf '" .. d .. "'")
  local ca = assert(plugin.init(d, { subject = "/C=NO/O=net2/CN=Bench CA", key = "ec:P-256", encrypt = false }))
  return ca, d
end

-- raw signing: what the CA cannot avoid
do
  local ca = fresh("raw")
  local key = assert(ca:_key())
  local subj = csr.load(pems[1]):subject()
  local pub = pkey.generate("ec:P-256")
  measure("raw_x509_new", N, function()
    for i = 1, N do
      assert(x509.new({ subject = subj, issuer = ca.cert, issuer_key = key, public_key = pub, serial = string.format("%X", 0x100000 + i),
                        ca = false, key_usage = { "digitalSignature" }, eku = { "serverAuth" }, san = { "DNS:host.example.com" } }))
    end
  end)
  local tbs = string.rep("t", 350)
  measure("raw_sign", N, function() for _ = 1, N do assert(key:sign(tbs)) end end)
  measure("csr_load_verify", N, function() for i = 1, N do assert(csr.load(pems[i]):verify()) end end)
  ca:close()
end

-- issue_many: every request in one call (one lock, one journal record, one syncfs, one append)
do
  local ca = fresh("many")
  local reqs = {}
  for i = 1, N do reqs[i] = { csr = pems[i] } end
  local certs
  measure("issue_many", N, function() certs = assert(ca:issue_many(reqs)) end)
  assert(#certs == N)
  ca:close()
end

-- one by one: ca:issue N times in one process, each durable before it returns
do
  local ca = fresh("one")
  measure("issue_one", N, function() for i = 1, N do assert(ca:issue({ csr = pems[i] })) end end)
  ca:close()
end

-- the size of index.txt: 0 against 100,000 lines already there (M certificates each way)
local M = math.min(N, tonumber(os.getenv("INDEX_M") or "1000"))
local M1 = math.min(M, tonumber(os.getenv("INDEX_M1") or "200"))
for _, lines in ipairs({ 0, 100000 }) do
  local ca, d = fresh("index" .. lines)
  if lines > 0 then
    local start = 0x10000000
    local parts = {}
    local subj = "/C=NO/O=net2/CN=filler.example.com"
    for i = 1, lines do
      parts[i] = db.format_line({ status = (i % 10 == 0) and "R" or "V", expiry = "271128005541Z",
        revoked = (i % 10 == 0) and "261128005541Z,superseded" or nil, serial = string.format("%X", start + i), subject = subj })
    end
    ca:close()
    assert(fs.write(d .. "/index.txt", table.concat(parts)))
    assert(fs.write(d .. "/serial", string.format("%X\n", start + lines + 1)))
    ca = assert(plugin.open(d))
  end
  local reqs = {}
  for i = 1, M do reqs[i] = { csr = pems[i] } end
  measure("index" .. lines .. "_many", M, function() assert(ca:issue_many(reqs)) end)
  measure("index" .. lines .. "_one", M1, function() for i = 1, M1 do assert(ca:issue({ csr = pems[i] })) end end)
  -- a whole command: open (recovery included) + issue of one, as `certbench ca issue` does
  ca:close()
  measure("index" .. lines .. "_open_issue", 20, function()
    for i = 1, 20 do
      local c = assert(plugin.open(d))
      assert(c:issue({ csr = pems[i] }))
      c:close()
    end
  end)
end
