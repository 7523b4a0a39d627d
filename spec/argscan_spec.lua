-- certbench.argscan parses a command's plain words without argparse (issue 17: argparse was the
-- largest piece of a `ca issue`'s start). It must agree with argparse on every word list it
-- accepts, and accept nothing argparse rejects: every command of every built-in plugin, and a
-- plugin declaring every form argscan knows, run through both with generated word lists.
local cli = require "certbench.cli"
local argscan = require "certbench.argscan"
local plugins = require "certbench.plugins"
local options = require "certbench.options"

-- words(spec) -> list of word lists: the base (required arguments and options), then each
-- option in each form, errors, and unusual forms (most of which argscan leaves to argparse)
local function cases(spec)
  local base = {}
  local function good(e)
    if e.choices then return e.choices[1] end
    if e.convert then return "30" end
    return "v1"
  end
  for i, a in ipairs(spec.arguments) do
    for j = 1, math.max(a.minargs, 1) do base[#base + 1] = "p" .. i .. j end
  end
  for _, o in ipairs(spec.options) do
    if o.mincount > 0 then
      base[#base + 1] = o.aliases[#o.aliases]
      if o.maxargs > 0 then base[#base + 1] = good(o) end
    end
  end
  local function with(...)
    local t = {}
    for _, w in ipairs(base) do t[#t + 1] = w end
    for _, w in ipairs { ... } do t[#t + 1] = w end
    return t
  end
  local function before(...)
    local t = { ... }
    for _, w in ipairs(base) do t[#t + 1] = w end
    return t
  end
  local plain, other = { base }, {}
  for _, o in ipairs(spec.options) do
    for _, a in ipairs(o.aliases) do
      if o.maxargs == 0 then
        plain[#plain + 1] = with(a)
        plain[#plain + 1] = before(a)
        other[#other + 1] = with(a, a)
        other[#other + 1] = with(a .. "=x")
      else
        local v = good(o)
        if o.minargs == 1 and o.maxargs == 1 then
          plain[#plain + 1] = with(a, v)
          plain[#plain + 1] = before(a, v)
          if a:sub(2, 2) == "-" then plain[#plain + 1] = with(a .. "=" .. v) end
        end
        other[#other + 1] = with(a, v, a, v)
        other[#other + 1] = with(a, v, v)
        other[#other + 1] = with(a)
        other[#other + 1] = with(a, "-5")
        other[#other + 1] = with(a, "-")
        other[#other + 1] = with(a, "")
        other[#other + 1] = with(a, "a=b")
        other[#other + 1] = with(a, "-5")
        other[#other + 1] = with(a .. "=")
        other[#other + 1] = with(a, "bogus-value")
        other[#other + 1] = with(a, "0")
        other[#other + 1] = with(a, "abc")
        other[#other + 1] = with(a, "--json")
        other[#other + 1] = with(a .. v)
        if o.maxargs > 1 then other[#other + 1] = with(a, v, v, "--json") end
      end
    end
  end
  for _, extra in ipairs { { "--nope" }, { "-Z" }, { "-5" }, { "-" }, { "--" }, { "--", "-x" }, { "p9" },
                           { "-qv" }, { "--json" }, { "-h" }, { "--help=1" }, { "--=x" }, { "" } } do
    other[#other + 1] = with(table.unpack(extra))
  end
  other[#other + 1] = {}
  local short = {}
  for i = 1, #base - 1 do short[i] = base[i] end
  other[#other + 1] = short
  local all = {}
  for _, o in ipairs(spec.options) do
    if o.minargs == 1 and o.maxargs == 1 then
      all[#all + 1] = o.aliases[1]
      all[#all + 1] = good(o)
    elseif o.maxargs == 0 then
      all[#all + 1] = o.aliases[1]
    end
  end
  plain[#plain + 1] = with(table.unpack(all))
  return plain, other
end

-- check(p, name): both parsers on every case; returns how many argscan took
local function check(p, name)
  local spec = assert(cli.scan_spec(p, name), p.name .. " " .. name .. ": argscan does not know its declarations")
  local plain, other = cases(spec)
  local taken = 0
  local function one(words, must)
    local what = p.name .. " " .. name .. " " .. table.concat(words, " ")
    local ok, want = cli.command_parser(p, name):pparse(words)
    local got, msg = argscan.scan(spec, words)
    if got == false then
      -- a value its converter refused: the usage error argparse gives for it, word for word
      taken = taken + 1
      assert(not ok, what .. ": argscan refused what argparse accepts")
      assert.equal(want, msg, what)
    elseif got ~= nil then
      taken = taken + 1
      assert(ok, what .. ": argscan accepted what argparse rejects (" .. tostring(want) .. ")")
      assert.same(want, got, what)
    elseif must then
      error(what .. ": a plain line left to argparse (" .. (ok and "it parses" or tostring(want)) .. ")")
    end
  end
  for _, words in ipairs(plain) do one(words, true) end
  for _, words in ipairs(other) do one(words, false) end
  return taken
end

describe("argscan", function()
  it("agrees with argparse on every command of the built-in plugins", function()
    local n, commands = 0, 0
    for _, e in ipairs(plugins.discover()) do
      local p = assert(plugins.load(e.name))
      local names = {}
      for cname in pairs(p.commands) do names[#names + 1] = cname end
      table.sort(names)
      for _, cname in ipairs(names) do
        n = n + check(p, cname)
        commands = commands + 1
      end
    end
    assert.is_true(commands >= 25, commands .. " commands")
    assert.is_true(n >= commands * 3, n .. " lines taken by argscan")
  end)

  it("agrees on a plugin declaring every form it knows, and leaves the others to argparse", function()
    local p = { name = "t", commands = {
      one = { options = function(q)
        q:argument("src", "source")
        q:argument("rest", "more"):args("+")
        q:option("-o --out-dir", "out", "."):convert(function(v) return v ~= "bad" and v or nil, "bad value" end)
        q:option("--format", "f", "both"):choices { "der", "pem", "both" }
        q:option("--chain", "c"):count("*")
        q:option("--subject", "s"):count(1)
        q:flag("-f --force", "force")
        q:flag("--more", "m"):count("*")
        q:option("--wait", "w"):convert(options.seconds("--wait", true))
      end, run = function() end },
      two = { options = function(q)
        q:argument("dir", "d"):args("?")
        q:option("-n --name", "n")
      end, run = function() end },
    } }
    assert.is_true(check(p, "one") > 10)
    assert.is_true(check(p, "two") > 3)
    local spec = cli.scan_spec(p, "one")
    assert.same({ src = "a", rest = { "b", "c" }, out_dir = "x", format = "pem", chain = { "1", "2" },
                  subject = "s", force = true, more = 2, wait = 5 },
      argscan.scan(spec, { "a", "--chain", "1", "b", "-o", "x", "--format=pem", "--subject", "s", "-f",
                           "--more", "c", "--more", "--chain=2", "--wait", "5" }))
    -- the default passes through the choices and the conversion, as in argparse
    assert.same({ src = "a", rest = { "b" }, out_dir = ".", format = "both", chain = {}, subject = "s", more = 0 },
      argscan.scan(spec, { "a", "b", "--subject", "s" }))
    assert.same({ false, "bad value" }, { argscan.scan(spec, { "a", "b", "--subject", "s", "-o", "bad" }) })
    assert.is_nil(argscan.scan(spec, { "a", "b", "--subject", "s", "-fo", "x" }))
  end)

  it("leaves a command whose declarations it does not know to argparse", function()
    local p = { name = "t", commands = {
      m = { options = function(q)
        local a = q:flag("--a", "a")
        local b = q:flag("--b", "b")
        q:mutex(a, b)
      end, run = function() end },
      act = { options = function(q) q:option("--x", "x"):action("concat") end, run = function() end },
      tbl = { options = function(q) q:option { name = "--x" } end, run = function() end },
    } }
    for _, c in ipairs { "m", "act", "tbl" } do assert.is_false(cli.scan_spec(p, c), c) end
    assert.is_false((cli.parse(p, "m", { "--a", "--b" })))
    assert.same({ a = true }, select(2, cli.parse(p, "m", { "--a" })))
  end)
end)
