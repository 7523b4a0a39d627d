-- The plugin contract (certbench.plugins.CONTRACT, `certbench doc plugins`), checked at load:
-- each mistake is a load error naming the plugin and the field; an extension adds to a plugin
-- without replacing it, and a clash names both.
local h = require "support.helper"
local plugins = require "certbench.plugins"

local function plugin_dir(files)
  local dir = h.tmpdir()
  for name, text in pairs(files) do
    os.execute("mkdir -p " .. h.q(dir .. "/" .. name))
    h.write(dir .. "/" .. name .. "/init.lua", text)
  end
  return dir
end

local function cb(dir, args)
  return h.run3(("CERTBENCH_PLUGINS=%s %s %s"):format(h.q(dir), h.q(h.bin), args))
end

describe("the plugin contract", function()
  local cases = {
    { "return { verion = '1.0', commands = {} }", "unknown field 'verion'; did you mean 'version'?" },
    { "return { version = 1 }", "'version' must be a string, not a number" },
    { "return { comands = {} }", "unknown field 'comands'; did you mean 'commands'?" },
    { "return { commands = { x = { run = function() end, sumary = 'x' } } }",
      "commands['x']: unknown field 'sumary'; did you mean 'summary'?" },
    { "return { commands = { x = { run = 'no' } } }", "commands['x'].run must be a function, not a string" },
    { "return { commands = { x = { summary = 'x' } } }", "commands['x'] has no run function" },
    { "return { commands = { x = { run = function() end } }, default = 'y' }",
      "'default' names 'y', which is not one of its commands" },
    { "return { hooks = { ['ca.issud'] = function() end } }", "hooks: unknown event 'ca.issud'" },
    { "return { hooks = { ['ca.issued'] = true } }", "hooks['ca.issued'] must be a function, not a boolean" },
    { "return { crl_sources = { 'not a url' } }", "crl_sources[1] must be a URL or a table with url" },
    { "return { profiles = { p = { ekus = {'serverAuth'} } } }", "profiles: profile 'p': unknown field 'ekus'" },
    { "return { extends = 3 }", "'extends' must be a string, not a number" },
    { "return { name = 'other' }", "'name' is 'other' but the folder is 'bad'" },
    { "return { description = {} }", "'description' must be a string, not a table" },
    { "return { commands = { x = { run = function() end, epilog = 3 } } }",
      "commands['x'].epilog must be a string or function, not a number" },
  }
  for _, c in ipairs(cases) do
    it("refuses at load: " .. c[2], function()
      local dir = plugin_dir { bad = c[1] }
      local out, err, rc = cb(dir, "plugins")
      assert.equal(0, rc, err)
      assert.matches("bad +BROKEN +plugin 'bad' %(" .. (dir .. "/bad/init.lua"):gsub("%p", "%%%0") .. "%) is broken: "
        .. c[2]:gsub("%p", "%%%0"), out)
      -- and running it says the same, with exit 1
      local _, err2, rc2 = cb(dir, "bad x")
      assert.equal(1, rc2)
      assert.matches(c[2], err2, 1, true)
    end)
  end

  it("accepts functions and tables as the plugin's Lua API", function()
    local dir = plugin_dir { good = "return { summary = 's', open = function() return 1 end, lib = {}, commands = {} }" }
    local out, err, rc = cb(dir, "plugins --json")
    assert.equal(0, rc, err)
    local doc = require("cjson").decode(out)
    for _, p in ipairs(doc.plugins) do
      assert.is_nil(p.error, p.name)
    end
  end)

  it("every built-in plugin keeps the contract", function()
    for _, e in ipairs(plugins.load_all()) do
      assert.is_nil(e.error, e.name)
      -- the full check: the loader leaves out, for built-in plugins, the near misses of their
      -- API's names with the contract's (plugins.check's third argument)
      assert.is_true(plugins.check(e.name, e.plugin), e.name)
    end
  end)

  it("a command returning a result and an exit code in the wrong place is a plugin bug", function()
    local dir = plugin_dir { two = "return { commands = { x = { run = function() return {}, 3 end } } }" }
    local _, err, rc = cb(dir, "two x")
    assert.equal(1, rc)
    assert.matches("two x: internal error: run returned a result and a second value (3); success with an exit code is `return result, nil, code`", err, 1, true)
    dir = plugin_dir { three = "return { commands = { x = { run = function() return { a = 1 }, nil, 3 end } } }" }
    local out
    out, err, rc = cb(dir, "three x --json")
    assert.equal(3, rc, err)
    assert.equal('{"a":1}\n', out)
  end)
end)

describe("a command's epilog", function()
  it("given as a function, is called for the help only, not when the command runs", function()
    local dir = plugin_dir { ep = "return { commands = { x = { run = function() return { ok = true } end, "
      .. "epilog = function() io.stderr:write('EPILOG CALLED\\n') return 'the epilog text' end } } }" }
    local out, err, rc = cb(dir, "ep x --json")
    assert.equal(0, rc, err)
    assert.equal('{"ok":true}\n', out)
    assert.equal("", err)
    out, err, rc = cb(dir, "help ep x")
    assert.equal(0, rc, err)
    assert.matches("the epilog text", out, 1, true)
    out, err, rc = cb(dir, "ep x --help")
    assert.equal(0, rc, err)
    assert.matches("the epilog text", out, 1, true)
  end)
end)

describe("the search path", function()
  local fs = require "certbench.fs"
  local path, list = plugins.path, fs.list
  after_each(function() plugins.path, fs.list = path, list end)

  it("is listed once per path; another path finds and checks its own plugins afresh", function()
    local a = plugin_dir { same = "return { summary = 'from a', commands = {} }", only_a = "return { commands = {} }" }
    local b = plugin_dir { same = "return { summary = 'from b', verion = '1' }" }
    local listed = {}
    fs.list = function(d, ...) listed[#listed + 1] = d return list(d, ...) end
    plugins.path = function() return { a } end
    for _ = 1, 3 do
      assert.equal("from a", assert(plugins.load("same")).summary)
      assert.truthy(plugins.find("only_a"))
      assert.is_false(plugins.has_hook("ca.issued"))
      assert.equal(2, #plugins.discover())
    end
    assert.same({ a }, listed)
    -- the same name on another path: that folder's plugin, with its own contract check
    plugins.path = function() return { b } end
    local p, err = plugins.load("same")
    assert.is_nil(p)
    assert.matches("plugin 'same' (" .. b .. "/same/init.lua) is broken: unknown field 'verion'", err, 1, true)
    assert.is_nil(plugins.find("only_a"))
    assert.same({ a, b }, listed)
    -- and back: the first path's state is kept
    plugins.path = function() return { a } end
    assert.equal("from a", assert(plugins.load("same")).summary)
    assert.same({ a, b }, listed)
  end)

  it("discover() returns a copy: a caller changing it changes nothing for the next", function()
    local a = plugin_dir { one = "return { commands = {} }" }
    plugins.path = function() return { a } end
    local l = plugins.discover()
    l[1].name, l[2] = "changed", { name = "added" }
    assert.same({ { name = "one", dir = a .. "/one", builtin = true } }, plugins.discover())
  end)
end)

describe("extends", function()
  it("adds commands under another plugin; a clash names both and leaves the target whole", function()
    local dir = plugin_dir {
      ext = "return { extends = 'ca', commands = { hello = { run = function() return { hi = true } end,"
        .. " text = function(r, c) c.ui.say('hi from ext') end } } }",
      clash = "return { extends = 'ca', commands = { list = { run = function() return {} end } } }",
    }
    local out, err, rc = cb(dir, "ca hello")
    assert.equal(0, rc, err)
    assert.equal("hi from ext\n", out)
    assert.matches("plugin 'clash' (" .. dir .. "/clash/init.lua) is broken: extends 'ca': its command 'list' is also ca's own command 'list'", err, 1, true)
    -- ca's own list is ca's, not the clashing one
    local ca = h.tmpdir() .. "/ca"
    _, err, rc = cb(dir, "ca init " .. h.q(ca) .. " --subject /CN=X --no-encrypt")
    assert.equal(0, rc, err)
    out, err, rc = cb(dir, "ca list " .. h.q(ca))
    assert.equal(0, rc, err)
    out = cb(dir, "plugins")
    assert.matches("clash +BROKEN", out)
  end)
  it("a profile of the same name as ca's is a clash", function()
    local dir = plugin_dir { p = "return { extends = 'ca', profiles = { server = { eku = { 'clientAuth' } } } }" }
    local out = cb(dir, "plugins")
    assert.matches("p +BROKEN .*its profile 'server' is also ca's own profile 'server'", out)
  end)
end)

describe("options tables of the plugins' Lua API", function()
  it("ca.open, ca.init and ca:issue raise on a key they do not know, naming it", function()
    local ca = require "certbench.plugins.ca"
    local dir = h.tmpdir() .. "/ca"
    assert.has_error(function() ca.init(dir, { subject = "/CN=X", encrypt = false, dayz = 3 }) end)
    local ok, err = pcall(ca.init, dir, { subject = "/CN=X", encrypt = false, dayz = 3 })
    assert.is_false(ok)
    assert.matches("ca.init: unknown option 'dayz'; did you mean 'days'? (known: days, ", err, 1, true)
    local c = assert(ca.init(dir, { subject = "/CN=X", encrypt = false }))
    c:close()
    ok, err = pcall(ca.open, dir, { passim = "pass:x" })
    assert.matches("ca.open: unknown option 'passim'; did you mean 'passin'? (known: defer, key, passin, ui, wait)", err, 1, true)
    c = assert(ca.open(dir))
    ok, err = pcall(c.issue, c, { csr = "x", profil = "server" })
    assert.matches("ca:issue: unknown option 'profil'", err, 1, true)
    ok, err = pcall(c.gencrl, c, { day = 3 })
    assert.matches("ca:gencrl: unknown option 'day'", err, 1, true)
    c:close()
  end)

  it("mirror.config and mirror.configure refuse unknown keys, naming them", function()
    local mirror = require "certbench.plugins.crl.mirror"
    local base = { out_dir = "/tmp/x", ca = { "ca.pem" }, sources = { "http://127.0.0.1:9/x.crl" } }
    assert.is_table(mirror.config(base))
    local t = {}
    for k, v in pairs(base) do t[k] = v end
    t.bogus, t.concurency = 1, 4
    local cfg, err = mirror.config(t)
    assert.is_nil(cfg)
    assert.equal("mirror: configuration: unknown keys 'bogus', 'concurency'", err)
    cfg, err = mirror.config { out_dir = "/tmp/x", ca = { "ca.pem" }, sources = { { url = "http://127.0.0.1:9/x", tls = "x" } } }
    assert.is_nil(cfg)
    assert.equal("mirror: sources[1]: unknown key 'tls'", err)
    local code
    cfg, err, code = mirror.configure { out_dir = "/tmp/x", ca = { "ca.pem" }, source = { "http://x/" } }
    assert.is_nil(cfg)
    assert.equal(2, code)
    assert.equal("mirror: options: unknown key 'source'", err)
    -- the same configuration as `crl mirror` builds: command-line paths from cwd, sources added
    local daily
    cfg, daily = assert(mirror.configure { out_dir = "m", ca = { "ca.pem" }, cwd = "/srv",
      sources = { "http://127.0.0.1:9/a.crl" }, concurrency = 2 })
    assert.equal("/srv/m", cfg.out_dir)
    assert.same({ "/srv/ca.pem" }, cfg.ca)
    assert.equal(2, cfg.concurrency)
    assert.equal("http://127.0.0.1:9/a.crl", cfg.sources[1].url)
    assert.is_table(daily)
  end)
end)

describe("options tables of the check and fetch functions", function()
  it("vcs.check, crl.info and crl.fetch raise on a key they do not know", function()
    local vcs = require "certbench.plugins.vcs"
    local crl = require "certbench.plugins.crl"
    local ok, err = pcall(vcs.check, { key = "k", cert = "c", ca = "a", mutual = false })
    assert.is_false(ok)
    assert.matches("vcs.check: unknown option 'mutual'; did you mean 'mutual_tls'?", err, 1, true)
    ok, err = pcall(crl.info, { "x.crl" }, { entrys = true })
    assert.matches("crl.info: unknown option 'entrys'; did you mean 'entries'?", err, 1, true)
    ok, err = pcall(crl.fetch, { "http://127.0.0.1:9/x" }, { outdir = "." })
    assert.matches("crl.fetch: unknown option 'outdir'; did you mean 'out_dir'?", err, 1, true)
  end)
end)
