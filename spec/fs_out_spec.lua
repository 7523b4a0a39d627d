-- spec/fs_out_spec.lua: the one way out (core/fs.c fs.write / fs.writer / outputs): what a path
-- names decides how it is written. Real targets: /dev/null, FIFOs with a reader, a Unix socket
-- with a listener, a block device node, symbolic links; keys through O_TMPFILE + linkat and the
-- named fallback, killed at each fault point; files inside a CA folder never written through a
-- planted symbolic link.
local h = require "support.helper"
local fs = require "certbench.fs"
local outputs = require "certbench.outputs"

local function lua(script, env)
  return h.run((env or "") .. " " .. h.q(h.bin) .. " run - <<'LUA'\n" .. script .. "\nLUA")
end

-- every name in dir, hidden ones too
local function names(dir) return fs.list(dir) end

-- a FIFO's reader in the background: its copy is named got when the FIFO's writer has closed it
-- (a copy read while it grew could be partial), and waited for with exists(got)
local function reader(fifo, got)
  -- all of its output elsewhere: h.sh reads its own until no process holds the pipe
  h.sh(("(cat %s > %s.part && mv %s.part %s) >/dev/null 2>&1 </dev/null &"):format(h.q(fifo), h.q(got), h.q(got), h.q(got)))
end
local function exists(path) return function() return h.size(path) ~= nil end end

describe("the one way out", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  it("writes /dev/null in place: it stays a character device (we run as root)", function()
    local before = fs.stat("/dev/null")
    assert.equal("device", before.type)
    assert.is_true(fs.write("/dev/null", "discarded"))
    local w = assert(fs.writer("/dev/null"))
    assert(w:write("x"))
    assert.is_true(w:commit())
    local after = fs.stat("/dev/null")
    assert.equal("device", after.type)
    assert.equal(before.ino, after.ino)
    assert.equal("inplace", fs.target("/dev/null"))
  end)

  it("writes into a FIFO a reader waits on, and the FIFO stays a FIFO", function()
    local fifo, got = dir .. "/fifo", dir .. "/got"
    h.sh("mkfifo " .. h.q(fifo))
    reader(fifo, got)
    assert.is_true(fs.write(fifo, "through the fifo\n"))
    h.wait_until(exists(got), "the reader's copy " .. got)
    assert.equal("through the fifo\n", h.read(got))
    assert.equal("fifo", fs.stat(fifo).type)
    assert.same({ "fifo", "got" }, names(dir))
  end)

  it("connects to a Unix socket and writes to its listener", function()
    local sock, got = dir .. "/sock", dir .. "/got"
    h.sh("python3 -c " .. h.q([[
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
if os.fork(): os._exit(0)
c, _ = s.accept(); data = b""
while True:
    b = c.recv(65536)
    if not b: break
    data += b
open(sys.argv[2] + ".tmp", "wb").write(data); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
]]) .. " " .. h.q(sock) .. " " .. h.q(got) .. " >/dev/null 2>&1 </dev/null")
    assert.is_true(fs.write(sock, "over the socket\n"))
    h.wait_until(exists(got), "the listener's copy " .. got)
    assert.equal("over the socket\n", h.read(got))
    assert.equal("socket", fs.stat(sock).type)
  end)

  it("writes - to standard output, after what was printed before", function()
    local out, rc = lua("io.write('first ')\nlocal fs = require 'certbench.fs'\n"
      .. "assert(fs.write('-', 'second '))\nlocal w = assert(fs.writer('-'))\nw:write('third')\nassert(w:commit())\nio.write(' fourth')")
    assert.equal(0, rc, out)
    assert.equal("first second third fourth", out)
    assert.equal("stdout", fs.target("-"))
  end)

  it("takes sync = true, false or \"atomic\" (the file synced, not its folder: ca_sync_spec counts it), and raises on another", function()
    for _, v in ipairs({ true, false, "atomic" }) do
      assert.is_true(fs.write(dir .. "/s", tostring(v), { sync = v }))
      assert.equal(tostring(v), h.read(dir .. "/s"))
      local w = assert(fs.writer(dir .. "/w", { sync = v }))
      assert(w:write(tostring(v)))
      assert.is_true(w:commit())
    end
    assert.has_error(function() fs.write(dir .. "/s", "x", { sync = "maybe" }) end, 'fs.write: sync must be true, false or "atomic"')
    assert.has_error(function() fs.writer(dir .. "/s", { sync = 1 }) end, 'fs.writer: sync must be true, false or "atomic"')
    assert.same({ "s", "w" }, names(dir))
  end)

  it("refuses a block device and a folder, naming them", function()
    local blk = dir .. "/blk"
    h.sh("mknod " .. h.q(blk) .. " b 7 250")
    local ok, err = fs.write(blk, "x")
    assert.is_nil(ok)
    assert.equal(blk .. ": is a block device: not written", err)
    ok, err = fs.write(dir, "x")
    assert.is_nil(ok)
    assert.matches("^" .. dir:gsub("%p", "%%%0") .. ": Is a directory", err)
    assert.equal("device", fs.stat(blk).type)
  end)

  it("replaces a symbolic link to a file itself and leaves its target alone (as before)", function()
    local target, link = dir .. "/target", dir .. "/link"
    h.write(target, "the target\n")
    h.sh("ln -s target " .. h.q(link))
    assert.is_true(fs.write(link, "new\n"))
    assert.equal("the target\n", h.read(target))
    assert.equal("file", fs.stat(link, { follow = false }).type)
    assert.equal("new\n", h.read(link))
  end)

  it("writes through a symbolic link to a FIFO (/dev/stdout is one) in place", function()
    local fifo, link, got = dir .. "/fifo", dir .. "/link", dir .. "/got"
    h.sh("mkfifo " .. h.q(fifo) .. " && ln -s fifo " .. h.q(link))
    reader(fifo, got)
    assert.is_true(fs.write(link, "via link\n"))
    h.wait_until(exists(got), "the reader's copy " .. got)
    assert.equal("via link\n", h.read(got))
    assert.equal("link", fs.stat(link, { follow = false }).type)
    local out, rc = lua("local fs = require 'certbench.fs'\nassert(fs.write('/dev/stdout', 'to the pipe'))")
    assert.equal(0, rc, out)
    assert.equal("to the pipe", out)
  end)

  it("outputs writes a FIFO in place among regular files, without --force", function()
    local fifo, got = dir .. "/fifo", dir .. "/got"
    h.sh("mkfifo " .. h.q(fifo))
    reader(fifo, got)
    local res = assert(outputs.new():add(dir .. "/key.pem", "KEY", { key = true }):add(fifo, "CERT"):commit())
    assert.equal(2, #res)
    h.wait_until(exists(got), "the reader's copy " .. got)
    assert.equal("CERT", h.read(got))
    assert.equal("fifo", fs.stat(fifo).type)
    assert.equal(384, fs.stat(dir .. "/key.pem").mode)
  end)
end)

describe("a key file", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  local function write_key(path, env, force)
    return lua(("local fs = require 'certbench.fs'\nassert(fs.write_key(%q, 'SECRET KEY\\n', { force = %s }))\nprint('done')")
      :format(path, tostring(force or false)), env)
  end

  it("is written to an unnamed file: killed before it is published, nothing named is left", function()
    local out, rc = write_key(dir .. "/key.pem", "CERTBENCH_FAULT=fs.key:written")
    assert.equal(137, rc, out)
    assert.same({}, names(dir))
  end)

  it("replacing one with force: killed at each point, the old key or the new, and the next key written removes a leftover", function()
    h.write(dir .. "/key.pem", "OLD KEY\n")
    local out, rc = write_key(dir .. "/key.pem", "CERTBENCH_FAULT=fs.key:written", true)
    assert.equal(137, rc, out)
    assert.same({ "key.pem" }, names(dir))
    assert.equal("OLD KEY\n", h.read(dir .. "/key.pem"))
    -- between linkat to the temporary name and the rename: the one window with a name
    out, rc = write_key(dir .. "/key.pem", "CERTBENCH_FAULT=fs.key:linked", true)
    assert.equal(137, rc, out)
    local left = names(dir)
    assert.equal(2, #left)
    assert.matches("^%.key%.pem%.certbench%-key%.%x+%.tmp$", left[1])
    assert.equal(384, fs.stat(dir .. "/" .. left[1]).mode)
    -- the next key written in the folder (another name) removes it
    out, rc = write_key(dir .. "/other.pem")
    assert.equal(0, rc, out)
    assert.same({ "key.pem", "other.pem" }, names(dir))
    assert.equal("OLD KEY\n", h.read(dir .. "/key.pem"))
  end)

  it("falls back to a locked named file without O_TMPFILE; a leftover goes on the next run, a live one stays", function()
    local out, rc = write_key(dir .. "/key.pem", "CERTBENCH_FAULT=fs.key:no-tmpfile,fs.key:written")
    assert.equal(137, rc, out)
    local left = names(dir)
    assert.equal(1, #left)
    assert.matches("^%.key%.pem%.certbench%-key%.%x+%.tmp$", left[1])
    assert.equal(384, fs.stat(dir .. "/" .. left[1]).mode)
    -- a writer of another process that is alive holds its file: not removed. It commits when
    -- told to (the file go), after the second run, not after a sleep a loaded machine outlasts;
    -- the signal files are in a folder of their own, outside the one listed
    local sig = h.tmpdir()
    local ready, go = sig .. "/ready", sig .. "/go"
    finally(function() h.write(go, "") end) -- a failed test leaves no writer waiting (60 s at most)
    h.sh("(CERTBENCH_FAULT=fs.key:no-tmpfile " .. h.q(h.bin) .. " run - >/dev/null 2>&1 <<'LUA' &\nlocal fs = require 'certbench.fs'\n"
      .. ("local w = assert(fs.writer(%q, { key = true, mode = 384 }))\nw:write('LIVE')\n"):format(dir .. "/live.pem")
      .. ("io.open(%q, 'w'):close()\nlocal t = os.time() + 60\nwhile not io.open(%q) and os.time() < t do os.execute('sleep 0.05') end\nw:commit()\nLUA\n)"):format(ready, go))
    h.wait_until(exists(ready), "the live writer")
    out, rc = write_key(dir .. "/key.pem", "CERTBENCH_FAULT=fs.key:no-tmpfile")
    assert.equal(0, rc, out)
    local now = names(dir)
    assert.equal(2, #now, table.concat(now, " "))
    assert.equal("key.pem", now[2])
    assert.matches("^%.live%.pem%.certbench%-key%.%x+%.tmp$", now[1])
    h.write(go, "")
    h.wait_until(exists(dir .. "/live.pem"), "the live writer's commit")
    assert.same({ "key.pem", "live.pem" }, names(dir))
  end)

  it("with O_TMPFILE, a second process writing keys into the folder never sees a name before publication", function()
    -- strace would show it too; here: while one writer holds an open key writer, the folder is empty
    -- the signal files in a folder of their own: names made of the time were shared by two runs
    -- of this spec in the same second (one's go would release the other's writer)
    local sig = h.tmpdir()
    local ready, go = sig .. "/ready", sig .. "/go"
    finally(function() h.write(go, "") end) -- a failed test leaves no writer waiting (60 s at most)
    h.sh("(" .. h.q(h.bin) .. " run - >/dev/null 2>&1 <<'LUA' &\nlocal fs = require 'certbench.fs'\n"
      .. ("local w = assert(fs.writer(%q, { key = true, mode = 384, exclusive = true }))\nw:write('K')\n"):format(dir .. "/k.pem")
      .. ("io.open(%q, 'w'):close()\nlocal t = os.time() + 60\nwhile not io.open(%q) and os.time() < t do os.execute('sleep 0.05') end\nw:commit()\nLUA\n)"):format(ready, go))
    h.wait_until(exists(ready), "the writer")
    assert.same({}, names(dir))
    h.write(go, "")
    h.wait_until(exists(dir .. "/k.pem"), "the writer's commit")
    assert.same({ "k.pem" }, names(dir))
    assert.equal("K", h.read(dir .. "/k.pem"))
  end)
end)

describe("files inside a folder certbench owns", function()
  it("append, pwrite, create and lock files refuse a planted symbolic link (its target is not written)", function()
    local dir = h.tmpdir()
    local victim = dir .. "/victim"
    h.write(victim, "precious\n")
    for _, name in ipairs({ "j", "a", "c", "l" }) do h.sh("ln -s victim " .. h.q(dir .. "/" .. name)) end
    local ok, err = fs.pwrite(dir .. "/j", 0, "journal")
    assert.is_nil(ok)
    assert.matches("/j: Too many levels of symbolic links", err)
    ok, err = fs.append(dir .. "/a", "line\n")
    assert.is_nil(ok)
    assert.matches("/a: Too many levels of symbolic links", err)
    ok, err = fs.create(dir .. "/c", "x")
    assert.is_nil(ok)
    ok, err = fs.lock(dir .. "/l")
    assert.is_nil(ok)
    assert.matches("/l: Too many levels of symbolic links", err)
    assert.equal("precious\n", h.read(victim))
  end)
end)
