-- The program's command line: dispatch, plugins, errors and exit codes.
local h = require "support.helper"

local site = h.root .. "/tests/site-plugins"
local broken = h.root .. "/tests/site-plugins-broken"

local function cb(args, env)
  return h.run3((env or "") .. " " .. h.q(h.bin) .. " " .. args)
end

describe("certbench (the program)", function()
  it("without arguments prints the overview and exits 2", function()
    local out, err, rc = cb("")
    assert.equal(2, rc)
    assert.matches("usage: certbench", err, 1, true)
    assert.equal("", out)
  end)

  it("prints the versions of every library", function()
    local out, _, rc = cb("version")
    assert.equal(0, rc)
    for _, lib in ipairs { "certbench", "Lua 5.4", "BoringSSL", "libuv", "libcurl", "GnuTLS", "libzip" } do
      assert.matches(lib, out, 1, true)
    end
    local json, _, rc2 = cb("--json version")
    assert.equal(0, rc2)
    local v = require("cjson").decode(json)
    assert.equal(require("certbench").version, v.certbench)
    assert.matches("^BoringSSL", v.boringssl)
  end)

  it("suggests close matches for an unknown plugin and exits 2", function()
    local _, err, rc = cb("plugin", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(2, rc)
    assert.matches("unknown plugin or command 'plugin'; did you mean: plugins", err, 1, true)
    _, err, rc = cb("helo greet x", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(2, rc)
    assert.matches("did you mean: hello", err, 1, true)
  end)

  it("suggests close matches for an unknown command and exits 2", function()
    local _, err, rc = cb("hello gret world", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(2, rc)
    assert.matches("unknown command 'hello gret'; did you mean: hello greet", err, 1, true)
  end)

  it("reports a bad option in one line, with exit 2 and no traceback", function()
    local _, err, rc = cb("hello greet world --nope", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(2, rc)
    assert.matches("unknown option '--nope'", err, 1, true)
    assert.is_nil(err:find("traceback", 1, true))
    assert.equal(1, select(2, err:gsub("\n", "")))
    _, err, rc = cb("hello greet", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(2, rc)
    assert.matches("missing argument 'who'", err, 1, true)
    _, err, rc = cb("--bogus version")
    assert.equal(2, rc)
    assert.matches("unknown option '--bogus'", err, 1, true)
  end)

  it("runs a site plugin's command from CERTBENCH_PLUGINS", function()
    local out, err, rc = cb("hello greet world --shout", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(0, rc, err)
    assert.equal("HELLO, WORLD\n", out)
  end)

  it("prints the result as JSON with --json, before or after the command", function()
    local cjson = require "cjson"
    local dir = h.tmpdir()
    h.write(dir .. "/f", "12345")
    for _, args in ipairs { "--json hello greet you --file " .. dir .. "/f",
                            "hello greet you --file " .. dir .. "/f --json" } do
      local out, err, rc = cb(args, "CERTBENCH_PLUGINS=" .. site)
      assert.equal(0, rc, err)
      local doc = cjson.decode(out)
      assert.equal("hello, you", doc.greeting)
      assert.equal(5, doc.size)
    end
  end)

  it("turns a command's nil, err into one line on stderr and its exit code", function()
    local out, err, rc = cb("hello greet you --file /nonexistent/f", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(1, rc)
    assert.equal("", out)
    assert.equal("certbench: /nonexistent/f: No such file or directory\n", err)
    _, err, rc = cb("hello fail", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(3, rc)
    assert.equal("certbench: hello: it failed on purpose\n", err)
    local out2 = cb("--json hello fail", "CERTBENCH_PLUGINS=" .. site)
    local doc = require("cjson").decode(out2)
    assert.is_false(doc.ok)
    assert.equal(3, doc.exit_code)
  end)

  it("shows help for a plugin and a command, from the same definitions", function()
    local out, _, rc = cb("help hello", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(0, rc)
    assert.matches("greet", out, 1, true)
    assert.matches("say hello, optionally about a file", out, 1, true)
    out, _, rc = cb("help hello greet", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(0, rc)
    assert.matches("Usage: certbench hello greet", out, 1, true)
    assert.matches("--shout", out, 1, true)
    local out2 = cb("hello greet --help", "CERTBENCH_PLUGINS=" .. site)
    assert.equal(out, out2)
    local _, err3, rc3 = cb("help nosuch")
    assert.equal(2, rc3)
    assert.matches("unknown plugin 'nosuch'", err3, 1, true)
  end)

  it("lists plugins with version, summary and folder; a broken one by name", function()
    local out, _, rc = cb("plugins", "CERTBENCH_PLUGINS=" .. site .. ":" .. broken)
    assert.equal(0, rc)
    assert.matches("hello%s+1.0%s+example site plugin", out)
    assert.matches(site .. "/hello", out, 1, true)
    assert.matches("broken%s+BROKEN%s+plugin 'broken' %(" .. broken:gsub("%p", "%%%0") .. "/broken/init.lua%) is broken", out)
    assert.matches("fine", out, 1, true)
  end)

  it("a broken plugin does not break the others", function()
    local out, err, rc = cb("fine ping", "CERTBENCH_PLUGINS=" .. broken)
    assert.equal(0, rc, err)
    assert.equal("pong\n", out)
    local _, err2, rc2 = cb("broken x", "CERTBENCH_PLUGINS=" .. broken)
    assert.equal(1, rc2)
    assert.matches("plugin 'broken' .* is broken", err2)
    assert.equal(1, select(2, err2:gsub("\n", "")))
  end)

  it("loads only the plugin a command needs", function()
    -- the broken plugin is on the path, but running another one never loads it
    local _, err = cb("fine ping --verbose", "CERTBENCH_PLUGINS=" .. broken)
    assert.is_nil(err:find("broken", 1, true))
  end)

  it("a site plugin earlier on the path overrides a later one of the same name", function()
    local dir = h.tmpdir()
    os.execute("mkdir -p " .. h.q(dir .. "/hello"))
    h.write(dir .. "/hello/init.lua", [[return { summary = "override", commands = {
      greet = { run = function() return { x = 1 } end, text = function(r, c) c.ui.say("override") end } } }]])
    local out = cb("hello greet", "CERTBENCH_PLUGINS=" .. dir .. ":" .. site)
    assert.equal("override\n", out)
  end)

  it("finds plugins in ~/.local/share/certbench/plugins", function()
    local home = h.tmpdir()
    os.execute("mkdir -p " .. h.q(home .. "/.local/share/certbench/plugins") .. " && cp -r " ..
      h.q(site .. "/hello") .. " " .. h.q(home .. "/.local/share/certbench/plugins/"))
    local out, err, rc = cb("hello greet home", "HOME=" .. home)
    assert.equal(0, rc, err)
    assert.equal("hello, home\n", out)
  end)

  it("never searches the current folder", function()
    local dir = h.tmpdir()
    os.execute("mkdir -p " .. h.q(dir .. "/plugins/evil"))
    h.write(dir .. "/plugins/evil/init.lua", "return { commands = { x = { run = function() print('EVIL') end } } }")
    h.write(dir .. "/evil.lua", "print('EVIL')")
    local out, err, rc = h.run3("cd " .. h.q(dir) .. " && " .. h.q(h.bin) .. " evil x")
    assert.equal(2, rc)
    assert.is_nil(out:find("EVIL", 1, true))
  end)

  describe("run", function()
    it("runs a script with arg set as lua5.4 does", function()
      local dir = h.tmpdir()
      h.write(dir .. "/s.lua", [[
local a, b = ...
print(arg[0], arg[1], arg[2], #arg, a, b)
print(require("certbench").version)
]])
      local out, err, rc = cb("run " .. h.q(dir .. "/s.lua") .. " one two")
      assert.equal(0, rc, err)
      assert.matches(dir .. "/s.lua\tone\ttwo\t2\tone\ttwo\n", out, 1, true)
      assert.matches(require("certbench").version, out, 1, true)
    end)

    it("reports a missing script and a syntax error in one line, exit 1 as lua5.4; no script is usage (2)", function()
      local _, err, rc = cb("run /nonexistent.lua")
      assert.equal(1, rc)
      assert.equal("certbench: run: /nonexistent.lua: No such file or directory\n", err)
      local _, lrc = h.run("lua5.4 /nonexistent.lua")
      assert.equal(lrc, rc)
      local dir = h.tmpdir()
      h.write(dir .. "/bad.lua", "local x = = 1")
      _, err, rc = cb("run " .. h.q(dir .. "/bad.lua"))
      assert.equal(1, rc)
      assert.matches("bad.lua:1:", err, 1, true)
      _, lrc = h.run("lua5.4 " .. h.q(dir .. "/bad.lua"))
      assert.equal(lrc, rc)
      _, err, rc = cb("run")
      assert.equal(2, rc)
      assert.matches("which script", err, 1, true)
    end)

    it("a table raised by a script says what it holds, not its address", function()
      local dir = h.tmpdir()
      local cases = {
        { "error(setmetatable({}, { __tostring = function() return 'quota exceeded' end }))", "quota exceeded" },
        { "error({ message = 'no CRL for CA x' })", "no CRL for CA x" },
        { "error({ msg = 'bad peer' })", "bad peer" },
        { "error({ 'first', 'second' })", "first; second" },
        { "error({ code = 5 })", "error object is a table (no message)" },
        { "error(true)", "error object is a boolean value (true)" },
      }
      for i, case in ipairs(cases) do
        local f = ("%s/t%d.lua"):format(dir, i)
        h.write(f, case[1])
        local _, err, rc = cb("run " .. h.q(f))
        assert.equal(1, rc, err)
        assert.equal(("certbench: %s: %s\n"):format(f, case[2]), err)
        assert.is_nil(err:find("0x", 1, true))
      end
    end)

    it("a script error is one line, a traceback only with --verbose", function()
      local dir = h.tmpdir()
      h.write(dir .. "/e.lua", "local function f() error('script failed') end f()")
      local _, err, rc = cb("run " .. h.q(dir .. "/e.lua"))
      assert.equal(1, rc)
      assert.matches("e.lua:1: script failed", err, 1, true)
      assert.is_nil(err:find("traceback", 1, true))
      _, err, rc = cb("--verbose run " .. h.q(dir .. "/e.lua"))
      assert.equal(1, rc)
      assert.matches("stack traceback", err, 1, true)
    end)

    it("os.exit codes pass through", function()
      local dir = h.tmpdir()
      h.write(dir .. "/x.lua", "os.exit(7)")
      local _, _, rc = cb("run " .. h.q(dir .. "/x.lua"))
      assert.equal(7, rc)
    end)
  end)

  it("a stock lua5.4 can require certbench from build/", function()
    local out, err, rc = h.run3(string.format(
      "cd %s && lua5.4 -e 'package.cpath=\"build/?.so;\"..package.cpath; local cb = require(\"certbench\"); print(cb.version, cb.fs.exists(\"build.ninja\"), require(\"certbench.secret\").get(\"pass:x\"):reveal())'",
      h.q(h.root)))
    if os.getenv("CERTBENCH_ASAN") then return end -- the ASan build has no .so for lua5.4
    assert.equal(0, rc, err)
    assert.equal(require("certbench").version .. "\ttrue\tx\n", out)
  end)
end)

describe("the global flags, everywhere", function()
  local cjson = require "cjson"
  local env = "CERTBENCH_PLUGINS=" .. site

  it("--json, --quiet and --help are taken anywhere, on every command", function()
    for _, args in ipairs { "plugins --json", "--json plugins", "version --json", "help --json",
                            "help hello --json", "help hello greet --json", "man --json",
                            "doc x509 --json", "completion bash --json" } do
      local out, err, rc = cb(args, env)
      assert.equal(0, rc, args .. ": " .. err)
      assert.is_table(cjson.decode(out), args)
    end
    for _, args in ipairs { "help --help", "run --help", "plugins --help", "version --help",
                            "man --help", "doc --help", "show --help", "hello --help",
                            "hello greet --help", "--help hello greet", "help hello greet --help" } do
      local out, err, rc = cb(args, env)
      assert.equal(0, rc, args .. ": " .. err)
      assert.equal("", err, args)
      assert.is_truthy(out:find("certbench", 1, true), args)
    end
    -- show --help is the help of `certbench show FILE`, not the plugin list
    local out = cb("show --help")
    assert.matches("Usage: certbench show", out, 1, true)
    -- the words after run's script are the script's
    local dir = h.tmpdir()
    h.write(dir .. "/a.lua", "print(table.concat(arg, ' '))")
    out = cb("run " .. h.q(dir .. "/a.lua") .. " --json -q --help")
    assert.equal("--json -q --help\n", out)
  end)

  it("--quiet prints nothing on success but the paths written", function()
    local out, err, rc = cb("hello greet world --quiet", env)
    assert.equal(0, rc, err)
    assert.equal("", out)
    out, err, rc = cb("-q version")
    assert.equal(0, rc, err)
    assert.equal("", out)
    local dir = h.tmpdir()
    local cert = dir .. "/c.pem"
    assert(h.run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=q -keyout "
      .. h.q(dir .. "/k.pem") .. " -out " .. h.q(cert) .. " 2>&1"))
    out, err, rc = cb("convert " .. h.q(cert) .. " --to der --out " .. h.q(dir .. "/c.der") .. " -q")
    assert.equal(0, rc, err)
    assert.equal(dir .. "/c.der\n", out)
    assert.equal("", err)
    -- and what it wrote is what openssl reads
    local text = h.run("openssl x509 -inform DER -in " .. h.q(dir .. "/c.der") .. " -noout -subject")
    assert.matches("CN *= *q", text)
    -- errors still show
    _, err, rc = cb("convert /nonexistent.pem --to der -q")
    assert.equal(1, rc)
    assert.matches("/nonexistent.pem", err, 1, true)
  end)

  it("usage errors: exit 2, and a JSON error object under --json", function()
    for _, args in ipairs { "nosuch --json", "--json hello nope", "hello greet --json",
                            "hello greet x --nope --json", "help nosuch --json", "version extra --json",
                            "completion zsh --json", "doc nosuch --json" } do
      local out, err, rc = cb(args, env)
      assert.equal(2, rc, args)
      local doc = cjson.decode(out)
      assert.is_false(doc.ok, args)
      assert.equal(2, doc.exit_code, args)
      assert.equal("certbench: " .. doc.error .. "\n", err, args)
    end
  end)

  it("an unknown password source is a usage error (exit 2) before anything is read", function()
    local _, err, rc = cb("ca issue /nonexistent --csr /nonexistent.csr --passin bogus:x")
    assert.equal(2, rc)
    assert.matches("--passin: unknown password source 'bogus:x'", err, 1, true)
    _, err, rc = cb("pfx info /nonexistent.pfx --passin fd:x")
    assert.equal(2, rc)
    assert.matches("not a file descriptor number", err, 1, true)
  end)

  it("no message repeats its subject", function()
    local _, err = cb("vcs tls-check 127.0.0.1:1 --ca /dev/null --timeout 2")
    assert.is_nil(err:find("127.0.0.1:1: 127.0.0.1:1:", 1, true), err)
    local _, err2 = cb("crl mirror --source http://127.0.0.1:1/x.crl --out-dir " .. h.q(h.tmpdir()) .. " --ca /dev/null")
    assert.is_nil(err2:find("warning: warning:", 1, true), err2)
  end)
end)

describe("certbench.ui JSON", function()
  local ui = require "certbench.ui"
  local cjson = require "cjson"
  it("keeps empty lists as lists and empty objects as objects", function()
    assert.equal('{"a":[],"b":{},"c":[1,2],"d":{"x":1}}',
      ui.encode_json { a = ui.array(), b = {}, c = { 1, 2 }, d = { x = 1 } })
  end)
  it("escapes strings, writes integers as integers, sorts keys", function()
    local s = ui.encode_json { z = "q\"\n/é", a = 3, m = 1.5, n = 2 ^ 53 }
    assert.equal('{"a":3,"m":1.5,"n":9007199254740992,"z":"q\\"\\n\\/é"}', s)
    assert.same({ z = "q\"\n/é", a = 3, m = 1.5 }, (function() local t = cjson.decode(s) t.n = nil return t end)())
  end)
  it("treats sparse or mixed tables as objects", function()
    assert.equal('{"1":"a","3":"c"}', ui.encode_json { [1] = "a", [3] = "c" })
    assert.equal('{"1":"a","x":1}', ui.encode_json { "a", x = 1 })
  end)
end)

describe("--timeout, one check on every command", function()
  for _, cmd in ipairs {
    "crl fetch http://127.0.0.1:1/x", "crl check x.pem", "crl bundle a --out b", "vcs cafile a --out b",
    "vcs tls-check 127.0.0.1:1 --ca x", "ocsp check a.pem --issuer b",
  } do
    it(cmd .. ": a bad value is a usage error naming the option", function()
      for _, v in ipairs { "abc", "0", "-5", "nan", "inf" } do
        local out, rc = h.certbench(cmd .. " --timeout=" .. v)
        assert.equal(2, rc, out)
        assert.matches("--timeout: '" .. v .. "' is not a number of seconds greater than 0", out, 1, true)
      end
    end)
  end
end)

describe("--wait on the ca commands", function()
  it("a bad value is a usage error naming the option; 0 is fine", function()
    local d = h.tmpdir()
    local out, rc = h.certbench("ca issue " .. h.q(d) .. " --csr x --wait abc")
    assert.equal(2, rc, out)
    assert.matches("--wait: 'abc' is not a number of seconds (0 or more)", out, 1, true)
    out, rc = h.certbench("ca list " .. h.q(d .. "/none") .. " --wait 0")
    assert.equal(1, rc, out)
    assert.matches("no such CA folder", out, 1, true)
  end)
end)

-- A site plugin's converter may have side effects (a prompt, a file read): it runs once per
-- value given, whether argscan parses the line or leaves it to argparse (a line argscan does not
-- take, an error after the value, a value the converter refuses). The converter appends a line to
-- a file per call, so the count is read from outside the process.
describe("an option's converter", function()
  local site = h.tmpdir()
  local log = site .. "/calls"
  os.execute("mkdir -p " .. h.q(site .. "/counter"))
  h.write(site .. "/counter/init.lua", [[
local log = os.getenv("COUNT_LOG")
local function count(v)
  local f = assert(io.open(log, "a")) f:write(v, "\n") f:close()
  if v == "bad" then return nil, "--level: 'bad' is refused" end
  return v:upper()
end
return { name = "counter", version = "1.0", summary = "counts its converter's calls",
  commands = { go = { summary = "go",
    options = function(p)
      p:argument("what", "a word"):convert(count)
      p:option("--level", "a level"):convert(count)
      p:option("--tag", "a tag", "dflt"):convert(count)
      p:flag("-a --alpha", "a") p:flag("-b --beta", "b")
    end,
    run = function(args) return { what = args.what, level = args.level, tag = args.tag } end,
    text = function(res, ctx) ctx.ui.say("%s %s %s", res.what, tostring(res.level), res.tag) end } } }
]])
  local function calls()
    local f = io.open(log, "rb")
    if not f then return {} end
    local t = {}
    for l in f:lines() do t[#t + 1] = l end
    f:close()
    os.remove(log)
    return t
  end
  local function go(words)
    calls()
    local out, rc = h.run(("CERTBENCH_PLUGINS=%s COUNT_LOG=%s %s counter go %s"):format(
      h.q(site), h.q(log), h.q(h.bin), words))
    return out, rc, calls()
  end

  it("runs once per value on a plain line (argscan)", function()
    local out, rc, c = go("w --level x")
    assert.equal(0, rc, out)
    assert.equal("W X DFLT\n", out)
    assert.same({ "w", "x", "dflt" }, c)
  end)
  it("runs once per value on a line left to argparse (bundled flags, --)", function()
    local out, rc, c = go("-ab --level x w")
    assert.equal(0, rc, out)
    assert.equal("W X DFLT\n", out)
    assert.same({ "x", "w", "dflt" }, c)
    out, rc, c = go("--level x -- w")
    assert.equal(0, rc, out)
    assert.same({ "x", "w", "dflt" }, c)
  end)
  it("runs once when a later word is an error, and once for a refused value", function()
    local out, rc, c = go("w --level x --nope")
    assert.equal(2, rc, out)
    assert.matches("unknown option '--nope'", out, 1, true)
    assert.same({ "w", "x" }, c)
    out, rc, c = go("w --level bad --tag t")
    assert.equal(2, rc, out)
    assert.matches("--level: 'bad' is refused", out, 1, true)
    assert.same({ "w", "bad" }, c)
  end)
end)
