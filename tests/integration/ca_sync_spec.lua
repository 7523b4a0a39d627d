-- The syncs of an issuance, seen by strace(1): what plugins/ca/issue.lua (CA:_commit) says it
-- syncs and nothing more. No syncfs(2): a CA syncs what it wrote, never the whole file system
-- (which would also wait for every other program's data) up to SYNC_EACH_MAX (16) certificates;
-- one syncfs for a bigger batch (the group commit). The journal's reservation is synced
-- before the first certificate file is created; the certificate files, newcerts/ and index.txt
-- are synced after they are written and before the command reports the issuance.
local h = require "support.helper"
local ch = require "support.ca"

local tmp = h.tmpdir()
local TRACE = "trace=fsync,fdatasync,syncfs,sync_file_range,sync,openat,write"

-- the events of a traced run: { call, path } for each sync, { "create", path } for each file
-- created with O_EXCL in the CA folder, { "report", text } for what the program printed
local function trace(args, dir)
  local log = tmp .. "/strace." .. math.random(1, 1e9)
  -- LeakSanitizer cannot run under ptrace: under ASan the traced program checks all but leaks
  local env = os.getenv("CERTBENCH_ASAN")
    and "ASAN_OPTIONS=" .. h.q((os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0") .. " " or ""
  local out, rc = h.run(env .. "strace -f -qq -y -o " .. h.q(log) .. " -e " .. TRACE .. " " .. h.q(h.bin) .. " " .. args)
  assert.equal(0, rc, out)
  local events = {}
  for line in h.read(log):gmatch("[^\n]+") do
    local call, path = line:match("^%d+%s+(%a[%w_]*)%(%d+<([^>]*)>")
    if call == "fsync" or call == "fdatasync" or call == "syncfs" or call == "sync_file_range" then
      if path:sub(1, #dir) == dir then events[#events + 1] = { call, path:sub(#dir + 2) } end
    elseif line:match("^%d+%s+sync%(") then
      events[#events + 1] = { "sync", "" }
    elseif line:match("^%d+%s+openat%(") and line:match("O_EXCL") then
      local p = line:match('"([^"]+)"')
      if p and p:find("newcerts/", 1, true) then events[#events + 1] = { "create", p:match("newcerts/.*") } end
    elseif call == "write" and (path:match("^/dev/pts") or path:match("^pipe:")) and line:match("issued") then
      events[#events + 1] = { "report", "" }
    end
  end
  os.remove(log)
  return events, out
end

local function calls(events, name)
  local t = {}
  for _, e in ipairs(events) do if e[1] == name then t[#t + 1] = e[2] end end
  return t
end

local function index_of(events, call, path)
  for i, e in ipairs(events) do if e[1] == call and e[2] == path then return i end end
end

describe("the syncs of ca issue (strace)", function()
  local have = h.run("strace -V") ~= nil and select(2, h.run("strace -V")) == 0
  assert.is_true(have, "strace is missing: third_party/install-deps test")

  local dir = tmp .. "/ca"
  ch.new_ca(dir, { encrypt = false }):close()
  local csr = tmp .. "/r.csr"
  h.write(csr, ch.request("/C=NO/O=net2/CN=one.example.com", { "DNS:one.example.com" }))
  -- a first issuance makes the journal file; the second is the steady state measured here
  assert.equal(0, select(2, h.run(h.q(h.bin) .. " ca issue " .. h.q(dir) .. " --csr " .. h.q(csr))))

  it("one certificate: the journal, the file, newcerts/ and index.txt, each once, and no syncfs", function()
    local events, out = trace("ca issue " .. h.q(dir) .. " --csr " .. h.q(csr), dir)
    local serial = out:match("issued serial (%x+)")
    assert.is_not_nil(serial, out)
    local cert = "newcerts/" .. serial .. ".pem"
    assert.same({}, calls(events, "syncfs"))
    assert.same({}, calls(events, "sync"))
    assert.same({ ".certbench-journal", cert, "index.txt" }, calls(events, "fdatasync"))
    assert.same({ "newcerts" }, calls(events, "fsync"))
    -- the reservation is durable before the certificate file exists; the file, its folder and
    -- the index line are durable before anything is reported
    local j, c = index_of(events, "fdatasync", ".certbench-journal"), index_of(events, "create", cert)
    assert.is_true(j < c)
    local r = index_of(events, "report", "")
    assert.is_not_nil(r, out)
    for _, e in ipairs({ { "fdatasync", cert }, { "fsync", "newcerts" }, { "fdatasync", "index.txt" } }) do
      local at = index_of(events, e[1], e[2])
      assert.is_true(c < at and at < r, e[1] .. " " .. e[2])
    end
  end)

  -- a batch script: issue_many of the first N requests of a file
  local script = tmp .. "/many.lua"
  h.write(script, [[
local plugin = require "certbench.plugins.ca"
local data = assert(require("certbench.fs").read(arg[2]))
local reqs = {}
for pem in data:gmatch("%-%-%-%-%-BEGIN CERTIFICATE REQUEST%-.-END CERTIFICATE REQUEST%-%-%-%-%-\n") do reqs[#reqs + 1] = { csr = pem } end
local ca = assert(plugin.open(arg[1]))
local certs = assert(ca:issue_many({ table.unpack(reqs, 1, tonumber(arg[3])) }))
ca:close()
io.stdout:write("issued ", #certs, "\n")
]])
  local parts = {}
  for i = 1, 17 do parts[i] = ch.request("/C=NO/O=net2/CN=b" .. i .. ".example.com", { "DNS:b" .. i .. ".example.com" }) end
  h.write(tmp .. "/many.pem", table.concat(parts))
  local function many(n)
    local events, out = trace("run " .. h.q(script) .. " " .. h.q(dir) .. " " .. h.q(tmp .. "/many.pem") .. " " .. n, dir)
    assert.matches("issued " .. n, out, 1, true)
    local creates = calls(events, "create")
    assert.equal(n, #creates)
    return events, creates
  end

  it("a batch of 16 (SYNC_EACH_MAX): one fdatasync per file, one of newcerts/ and index.txt, write-back started for all first", function()
    local events, creates = many(16)
    assert.same({}, calls(events, "syncfs"))
    local fdatasyncs = calls(events, "fdatasync")
    assert.equal(".certbench-journal", table.remove(fdatasyncs, 1))
    assert.equal("index.txt", table.remove(fdatasyncs))
    assert.same(creates, fdatasyncs)
    assert.same({ "newcerts" }, calls(events, "fsync"))
    -- every file's write-back is started before the first of them is waited for
    assert.same(creates, { table.unpack(calls(events, "sync_file_range"), 1, 16) })
    local first_wait = index_of(events, "fdatasync", creates[1])
    for _, f in ipairs(creates) do
      assert.is_true(index_of(events, "sync_file_range", f) < first_wait, f)
    end
  end)

  it("a batch of 17: the group commit, the journal's fdatasync and one syncfs after the files and lines", function()
    local events, creates = many(17)
    assert.same({ ".certbench-journal" }, calls(events, "fdatasync"))
    assert.same({ "" }, calls(events, "syncfs")) -- of the CA folder itself
    assert.same({}, calls(events, "fsync"))
    assert.same({}, calls(events, "sync_file_range"))
    assert.is_true(index_of(events, "syncfs", "") > index_of(events, "create", creates[17]))
    -- and the CA is whole: a file for every line, each a certificate of the CA
    local st = ch.check(dir, { parse_all = true })
    assert.equal(2 + 16 + 17, st.count)
  end)
end)
