-- spec/outputs_spec.lua: certbench.outputs, several files written as one step; in-place targets
-- first; standard output as a target moves the report to stderr.
local h = require "support.helper"
local fs = require "certbench.fs"
local outputs = require "certbench.outputs"

local function list(d)
  local t = fs.list(d) or {}
  table.sort(t)
  return t
end

describe("outputs", function()
  it("writes every file with its mode and reports them", function()
    local d = h.tmpdir()
    local o = outputs.new()
    o:add(d .. "/k.pem", "KEY", { key = true, what = "key" })
    o:add(d .. "/c.pem", "CERT")
    assert.same({ d .. "/k.pem", d .. "/c.pem" }, o:paths())
    local w = assert(o:commit())
    assert.same({ path = d .. "/k.pem", size = 3, mode = "0600", what = "key", replaced = false }, w[1])
    assert.equal("0644", w[2].mode)
    assert.equal("600", h.mode(d .. "/k.pem"))
    assert.equal("CERT", h.read(d .. "/c.pem"))
    assert.same({ "c.pem", "k.pem" }, list(d))
  end)

  it("touches nothing when one target exists, unless force", function()
    local d = h.tmpdir()
    h.write(d .. "/b", "old")
    local o = outputs.new():add(d .. "/a", "A"):add(d .. "/b", "B")
    local ok, err = o:commit()
    assert.is_nil(ok)
    assert.equal(d .. "/b: exists: nothing written (--force replaces it)", err)
    assert.same({ "b" }, list(d))
    h.write(d .. "/a", "old")
    ok, err = outputs.new():add(d .. "/a", "A"):add(d .. "/b", "B"):commit()
    assert.equal(d .. "/a, " .. d .. "/b: exist: nothing written (--force replaces them)", err)
    local w = assert(outputs.new { force = true }:add(d .. "/a", "A"):add(d .. "/b", "B"):commit())
    assert.is_true(w[1].replaced)
    assert.equal("B", h.read(d .. "/b"))
  end)

  it("replaces a symbolic link itself, one whose target is missing too (with force), its target left alone", function()
    local d = h.tmpdir()
    h.write(d .. "/target", "precious\n")
    h.sh("ln -s target " .. h.q(d .. "/link") .. " && ln -s nowhere/x " .. h.q(d .. "/dangling"))
    local ok, err = outputs.new():add(d .. "/dangling", "D"):commit()
    assert.is_nil(ok)
    assert.equal(d .. "/dangling: exists: nothing written (--force replaces it)", err)
    local w = assert(outputs.new { force = true }:add(d .. "/link", "L"):add(d .. "/dangling", "D"):commit())
    assert.is_true(w[1].replaced and w[2].replaced)
    assert.equal("precious\n", h.read(d .. "/target"))
    assert.equal("file", fs.stat(d .. "/link", { follow = false }).type)
    assert.equal("file", fs.stat(d .. "/dangling", { follow = false }).type)
    assert.equal("D", h.read(d .. "/dangling"))
    assert.same({ "dangling", "link", "target" }, list(d))
  end)

  it("refuses a folder in the way and a missing folder", function()
    local d = h.tmpdir()
    assert(fs.mkdir(d .. "/x"))
    local ok, err = outputs.new { force = true }:add(d .. "/x", "X"):commit()
    assert.is_nil(ok)
    assert.equal(d .. "/x: exists and is a directory, not a file: nothing written", err)
    ok, err = outputs.new():add(d .. "/nope/y", "Y"):commit()
    assert.equal(d .. "/nope: no such folder: nothing written", err)
  end)

  it("removes its temporary files when a write fails", function()
    local d = h.tmpdir()
    local out, rc = h.run("CERTBENCH_FAULT=outputs:write-2 " .. h.q(h.bin) .. " run - <<'LUA'\n"
      .. "local o = require('certbench.outputs').new()\n"
      .. ("o:add(%q, 'A'); o:add(%q, 'B'); o:add(%q, 'C')\n"):format(d .. "/a", d .. "/b", d .. "/c")
      .. "print(o:commit())\nLUA")
    assert.equal(0, rc, out)
    assert.matches("nil\twriting " .. d .. "/b failed (" .. d .. "/b: injected failure", out, 1, true)
    assert.same({}, list(d))
  end)

  it("writes the targets in place first: /dev/full fails before any regular file is published", function()
    local d = h.tmpdir()
    h.write(d .. "/b", "old b\n")
    local ok, err = outputs.new { force = true }:add(d .. "/a", "A"):add(d .. "/b", "B"):add("/dev/full", "X"):commit()
    assert.is_nil(ok)
    assert.equal("writing /dev/full failed (/dev/full: No space left on device)", err)
    assert.same({ "b" }, list(d))
    assert.equal("old b\n", h.read(d .. "/b"))
  end)

  it("a full disk: every file is written out before any is published, so none is (pfx split's key, cert, chain)", function()
    local mnt = h.tmpdir() .. "/mnt"
    fs.mkdir(mnt)
    local _, rc = h.run("mount -t tmpfs -o size=64k tmpfs " .. h.q(mnt))
    if rc ~= 0 then pending("mounting a tmpfs needs root") return end
    finally(function() h.run("umount " .. h.q(mnt)) end)
    h.write(mnt .. "/key.pem", "old key\n")
    -- small ones first: with each file published as it was written, key.pem and cert.pem were
    -- new and chain.pem's failure came after them ("written already: ...")
    local ok, err = outputs.new { force = true }
      :add(mnt .. "/key.pem", ("K"):rep(100), { key = true })
      :add(mnt .. "/cert.pem", ("C"):rep(30 * 1024))
      :add(mnt .. "/chain.pem", ("X"):rep(40 * 1024)) -- each fits the writer's buffer, not both the disk
      :commit()
    assert.is_nil(ok)
    assert.matches("^writing " .. mnt:gsub("%p", "%%%0") .. "/chain.pem failed %(.*No space left on device%): nothing written$", err)
    assert.same({ "key.pem" }, list(mnt))
    assert.equal("old key\n", h.read(mnt .. "/key.pem"))
    -- and with room, the same three files appear
    assert(outputs.new { force = true }:add(mnt .. "/key.pem", "K", { key = true }):add(mnt .. "/cert.pem", "C")
      :add(mnt .. "/chain.pem", ("X"):rep(1024)):commit())
    assert.same({ "cert.pem", "chain.pem", "key.pem" }, list(mnt))
  end)

  it("standard output as a target sends the report to stderr (fs.stdout_taken, ui.report)", function()
    local d = h.tmpdir()
    local script = "local fs, ui = require 'certbench.fs', require 'certbench.ui'\n"
      .. "ui.say('before %s', tostring(fs.stdout_taken()))\n"
      .. "assert(fs.write('/dev/null', 'x'))\nui.say('null %s', tostring(fs.stdout_taken()))\n"
      .. "assert(require('certbench.outputs').new():add('-', 'DATA\\n'):commit())\n"
      .. "ui.say('after %s', tostring(fs.stdout_taken()))\n"
    local out, rc = h.run(h.q(h.bin) .. " run - 2>" .. h.q(d .. "/err") .. " <<'LUA'\n" .. script .. "LUA")
    assert.equal(0, rc, out)
    assert.equal("before false\nnull false\nDATA\n", out)
    assert.equal("after true\n", h.read(d .. "/err"))
    -- /dev/stdout is the same pipe: taken too
    out, rc = h.run(h.q(h.bin) .. " run - 2>/dev/null <<'LUA'\nlocal fs = require 'certbench.fs'\n"
      .. "assert(fs.write('/dev/stdout', 'D'))\nio.write(tostring(fs.stdout_taken()))\nLUA")
    assert.equal(0, rc, out)
    assert.equal("Dtrue", out)
  end)

  it("raises on programming errors", function()
    assert.has_error(function() outputs.new():add("", "x") end, "outputs:add: path must be a non-empty string")
    assert.has_error(function() outputs.new():add("/tmp/x", 5) end, "outputs:add: data must be a string")
    assert.has_error(function() outputs.new():add("/tmp/x", "a"):add("/tmp/x", "b") end, "outputs:add: /tmp/x added twice")
    assert.has_error(function() outputs.new(5) end, "outputs.new: options must be a table")
  end)
end)
