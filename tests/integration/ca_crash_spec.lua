-- The ca plugin under SIGKILL and concurrency: a process killed at every crash point (CERTBENCH_FAULT
-- names a point; the process kills itself there with SIGKILL) and at random moments of a
-- 1,000-certificate batch, then the next command recovers; four processes issuing into one CA.
-- After each: every index line parses, no serial twice, a file for every line and a line for
-- every file, every file a whole certificate of the CA, the serial file past every serial used.
local h = require "support.helper"
local ch = require "support.ca"
local fs = require "certbench.fs"
local db = require "certbench.plugins.ca.db"
local journal = require "certbench.plugins.ca.journal"
local cjson = require "cjson"

local tmp = h.tmpdir()
local CSRS = tmp .. "/csrs.pem"
local SCRIPT = tmp .. "/issue.lua"

-- 1,000 requests made once (ECDSA P-256, one key: the CA's work is the same)
do
  local parts = {}
  for i = 1, 1000 do parts[i] = ch.request("/C=NO/O=net2/CN=host" .. i .. ".example.com", { "DNS:host" .. i .. ".example.com" }) end
  h.write(CSRS, table.concat(parts))
  h.write(SCRIPT, [[
local plugin = require "certbench.plugins.ca"
local fs = require "certbench.fs"
local dir, csrfile, mode, count, from = arg[1], arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5] or 1)
local data = assert(fs.read(csrfile))
local reqs, i = {}, 0
for pem in data:gmatch("%-%-%-%-%-BEGIN CERTIFICATE REQUEST%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE REQUEST%-%-%-%-%-\n") do
  i = i + 1
  if i >= from then reqs[#reqs + 1] = { csr = pem } end
  if #reqs >= count then break end
end
local ca = assert(plugin.open(dir))
if mode == "many" then
  assert(ca:issue_many(reqs))
elseif mode == "one" then
  for _, r in ipairs(reqs) do assert(ca:issue(r)) end
elseif mode == "revoke" then
  assert(ca:revoke({ serial = arg[6], reason = "keyCompromise" }))
elseif mode == "gencrl" then
  assert(ca:gencrl({ days = 1 }))
end
ca:close()
io.stdout:write("done\n")
]])
end

local function cb(args, env)
  return h.run((env or "") .. " " .. h.q(h.bin) .. " " .. args)
end

-- run the issuing script with a crash point; returns output, exit code
local function run(dir, mode, count, fault, extra)
  local env = fault and ("CERTBENCH_FAULT=" .. fault) or ""
  return cb(string.format("run %s %s %s %s %d %s", h.q(SCRIPT), h.q(dir), h.q(CSRS), mode, count or 1, extra or "1"), env)
end

-- the next command: `ca list --json` recovers and reports
local function recover(dir)
  local out, rc = cb("--json ca list " .. h.q(dir))
  assert.equal(0, rc, out)
  local json = assert(cjson.decode(out:match("{.*}")))
  return json, (json.recovered and table.concat(json.recovered, "\n") or "")
end

local function new_dir(name)
  local dir = tmp .. "/" .. name
  ch.new_ca(dir, { encrypt = false }):close()
  assert.equal("done\n", (run(dir, "one", 1)))
  return dir
end

describe("ca crash points of an issuance", function()
  -- point, certificates the killed process had made durable-or-visible
  local cases = {
    { "ca.issue:journal", function() return 0 end, "the reserved serials are skipped" },
    { "ca.issue:file", function() return 1 end, "the first file is completed" },
    { "ca.issue:half", function(n) return n // 2 + 1 end, "half the files are completed" },
    { "ca.issue:files", function(n) return n end, "all files are completed" },
    { "ca.issue:index", function(n) return n end, "the lines are there, the serial file moves" },
    { "ca.issue:synced", function(n) return n end, "the lines are there, the serial file moves" },
    { "ca.issue:serial", function(n) return n end, "nothing to do but the journal" },
    { "ca.issue:done", function(n) return n end, "nothing to do" },
  }
  for _, mode in ipairs({ { "one", 1 }, { "many", 7 }, { "many", 40 } }) do
    for _, case in ipairs(cases) do
      local point, made = case[1], case[2]
      it(mode[1] .. " " .. mode[2] .. ", killed at " .. point .. ": " .. case[3], function()
        local dir = new_dir((mode[1] .. mode[2] .. point):gsub("[^%w]", "_"))
        local before = ch.check(dir)
        local serial_before = before.serial
        local out, rc = run(dir, mode[1], mode[2], point)
        assert.equal(137, rc, out) -- killed by SIGKILL
        local json, msgs = recover(dir)
        local st = ch.check(dir, { parse_all = true })
        local expect = made(mode[2])
        assert.equal(before.count + expect, st.count, msgs)
        assert.equal(json.count, st.count)
        -- the serial file is past every serial the killed process reserved
        assert.is_true(db.cmp_serial(st.serial, db.add_serial(serial_before, mode[2] - 1)) > 0)
        if point ~= "ca.issue:done" and point ~= "ca.issue:serial" and point ~= "ca.issue:index"
          and point ~= "ca.issue:synced" and expect > 0 then
          assert.matches("recovery: an issuance of serials " .. serial_before .. ".." .. db.add_serial(serial_before, mode[2] - 1)
            .. " was interrupted; " .. expect .. " certificate", msgs, 1, true)
        end
        if point == "ca.issue:journal" then
          assert.matches("moved " .. dir .. "/serial from " .. serial_before, msgs, 1, true)
        end
        assert.equal("idle", journal.read(dir).state)
        -- and the CA goes on, with new serials only
        assert.equal("done\n", (run(dir, "many", 3, nil, "500")))
        local after = ch.check(dir, { parse_all = true })
        assert.equal(st.count + 3, after.count)
        local _, msgs2 = recover(dir)
        assert.equal("", msgs2)
      end)
    end
  end

  it("a torn append (the index cut short mid-line) is cut and completed from the files", function()
    local dir = new_dir("torn")
    local before = ch.check(dir)
    assert.equal(137, select(2, run(dir, "many", 5, "ca.issue:index")))
    -- make the last append torn: cut the index in the middle of the third new line
    local text = h.read(dir .. "/index.txt")
    local keep = #text
    for _ = 1, 3 do keep = text:sub(1, keep - 1):match(".*()\n") end
    fs.truncate(dir .. "/index.txt", keep + 20)
    -- the journal still says "issue": the crash came before it went idle
    assert.equal("issue", journal.read(dir).state)
    local _, msgs = recover(dir)
    assert.matches("cut a torn last line", msgs, 1, true)
    assert.matches("3 certificates completed in index.txt", msgs, 1, true)
    assert.equal(before.count + 5, ch.check(dir, { parse_all = true }).count)
  end)

  -- an issuance syncs its files before index.txt, but the kernel's own write-back may flush the
  -- index lines earlier, so a power cut may keep a line and lose its file: the SIGKILL at
  -- ca.issue:index leaves the page cache as it was, and emptying and removing files does what
  -- the lost write-back would have done
  it("a power cut that kept the index lines but not every file: the lines are cut, the whole files completed", function()
    local dir = new_dir("powercut")
    local before = ch.check(dir)
    local serial_before = before.serial
    assert.equal(137, select(2, run(dir, "many", 5, "ca.issue:index")))
    assert.equal("issue", journal.read(dir).state)
    local s2, s4 = db.add_serial(serial_before, 1), db.add_serial(serial_before, 3)
    fs.truncate(dir .. "/newcerts/" .. s2 .. ".pem", 0)      -- created, its data never written back
    assert(os.remove(dir .. "/newcerts/" .. s4 .. ".pem"))   -- its folder entry never written back
    local _, msgs = recover(dir)
    assert.matches("cut the index lines of an interrupted issuance", msgs, 1, true)
    assert.matches("3 certificates completed in index.txt", msgs, 1, true)
    local st = ch.check(dir, { parse_all = true })
    assert.equal(before.count + 3, st.count)
    assert.is_nil(st.by_key[s2])
    assert.is_nil(st.by_key[s4])
    assert.is_nil(fs.stat(dir .. "/newcerts/" .. s2 .. ".pem"))  -- the empty file is gone
    -- no serial of the lost range is ever handed out again
    assert.is_true(db.cmp_serial(st.serial, db.add_serial(serial_before, 4)) > 0)
    assert.equal("done\n", (run(dir, "many", 3, nil, "500")))
    local _, msgs2 = recover(dir)
    assert.equal("", msgs2)
  end)
end)

describe("ca crash points of revoke, gencrl and init", function()
  it("revoke killed before, during and after the rewrite: the old or the new index, whole", function()
    for _, point in ipairs({ "ca.revoke:before", "fs.write:before-rename", "ca.revoke:written" }) do
      local dir = new_dir(("rev" .. point):gsub("[^%w]", "_"))
      local st = ch.check(dir)
      local serial = st.entries[1].key
      local out, rc = run(dir, "revoke", 1, point, "1 " .. serial)
      assert.equal(137, rc, out)
      recover(dir)
      local after = ch.check(dir, { parse_all = true })
      local status = after.by_key[serial].status
      if point == "ca.revoke:written" then assert.equal("R", status) else assert.equal("V", status) end
      for _, name in ipairs(fs.list(dir)) do assert.is_nil(name:match("%.tmp$"), name) end
      -- revoking again works (or says it is done)
      local o2, rc2 = cb("ca revoke " .. h.q(dir) .. " --serial " .. serial)
      if status == "R" then assert.equal(1, rc2, o2) else assert.equal(0, rc2, o2) end
    end
  end)

  it("gencrl killed after crlnumber moved: the number is skipped, never used twice", function()
    local dir = new_dir("gencrl")
    local out, rc = run(dir, "gencrl", 1, "ca.gencrl:number")
    assert.equal(137, rc, out)
    assert.equal("02\n", h.read(dir .. "/crlnumber"))
    recover(dir)
    for _, name in ipairs(fs.list(dir .. "/crl")) do assert.is_nil(name:match("%.tmp$"), name) end
    out, rc = cb("--json ca gencrl " .. h.q(dir))
    assert.equal(0, rc, out)
    assert.equal("02", cjson.decode(out).number)
    assert.equal("03\n", h.read(dir .. "/crlnumber"))
  end)

  it("init killed before its folder is renamed into place leaves no CA, and init works again", function()
    local dir = tmp .. "/init-crash"
    local out, rc = cb("ca init " .. h.q(dir) .. " --subject /CN=Root --key ec:P-256 --no-encrypt", "CERTBENCH_FAULT=ca.init:before-rename")
    assert.equal(137, rc, out)
    assert.is_nil(fs.stat(dir))
    out, rc = cb("ca init " .. h.q(dir) .. " --subject /CN=Root --key ec:P-256 --no-encrypt")
    assert.equal(0, rc, out)
  end)
end)

describe("ca under SIGKILL at random moments", function()
  it("a 1,000-certificate batch killed 20 times: never a serial twice, a line without its file, or a corrupt file", function()
    local dir = new_dir("random")
    -- how long a whole batch takes here
    local function now() return tonumber((h.run("date +%s.%N"))) end
    local t0 = now()
    assert.equal("done\n", (run(dir, "many", 1000)))
    local dt = now() - t0
    local st = ch.check(dir, { parse_all = true })
    local seen = {}
    for k in pairs(st.by_key) do seen[k] = true end
    local completed, killed, finished = 0, 0, 0
    math.randomseed(os.time())
    -- 20 kill moments spread over the whole run, jittered; the batch's time is measured once,
    -- so a run that finishes before its kill (the first batch slowed by a loaded machine)
    -- shortens the estimate, and more rounds follow until 10 kills (60 rounds at most)
    local round = 0
    while round < 20 or (killed < 10 and round < 60) do
      round = round + 1
      local delay = dt * (((round - 1) % 20) + math.random()) / 20 * 1.1
      local out = h.run(string.format(
        "%s run %s %s %s many 1000 & pid=$!; sleep %.3f; kill -9 $pid 2>/dev/null; wait $pid; echo \"rc=$?\"",
        h.q(h.bin), h.q(SCRIPT), h.q(dir), h.q(CSRS), delay))
      local rc = tonumber(out:match("rc=(%d+)"))
      if rc == 137 then killed = killed + 1
      elseif rc == 0 then
        finished = finished + 1
        dt = math.min(dt, delay)
      else error(out) end
      local _, msgs = recover(dir)
      local n = tonumber(msgs:match("(%d+) certificates? completed"))
      if n then completed = completed + 1 end
      local new = {}
      local now = ch.check(dir)
      for k in pairs(now.by_key) do
        if not seen[k] then new[#new + 1] = k; seen[k] = true end
      end
      ch.check(dir, { parse = new })
    end
    local final = ch.check(dir, { parse_all = true })
    print(string.format("# random kills: %d rounds, batch %.2fs, %d killed, %d finished, %d recoveries completed files, %d certificates in all",
      round, dt, killed, finished, completed, final.count))
    assert.is_true(killed >= 10)
  end)
end)

describe("ca under concurrency", function()
  it("4 processes issuing 250 certificates each, one by one: 1,000 serials, lines and files", function()
    local dir = tmp .. "/conc"
    ch.new_ca(dir, { encrypt = false }):close()
    local cmd = {}
    for p = 0, 3 do
      cmd[#cmd + 1] = string.format("%s run %s %s %s one 250 %d & ", h.q(h.bin), h.q(SCRIPT), h.q(dir), h.q(CSRS), p * 250 + 1)
    end
    local out = h.run(table.concat(cmd) .. " wait")
    local _, done = out:gsub("done\n", "")
    assert.equal(4, done, out)
    local st = ch.check(dir, { parse_all = true })
    assert.equal(1000, st.count)
    assert.equal(1000, #fs.list(dir .. "/newcerts"))
    local subjects = {}
    for _, e in ipairs(st.entries) do subjects[e.subject] = true end
    local n = 0
    for _ in pairs(subjects) do n = n + 1 end
    assert.equal(1000, n)
  end)

  it("4 processes with batches, one of them killed mid-way: the others recover and finish", function()
    local dir = tmp .. "/conc2"
    ch.new_ca(dir, { encrypt = false }):close()
    local cmd = {}
    for p = 0, 3 do
      cmd[#cmd + 1] = string.format("%s %s run %s %s %s many 250 %d & ",
        p == 1 and "CERTBENCH_FAULT=ca.issue:half" or "", h.q(h.bin), h.q(SCRIPT), h.q(dir), h.q(CSRS), p * 250 + 1)
    end
    local out = h.run(table.concat(cmd) .. " wait")
    local _, done = out:gsub("done\n", "")
    assert.equal(3, done, out)
    local _, msgs = recover(dir)
    local st = ch.check(dir, { parse_all = true })
    -- the killed batch's first half was completed by whoever took the lock next
    assert.equal(750 + 126, st.count, msgs)
  end)
end)
