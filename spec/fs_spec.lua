local fs = require "certbench.fs"
local h = require "helper"

describe("certbench.fs", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  describe("read", function()
    it("reads a file whole", function()
      h.write(dir .. "/a", "hello\0world")
      assert.equal("hello\0world", fs.read(dir .. "/a"))
    end)
    it("names the file and the cause when it is missing", function()
      local data, err, code = fs.read(dir .. "/missing")
      assert.is_nil(data)
      assert.equal(dir .. "/missing: No such file or directory", err)
      assert.equal(2, code)
    end)
    it("refuses a file over the size limit", function()
      h.write(dir .. "/big", string.rep("x", 1000))
      local data, err = fs.read(dir .. "/big", 999)
      assert.is_nil(data)
      assert.matches("file too large", err, 1, true)
      assert.equal(1000, #fs.read(dir .. "/big", 1000))
    end)
    it("refuses a folder", function()
      local data, err = fs.read(dir)
      assert.is_nil(data)
      assert.matches("Is a directory", err, 1, true)
    end)
    it("reads a stream without a size (a pipe) up to the limit", function()
      local data = fs.read("/proc/self/status")
      assert.truthy(data:find("Name:", 1, true))
    end)
  end)
end)

describe("certbench.fs.write", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  it("writes atomically and replaces the old content", function()
    assert.is_true(fs.write(dir .. "/f", "one"))
    assert.is_true(fs.write(dir .. "/f", "two"))
    assert.equal("two", h.read(dir .. "/f"))
    -- no temporary file is left behind
    assert.same({ "f" }, fs.list(dir))
  end)

  it("sets the mode at creation: a key is never world-readable", function()
    -- umask 0 would make a chmod-after-open approach visible: the file must still be 0600
    local out = h.run(string.format([[umask 000; %s run - <<'LUA'
local fs = require "certbench.fs"
assert(fs.write_key(%q, "SECRET"))
assert(fs.write(%q, "public", { mode = tonumber("644", 8) }))
LUA]], h.q(h.bin), dir .. "/key.pem", dir .. "/pub.pem"))
    assert.equal("600", h.mode(dir .. "/key.pem"), out)
    assert.equal("644", h.mode(dir .. "/pub.pem"))
  end)

  it("never lets a key file be seen with a wider mode, even for a moment", function()
    -- watch the folder while keys are written: every file that appears is 0600
    local script = dir .. "/w.lua"
    h.write(script, string.format([[
local fs = require "certbench.fs"
for i = 1, 200 do assert(fs.write_key(%q .. "/k" .. i .. ".pem", string.rep("k", 4096))) end
]], dir))
    local out, rc = h.run(string.format(
      "umask 000; (%s run %s &) ; for i in $(seq 1 400); do find %s -maxdepth 1 -type f -name '*k*' ! -perm 600 -printf 'BAD %%p %%m\\n'; done; wait",
      h.q(h.bin), h.q(script), h.q(dir)))
    assert.equal(0, rc)
    assert.is_nil(out:find("BAD", 1, true), out)
  end)

  it("refuses to overwrite a key without force, and names the file", function()
    assert.is_true(fs.write_key(dir .. "/k", "a"))
    local ok, err, code = fs.write_key(dir .. "/k", "b")
    assert.is_nil(ok)
    assert.equal(dir .. "/k: File exists", err)
    assert.equal(17, code)
    assert.equal("a", h.read(dir .. "/k"))
    assert.is_true(fs.write_key(dir .. "/k", "b", { force = true }))
    assert.equal("b", h.read(dir .. "/k"))
    assert.equal("600", h.mode(dir .. "/k"))
  end)

  it("keeps the old file intact when killed between write and rename", function()
    h.write(dir .. "/db", "OLD CONTENT\n")
    local out, rc = h.run(string.format(
      "CERTBENCH_FAULT=fs.write:before-rename %s run - <<'LUA'\nlocal fs = require 'certbench.fs'\nfs.write(%q, string.rep('NEW', 100000))\nprint('not reached')\nLUA",
      h.q(h.bin), dir .. "/db"))
    assert.equal(137, rc, out)  -- killed by SIGKILL
    assert.is_nil(out:find("not reached", 1, true))
    assert.equal("OLD CONTENT\n", h.read(dir .. "/db"))
  end)

  it("keeps either the old or the new file when killed at random moments", function()
    local path = dir .. "/state"
    local new = string.rep("N", 1 << 20)
    h.write(path, "OLD")
    h.write(dir .. "/w.lua", string.format([[
local fs = require "certbench.fs"
local data = string.rep("N", 1 << 20)
while true do assert(fs.write(%q, data)) end
]], path))
    for i = 1, 10 do
      h.run(string.format("%s run %s & pid=$!; sleep 0.0%d; kill -9 $pid; wait $pid",
        h.q(h.bin), h.q(dir .. "/w.lua"), i))
      local got = h.read(path)
      assert.is_true(got == "OLD" or got == new, "torn file of " .. #got .. " bytes")
    end
  end)

  it("fails cleanly in a missing folder or a read-only one", function()
    local ok, err = fs.write(dir .. "/no/such/f", "x")
    assert.is_nil(ok)
    assert.equal(dir .. "/no/such/f: No such file or directory", err)
    if h.run("id -u"):match("^0") == nil then
      os.execute("chmod 500 " .. h.q(dir))
      ok, err = fs.write(dir .. "/f", "x")
      assert.is_nil(ok)
      assert.matches("Permission denied", err, 1, true)
      os.execute("chmod 700 " .. h.q(dir))
    end
  end)

  it("takes a secret as data without turning it into a string", function()
    local secret = require "certbench.secret"
    local s = secret.new("pw")
    assert.is_true(fs.write(dir .. "/p", s))
    assert.equal("pw", h.read(dir .. "/p"))
  end)
end)

describe("certbench.fs folders and metadata", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  it("mkdir makes parents and accepts an existing folder", function()
    assert.is_true(fs.mkdir(dir .. "/a/b/c"))
    assert.is_true(fs.mkdir(dir .. "/a/b/c"))
    assert.is_true(fs.isdir(dir .. "/a/b/c"))
    assert.is_true(fs.mkdir(dir .. "/p", { mode = tonumber("700", 8) }))
    assert.equal("700", h.mode(dir .. "/p"))
  end)

  it("mkdir fails where a file stands", function()
    h.write(dir .. "/f", "")
    local ok, err = fs.mkdir(dir .. "/f")
    assert.is_nil(ok)
    assert.matches("File exists", err, 1, true)
    ok, err = fs.mkdir(dir .. "/f/x")
    assert.is_nil(ok)
    assert.matches("Not a directory", err, 1, true)
  end)

  it("lists a folder sorted, and fails on a missing one", function()
    for _, n in ipairs { "b", "a", "c" } do h.write(dir .. "/" .. n, n) end
    assert.same({ "a", "b", "c" }, fs.list(dir))
    local l, err = fs.list(dir .. "/none")
    assert.is_nil(l)
    assert.matches("none: No such file", err, 1, true)
  end)

  it("stats files", function()
    h.write(dir .. "/f", "12345")
    local st = fs.stat(dir .. "/f")
    assert.equal("file", st.type)
    assert.equal(5, st.size)
    assert.is_true(math.abs(st.mtime - os.time()) < 100)
    assert.equal("directory", fs.stat(dir).type)
    assert.is_false(fs.exists(dir .. "/none"))
    assert.is_true(fs.exists(dir .. "/f"))
  end)

  it("appends durably, creating the file", function()
    assert.is_true(fs.append(dir .. "/log", "a\n"))
    assert.is_true(fs.append(dir .. "/log", "b\n"))
    assert.equal("a\nb\n", h.read(dir .. "/log"))
  end)

  it("renames, removes, truncates", function()
    h.write(dir .. "/a", "abcdef")
    assert.is_true(fs.rename(dir .. "/a", dir .. "/b"))
    assert.is_false(fs.exists(dir .. "/a"))
    assert.is_true(fs.truncate(dir .. "/b", 3))
    assert.equal("abc", h.read(dir .. "/b"))
    assert.is_true(fs.remove(dir .. "/b"))
    local ok, err = fs.remove(dir .. "/b")
    assert.is_nil(ok)
    assert.matches("No such file", err, 1, true)
    fs.mkdir(dir .. "/d")
    assert.is_true(fs.remove(dir .. "/d"))
  end)

  it("joins and splits paths", function()
    assert.equal("a/b/c", fs.join("a/", "/b/", "c"))
    assert.equal("/x/y", fs.join("/x", "y"))
    assert.equal("/x", fs.dirname("/x/y"))
    assert.equal(".", fs.dirname("y"))
    assert.equal("/", fs.dirname("/y"))
    assert.equal("y", fs.basename("/x/y"))
    assert.equal("y", fs.basename("/x/y/"))
  end)
end)

describe("certbench.fs.lock", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  it("locks a folder; a second process cannot take it until released", function()
    local lk = assert(fs.lock(dir))
    assert.is_true(lk:held())
    local out = h.run(string.format(
      "%s run - <<'LUA'\nlocal fs = require 'certbench.fs'\nlocal l, err = fs.lock(%q, {wait = false})\nprint(l and 'GOT' or err)\nLUA",
      h.q(h.bin), dir))
    assert.matches("locked by another process", out, 1, true)
    lk:unlock()
    assert.is_false(lk:held())
    out = h.run(string.format(
      "%s run - <<'LUA'\nlocal fs = require 'certbench.fs'\nlocal l, err = fs.lock(%q, {wait = false})\nprint(l and 'GOT' or err)\nLUA",
      h.q(h.bin), dir))
    assert.matches("GOT", out, 1, true)
  end)

  it("is released at the end of a <close> scope, even on error", function()
    local ok = pcall(function()
      local lk <close> = assert(fs.lock(dir))
      error("boom")
    end)
    assert.is_false(ok)
    local again = assert(fs.lock(dir, { wait = false }))
    again:unlock()
  end)

  it("times out", function()
    local lk = assert(fs.lock(dir .. "/lockfile"))
    local t0 = os.time()
    local out = h.run(string.format(
      "%s run - <<'LUA'\nlocal fs = require 'certbench.fs'\nlocal l, err = fs.lock(%q, {timeout = 0.3})\nprint(l and 'GOT' or err)\nLUA",
      h.q(h.bin), dir .. "/lockfile"))
    assert.matches("locked by another process", out, 1, true)
    assert.is_true(os.time() - t0 < 5)
    lk:unlock()
    assert.equal("600", h.mode(dir .. "/lockfile"))
  end)

  it("serializes writers: concurrent increments lose nothing", function()
    h.write(dir .. "/n", "0")
    h.write(dir .. "/inc.lua", string.format([[
local fs = require "certbench.fs"
for i = 1, 50 do
  local lk <close> = assert(fs.lock(%q))
  local n = tonumber(fs.read(%q))
  assert(fs.write(%q, tostring(n + 1), { sync = false }))
end
]], dir, dir .. "/n", dir .. "/n"))
    local bin = h.q(h.bin)
    local s = h.q(dir .. "/inc.lua")
    local _, rc = h.run(string.format("%s run %s & %s run %s & %s run %s & wait", bin, s, bin, s, bin, s))
    assert.equal(0, rc)
    assert.equal("150", h.read(dir .. "/n"))
  end)
end)

describe("certbench.fs additions for the CA database", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  it("stat gives the inode, which a rename changes and an append does not", function()
    assert.is_true(fs.write(dir .. "/f", "a\n"))
    local s1 = fs.stat(dir .. "/f")
    assert.is_true(math.type(s1.ino) == "integer" and s1.ino > 0)
    assert.is_true(math.type(s1.dev) == "integer")
    assert.is_true(fs.append(dir .. "/f", "b\n"))
    assert.equal(s1.ino, fs.stat(dir .. "/f").ino)
    assert.is_true(fs.write(dir .. "/f", "c\n"))
    assert.are_not.equal(s1.ino, fs.stat(dir .. "/f").ino)
  end)

  it("create writes a new file with its mode and never touches an existing one", function()
    assert.is_true(fs.create(dir .. "/n", "data", { mode = tonumber("640", 8) }))
    assert.equal("data", h.read(dir .. "/n"))
    assert.equal("640", h.mode(dir .. "/n"))
    local ok, err, code = fs.create(dir .. "/n", "other")
    assert.is_nil(ok)
    assert.equal(dir .. "/n: File exists", err)
    assert.equal(17, code)
    assert.equal("data", h.read(dir .. "/n"))
    assert.is_true(fs.create(dir .. "/s", "synced", { sync = true }))
    assert.equal("synced", h.read(dir .. "/s"))
    local ok2, err2 = fs.create(dir .. "/missing/x", "y")
    assert.is_nil(ok2)
    assert.matches("No such file or directory", err2, 1, true)
  end)

  it("create with async writes on the thread pool inside a loop task, and here elsewhere", function()
    local loop = require "certbench.loop"
    local r0 = loop.stats().resumes
    assert.is_true(fs.create(dir .. "/plain", "here", { async = true }))
    assert.equal(r0, loop.stats().resumes)
    local big = string.rep("0123456789abcdef", 1 << 16)
    local res = loop.all {
      function()
        local before = loop.stats().resumes
        local ok = fs.create(dir .. "/a", big, { async = true, mode = tonumber("640", 8) })
        return ok, loop.stats().resumes > before
      end,
      function() return fs.create(dir .. "/b", "bee", { async = true, sync = true }) end,
      function() return fs.create(dir .. "/plain", "again", { async = true }) end,
      function() return fs.create(dir .. "/no/such", "x", { async = true }) end,
    }
    assert.same({ true, true, n = 2 }, res[1])
    assert.equal(big, h.read(dir .. "/a"))
    assert.equal("640", h.mode(dir .. "/a"))
    assert.same({ true, n = 1 }, res[2])
    assert.equal("bee", h.read(dir .. "/b"))
    assert.same({ nil, dir .. "/plain: File exists", 17, n = 3 }, res[3])
    assert.equal("here", h.read(dir .. "/plain"))
    assert.same({ nil, dir .. "/no/such: No such file or directory", 2, n = 3 }, res[4])
  end)

  it("pwrite overwrites in place, creates a missing file, keeps the inode", function()
    assert.is_true(fs.pwrite(dir .. "/j", 0, "0123456789"))
    local ino = fs.stat(dir .. "/j").ino
    assert.is_true(fs.pwrite(dir .. "/j", 2, "ab", { sync = false }))
    assert.equal("01ab456789", h.read(dir .. "/j"))
    assert.is_true(fs.pwrite(dir .. "/j", 12, "Z"))
    assert.equal("01ab456789\0\0Z", h.read(dir .. "/j"))
    assert.equal(ino, fs.stat(dir .. "/j").ino)
    assert.has_error(function() fs.pwrite(dir .. "/j", -1, "x") end)
    local ok, err = fs.pwrite(dir .. "/no/j", 0, "x")
    assert.is_nil(ok)
    assert.matches("No such file or directory", err, 1, true)
  end)

  it("syncfs syncs the file system of a path and names a missing one", function()
    assert.is_true(fs.syncfs(dir))
    local ok, err = fs.syncfs(dir .. "/missing")
    assert.is_nil(ok)
    assert.matches(dir .. "/missing: No such file or directory", err, 1, true)
  end)

  it("create on a full file system fails and leaves no partial file", function()
    local mnt = dir .. "/mnt"
    fs.mkdir(mnt)
    local _, rc = h.run("mount -t tmpfs -o size=64k tmpfs " .. h.q(mnt))
    if rc ~= 0 then pending("mounting a tmpfs needs root") return end
    finally(function() h.run("umount " .. h.q(mnt)) end)
    local ok, err, code = fs.create(mnt .. "/big", string.rep("x", 200 * 1024))
    assert.is_nil(ok)
    assert.matches("No space left on device", err, 1, true)
    assert.equal(28, code)
    assert.is_nil(fs.stat(mnt .. "/big"))
  end)
end)

describe("certbench.fs links", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  it("link makes a second name of the same file, no copy", function()
    assert.is_true(fs.write(dir .. "/a", "one"))
    assert.is_true(fs.link(dir .. "/a", dir .. "/b"))
    assert.equal("one", h.read(dir .. "/b"))
    assert.equal(fs.stat(dir .. "/a").ino, fs.stat(dir .. "/b").ino)
    -- an atomic replacement of a makes a new file: b keeps the old one until linked again
    assert.is_true(fs.write(dir .. "/a", "two"))
    assert.equal("one", h.read(dir .. "/b"))
    local ok, err, code = fs.link(dir .. "/a", dir .. "/b")
    assert.is_nil(ok)
    assert.equal(dir .. "/b: File exists", err)
    assert.equal(17, code)
    assert.is_true(fs.link(dir .. "/a", dir .. "/b", { replace = true, sync = false }))
    assert.equal("two", h.read(dir .. "/b"))
    assert.equal(fs.stat(dir .. "/a").ino, fs.stat(dir .. "/b").ino)
    -- linking again what is already linked changes nothing and leaves no temporary name
    assert.is_true(fs.link(dir .. "/a", dir .. "/b", { replace = true }))
    assert.same({ "a", "b" }, fs.list(dir))
  end)

  it("link names a missing target, or a missing folder of the new name", function()
    local ok, err, code = fs.link(dir .. "/missing", dir .. "/b")
    assert.is_nil(ok)
    assert.equal(dir .. "/missing: No such file or directory", err)
    assert.equal(2, code)
    h.write(dir .. "/a", "x")
    ok, err = fs.link(dir .. "/a", dir .. "/no/b")
    assert.is_nil(ok)
    assert.equal(dir .. "/no/b: No such file or directory", err)
    ok, err = fs.link(dir .. "/missing", dir .. "/a", { replace = true })
    assert.is_nil(ok)
    assert.equal(dir .. "/missing: No such file or directory", err)
    assert.equal("x", h.read(dir .. "/a"))
  end)

  it("symlink makes a relative link that follows replacements of its target", function()
    assert.is_true(fs.write(dir .. "/a.pem", "one"))
    assert.is_true(fs.symlink("a.pem", dir .. "/l"))
    assert.equal("a.pem", fs.readlink(dir .. "/l"))
    assert.equal("link", fs.stat(dir .. "/l", { follow = false }).type)
    assert.equal("one", h.read(dir .. "/l"))
    assert.is_true(fs.write(dir .. "/a.pem", "two"))
    assert.equal("two", h.read(dir .. "/l"))
    -- a dangling link is allowed: the target need not exist yet
    assert.is_true(fs.symlink("later", dir .. "/d", { sync = false }))
    assert.equal("later", fs.readlink(dir .. "/d"))
    assert.is_nil(fs.stat(dir .. "/d"))
    local ok, err, code = fs.symlink("b.pem", dir .. "/l")
    assert.is_nil(ok)
    assert.equal(dir .. "/l: File exists", err)
    assert.equal(17, code)
    assert.equal("a.pem", fs.readlink(dir .. "/l"))
  end)

  it("symlink with replace swaps a link or a file for a link atomically", function()
    assert.is_true(fs.write(dir .. "/a", "A"))
    assert.is_true(fs.write(dir .. "/b", "B"))
    assert.is_true(fs.write(dir .. "/entry", "a copy"))
    assert.is_true(fs.symlink("a", dir .. "/entry", { replace = true }))
    assert.equal("A", h.read(dir .. "/entry"))
    assert.is_true(fs.symlink("b", dir .. "/entry", { replace = true }))
    assert.equal("B", h.read(dir .. "/entry"))
    assert.same({ "a", "b", "entry" }, fs.list(dir))
    -- while the link is swapped over and over, a reader always finds the entry
    h.write(dir .. "/swap.lua", ([[
local fs = require "certbench.fs"
for i = 1, 3000 do assert(fs.symlink(i %% 2 == 0 and "a" or "b", %q, { replace = true, sync = false })) end
]]):format(dir .. "/entry"))
    local out, rc = h.run(("(%s run %s &); for i in $(seq 1 300); do cat %s >/dev/null 2>&1 || echo MISSING; done; wait")
      :format(h.q(h.bin), h.q(dir .. "/swap.lua"), h.q(dir .. "/entry")))
    assert.equal(0, rc)
    assert.is_nil(out:find("MISSING", 1, true), out)
  end)

  it("readlink names a path that is not a link", function()
    h.write(dir .. "/f", "x")
    local t, err, code = fs.readlink(dir .. "/f")
    assert.is_nil(t)
    assert.equal(dir .. "/f: Invalid argument", err)
    assert.equal(22, code)
    t, err, code = fs.readlink(dir .. "/missing")
    assert.is_nil(t)
    assert.equal(2, code)
    assert.has_error(function() fs.readlink() end)
    assert.has_error(function() fs.symlink("a") end)
    assert.has_error(function() fs.link({}, dir .. "/g") end)
  end)
end)
