local fs = require "certbench.fs"
local h = require "support.helper"

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
    -- the 0.3 s asked for, not a wait without end (which would hang here, not fail): the bound
    -- leaves a loaded machine room for the program's start
    assert.is_true(os.time() - t0 < 15)
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

  it("stat's ctime_ns moves with a write in place in the same second, which mtime does not show", function()
    assert.is_true(fs.write(dir .. "/c", "one\n"))
    local s1 = fs.stat(dir .. "/c")
    assert.is_true(math.type(s1.ctime_ns) == "integer" and s1.ctime_ns >= s1.mtime * 1000000000)
    -- the kernel stamps ctime from its coarse clock (a tick, 1-10 ms): a write within the same
    -- tick may keep it, as it would keep a finer mtime; a mirror run is longer than that
    h.run("sleep 0.05")
    local f = assert(io.open(dir .. "/c", "r+")) f:write("two\n") f:close()
    local s2 = fs.stat(dir .. "/c")
    assert.equal(s1.ino, s2.ino)
    assert.equal(s1.size, s2.size)
    assert.is_true(s2.ctime_ns > s1.ctime_ns)
    -- an mtime set back (touch -d, cp -p) moves ctime forward
    h.sh("touch -d @1000000000 " .. h.q(dir .. "/c"))
    local s3 = fs.stat(dir .. "/c")
    assert.equal(1000000000, s3.mtime)
    assert.is_true(s3.ctime_ns >= s2.ctime_ns)
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

  it("sync of a list syncs each file and folder named, and names the first one missing", function()
    local sd = dir .. "/synclist"
    assert.is_true(fs.mkdir(sd))
    assert.is_true(fs.create(sd .. "/a", "aa"))
    assert.is_true(fs.create(sd .. "/b", "bb"))
    assert.is_true(fs.append(sd .. "/i", "line\n", { sync = false }))
    assert.is_true(fs.sync({ sd .. "/a", sd .. "/b", sd, sd .. "/i" }))
    assert.is_true(fs.sync({ sd .. "/a" }))
    assert.is_true(fs.sync({}))
    assert.equal("aa", h.read(sd .. "/a"))
    local ok, err = fs.sync({ sd .. "/a", sd .. "/missing", sd .. "/gone" })
    assert.is_nil(ok)
    assert.matches(sd .. "/missing: No such file or directory", err, 1, true)
    assert.has_error(function() fs.sync({ sd .. "/a", {} }) end)
    ok, err = fs.sync(sd .. "/missing")
    assert.is_nil(ok)
    assert.matches(sd .. "/missing: No such file or directory", err, 1, true)
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

describe("certbench.fs.writer", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  -- the temporary files of the writers in dir
  local function temps()
    local t = {}
    for _, n in ipairs(fs.list(dir)) do
      if n:match("^%..+%.%x+%.tmp$") then t[#t + 1] = n end
    end
    return t
  end

  -- runs a Lua script with build/certbench after the shell lines pre: -> output, exit code
  local function child(pre, script)
    return h.run(string.format("%s\nCERTBENCH_SRC=%s %s run - <<'LUA'\nlocal fs = require 'certbench.fs'\n%s\nLUA",
      pre, h.q(h.root), h.q(h.bin), script))
  end

  it("writes what it is given, in pieces, and chains", function()
    local w = assert(fs.writer(dir .. "/f"))
    assert.equal(w, w:write("one", "\0", 2):write():write("three"))
    assert.is_true(w:commit())
    assert.equal("one\0" .. "2three", h.read(dir .. "/f"))
    assert.same({ "f" }, fs.list(dir))
    assert.equal("644", h.mode(dir .. "/f"))
  end)

  it("creates the file with the mode asked, whatever the umask", function()
    local out, rc = child("umask 000", string.format([[
local w = assert(fs.writer(%q, { mode = tonumber("600", 8) }))
assert(w:write("SECRET"):commit())
w = assert(fs.writer(%q, { mode = tonumber("640", 8), sync = false }))
assert(w:write("shared"):commit())]], dir .. "/key", dir .. "/pub"))
    assert.equal(0, rc, out)
    assert.equal("600", h.mode(dir .. "/key"))
    assert.equal("640", h.mode(dir .. "/pub"))
    assert.equal("SECRET", h.read(dir .. "/key"))
    assert.equal("shared", h.read(dir .. "/pub"))
  end)

  it("shows nothing under the name until commit, and then replaces the old file", function()
    local p = dir .. "/state"
    h.write(p, "OLD")
    local w = assert(fs.writer(p, { mode = tonumber("600", 8) }))
    w:write(string.rep("n", 100000))
    assert.equal("OLD", h.read(p))
    local t = temps()
    assert.equal(1, #t)
    assert.equal("600", h.mode(dir .. "/" .. t[1]))
    assert.is_true(w:commit())
    assert.equal(string.rep("n", 100000), h.read(p))
    assert.same({ "state" }, fs.list(dir))
    assert.equal("600", h.mode(p))
  end)

  it("buffers small writes instead of a system call each", function()
    local w = assert(fs.writer(dir .. "/f"))
    for _ = 1, 100 do w:write("0123456789") end
    local tmp = dir .. "/" .. temps()[1]
    assert.equal(0, fs.stat(tmp).size)
    for _ = 1, 700 do w:write(string.rep("x", 100)) end   -- 71,000 bytes so far
    local size = fs.stat(tmp).size
    assert.is_true(size > 60000 and size < 71000, "on disk: " .. size)
    assert.is_true(w:commit())
    assert.equal(71000, fs.stat(dir .. "/f").size)
  end)

  it("streams a file of many megabytes exactly", function()
    local parts, n, seed = {}, 0, 7
    while n < 6 * 1024 * 1024 do
      seed = (seed * 1103515245 + 12345) % 2147483648
      -- sizes from 1 byte to 200 KB: through the buffer, across it, and past it
      local len = seed % 7 == 0 and (seed % 200000) + 1 or (seed % 300) + 1
      local s = string.char(65 + #parts % 26):rep(len)
      parts[#parts + 1] = s
      n = n + len
    end
    local w = assert(fs.writer(dir .. "/big", { sync = false }))
    for _, s in ipairs(parts) do assert(w:write(s)) end
    assert.is_true(w:commit())
    assert.equal(table.concat(parts), h.read(dir .. "/big"))
  end)

  it("abort leaves nothing behind and the old file untouched", function()
    h.write(dir .. "/f", "OLD")
    local w = assert(fs.writer(dir .. "/f"))
    w:write(string.rep("x", 200000))
    assert.is_true(w:abort())
    assert.same({ "f" }, fs.list(dir))
    assert.equal("OLD", h.read(dir .. "/f"))
    assert.equal("certbench.fs.writer (closed)", tostring(w))
    assert.has_error(function() w:write("x") end, "attempt to use a closed fs.writer")
    assert.has_error(function() w:commit() end, "attempt to use a closed fs.writer")
    assert.has_error(function() w:abort() end, "attempt to use a closed fs.writer")
  end)

  it("is aborted by <close> on an error, and by the collector when forgotten", function()
    local ok, err = pcall(function()
      local w <close> = assert(fs.writer(dir .. "/a"))
      w:write("partial")
      assert.equal(1, #temps())
      error("boom", 0)
    end)
    assert.is_false(ok)
    assert.equal("boom", err)
    assert.same({}, fs.list(dir))
    do
      local w = assert(fs.writer(dir .. "/b"))
      w:write("forgotten")
    end
    collectgarbage()
    collectgarbage()
    assert.same({}, fs.list(dir))
  end)

  it("is left alone by <close> and the collector once committed", function()
    do
      local w <close> = assert(fs.writer(dir .. "/f"))
      assert(w:write("kept"):commit())
      assert.has_error(function() w:commit() end, "attempt to use a closed fs.writer")
      -- closing twice does nothing either
      getmetatable(w).__close(w)
    end
    collectgarbage()
    assert.equal("kept", h.read(dir .. "/f"))
    assert.same({ "f" }, fs.list(dir))
  end)

  it("exclusive refuses an existing file, and one made while it wrote", function()
    h.write(dir .. "/f", "theirs")
    local w, err, code = fs.writer(dir .. "/f", { exclusive = true })
    assert.is_nil(w)
    assert.equal(dir .. "/f: File exists", err)
    assert.equal(17, code)
    -- the racing case: the name is free at first and taken before the commit
    w = assert(fs.writer(dir .. "/g", { exclusive = true }))
    w:write("mine")
    h.write(dir .. "/g", "racer")
    local ok
    ok, err, code = w:commit()
    assert.is_nil(ok)
    assert.equal(dir .. "/g: File exists", err)
    assert.equal(17, code)
    assert.equal("racer", h.read(dir .. "/g"))
    assert.same({ "f", "g" }, fs.list(dir))
    -- the writer repeats its failure until aborted
    assert.same({ nil, dir .. "/g: File exists", 17 }, { w:commit() })
    assert.is_true(w:abort())
    -- with the name free, exclusive writes
    w = assert(fs.writer(dir .. "/h", { exclusive = true, mode = tonumber("600", 8) }))
    assert.is_true(w:write("new"):commit())
    assert.equal("new", h.read(dir .. "/h"))
    assert.equal("600", h.mode(dir .. "/h"))
  end)

  it("after a failed write repeats the first error and leaves nothing", function()
    -- a file size limit makes write(2) fail with EFBIG (SIGXFSZ ignored); root cannot escape it
    local out, rc = child("ulimit -f 64; trap '' XFSZ", string.format([[
local p = %q
local w = assert(fs.writer(p))
assert(w:write(string.rep("a", 1000)))          -- buffered: fine so far
local ok, err, code = w:write(string.rep("b", 100000))
print("write", ok, err, code)
print("again", w:write("c"))
print("commit", w:commit())
print("left", #fs.list(%q))
print("abort", w:abort())
-- many small writes fail when the buffer is flushed
w = assert(fs.writer(p))
local failed
for i = 1, 2000 do
  local r, e = w:write(string.rep("d", 100))
  if not r then failed = i .. " " .. e break end
end
print("small", failed)
print("commit2", w:commit())
w:abort()
print("exists", fs.exists(p), #fs.list(%q))]], dir .. "/f", dir, dir))
    assert.equal(0, rc, out)
    local p = dir .. "/f"
    assert.matches("write\tnil\t" .. p .. ": File too large\t27\n", out, 1, true)
    assert.matches("again\tnil\t" .. p .. ": File too large\t27\n", out, 1, true)
    assert.matches("commit\tnil\t" .. p .. ": File too large\t27\n", out, 1, true)
    assert.matches("left\t0\n", out, 1, true)
    assert.matches("abort\ttrue\n", out, 1, true)
    -- 64 KB of the limit fit in the first flush: the second one fails
    local i = tonumber(out:match("small\t(%d+) "))
    assert.is_true(i ~= nil and i > 655 and i <= 1311, out)
    assert.matches("small\t%d+ " .. p:gsub("%p", "%%%0") .. ": File too large\n", out)
    assert.matches("commit2\tnil\t" .. p .. ": File too large\t27\n", out, 1, true)
    assert.matches("exists\tfalse\t0\n", out, 1, true)
  end)

  it("names the path when its folder is missing or read-only", function()
    local w, err, code = fs.writer(dir .. "/no/such/f")
    assert.is_nil(w)
    assert.equal(dir .. "/no/such/f: No such file or directory", err)
    assert.equal(2, code)
    -- root writes into any folder through CAP_DAC_OVERRIDE: check without it when we are root.
    -- The capability goes, not the uid: another user could not reach the program and the tree
    -- when the clone sits under a 0700 folder (mktemp -d)
    local ro = dir .. "/ro"
    assert.is_true(fs.mkdir(ro, { mode = tonumber("555", 8) }))
    local pre = ""
    if h.run("id -u"):match("^0%s") then
      if h.run("command -v setpriv"):match("^%s*$") then pending("root, and no setpriv to drop it") return end
      pre = "setpriv --bounding-set=-dac_override,-dac_read_search \\"
    end
    local out = h.run(string.format("%s\nenv CERTBENCH_SRC=%s %s run - <<'LUA'\nprint(require('certbench.fs').writer(%q))\nLUA",
      pre, h.q(h.root), h.q(h.bin), ro .. "/f"))
    assert.equal("nil\t" .. ro .. "/f: Permission denied\t13\n", out)
    assert.same({}, fs.list(ro))
  end)

  it("keeps the old file intact when killed between write and rename", function()
    h.write(dir .. "/db", "OLD CONTENT\n")
    local out, rc = child("export CERTBENCH_FAULT=fs.write:before-rename", string.format([[
local w = assert(fs.writer(%q))
for i = 1, 1000 do w:write(string.rep("NEW", 100)) end
w:commit()
print("not reached")]], dir .. "/db"))
    assert.equal(137, rc, out) -- killed by SIGKILL
    assert.is_nil(out:find("not reached", 1, true))
    assert.equal("OLD CONTENT\n", h.read(dir .. "/db"))
  end)

  it("raises on arguments of the wrong type", function()
    assert.has_error(function() fs.writer() end)
    assert.has_error(function() fs.writer(dir .. "/f", { mode = "rw" }) end)
    local w = assert(fs.writer(dir .. "/f"))
    assert.has_error(function() w:write("ok", {}) end)
    assert.has_error(function() w.write(io.stdout, "x") end)
    -- a rejected call writes none of its arguments
    assert.is_true(w:commit())
    assert.equal("", h.read(dir .. "/f"))
  end)
end)

describe("certbench.fs.spool", function()
  it("keeps byte strings on disk and gives them back by slot, leaving no file behind", function()
    local dir = h.tmpdir()
    local s = fs.spool(dir)
    local bin = {}
    for i = 0, 255 do bin[#bin + 1] = string.char(i) end
    bin = table.concat(bin):rep(40)
    local slots = {}
    for i = 1, 200 do slots[i] = s:put(("entry %d "):format(i) .. bin:sub(1, i * 13)) end
    for i = 200, 1, -1 do
      assert.is_number(slots[i])
      assert.equal(("entry %d "):format(i) .. bin:sub(1, i * 13), s:read(slots[i]))
    end
    assert.equal("", s:read(s:put("")))
    assert.same({}, fs.list(dir))
    s:close()
  end)

  it("keeps the data in memory when the disk is full, and everything reads back", function()
    local dir = h.tmpdir()
    local mnt = dir .. "/mnt"
    fs.mkdir(mnt)
    local _, rc = h.run("mount -t tmpfs -o size=64k tmpfs " .. h.q(mnt))
    if rc ~= 0 then pending("mounting a tmpfs needs root") return end
    finally(function() h.run("umount " .. h.q(mnt)) end)
    local s = fs.spool(mnt)
    local slots, kept = {}, 0
    for i = 1, 40 do
      slots[i] = s:put(("%04d"):format(i) .. ("z"):rep(4000))
      if type(slots[i]) == "string" then kept = kept + 1 end
    end
    assert.is_true(kept > 0, "some data did not fit on the 64 KB file system")
    assert.is_true(kept < 40, "some did")
    for i = 40, 1, -1 do assert.equal(("%04d"):format(i) .. ("z"):rep(4000), s:read(slots[i])) end
    s:close()
  end)

  it("keeps data it cannot take as the slot itself", function()
    local s = fs.spool("/nonexistent/folder") -- falls back to tmpfile(3)
    local slot = s:put("x")
    assert.is_number(slot)
    assert.equal("x", s:read(slot))
    local big = ("y"):rep(16 << 20)
    local same = s:put(big)
    assert.is_string(same)
    assert.equal(big, s:read(same))
    s:close()
  end)
end)
