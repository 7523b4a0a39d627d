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

describe("the syncs of an --out copy (strace)", function()
  -- the copy is written atomically, not durably (plugins/ca/init.lua open_out): its temporary
  -- file is synced before the rename (else a power cut may leave the name on an empty file), its
  -- folder is not; the CA's own syncs are those above
  local dir = tmp .. "/out-ca"
  ch.new_ca(dir, { encrypt = false }):close()
  local csr = tmp .. "/out.csr"
  h.write(csr, ch.request("/C=NO/O=net2/CN=out.example.com", { "DNS:out.example.com" }))
  local outd = tmp .. "/copies"
  h.sh("mkdir -p " .. h.q(outd))
  assert.equal(0, select(2, h.run(h.q(h.bin) .. " ca issue " .. h.q(dir) .. " --csr " .. h.q(csr))))

  it("ca issue --out FILE: one fsync of the copy's temporary file, none of its folder", function()
    local events = trace("ca issue " .. h.q(dir) .. " --csr " .. h.q(csr) .. " --out " .. h.q(outd .. "/cert.pem"), tmp)
    local copy = {}
    for _, e in ipairs(events) do
      if e[2]:sub(1, 7) == "copies/" or e[2] == "copies" then copy[#copy + 1] = e[1] .. " " .. e[2] end
    end
    assert.equal(1, #copy, table.concat(copy, "; "))
    assert.matches("^fsync copies/%.cert%.pem%.%x+%.tmp$", copy[1])
    assert.same({}, calls(events, "syncfs"))
    -- the CA's own syncs are unchanged by the copy
    assert.same({ "out-ca/newcerts" }, (function()
      local t = {}
      for _, p in ipairs(calls(events, "fsync")) do if p:sub(1, 7) ~= "copies/" then t[#t + 1] = p end end
      return t
    end)())
    assert.matches("CN%s*=%s*out.example.com", h.sh("openssl x509 -in " .. h.q(outd .. "/cert.pem") .. " -noout -subject"))
  end)
end)

describe("the syncs of a crl mirror run (strace)", function()
  -- plugins/crl/mirror_publish.lua commit: up to fs.SYNC_EACH_MAX (16) new files each is synced
  -- on its own and nothing else of the file system is waited for; above, one syncfs. The CRLs
  -- are openssl's (openssl ca -gencrl), served by a real HTTP server on 127.0.0.1.
  local servers = require "support.servers"
  local www = tmp .. "/www"
  h.sh("mkdir -p " .. h.q(www))
  local srv
  local function sources(n)
    local urls, cas = {}, {}
    for i = 1, n do
      local d = www .. "/ca" .. i
      h.sh("mkdir -p " .. h.q(d))
      local ca = servers.make_ca(d, "Mirror Sync CA " .. i)
      h.sh("cp " .. h.q(servers.make_crl(d, ca)) .. " " .. h.q(www .. "/" .. i .. ".crl"))
      cas[#cas + 1] = h.read(ca.cert)
      urls[#urls + 1] = "http://127.0.0.1:" .. srv.port .. "/" .. i .. ".crl"
    end
    return urls, table.concat(cas)
  end
  setup(function() srv = servers.http(www) end)
  teardown(function() if srv then servers.stop(srv) end end)

  local function mirror(n, name)
    local urls, cas = sources(n)
    local trusted = tmp .. "/" .. name .. "-trusted.pem"
    h.write(trusted, cas)
    local out = tmp .. "/" .. name
    local src = {}
    for _, u in ipairs(urls) do src[#src + 1] = "--source " .. h.q(u) end
    -- a first run of n sources: n DER, n PEM and n CA certificates are new
    local events = trace("crl mirror --once --out-dir " .. h.q(out) .. " --ca " .. h.q(trusted) .. " " .. table.concat(src, " "), out)
    -- and the folder works: openssl checks a CA against its CRL found there
    local v, vrc = h.run("openssl verify -CApath " .. h.q(out) .. " -crl_check " .. h.q(trusted) .. " 2>&1")
    assert.equal(0, vrc, v)
    return events
  end

  it("5 sources (15 new files): each file synced, its folders, no syncfs", function()
    local events = mirror(5, "m5")
    assert.same({}, calls(events, "syncfs"))
    local data = calls(events, "fdatasync")
    local crls, certs = 0, 0
    for _, p in ipairs(data) do
      if p:match("^%.certbench%-mirror/tmp/pub%-%d+$") then crls = crls + 1
      elseif p:match("^%x+%.0$") then certs = certs + 1 end
    end
    assert.equal(10, crls, table.concat(data, " "))
    assert.equal(5, certs, table.concat(data, " "))
    -- the folder's entries after the renames
    assert.is_not_nil(index_of(events, "fsync", ""), "no fsync of the mirror folder")
  end)

  it("9 sources (27 new files): one syncfs, no sync of each file", function()
    local events = mirror(9, "m9")
    assert.same({ "" }, calls(events, "syncfs"))
    for _, p in ipairs(calls(events, "fdatasync")) do
      assert.is_nil(p:match("^%.certbench%-mirror/tmp/pub%-%d+$"), p)
    end
  end)
end)
