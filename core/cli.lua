-- certbench.cli: the command line. `certbench <plugin> <command> [options]`,
-- `certbench run FILE [args]`, `certbench plugins`, `certbench help [plugin [command]]`,
-- `certbench version`. Exit codes: 0 ok, 1 the job failed, 2 usage error, 3 revoked/invalid
-- (checks). A user mistake is one line on stderr; a traceback only with --verbose.
local cb = require "certbench"
local ui = require "certbench.ui"
-- loaded when used: `version` needs neither, a command only its own parser
local plugins = cb.lazy "certbench.plugins"
local function argparse(...) return require("argparse")(...) end

local M = {}

local GLOBAL_FLAGS = {
  ["--json"] = "json", ["--quiet"] = "quiet", ["-q"] = "quiet", ["--verbose"] = "verbose",
  ["-v"] = "verbose", ["--no-progress"] = "no_progress",
}

local BUILTINS = {
  run = "run a Lua script with the certbench modules: certbench run FILE [args]",
  plugins = "list the plugins found: name, version, summary, folder",
  help = "help on certbench, a plugin or a command: certbench help [plugin [command]]",
  version = "the versions of certbench and of the libraries it uses",
  completion = "print the bash completion script: certbench completion bash",
  man = "print the certbench(1) manual page (troff): certbench man | man -l -",
}

local function levenshtein(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev = {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    for j = 1, lb do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[lb]
end

-- close matches of word among candidates: edit distance <= 2, or a prefix either way
function M.close_matches(word, candidates)
  local out = {}
  for _, c in ipairs(candidates) do
    local d = levenshtein(word, c)
    if d <= 2 or (#word >= 2 and c:sub(1, #word) == word) or (#c >= 3 and word:sub(1, #c) == c) then
      out[#out + 1] = { c, d }
    end
  end
  table.sort(out, function(x, y) if x[2] ~= y[2] then return x[2] < y[2] end return x[1] < y[1] end)
  for i, v in ipairs(out) do out[i] = v[1] end
  return out
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local function usage_error(msg, ...)
  ui.error(string.format(msg, ...))
  return 2
end

local function unknown(kind, word, candidates, hint)
  local close = M.close_matches(word, candidates)
  local msg = string.format("unknown %s '%s'", kind, word)
  if #close > 0 then msg = msg .. "; did you mean: " .. table.concat(close, ", ") .. "?" end
  ui.error(msg .. (hint and (" (" .. hint .. ")") or ""))
  return 2
end

local function overview()
  local lines = {
    "certbench " .. cb.version .. ": a certificate workbench",
    "",
    "usage: certbench [--json] [--quiet] [--verbose] [--no-progress] <plugin> <command> [options]",
    "       certbench run FILE [args]      run a Lua script with the certbench modules",
    "       certbench plugins              list plugins",
    "       certbench help [plugin [command]]",
    "       certbench version",
    "       certbench completion bash | certbench man",
    "",
    "plugins:",
  }
  for _, e in ipairs(plugins.discover()) do
    local p, err = plugins.load(e.name)
    if p then
      local cmds = sorted_keys(p.commands)
      lines[#lines + 1] = string.format("  %-10s %s", e.name, p.summary or "")
      lines[#lines + 1] = string.format("  %-10s   commands: %s", "", table.concat(cmds, ", "))
    else
      lines[#lines + 1] = string.format("  %-10s (broken: %s)", e.name, err)
    end
  end
  return table.concat(lines, "\n")
end

local function plugin_help(p)
  local lines = { string.format("certbench %s: %s", p.name, p.summary or ""), "", "commands:" }
  for _, name in ipairs(sorted_keys(p.commands)) do
    local c = p.commands[name]
    lines[#lines + 1] = string.format("  %-14s %s%s", name, c.summary or "",
      p.default == name and " (the default)" or "")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = string.format("certbench help %s <command> for the options of one command", p.name)
  return table.concat(lines, "\n")
end

-- the argparse parser of one command, with the global flags accepted after the command too
function M.command_parser(p, name)
  local c = p.commands[name]
  local prog = "certbench " .. p.name .. (p.default == name and "" or (" " .. name))
  local parser = argparse(prog, c.summary or "")
  if c.description then parser:description((c.summary or "") .. "\n\n" .. c.description) end
  if c.epilog then parser:epilog(c.epilog) end
  parser:add_help(false)
  parser:flag("-h --help", "show this help")
  if c.options then c.options(parser) end
  local have = {}
  for _, o in ipairs(parser._options) do
    for _, alias in ipairs(o._aliases) do have[alias] = true end
  end
  local globals = {
    { "--json", "output one JSON document" }, { "-q --quiet", "less output" },
    { "-v --verbose", "more output; tracebacks on internal errors" },
    { "--no-progress", "no progress bar" },
  }
  for _, g in ipairs(globals) do
    local names = {}
    for n in g[1]:gmatch("%S+") do if not have[n] then names[#names + 1] = n end end
    if #names > 0 then parser:flag(table.concat(names, " "), g[2]) end
  end
  return parser
end

local function has_help(args)
  for _, a in ipairs(args) do
    if a == "--" then return false end
    if a == "-h" or a == "--help" then return true end
  end
  return false
end

local function run_command(p, name, args, globals)
  local c = p.commands[name]
  local parser = M.command_parser(p, name)
  if has_help(args) then
    io.stdout:write(parser:get_help(), "\n")
    return 0
  end
  local ok, parsed = parser:pparse(args)
  if not ok then
    return usage_error("%s %s: %s (certbench help %s %s)", p.name, name, parsed, p.name, name)
  end
  for k in pairs({ json = 1, quiet = 1, verbose = 1, no_progress = 1 }) do
    if parsed[k] then globals[k] = true end
  end
  ui.configure { json = globals.json or false, quiet = globals.quiet or false,
                 verbose = globals.verbose or false, progress = not globals.no_progress }
  local ctx = { ui = ui, json = ui.options.json, quiet = ui.options.quiet,
                verbose = ui.options.verbose, plugin = p, command = name }
  local res = table.pack(xpcall(c.run, debug.traceback, parsed, ctx))
  if not res[1] then
    local msg = tostring(res[2])
    if not globals.verbose then msg = msg:match("^[^\n]*") .. " (run with --verbose for a traceback)" end
    ui.error(p.name .. " " .. name .. ": internal error: " .. msg)
    return 1
  end
  local result, err, code = res[2], res[3], res[4]
  if result == nil or result == false then
    code = math.tointeger(code) or 1
    if ui.options.json then
      ui.json { ok = false, error = tostring(err or "failed"), exit_code = code }
    end
    ui.error(tostring(err or (p.name .. " " .. name .. ": failed")))
    return code
  end
  if type(result) == "table" then
    if ui.options.json then ui.json(result)
    elseif c.text then c.text(result, ctx) end
  end
  return math.tointeger(code) or math.tointeger(err) or 0
end

local function run_script(argv, i, globals)
  local file = argv[i]
  if not file then return usage_error("run: which script? (certbench run FILE [args])") end
  local chunk, err
  if file == "-" then
    chunk, err = loadfile(nil)
  else
    local f, ferr = io.open(file, "r")
    if not f then return usage_error("run: %s", ferr) end
    f:close()
    chunk, err = loadfile(file)
  end
  if not chunk then return usage_error("run: %s", tostring(err)) end
  local a = { [0] = file, [-1] = "run", [-2] = argv[0] }
  for j = i + 1, #argv do a[#a + 1] = argv[j] end
  _G.arg = a
  ui.configure { json = globals.json or false, quiet = globals.quiet or false,
                 verbose = globals.verbose or false, progress = not globals.no_progress }
  local ok, e = xpcall(chunk, debug.traceback, table.unpack(a))
  if not ok then
    local msg = tostring(e)
    if not globals.verbose then msg = msg:match("^[^\n]*") end
    ui.error(msg)
    return 1
  end
  return 0
end

local function cmd_plugins(globals)
  local list = {}
  for _, e in ipairs(plugins.load_all()) do
    list[#list + 1] = {
      name = e.name, folder = e.dir,
      version = e.plugin and e.plugin.version or nil,
      summary = e.plugin and e.plugin.summary or nil,
      commands = e.plugin and ui.array(sorted_keys(e.plugin.commands)) or nil,
      error = e.error,
    }
  end
  if globals.json then ui.json { plugins = ui.array(list) } return 0 end
  for _, e in ipairs(list) do
    if e.error then
      io.stdout:write(string.format("%-10s BROKEN  %s\n", e.name, e.error))
    else
      io.stdout:write(string.format("%-10s %-8s %s\n%-10s %-8s %s\n", e.name, e.version or "-",
        e.summary or "", "", "", e.folder))
    end
  end
  return 0
end

local function cmd_version(globals)
  local v = cb.versions()
  if globals.verbose then
    -- libcurl and libzip are opened on first use: only --verbose opens them to ask
    local info = require("_certbench.http").info()
    v.libcurl, v.libcurl_tls = info.version, info.ssl
    v.libzip = require("_certbench.archive").libzip_version()
  end
  if globals.json then ui.json(v) return 0 end
  io.stdout:write(string.format(
    "certbench %s\nLua       %s\nBoringSSL %s\nlibuv     %s\nlibcurl   %s (%s)\nlibzip    %s\n",
    v.certbench, v.lua, v.boringssl, v.libuv, v.libcurl, v.libcurl_tls, v.libzip))
  return 0
end

local function cmd_help(argv, i)
  local pname, cname = argv[i], argv[i + 1]
  if not pname then io.stdout:write(overview(), "\n") return 0 end
  if BUILTINS[pname] then io.stdout:write("certbench ", pname, ": ", BUILTINS[pname], "\n") return 0 end
  local p, err = plugins.load(pname)
  if not p then
    if plugins.find(pname) then ui.error(err) return 1 end
    local names = {}
    for _, e in ipairs(plugins.discover()) do names[#names + 1] = e.name end
    return unknown("plugin", pname, names, "certbench plugins lists them")
  end
  if not cname then io.stdout:write(plugin_help(p), "\n") return 0 end
  if not p.commands[cname] then return unknown("command", pname .. " " .. cname, (function()
    local t = {}
    for _, n in ipairs(sorted_keys(p.commands)) do t[#t + 1] = pname .. " " .. n end
    return t end)())
  end
  io.stdout:write(M.command_parser(p, cname):get_help(), "\n")
  return 0
end

function M.main(argv)
  local globals = {}
  local i = 1
  while argv[i] and GLOBAL_FLAGS[argv[i]] do
    globals[GLOBAL_FLAGS[argv[i]]] = true
    i = i + 1
  end
  ui.configure { json = globals.json or false, quiet = globals.quiet or false,
                 verbose = globals.verbose or false, progress = not globals.no_progress }
  local word = argv[i]
  if word == nil then
    io.stderr:write(overview(), "\n")
    return 2
  end
  if word == "-h" or word == "--help" then return cmd_help(argv, i + 1) end
  if word == "--version" then return cmd_version(globals) end
  if word:sub(1, 1) == "-" then return usage_error("unknown option '%s' (certbench help)", word) end
  if word == "run" then return run_script(argv, i + 1, globals) end
  if word == "plugins" then return cmd_plugins(globals) end
  if word == "version" then return cmd_version(globals) end
  if word == "help" then return cmd_help(argv, i + 1) end
  if word == "man" then io.stdout:write(require("certbench.docs").man()) return 0 end
  if word == "completion" then
    if argv[i + 1] ~= "bash" then return usage_error("completion: only 'bash' is supported (certbench completion bash)") end
    io.stdout:write(require("certbench.docs").bash())
    return 0
  end

  local p, err = plugins.load(word)
  if not p then
    if plugins.find(word) then ui.error(err) return 1 end
    local names = sorted_keys(BUILTINS)
    for _, e in ipairs(plugins.discover()) do names[#names + 1] = e.name end
    return unknown("plugin or command", word, names, "certbench help lists them")
  end
  local cname = argv[i + 1]
  local rest_from = i + 2
  if p.default and (cname == nil or (not p.commands[cname] and not (cname == "-h" or cname == "--help"))) then
    cname, rest_from = p.default, i + 1
  end
  if cname == nil then
    io.stderr:write(plugin_help(p), "\n")
    return 2
  end
  if cname == "-h" or cname == "--help" then io.stdout:write(plugin_help(p), "\n") return 0 end
  if not p.commands[cname] then
    local cands = {}
    for _, n in ipairs(sorted_keys(p.commands)) do cands[#cands + 1] = n end
    return unknown("command", p.name .. " " .. cname, (function()
      local t = {}
      for _, n in ipairs(cands) do t[#t + 1] = p.name .. " " .. n end
      return t end)(), "certbench help " .. p.name)
  end
  local args = {}
  for j = rest_from, #argv do args[#args + 1] = argv[j] end
  return run_command(p, cname, args, globals)
end

return M
