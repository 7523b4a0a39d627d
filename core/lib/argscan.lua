-- certbench.argscan (internal): a command's words parsed from the options it declares, without
-- loading argparse, for the command lines that are plain. The command's options function (the
-- one source of truth, `options = function(parser) ... end`) is run once against a recorder
-- that notes what it declares; scan then parses the words exactly as argparse would, or returns
-- nil whenever anything is not plain: an error of any kind (unknown option, missing or repeated
-- value, a value that fails its choices or conversion, too many words), `--`, bundled short
-- options, a value starting with '-', an option taking other than one value, a declaration the
-- recorder does not know (a site plugin's mutex, action, ...). The caller then parses with
-- argparse (certbench.cli), so every error and every unusual form keeps argparse's behaviour and
-- message; spec/argscan_spec.lua runs the same words through both and compares.
-- Why: loading argparse and building a command's parser was ~0.5 ms of each command (the
-- largest piece of bytecode a `ca issue` loaded: 36 KB of 190 KB, 2026-12-06).
--   record(options_fn, globals) -> spec | nil (the declarations are not all understood)
--   scan(spec, words) -> result table as argparse's parse gives it | nil (use argparse)
--       | false, message (a value its converter refused: argparse's message for it)
-- A converter runs exactly once per invocation (a site plugin's may prompt or read a file): scan
-- checks the words first without converting anything, so that whatever it leaves to argparse
-- has run no converter yet; once the words are plain it converts each value in the order
-- argparse would, and a refused value is the usage error argparse would give, never a second
-- parse (spec/argscan_spec.lua and tests/integration's converter_once case count the calls).
local M = {}

local UNKNOWN = setmetatable({}, { __tostring = function() return "argscan: not understood" end })

local function unknown() error(UNKNOWN, 0) end

-- min, max of an argparse boundary ("*", "+", "?", a number): only those
local function bounds(v)
  if math.type(v) == "integer" or (type(v) == "string" and v:match("^%d+$")) then
    local n = math.tointeger(tonumber(v))
    return n, n
  end
  if v == "*" then return 0, math.huge end
  if v == "+" then return 1, math.huge end
  if v == "?" then return 0, 1 end
  unknown()
end

local element_methods = {
  count = function(e, v) e.mincount, e.maxcount = bounds(v) return e end,
  args = function(e, v) e.minargs, e.maxargs = bounds(v) return e end,
  choices = function(e, v) if type(v) ~= "table" then unknown() end e.choices = v return e end,
  convert = function(e, v) if type(v) ~= "function" then unknown() end e.convert = v return e end,
}
local element_mt = { __index = function(_, k) return element_methods[k] or unknown() end }

-- the target argparse gives an option: its first "--" alias without the dashes, else its first
-- alias without its dash; '-' becomes '_'
local function target_of(aliases)
  for _, a in ipairs(aliases) do
    if a:sub(1, 1) == a:sub(2, 2) then return (a:sub(3):gsub("-", "_")) end
  end
  return (aliases[1]:sub(2):gsub("-", "_"))
end

local function declare(spec, kind, name, description, default, ...)
  if select("#", ...) > 0 or type(name) ~= "string" or (description ~= nil and type(description) ~= "string")
    or (default ~= nil and type(default) ~= "string") then
    unknown()
  end
  local e = setmetatable({ kind = kind, default = default, minargs = 1, maxargs = 1 }, element_mt)
  if kind == "argument" then
    e.name, e.target, e.mincount, e.maxcount = name, name, 1, 1
    spec.arguments[#spec.arguments + 1] = e
  else
    local aliases = {}
    for a in name:gmatch("%S+") do
      -- '_' in an alias makes argparse accept '-' too; other prefix characters than '-': argparse
      if a:find("_", 1, true) or a:sub(1, 1) ~= "-" or #a < 2 then unknown() end
      aliases[#aliases + 1] = a
    end
    if #aliases == 0 then unknown() end
    e.aliases, e.name, e.target, e.mincount, e.maxcount = aliases, aliases[1], target_of(aliases), 0, 1
    if kind == "flag" then e.minargs, e.maxargs = 0, 0 end
    spec.options[#spec.options + 1] = e
  end
  return e
end

local recorder_mt = { __index = function(_, k)
  if k == "option" then return function(self, ...) return declare(self.spec, "option", ...) end end
  if k == "flag" then return function(self, ...) return declare(self.spec, "flag", ...) end end
  if k == "argument" then return function(self, ...) return declare(self.spec, "argument", ...) end end
  unknown()
end }

-- record(options_fn, globals): globals, the flags certbench.cli adds after the command's own
-- ({ "-q --quiet", ... }, "-h --help" first), as it adds them to the argparse parser
function M.record(options_fn, globals)
  local spec = { options = {}, arguments = {} }
  local rec = setmetatable({ spec = spec }, recorder_mt)
  local ok, err = pcall(function()
    declare(spec, "flag", "-h --help")
    if options_fn then options_fn(rec) end
    local have = {}
    for _, o in ipairs(spec.options) do
      for _, a in ipairs(o.aliases) do have[a] = true end
    end
    for _, g in ipairs(globals) do
      local names = {}
      for n in g:gmatch("%S+") do if not have[n] then names[#names + 1] = n end end
      if #names > 0 then declare(spec, "flag", table.concat(names, " ")) end
    end
  end)
  if not ok then
    if err == UNKNOWN then return nil end
    error(err, 0)
  end
  -- the elements as plain tables from here on (their metatable refuses unknown declarations)
  for _, list in ipairs { spec.options, spec.arguments } do
    for _, e in ipairs(list) do setmetatable(e, nil) end
  end
  -- what scan does not do: a default for anything but a one-value option used at most once,
  -- arguments taking other than one value unless the last, two elements with one target
  local targets, by_alias = {}, {}
  for _, list in ipairs { spec.options, spec.arguments } do
    for i, e in ipairs(list) do
      if targets[e.target] then return nil end
      targets[e.target] = true
      if e.default ~= nil and (e.kind ~= "option" or e.maxargs ~= 1 or e.minargs ~= 1 or e.maxcount ~= 1) then
        return nil
      end
      if e.kind == "argument" and (e.mincount ~= 1 or e.maxcount ~= 1 or e.default ~= nil
          or (e.maxargs ~= 1 and (i ~= #list or not (e.maxargs == math.huge or e.maxargs == 1))) or e.minargs > 1) then
        return nil
      end
      if e.kind ~= "argument" and e.maxcount < 1 then return nil end
    end
  end
  for _, o in ipairs(spec.options) do
    for _, a in ipairs(o.aliases) do by_alias[a] = o end   -- a later declaration wins, as in argparse
  end
  spec.by_alias = by_alias
  return spec
end

-- choice(e, v) -> whether v is one of the element's choices (or it has none)
local function choice(e, v)
  if not e.choices then return true end
  for _, c in ipairs(e.choices) do if c == v then return true end end
  return false
end

-- refused: a converter's nil, with argparse's message for it
local REFUSED = {}

-- convert(e, v) -> the value after the element's conversion; raises {REFUSED, message} on
-- nil, as argparse's ElementState:convert does (an error the converter raises goes up as is)
local function convert(e, v)
  if not e.convert then return v end
  local cv, err = e.convert(v)
  if cv == nil then
    error({ REFUSED, err and tostring(err) or ("malformed argument '%s'"):format(v) }, 0)
  end
  return cv
end

function M.scan(spec, words)
  local result, count = {}, {}
  -- the initial values argparse's actions start from: a count for repeatable flags, a list for
  -- repeatable options
  for _, e in ipairs(spec.options) do
    count[e] = 0
    if e.maxcount > 1 then result[e.target] = e.maxargs == 0 and 0 or {} end
  end
  local args, argi, collected = spec.arguments, 1, {}
  local pending
  -- the values to convert, in the order argparse converts them: { e, raw, put(converted) }
  local conversions = {}
  local function store(e, v)
    if not choice(e, v) then return false end
    if e.maxcount > 1 then
      local list = result[e.target]
      list[#list + 1] = false
      local i = #list
      conversions[#conversions + 1] = { e, v, function(cv) list[i] = cv end }
    else
      result[e.target] = false
      conversions[#conversions + 1] = { e, v, function(cv) result[e.target] = cv end }
    end
    return true
  end
  for _, w in ipairs(words) do
    if pending then
      if w:sub(1, 1) == "-" and #w > 1 then return nil end   -- argparse: "requires an argument"
      if not store(pending, w) then return nil end
      pending = nil
    elseif w:sub(1, 1) == "-" and #w > 1 then
      if w == "--" then return nil end
      local name, v = w, nil
      if w:sub(2, 2) == "-" then
        local eq = w:find("=", 1, true)
        if eq then name, v = w:sub(1, eq - 1), w:sub(eq + 1) end
      elseif #w ~= 2 then
        return nil   -- bundled short options, or a value glued to a short option
      end
      local e = spec.by_alias[name]
      if not e then return nil end
      -- used more often than allowed: argparse overwrites a once-only option, errs otherwise
      if count[e] >= e.maxcount and e.maxcount ~= 1 then return nil end
      count[e] = count[e] + 1
      if e.maxargs == 0 then
        if v ~= nil then return nil end
        if e.maxcount > 1 then result[e.target] = result[e.target] + 1 else result[e.target] = true end
      elseif e.minargs == 1 and e.maxargs == 1 then
        if v ~= nil then
          if not store(e, v) then return nil end
        else
          pending = e
        end
      else
        return nil
      end
    else
      local a = args[argi]
      if not a then return nil end   -- argparse: "too many arguments"
      if not choice(a, w) then return nil end
      if a.maxargs == 1 then
        result[a.target] = false
        conversions[#conversions + 1] = { a, w, function(cv) result[a.target] = cv end }
        argi = argi + 1
      else
        collected[#collected + 1] = false
        local i = #collected
        conversions[#conversions + 1] = { a, w, function(cv) collected[i] = cv end }
      end
    end
  end
  if pending then return nil end
  for i = argi, #args do
    local a = args[i]
    if a.maxargs == 1 then
      if a.minargs == 1 then return nil end   -- argparse: "missing argument"
    else
      if #collected < a.minargs then return nil end
      result[a.target] = collected
    end
  end
  for _, e in ipairs(spec.options) do
    if count[e] == 0 and e.default ~= nil then
      if not store(e, e.default) then return nil end
      count[e] = 1
    end
    if count[e] < e.mincount then return nil end
  end
  -- the words are plain: each value through its converter, once
  local ok, err = pcall(function()
    for _, t in ipairs(conversions) do t[3](convert(t[1], t[2])) end
  end)
  if not ok then
    if type(err) == "table" and err[1] == REFUSED then return false, err[2] end
    error(err, 0)
  end
  return result
end

return M
