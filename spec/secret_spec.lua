local secret = require "certbench.secret"
local h = require "support.helper"

describe("certbench.secret", function()
  it("pass: gives the text", function()
    local s = assert(secret.get("pass:hunter2"))
    assert.is_true(secret.is_secret(s))
    assert.equal("hunter2", s:reveal())
    assert.equal(7, #s)
    assert.equal("certbench.secret (hidden)", tostring(s))
  end)

  it("pass: allows an empty password and colons", function()
    assert.equal("", secret.get("pass:"):reveal())
    assert.equal("a:b", secret.get("pass:a:b"):reveal())
  end)

  it("env: reads a variable and says when it is missing", function()
    local out = h.run(string.format([[CB_TEST_PW='from env' %s run - <<'LUA'
local secret = require "certbench.secret"
print(secret.get("env:CB_TEST_PW"):reveal())
print(select(2, secret.get("env:CB_TEST_NOT_SET")))
print(select(2, secret.get("env:")))
LUA]], h.q(h.bin)))
    assert.matches("from env\n", out, 1, true)
    assert.matches("env:CB_TEST_NOT_SET: the environment variable is not set", out, 1, true)
    assert.matches("env: needs a variable name", out, 1, true)
  end)

  it("file: reads the first line, without its line end", function()
    local dir = h.tmpdir()
    h.write(dir .. "/pw", "first line\r\nsecond\n")
    assert.equal("first line", secret.get("file:" .. dir .. "/pw"):reveal())
    h.write(dir .. "/empty", "")
    assert.equal("", secret.get("file:" .. dir .. "/empty"):reveal())
    local s, err = secret.get("file:" .. dir .. "/missing")
    assert.is_nil(s)
    assert.equal(dir .. "/missing: No such file or directory", err)
  end)

  it("fd: reads from a descriptor, and a wrong one is a clear error", function()
    local out = h.run(string.format([[%s run - 3<<'PW' <<'LUA'
from fd three
PW
local secret = require "certbench.secret"
print(secret.get("fd:3"):reveal())
print(select(2, secret.get("fd:250")))
print(select(2, secret.get("fd:x")))
LUA]], h.q(h.bin)))
    assert.matches("from fd three\n", out, 1, true)
    assert.matches("fd:250: not an open file descriptor", out, 1, true)
    assert.matches("fd:x: not a file descriptor number", out, 1, true)
  end)

  it("stdin reads one line and leaves the rest", function()
    local dir = h.tmpdir()
    h.write(dir .. "/s.lua", [[
local secret = require "certbench.secret"
print("[" .. secret.get("stdin"):reveal() .. "]")
print("rest:" .. io.read("a"))
]])
    local out = h.run(string.format("printf 'pw1\\nmore' | %s run %s", h.q(h.bin), h.q(dir .. "/s.lua")))
    assert.matches("[pw1]", out, 1, true)
    assert.matches("rest:more", out, 1, true)
  end)

  it("without a source and without a terminal, says how to give one", function()
    local out = h.run(string.format([[setsid %s run - </dev/null <<'LUA'
local secret = require "certbench.secret"
print(select(2, secret.get(nil)))
LUA]], h.q(h.bin)))
    assert.matches("no terminal to ask for a password", out, 1, true)
  end)

  it("prompts on a terminal with echo off, and confirms new passwords", function()
    if os.execute("command -v script >/dev/null") ~= true then
      pending("script(1) not available")
      return
    end
    local dir = h.tmpdir()
    h.write(dir .. "/p.lua", [[
local secret = require "certbench.secret"
local s, err = secret.get(nil, { confirm = true, what = "new password" })
print(s and ("GOT[" .. s:reveal() .. "]") or ("ERR[" .. err .. "]"))
]])
    -- script gives the program a pseudo-terminal; the typed password must not be echoed
    local out = h.run(string.format(
      "(sleep 0.5; printf 'abc\\n'; sleep 0.3; printf 'abc\\n') | script -qfec %s /dev/null",
      h.q(h.bin .. " run " .. dir .. "/p.lua")))
    assert.matches("GOT[abc]", out, 1, true)
    assert.matches("Enter new password:", out, 1, true)
    assert.matches("Verifying", out, 1, true)
    local _, n = out:gsub("abc", "")
    assert.equal(1, n, "the password was echoed: " .. out)
    out = h.run(string.format(
      "(sleep 0.5; printf 'abc\\n'; sleep 0.3; printf 'xyz\\n') | script -qfec %s /dev/null",
      h.q(h.bin .. " run " .. dir .. "/p.lua")))
    assert.matches("ERR[the passwords do not match]", out, 1, true)
  end)

  it("rejects an unknown source naming the accepted ones", function()
    local s, err = secret.get("password123")
    assert.is_nil(s)
    assert.equal("unknown password source 'password123' (use pass:TEXT, env:VAR, file:PATH, fd:N or stdin)", err)
    assert.has_error(function() secret.get(42) end)
  end)

  it("compares and wipes", function()
    local a, b = secret.new("x"), secret.new("x")
    assert.is_true(a:equals(b))
    assert.is_false(a:equals(secret.new("y")))
    assert.is_false(a:equals("xx"))
    a:close()
    assert.equal("certbench.secret (closed)", tostring(a))
    assert.has_error(function() a:reveal() end, "attempt to use a closed secret")
    a:close() -- idempotent
    do local c <close> = secret.new("z") end
  end)

  it("refuses passwords over 4 KiB from a file", function()
    local dir = h.tmpdir()
    h.write(dir .. "/long", string.rep("a", 5000))
    local s, err = secret.read_file(dir .. "/long")
    assert.is_nil(s)
    assert.matches("password longer than 4095 bytes", err, 1, true)
  end)

  -- a line with no end (/dev/zero) was read for ever, byte by byte; a FIFO nobody writes
  -- blocked open(2) for ever: both stop, naming the source (issue: attacker)
  it("stops at 4 KiB of a line with no end: file:/dev/zero, stdin and fd: from /dev/zero", function()
    local s, err = secret.get("file:/dev/zero")
    assert.is_nil(s)
    assert.equal("/dev/zero: password longer than 4095 bytes", err)
    local out, rc = h.run(string.format([[timeout 20 %s run - 3</dev/zero <<'LUA'
local secret = require "certbench.secret"
print(select(2, secret.get("fd:3")))
LUA]], h.q(h.bin)))
    assert.equal(0, rc, out)
    assert.matches("fd:3: password longer than 4095 bytes", out, 1, true)
    local dir = h.tmpdir()
    h.write(dir .. "/s.lua", 'print(select(2, require("certbench.secret").get("stdin")))')
    out, rc = h.run(("timeout 20 %s run %s </dev/zero"):format(h.q(h.bin), h.q(dir .. "/s.lua")))
    assert.equal(0, rc, out)
    assert.matches("stdin: password longer than 4095 bytes", out, 1, true)
  end)

  it("file: of a FIFO waits for its writer, boundedly", function()
    local dir = h.tmpdir()
    h.sh("mkfifo " .. h.q(dir .. "/pw.fifo"))
    local out, rc = h.run(string.format([[CERTBENCH_FIFO_WAIT=1 timeout 20 %s run - <<'LUA'
local secret = require "certbench.secret"
print(select(2, secret.get("file:%s")))
LUA]], h.q(h.bin), dir .. "/pw.fifo"))
    assert.equal(0, rc, out)
    assert.matches("pw.fifo: a FIFO that no process opened for writing (waited 1 s)", out, 1, true)
    out = h.run(string.format([[(sleep 1; printf 'late pw\nrest' > %s) & timeout 20 %s run - <<'LUA'
local secret = require "certbench.secret"
print("[" .. secret.get("file:%s"):reveal() .. "]")
LUA
wait]], h.q(dir .. "/pw.fifo"), h.q(h.bin), dir .. "/pw.fifo"))
    assert.matches("[late pw]", out, 1, true)
  end)
end)
