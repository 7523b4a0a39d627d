-- certbench.plugins: finding, checking and loading plugins.
-- Search path: $CERTBENCH_PLUGINS (colon-separated), ~/.local/share/certbench/plugins, then the
-- built-in plugins. A plugin is a folder with init.lua returning a table; the first folder of a
-- name wins, so a site can override a built-in plugin. Plugins load lazily: listing names
-- reads folders only, and a broken plugin is reported by name without breaking the others.
-- `require "certbench.plugins.NAME"` loads a plugin, `certbench.plugins.NAME.x` its file x.lua.
--
-- The contract (M.CONTRACT below, printed by `certbench doc plugins`) is checked when a plugin
-- loads: a field of the wrong type, an unknown command field, an unknown hook, or a top-level
-- name that is neither a contract field nor a function/table of the plugin's Lua API is a load
-- error naming the plugin and the field.
--
--   plugins.path() -> { folder... }           where plugins are looked for, in order
--   plugins.discover() -> { {name=, dir=, builtin=}... }   sorted by name, first of each name
--   plugins.find(name) -> {name=, dir=} | nil
--   plugins.load(name) -> plugin | nil, err   checked, with what site plugins that extend it add
--   plugins.load_all() -> { {name=, dir=, plugin= | error=}... }
--   plugins.collect(field) -> { [key] = {value=, plugin=} }   a map field (profiles) of every
--                                             plugin; the first on the path wins
--   plugins.sources() -> { {source=, plugin=}... }   every plugin's crl_sources, in path order
--   plugins.emit(event, ev) -> { {plugin=, error=}... }   runs every site plugin's hook for event
--   plugins.has_hook(event) -> true when a site plugin has a hook for event
--   plugins.check(name, t) -> true | nil, err        the contract check alone
--   plugins.searcher(modname)                 the package.searchers entry for certbench.plugins.*
local fs = require "certbench.fs"
local options = require "certbench.options"
local info = require "_certbench.info"
-- the built-in plugins' files are embedded as bytecode (core/lib/bytecode.h): info.loadfile and
-- info.embedded see them even when their folder is gone (an installed program)
local function exists(file) return info.embedded(file) or fs.exists(file) end

local M = {}

-- What the search path finds, listed once per process and search path: one `ca issue` looked
-- plugins up ~20 times (the package searcher of every `require "certbench.plugins.ca.x"`, the
-- site plugins of extends and hooks), each listing every folder of the path again (44
-- getdents64 under strace, ~1 ms of its 15). The state is keyed by the path itself
-- (CERTBENCH_PLUGINS, HOME and the installation root decide it), so a script or a spec that
-- changes them sees the plugins of the new path, loaded and checked afresh. A folder added to
-- a search path while the process runs is not seen, as a plugin already loaded is not reloaded.
local states = {}   -- path key -> { dirs=, list=, byname=, loaded=, failed=, extended= }
local function state()
  local dirs = M.path()
  local key = table.concat(dirs, "\0")
  local st = states[key]
  if not st then
    st = { dirs = dirs, loaded = {}, failed = {}, extended = {} }
    states[key] = st
  end
  return st
end

-- the contract -------------------------------------------------------------------------------

-- One entry per field a plugin table may hold: its type and what it means. `doc plugins`
-- prints this table, so the document and the check cannot disagree.
M.CONTRACT = {
  { "name", "string", "the plugin's name (default: its folder's name; must equal it)" },
  { "version", "string", "shown by `certbench plugins`" },
  { "summary", "string", "one line, shown by `certbench help` and `certbench plugins`" },
  { "description", "string", "more text for `certbench help NAME`" },
  { "commands", "table", "name -> command (below); `certbench NAME COMMAND`" },
  { "default", "string", "the command run when the word after the plugin is not a command "
      .. "(`certbench show FILE` runs `show show FILE`); must name one of the commands" },
  { "profiles", "table", "certificate profile name -> profile table for `ca issue --profile` "
      .. "and `vcs csr --profile` (fields: see plugins/ca/profiles.lua; checked at load)" },
  { "crl_sources", "table", "a list of CRL distribution points for `crl mirror "
      .. "--plugin-sources`: URLs, or tables {url=, name=, tls_ca=, timeout=, max_size=, stream=}; "
      .. "the lists of every plugin are merged" },
  { "hooks", "table", "event name -> function(event_table), called after the operation is durable "
      .. "(events below)" },
  { "extends", "string", "the name of another plugin: this plugin's commands and profiles are "
      .. "added to it (`certbench ca mycommand`); a command or profile of the same name there is "
      .. "a load error" },
}

M.COMMAND = {
  { "summary", "string", "one line for the command lists" },
  { "description", "string", "more text for `certbench help PLUGIN COMMAND` and the man page" },
  { "epilog", "string|function", "text printed after the options in the help; a function "
      .. "returning it is called only when the help is shown (so running the command does not pay for it)" },
  { "options", "function", "options(parser): declares arguments and options on a lua-argparse parser" },
  { "run", "function", "run(args, ctx) -> result | nil, err[, exit_code] | result, nil, exit_code "
      .. "(required). ctx = {ui=, json=, quiet=, verbose=, plugin=, command=}. A result is a table "
      .. "(printed as JSON by --json); a non-zero exit code with a result is for checks (3: "
      .. "revoked/invalid). ctx.ui.wrote(path) records a file written (what --quiet prints)" },
  { "text", "function", "text(result, ctx): prints the result for people (without --json)" },
  { "reason", "function", "reason(result) -> one line | nil: why a result with a non-zero exit code "
      .. "failed (the first failed check); --quiet prints it on stderr, as it prints errors" },
}

M.EVENTS = {
  { "ca.issued", "after a certificate is issued and its files, serial and index.txt are durable: "
      .. "{event=, ca= folder, serial=, subject=, not_before=, not_after= (epoch), file=, pem=, profile=}" },
  { "ca.revoked", "after index.txt records a revocation: {event=, ca=, serial=, subject=, reason=, revoked_at=}" },
  { "crl.published", "after a CRL is in place: by `ca gencrl` {event=, ca=, file=, current=, number=, "
      .. "this_update=, next_update=, revoked=}; by `crl mirror` {event=, out_dir=, url=, files= {der, pem}, "
      .. "issuer=, number=, this_update=, next_update=}" },
  { "crl.mirror_done", "after a mirror run's files, state and report are written: {event=, out_dir=, "
      .. "ok=, sources_ok=, sources_failed=, crls_published=, crls_unchanged=, crls_rejected=, report= (the file)}" },
}

local function index(list)
  local t = {}
  for _, e in ipairs(list) do t[e[1]] = e end
  return t
end
local FIELDS, CMD_FIELDS, EVENTS = index(M.CONTRACT), index(M.COMMAND), index(M.EVENTS)

-- a contract field that word is probably a misspelling of (edit distance 2 at most)
local function close_to(word, list)
  if #word < 4 then return nil end
  for _, e in ipairs(list) do
    if options.distance(word:lower(), e[1], 2) <= 2 then return e[1] end
  end
  return nil
end

-- the fields the loader sets on a plugin it loaded
local LOADER_FIELDS = { dir = true, builtin = true, added_by = true }

-- want: a type name, or alternatives "string|function"
local function typed(where, v, want)
  if v ~= nil and type(v) ~= want and not ("|" .. want .. "|"):find("|" .. type(v) .. "|", 1, true) then
    return ("%s must be a %s, not a %s"):format(where, want:gsub("|", " or "), type(v))
  end
end

-- check(name, p[, builtin]) -> true | nil, "field: what is wrong"
-- builtin: the plugin is one of certbench's own, whose functions and tables of its Lua API are
-- not compared with the contract's names for a near miss (spec/plugins_spec.lua runs the full
-- check on every built-in plugin): 0.4M of the 14.5M instructions of a `ca issue`, 2026-12-06
-- (callgrind)
function M.check(name, p, builtin)
  if type(p) ~= "table" then return nil, "init.lua returned " .. type(p) .. ", not a table" end
  for k, v in pairs(p) do
    if type(k) ~= "string" then return nil, ("field %s: names are strings"):format(tostring(k)) end
    local f = FIELDS[k]
    if f then
      local err = typed("'" .. k .. "'", v, f[2])
      if err then return nil, err end
    elseif LOADER_FIELDS[k] then
      -- set (again) by the loader
    elseif type(v) ~= "function" and type(v) ~= "table" then
      -- functions and tables are the plugin's Lua API (ca.open, crl.mirror); anything else
      -- that is not in the contract is a mistake, usually a misspelt field
      local near = close_to(k, M.CONTRACT)
      return nil, ("unknown field '%s'%s"):format(k, near and ("; did you mean '" .. near .. "'?") or "")
    elseif not builtin then
      local near = close_to(k, M.CONTRACT)
      if near then return nil, ("unknown field '%s'; did you mean '%s'?"):format(k, near) end
    end
  end
  if p.name ~= nil and p.name ~= name then
    return nil, ("'name' is '%s' but the folder is '%s'"):format(p.name, name)
  end
  for cname, cmd in pairs(p.commands or {}) do
    local where = "commands['" .. tostring(cname) .. "']"
    if type(cname) ~= "string" or not cname:match("^[%w][%w_%-]*$") then
      return nil, where .. ": a command name is a word (letters, digits, - and _)"
    end
    if type(cmd) ~= "table" then return nil, where .. " must be a table, not a " .. type(cmd) end
    for k, v in pairs(cmd) do
      local f = CMD_FIELDS[k]
      if not f then
        local near = type(k) == "string" and close_to(k, M.COMMAND)
        return nil, ("%s: unknown field '%s'%s"):format(where, tostring(k), near and ("; did you mean '" .. near .. "'?") or "")
      end
      local err = typed(where .. "." .. k, v, f[2])
      if err then return nil, err end
    end
    if cmd.run == nil then return nil, where .. " has no run function" end
  end
  if p.default ~= nil and not (p.commands and p.commands[p.default]) then
    return nil, ("'default' names '%s', which is not one of its commands"):format(p.default)
  end
  for ev, fn in pairs(p.hooks or {}) do
    if not EVENTS[ev] then
      local names = {}
      for _, e in ipairs(M.EVENTS) do names[#names + 1] = e[1] end
      return nil, ("hooks: unknown event '%s' (known: %s)"):format(tostring(ev), table.concat(names, ", "))
    end
    local err = typed("hooks['" .. ev .. "']", fn, "function")
    if err then return nil, err end
  end
  for i, s in ipairs(p.crl_sources or {}) do
    local url = type(s) == "table" and s.url or s
    if type(url) ~= "string" or not url:match("^[%a][%w+.-]*://") then
      return nil, ("crl_sources[%d] must be a URL or a table with url"):format(i)
    end
  end
  if p.crl_sources and #p.crl_sources == 0 and next(p.crl_sources) ~= nil then
    return nil, "crl_sources must be a list"
  end
  if p.profiles and next(p.profiles) ~= nil then
    local profiles = require "certbench.plugins.ca.profiles"
    for pname, prof in pairs(p.profiles) do
      if type(pname) ~= "string" or type(prof) ~= "table" then
        return nil, ("profiles['%s'] must be a table"):format(tostring(pname))
      end
      local ok, err = profiles.validate(prof, pname)
      if not ok then return nil, "profiles: " .. err end
    end
  end
  return true
end

-- finding ------------------------------------------------------------------------------------

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

-- the listing of the search path (see state()): {name=, dir=, builtin=} sorted by name
local function listing(st)
  if st.list then return st.list end
  local seen, out = {}, {}
  local builtin = require("certbench").root .. "/plugins"
  local dirs = st.dirs
  for i, base in ipairs(dirs) do
    local names = fs.list(base)
    if base == builtin then
      names = names or {}
      for _, n in ipairs(info.embedded_plugins()) do names[#names + 1] = n end
    end
    for _, name in ipairs(names or {}) do
      local dir = base .. "/" .. name
      if not seen[name] and name:match("^[%w_%-]+$") and exists(dir .. "/init.lua") then
        seen[name] = true
        out[#out + 1] = { name = name, dir = dir, builtin = i == #dirs }
      end
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  st.list, st.byname = out, {}
  for _, e in ipairs(out) do st.byname[e.name] = e end
  return out
end

-- discover() -> list of {name=, dir=, builtin=} in search order, first of each name only (a
-- copy: callers may keep or change it)
function M.discover()
  local out = {}
  for i, e in ipairs(listing(state())) do
    out[i] = { name = e.name, dir = e.dir, builtin = e.builtin }
  end
  return out
end

function M.find(name)
  local st = state()
  listing(st)
  local e = st.byname[name]
  return e and { name = e.name, dir = e.dir, builtin = e.builtin } or nil
end

-- loading ------------------------------------------------------------------------------------

local function broken(st, name, file, err)
  st.failed[name] = "plugin '" .. name .. "' (" .. file .. ") is broken: " .. tostring(err)
  return nil, st.failed[name]
end

-- the plugin itself, checked (once per search path), without what extensions add
local function load_one(st, name)
  if st.loaded[name] then return st.loaded[name] end
  if st.failed[name] then return nil, st.failed[name] end
  listing(st)
  local p = st.byname[name]
  if not p then return nil, "no plugin named '" .. name .. "'" end
  local file = p.dir .. "/init.lua"
  local chunk, err = info.loadfile(file)
  local ok, plugin
  if chunk then
    ok, plugin = xpcall(chunk, debug.traceback, name, p.dir)
    if not ok then err = plugin end
  end
  if not err then
    local cok, cerr = M.check(name, plugin, p.builtin)
    if not cok then err = cerr end
  end
  if err then return broken(st, name, file, err) end
  plugin.name = name
  plugin.dir = p.dir
  plugin.builtin = p.builtin
  plugin.commands = plugin.commands or {}
  st.loaded[name] = plugin
  return plugin
end

-- site plugins (those not in certbench's own plugins/) that load; extends and hooks are read
-- from them only, so that running a command never loads every built-in plugin
local function site_plugins(st)
  local out = {}
  for _, e in ipairs(listing(st)) do
    if not e.builtin then
      local p, err = load_one(st, e.name)
      out[#out + 1] = { name = e.name, dir = e.dir, plugin = p, error = err }
    end
  end
  return out
end

-- what extensions add to `target`: their commands (a clash breaks the extension, not the target)
local function extend(st, target)
  for _, e in ipairs(site_plugins(st)) do
    local ext = e.plugin
    if ext and ext.extends == target.name and ext ~= target then
      local clash
      for cname in pairs(ext.commands) do
        if target.commands[cname] then clash = "command '" .. cname .. "'" break end
      end
      if not clash and ext.profiles and target.name == "ca" then
        local builtin = require("certbench.plugins.ca.profiles").BUILTIN
        for pname in pairs(ext.profiles) do
          if builtin[pname] then clash = "profile '" .. pname .. "'" break end
        end
      end
      for pname in pairs(ext.profiles or {}) do
        if not clash and target.profiles and target.profiles[pname] then clash = "profile '" .. pname .. "'" end
      end
      if clash then
        st.loaded[e.name] = nil
        local _, err = broken(st, e.name, e.dir .. "/init.lua", ("extends '%s': its %s is also %s's own %s")
          :format(target.name, clash, target.name, clash))
        require("certbench.ui").warn("%s", err)
      else
        for cname, cmd in pairs(ext.commands) do
          target.commands[cname] = cmd
          target.added_by = target.added_by or {}
          target.added_by[cname] = e.name
        end
      end
    elseif not ext and e.error then
      -- a broken site plugin may have been meant to extend this one: say so when its text says so
      local text = fs.read(e.dir .. "/init.lua", 1 << 20) or ""
      if text:find("extends%s*=%s*[\"']" .. target.name:gsub("%p", "%%%0") .. "[\"']") then
        require("certbench.ui").warn("%s (so what it adds to '%s' is missing)", e.error, target.name)
      end
    end
  end
end

-- load(name) -> plugin | nil, err
local function load(st, name)
  local p, err = load_one(st, name)
  if not p then return nil, err end
  if not st.extended[name] then
    st.extended[name] = true
    extend(st, p)
  end
  return p
end
function M.load(name) return load(state(), name) end

-- load_all() loads every plugin; returns list of {name, dir, plugin | err}
function M.load_all()
  local st = state()
  local out = {}
  for _, p in ipairs(listing(st)) do
    local plugin, err = load(st, p.name)
    out[#out + 1] = { name = p.name, dir = p.dir, plugin = plugin, error = err }
  end
  -- an extension whose clash was found while loading its target is broken after all
  for _, e in ipairs(out) do
    if e.plugin and st.failed[e.name] then e.plugin, e.error = nil, st.failed[e.name] end
  end
  return out
end

-- collect(field) gathers a map field from every plugin that loads (profiles):
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

-- sources() -> { {source = URL | {url=...}, plugin = name}... }: the crl_sources lists of every
-- plugin that loads, one after the other (the mirror drops a URL listed twice)
function M.sources()
  local out = {}
  for _, e in ipairs(M.load_all()) do
    for _, s in ipairs(e.plugin and e.plugin.crl_sources or {}) do
      out[#out + 1] = { source = s, plugin = e.name }
    end
  end
  return out
end

-- has_hook(event) -> true when a site plugin has a hook for event (so a caller can skip making
-- events nobody reads)
function M.has_hook(event)
  for _, e in ipairs(site_plugins(state())) do
    if e.plugin and e.plugin.hooks and e.plugin.hooks[event] then return true end
  end
  return false
end

-- emit(event, ev) -> { {plugin=, error=}... } the hooks that failed. Each site plugin's hook for
-- the event runs in a protected call with its own copy of ev: what a hook does or raises
-- cannot reach the operation, which is complete before emit is called. A failure is reported
-- on stderr naming the plugin (and returned, for callers that put it in their result).
function M.emit(event, ev)
  assert(EVENTS[event], "plugins.emit: unknown event " .. tostring(event))
  local failures = {}
  for _, e in ipairs(site_plugins(state())) do
    local fn = e.plugin and e.plugin.hooks and e.plugin.hooks[event]
    if fn then
      local copy = {}
      for k, v in pairs(ev) do copy[k] = v end
      copy.event = event
      local ok, res, err = xpcall(fn, debug.traceback, copy)
      local why
      if not ok then why = tostring(res):match("^[^\n]*")
      elseif res == nil and err ~= nil then why = tostring(err) end
      if why then
        failures[#failures + 1] = { plugin = e.name, event = event, error = why }
        require("certbench.ui").warn("plugin '%s': hook %s failed (the operation itself is done): %s",
          e.name, event, why)
      end
    end
  end
  return failures
end

-- the searcher for "certbench.plugins.NAME[.file]"
local function searcher(modname)
  local rest = modname:match("^certbench%.plugins%.(.+)$")
  if not rest then return nil end
  local name, sub = rest:match("^([^.]+)%.?(.*)$")
  if sub == "" then
    return function() local p, err = M.load(name); if not p then error(err, 0) end; return p end, name
  end
  local st = state()
  listing(st)
  local p = st.byname[name]
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
