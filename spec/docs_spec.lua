-- man page and bash completion come from the same definitions as --help
local h = require "support.helper"
local site = h.root .. "/tests/site-plugins"

local function cb(args)
  return h.run3("CERTBENCH_PLUGINS=" .. h.q(site) .. " " .. h.q(h.bin) .. " " .. args)
end

local function complete(words, plugin_path)
  -- load the generated script into bash, set COMP_WORDS as bash would, print COMPREPLY; the
  -- script asks certbench at completion time, with the CERTBENCH_PLUGINS of that moment
  local dir = h.tmpdir()
  local script = h.run3(h.q(h.bin) .. " completion bash")
  h.write(dir .. "/c.bash", script)
  local n = select(2, words:gsub("%S+", ""))
  local trailing = words:sub(-1) == " "
  local cword = trailing and n or n - 1
  local out = h.run(string.format(
    "CERTBENCH_PLUGINS=%s bash -c 'cd /; source %s; COMP_WORDS=(%s%s); COMP_CWORD=%d; _certbench; printf \"%%s\\n\" \"${COMPREPLY[@]}\"'",
    h.q(plugin_path or site), dir .. "/c.bash", words, trailing and "\"\"" or "", cword))
  local list = {}
  for w in out:gmatch("[^\n]+") do list[#list + 1] = w end
  table.sort(list)
  return list
end

describe("certbench man", function()
  it("documents every command and option of every plugin", function()
    local out, err, rc = cb("man")
    assert.equal(0, rc, err)
    assert.matches("^%.TH CERTBENCH 1", out)
    assert.matches(".SH PLUGIN HELLO", out, 1, true)
    assert.matches(".SS certbench hello greet WHO", out, 1, true)
    assert.matches("\\fB\\-\\-shout\\fR", out, 1, true)
    assert.matches("\\fB\\-\\-file\\fR \\fI<file>\\fR", out, 1, true)
    -- man(1) renders it without warnings
    local rendered, rerr = h.run3("CERTBENCH_PLUGINS=" .. h.q(site) .. " " .. h.q(h.bin) ..
      " man | MANWIDTH=80 man --warnings -l - 2>&1 >/dev/null")
    assert.equal("", rendered .. rerr)
  end)
end)

describe("certbench completion bash", function()
  it("completes plugins and built-in commands", function()
    local got = complete("certbench he")
    assert.same({ "hello", "help" }, got)
  end)
  it("completes a plugin's commands", function()
    assert.same({ "fail", "greet" }, complete("certbench hello "))
  end)
  it("completes a command's options", function()
    local got = complete("certbench hello greet --s")
    assert.same({ "--shout" }, got)
  end)
  it("finds site plugins at completion time, not when the script was made", function()
    local dir = h.tmpdir()
    os.execute("mkdir -p " .. h.q(dir .. "/later"))
    h.write(dir .. "/later/init.lua", [[return { summary = "added after", commands = {
      go = { run = function() return {} end } } }]])
    assert.same({ "later" }, complete("certbench lat", dir .. ":" .. site))
    assert.same({ "go" }, complete("certbench later ", dir .. ":" .. site))
  end)
  it("completes profile names after --profile, site profiles included", function()
    local got = complete("certbench ca issue --profile s")
    assert.same({ "server", "server-client", "site-server", "sub-ca" }, got)
  end)
  it("completes plugins and commands after help", function()
    assert.same({ "hello", "help" }, complete("certbench help he"))
    assert.same({ "fail", "greet" }, complete("certbench help hello "))
  end)
  it("completes the default-command form with files and options", function()
    local got = complete("certbench show --pri")
    assert.same({ "--private" }, got)
    got = complete("certbench show us")   -- from / : usr
    assert.same({ "usr" }, got)
    got = complete("certbench convert --t")
    assert.same({ "--to" }, got)
  end)
  it("refuses shells it does not know", function()
    local _, err, rc = cb("completion zsh")
    assert.equal(2, rc)
    assert.matches("only 'bash' is supported", err, 1, true)
  end)
end)

describe("certbench doc", function()
  local docs = require "certbench.docs"
  it("lists the modules with their summaries, from the module headers", function()
    local out, err, rc = cb("doc")
    assert.equal(0, rc, err)
    for _, m in ipairs(docs.modules()) do assert.matches("  " .. m.name .. " ", out, 1, true) end
    assert.matches("x509 +certificates", out)
    assert.is_nil(out:find("\n  cli ", 1, true)) -- internal modules are left out
  end)
  it("prints a module's reference and one function's entry", function()
    local out, _, rc = cb("doc x509")
    assert.equal(0, rc)
    assert.matches("x509.load(data)", out, 1, true)
    out, _, rc = cb("doc x509.load")
    assert.equal(0, rc)
    assert.matches("^x509%.load%(data%)", out)
    assert.is_nil(out:find("load_all", 1, true))
    local _, err
    _, err, rc = cb("doc x509.nosuch")
    assert.equal(2, rc)
    assert.matches("has no entry for 'nosuch'", err, 1, true)
    _, err, rc = cb("doc nosuch")
    assert.equal(2, rc)
    assert.matches("no module named 'nosuch'", err, 1, true)
  end)
  it("has an entry for every function and method of every module", function()
    local missing = {}
    for _, m in ipairs(docs.modules()) do
      local mod = require("certbench." .. m.name)
      for k, v in pairs(mod) do
        if type(k) == "string" and type(v) == "function" and not k:match("^_") and not docs.entry(m.name, k) then
          missing[#missing + 1] = m.name .. "." .. k
        end
      end
      local mt = debug.getregistry()["certbench." .. m.name]
      if type(mt) == "table" and type(mt.__index) == "table" then
        for k, v in pairs(mt.__index) do
          if type(v) == "function" and not k:match("^_") and not docs.entry(m.name, k) then
            missing[#missing + 1] = m.name .. ":" .. k
          end
        end
      end
    end
    table.sort(missing)
    assert.same({}, missing)
    -- the check can fail: a name no header mentions has no entry
    assert.is_nil(docs.entry("x509", "no_such_function"))
  end)
  it("prints a built-in plugin's Lua API: doc vcs, doc plugins.vcs, one function, listed by doc", function()
    local out, err, rc = cb("doc vcs")
    assert.equal(0, rc, err)
    assert.matches("vcs.plan{ fqdn =", out, 1, true)
    assert.matches("vcs.check{ key =", out, 1, true)
    local same = cb("doc plugins.vcs")
    assert.equal(out, same)
    out, err, rc = cb("doc vcs.fqdn")
    assert.equal(0, rc, err)
    assert.equal("vcs.fqdn(name) -> normalized | nil, why\n", out)
    assert.equal(out, (cb("doc plugins.vcs.fqdn")))
    _, err, rc = cb("doc plugins.vcs.nosuch")
    assert.equal(2, rc)
    assert.matches("certbench.plugins.vcs has no entry for 'nosuch'", err, 1, true)
    -- a core module of the same name keeps its name; plugins.NAME is the plugin
    assert.matches("^certbench%.crl: ", (cb("doc crl")))
    assert.matches("^The crl plugin: ", (cb("doc plugins.crl")))
    out = cb("doc")
    for _, m in ipairs(docs.plugin_apis()) do assert.matches("  plugins." .. m.name .. " ", out, 1, true) end
    assert.matches("  plugins.vcs ", out, 1, true)
  end)
  it("has an entry for every function of every built-in plugin's Lua API", function()
    local fields = {}
    for _, f in ipairs(require("certbench.plugins").CONTRACT) do fields[f[1]] = true end
    local missing, n = {}, 0
    for _, m in ipairs(docs.plugin_apis()) do
      n = n + 1
      for k, v in pairs(require("certbench.plugins." .. m.name)) do
        if type(k) == "string" and type(v) == "function" and not k:match("^_") and not fields[k]
           and not docs.plugin_entry(m.name, k) then
          missing[#missing + 1] = m.name .. "." .. k
        end
      end
    end
    table.sort(missing)
    assert.same({}, missing)
    assert.is_true(n >= 7)
    -- the check can fail: a name the API part does not mention, or only its commands do
    assert.is_nil(docs.plugin_entry("vcs", "no_such_function"))
    assert.is_nil(docs.plugin_entry("vcs", "certbench"))
  end)
  it("prints the plugin contract, the same text as the man page", function()
    local out, _, rc = cb("doc plugins")
    assert.equal(0, rc)
    for _, f in ipairs { "name", "version", "summary", "description", "commands", "default", "profiles",
                         "crl_sources", "hooks", "extends", "epilog", "ca.issued", "ca.revoked",
                         "crl.published", "crl.mirror_done" } do
      assert.matches("%f[%w]" .. f:gsub("%p", "%%%0") .. "%f[^%w_.]", out)
    end
    local man = cb("man")
    assert.matches(".SH PLUGINS", man, 1, true)
    assert.matches(".SS certbench.x509", man, 1, true)
  end)
  it("README's API section lists every module with its summary", function()
    local readme = assert(io.open(h.root .. "/README.md")):read("a")
    for _, m in ipairs(docs.modules()) do
      assert.matches("| `certbench." .. m.name .. "` | " .. m.summary .. " |", readme, 1, true)
    end
  end)
end)

describe("a stock lua5.4 with build/ on package.cpath", function()
  if os.getenv("CERTBENCH_ASAN") then return end -- the ASan build has no .so for lua5.4
  local names = {}
  for _, m in ipairs(require("certbench.docs").modules()) do names[#names + 1] = "certbench." .. m.name end
  for _, e in ipairs(require("certbench.plugins").discover()) do
    if e.builtin then names[#names + 1] = "certbench.plugins." .. e.name end
  end
  it("requires any module or built-in plugin first, without require 'certbench'", function()
    for _, n in ipairs(names) do
      local out, err, rc = h.run3(string.format(
        "cd / && lua5.4 -e 'package.cpath=%q..package.cpath; print(type(require(%q)))'",
        h.root .. "/build/?.so;", n))
      assert.equal(0, rc, n .. ": " .. err)
      assert.equal("table\n", out, n)
    end
  end)
end)
