-- certbench.plugins: finding and loading plugins.
-- Search path: $CERTBENCH_PLUGINS (colon-separated), ~/.local/share/certbench/plugins, then the
-- built-in plugins. A plugin is a folder with init.lua returning a table; the first folder of a
-- name wins, so a site can override a built-in plugin. Plugins load lazily: listing names
-- reads folders only, and a broken plugin is reported by name without breaking the others.
-- `require "certbench.plugins.NAME"` loads a plugin, `certbench.plugins.NAME.x` its file x.lua.
local fs = require "certbench.fs"
local info = require "_certbench.info"
-- the built-in plugins' files are embedded as bytecode (core/bytecode.h): info.loadfile and
-- info.embedded see them even when their folder is gone (an installed program)
local function exists(file) return info.embedded(file) or fs.exists(file) end

local M = {}
local loaded = {}   -- name -> plugin table
local failed = {}   -- name -> error message

function M.path()
  local dirs = {}
  local env = os.getenv("CERTBENCH_PLUGINS")
  if env and env ~= "" then
    for d in env:gmatch("[^:]+") do dirs[#dirs + 1] = d end
  end
  local home = os.getenv("HOME")
  if home and home ~= "" then dirs[#dirs + 1] = home .. "/.local/share/certbench/plugins" end
  dirs[#dirs + 1] = require("certbench").root .. "/plugins"
  return dirs
end

-- discover() -> list of {name=, dir=} in search order, first of each name only
function M.discover()
  local seen, out = {}, {}
  local builtin = require("certbench").root .. "/plugins"
  for _, base in ipairs(M.path()) do
    local names = fs.list(base)
    if base == builtin then
      names = names or {}
      for _, n in ipairs(info.embedded_plugins()) do names[#names + 1] = n end
    end
    for _, name in ipairs(names or {}) do
      local dir = base .. "/" .. name
      if not seen[name] and name:match("^[%w_%-]+$") and exists(dir .. "/init.lua") then
        seen[name] = true
        out[#out + 1] = { name = name, dir = dir }
      end
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

function M.find(name)
  for _, p in ipairs(M.discover()) do
    if p.name == name then return p end
  end
  return nil
end

local function validate(name, p)
  if type(p) ~= "table" then return "init.lua returned " .. type(p) .. ", not a table" end
  if p.commands ~= nil and type(p.commands) ~= "table" then return "'commands' is not a table" end
  for cname, cmd in pairs(p.commands or {}) do
    if type(cmd) ~= "table" or type(cmd.run) ~= "function" then
      return "command '" .. tostring(cname) .. "' has no run function"
    end
  end
  return nil
end

-- load(name) -> plugin | nil, err
function M.load(name)
  if loaded[name] then return loaded[name] end
  if failed[name] then return nil, failed[name] end
  local p = M.find(name)
  if not p then return nil, "no plugin named '" .. name .. "'" end
  local file = p.dir .. "/init.lua"
  local chunk, err = info.loadfile(file)
  local ok, plugin
  if chunk then
    ok, plugin = xpcall(chunk, debug.traceback, name, p.dir)
    if not ok then err = plugin end
  end
  if not err then err = validate(name, plugin) end
  if err then
    failed[name] = "plugin '" .. name .. "' (" .. file .. ") is broken: " .. tostring(err)
    return nil, failed[name]
  end
  plugin.name = plugin.name or name
  plugin.dir = p.dir
  plugin.commands = plugin.commands or {}
  loaded[name] = plugin
  return plugin
end

-- each_loaded() loads every plugin; returns list of {name, dir, plugin | err}
function M.load_all()
  local out = {}
  for _, p in ipairs(M.discover()) do
    local plugin, err = M.load(p.name)
    out[#out + 1] = { name = p.name, dir = p.dir, plugin = plugin, error = err }
  end
  return out
end

-- collect(field) gathers a table field from every plugin that loads (profiles, sources):
-- returns { [key] = {value=, plugin=} }; plugins earlier on the path win.
function M.collect(field)
  local out = {}
  for _, e in ipairs(M.load_all()) do
    local t = e.plugin and e.plugin[field]
    if type(t) == "table" then
      for k, v in pairs(t) do
        if out[k] == nil then out[k] = { value = v, plugin = e.name } end
      end
    end
  end
  return out
end

-- the searcher for "certbench.plugins.NAME[.file]"
local function searcher(modname)
  local rest = modname:match("^certbench%.plugins%.(.+)$")
  if not rest then return nil end
  local name, sub = rest:match("^([^.]+)%.?(.*)$")
  if sub == "" then
    return function() local p, err = M.load(name); if not p then error(err, 0) end; return p end, name
  end
  local p = M.find(name)
  if not p then return "no plugin named '" .. name .. "'" end
  local file = p.dir .. "/" .. sub:gsub("%.", "/") .. ".lua"
  if not exists(file) then return "no file '" .. file .. "'" end
  local chunk, err = info.loadfile(file)
  if not chunk then error(err, 0) end
  return chunk, file
end

M.searcher = searcher
local searchers = package.searchers
local present = false
for _, s in ipairs(searchers) do if s == searcher then present = true end end
if not present then table.insert(searchers, 2, searcher) end

return M
