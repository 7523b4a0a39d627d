-- certbench.cli (internal): the command line. `certbench <plugin> <command> [options]`,
-- `certbench run FILE [args]`, `certbench plugins`, `certbench help [plugin [command]]`,
-- `certbench version`, `certbench man`, `certbench doc [topic]`, `certbench completion bash`.
-- --json, --quiet, --verbose, --no-progress and --help are taken anywhere on the line (up to
-- `--`, and for run up to the script's name). --quiet: nothing on success but the paths of the
-- files written (ui.wrote), one per line; errors still go to stderr, and so does the reason of
-- a failed verdict (the command's reason(result), one line). Exit codes: 0 ok, 1 the job failed, 2 usage error, 3 revoked/invalid
-- (checks). A user mistake is one line on stderr; a traceback only with --verbose.
local cb = require "certbench"
local options = require "certbench.options"
local ui = require "certbench.ui"
-- loaded when used: `version` needs neither, a command only its own parser
local plugins = cb.lazy "certbench.plugins"
local function argparse(...) return require("argparse")(...) end

local M = {}

-- taken wherever they stand on the line (see take_globals)
local GLOBAL_FLAGS = {
  ["--json"] = "json", ["--quiet"] = "quiet", ["-q"] = "quiet", ["--verbose"] = "verbose",
  ["-v"] = "verbose", ["--no-progress"] = "no_progress", ["--help"] = "help", ["-h"] = "help",
}

local BUILTINS = {
  run = "run a Lua script with the certbench modules: certbench run FILE [args]",
  plugins = "list the plugins found: name, version, summary, folder",
  help = "help on certbench, a plugin or a command: certbench help [plugin [command]]",
  version = "the versions of certbench and of the libraries it uses",
  completion = "print the bash completion script: certbench completion bash",
  man = "print the certbench(1) manual page (troff): certbench man | man -l -",
  doc = "the scripting API: certbench doc (the modules), doc MODULE, doc MODULE.FUNCTION, doc plugins, doc plugins.NAME[.FUNCTION]",
}

-- close matches of word among candidates (certbench.options: edit distance or a prefix)
M.close_matches = options.close_matches

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- a usage error: one line on stderr (and a JSON error object under --json), exit 2
local function usage_error(msg, ...)
  if select("#", ...) > 0 then msg = string.format(msg, ...) end
  if ui.options.json then ui.json { ok = false, error = msg, exit_code = 2 } end
  ui.error(msg)
  return 2
end

local function unknown(kind, word, candidates, hint)
  local close = M.close_matches(word, candidates)
  local msg = string.format("unknown %s '%s'", kind, word)
  if #close > 0 then msg = msg .. "; did you mean: " .. table.concat(close, ", ") .. "?" end
  return usage_error(msg .. (hint and (" (" .. hint .. ")") or ""))
end

-- a failure of the job: one line on stderr (and a JSON error object under --json)
local function failure(msg, code, traceback)
  code = code or 1
  if ui.options.json then ui.json { ok = false, error = tostring(msg), exit_code = code } end
  ui.error(msg, traceback)
  return code
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
    "       certbench doc [MODULE[.FUNCTION] | plugins[.NAME[.FUNCTION]]]   the scripting API",
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
    lines[#lines + 1] = string.format("  %-14s %s%s%s", name, c.summary or "",
      p.default == name and " (the default)" or "",
      p.added_by and p.added_by[name] and (" (from plugin " .. p.added_by[name] .. ")") or "")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = string.format("certbench help %s <command> for the options of one command", p.name)
  return table.concat(lines, "\n")
end

-- the global flags a command's parser accepts after the command too (unless the command declares
-- the name itself); certbench.argscan adds the same
local COMMAND_GLOBALS = {
  { "--json", "output one JSON document" }, { "-q --quiet", "less output" },
  { "-v --verbose", "more output; tracebacks on internal errors" },
  { "--no-progress", "no progress bar" },
}

-- the argparse parser of one command, with the global flags accepted after the command too.
-- help: the parser is for showing the help, so an epilog given as a function is called (a run
-- does not: `ca issue`'s lists the profiles of every plugin, which loads them all)
function M.command_parser(p, name, help)
  local c = p.commands[name]
  local prog = "certbench " .. p.name .. (p.default == name and "" or (" " .. name))
  local parser = argparse(prog, c.summary or "")
  if c.description then parser:description((c.summary or "") .. "\n\n" .. c.description) end
  local epilog = c.epilog
  if type(epilog) == "function" then epilog = help and epilog() or nil end
  if epilog then parser:epilog(epilog) end
  parser:add_help(false)
  parser:flag("-h --help", "show this help")
  if c.options then c.options(parser) end
  local have = {}
  for _, o in ipairs(parser._options) do
    for _, alias in ipairs(o._aliases) do have[alias] = true end
  end
  for _, g in ipairs(COMMAND_GLOBALS) do
    local names = {}
    for n in g[1]:gmatch("%S+") do if not have[n] then names[#names + 1] = n end end
    if #names > 0 then parser:flag(table.concat(names, " "), g[2]) end
  end
  return parser
end

-- what a command's parser declares, as data (help --json, the man page, completion)
function M.options_of(parser)
  local opts = {}
  for _, o in ipairs(parser._options) do
    local takes = (o._maxargs or 0) > 0
    opts[#opts + 1] = { aliases = o._aliases, description = o._description or "",
                        argname = takes and (o._argname or ("<" .. o._name:gsub("^%-+", "") .. ">")) or nil,
                        choices = o._choices }
  end
  local args = {}
  for _, a in ipairs(parser._arguments) do
    args[#args + 1] = { name = a._name, description = a._description or "", choices = a._choices }
  end
  return opts, args
end

local function configure(globals)
  ui.configure { json = globals.json or false, quiet = globals.quiet or false,
                 verbose = globals.verbose or false, progress = not globals.no_progress }
end

-- run_command(p, name, args, globals): parse, run, print; the exit code
-- A command's run returns result | nil, err[, code] | result, nil, code (see `certbench doc
-- plugins`); anything else is a bug of the plugin, reported as such.
-- parse(p, name, args) -> ok, parsed | false, message: the words of one command. Plain words
-- are parsed by certbench.argscan from the options the command declares, without argparse
-- (loading it and building the parser was ~0.5 ms of every command); anything else, errors
-- included, by the command's argparse parser, so behaviour and messages are argparse's.
local scan_specs = setmetatable({}, { __mode = "k" })
-- scan_spec(p, name) -> the certbench.argscan record of a command | false (argparse only)
function M.scan_spec(p, name)
  local c = p.commands[name]
  local spec = scan_specs[c]
  if spec == nil then
    local names = {}
    for i, g in ipairs(COMMAND_GLOBALS) do names[i] = g[1] end
    spec = require("certbench.argscan").record(c.options, names) or false
    scan_specs[c] = spec
  end
  return spec
end

function M.parse(p, name, args)
  local spec = M.scan_spec(p, name)
  if spec then
    local parsed, err = require("certbench.argscan").scan(spec, args)
    if parsed then return true, parsed end
    -- a converter refused a value: its converters have run, so argparse must not run them again
    if parsed == false then return false, err end
  end
  return M.command_parser(p, name):pparse(args)
end

local function run_command(p, name, args, globals)
  local c = p.commands[name]
  local ok, parsed = M.parse(p, name, args)
  if not ok then
    local cmd = p.default == name and p.name or (p.name .. " " .. name)
    -- argparse puts its "Did you mean" on a second line
    return usage_error("%s: %s (certbench help %s)", cmd, (tostring(parsed):gsub("\n", "; ")), cmd)
  end
  for k in pairs({ json = 1, quiet = 1, verbose = 1, no_progress = 1 }) do
    if parsed[k] then globals[k] = true end
  end
  configure(globals)
  -- every --passin/--passout/--parent-passin...: a source spelt wrong is a usage error (exit 2)
  local cmd = p.default == name and p.name or (p.name .. " " .. name)
  for k, v in pairs(parsed) do
    if type(k) == "string" and k:match("pass[a-z]*$") and k:match("pass") and type(v) == "string" then
      local sok, serr = require("certbench.secret").check_spec(v)
      if not sok then return usage_error("%s: --%s: %s", cmd, k:gsub("_", "-"), serr) end
    end
  end
  local ctx = { ui = ui, json = ui.options.json, quiet = ui.options.quiet,
                verbose = ui.options.verbose, plugin = p, command = name }
  local res = table.pack(xpcall(c.run, debug.traceback, parsed, ctx))
  local by = p.added_by and p.added_by[name] and (" (from plugin " .. p.added_by[name] .. ")") or ""
  if not res[1] then
    local msg = tostring(res[2])
    if not globals.verbose then msg = msg:match("^[^\n]*") .. " (run with --verbose for a traceback)" end
    return failure(p.name .. " " .. name .. by .. ": internal error: " .. msg, 1, globals.verbose)
  end
  local result, err, code = res[2], res[3], res[4]
  if code ~= nil and math.tointeger(code) == nil then
    return failure(("%s %s%s: internal error: run returned the exit code %s, not an integer"):format(
      p.name, name, by, tostring(code)))
  end
  if result == nil or result == false then
    return failure(tostring(err or (p.name .. " " .. name .. ": failed")), math.tointeger(code) or 1)
  end
  if err ~= nil then
    return failure(("%s %s%s: internal error: run returned a result and a second value (%s); "
      .. "success with an exit code is `return result, nil, code`"):format(p.name, name, by, tostring(err)))
  end
  if ui.options.json then
    ui.json(type(result) == "table" and result or { result = result })
  elseif ui.options.quiet then
    -- "-" is no file to list: the data went to stdout, and the list to stderr (ui.report)
    local out = ui.report()
    for _, path in ipairs(ui.written()) do if path ~= "-" then out:write(path, "\n") end end
    -- a job that failed (exit 1) with a report (crl fetch, crl mirror: a source that failed)
    -- says why under --quiet too, as errors are: its report, on stderr. It said nothing at all.
    if math.tointeger(code) == 1 and type(result) == "table" and c.text then
      ui.report_to_stderr = true
      c.text(result, ctx)
      ui.report_to_stderr = nil
    -- a verdict that fails (exit 3) keeps its reason: the PASS lines and the summary are what
    -- --quiet drops, not why
    elseif (math.tointeger(code) or 0) ~= 0 and type(result) == "table" and c.reason then
      local why = c.reason(result)
      if why then ui.error(("%s %s: %s"):format(p.name, name, ui.escape(why))) end
    end
  elseif type(result) == "table" and c.text then
    c.text(result, ctx)
  end
  return math.tointeger(code) or 0
end

-- the text of what a script raised: error() takes any value, and "table: 0x55..." tells nothing.
-- A value with __tostring says itself; a table its message/msg field or its list of strings;
-- otherwise its type is all there is to say
local function error_text(e)
  if type(e) == "string" or type(e) == "number" then return tostring(e) end
  local mt = getmetatable(e)
  if type(mt) == "table" and mt.__tostring then
    local ok, t = pcall(tostring, e)
    if ok and type(t) == "string" then return t end
  end
  if type(e) == "table" then
    for _, k in ipairs { "message", "msg" } do
      if type(e[k]) == "string" or type(e[k]) == "number" then return tostring(e[k]) end
    end
    local parts = {}
    for j = 1, #e do
      if type(e[j]) ~= "string" then parts = nil break end
      parts[j] = e[j]
    end
    if parts and #parts > 0 then return table.concat(parts, "; ") end
    return "error object is a table (no message)"
  end
  return ("error object is a %s value (%s)"):format(type(e), tostring(e))
end

-- run FILE [args]: the words after FILE are the script's (as lua5.4 passes them). A script that
-- cannot be read or compiled is a failure (1), as in lua5.4; only no script at all is usage (2)
local function run_script(argv, i, globals)
  local file = argv[i]
  if not file then return usage_error("run: which script? (certbench run FILE [args])") end
  local chunk, err
  if file == "-" then
    chunk, err = loadfile(nil)
  else
    local f, ferr = io.open(file, "r")
    if not f then return failure("run: " .. tostring(ferr)) end
    f:close()
    chunk, err = loadfile(file)
  end
  if not chunk then return failure("run: " .. tostring(err)) end
  local a = { [0] = file, [-1] = "run", [-2] = argv[0] }
  for j = i + 1, #argv do a[#a + 1] = argv[j] end
  _G.arg = a
  local ok, e = xpcall(chunk, debug.traceback, table.unpack(a))
  if not ok then
    -- a value that is not text has no position in it: the line names the script
    local msg = type(e) == "string" and e or ("%s: %s"):format(file, error_text(e))
    if not globals.verbose then msg = msg:match("^[^\n]*") end
    return failure(msg, 1, globals.verbose)
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
      extends = e.plugin and e.plugin.extends or nil,
      commands = e.plugin and ui.array(sorted_keys(e.plugin.commands)) or nil,
      error = e.error,
    }
  end
  if globals.json then ui.json { plugins = ui.array(list) } return 0 end
  if globals.quiet then return 0 end
  for _, e in ipairs(list) do
    if e.error then
      io.stdout:write(string.format("%-10s BROKEN  %s\n", e.name, e.error))
    else
      io.stdout:write(string.format("%-10s %-8s %s%s\n%-10s %-8s %s\n", e.name, e.version or "-",
        e.summary or "", e.extends and (" (extends " .. e.extends .. ")") or "", "", "", e.folder))
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
  if globals.quiet then return 0 end
  io.stdout:write(string.format(
    "certbench %s\nLua       %s\nBoringSSL %s\nlibuv     %s\nlibcurl   %s (%s)\nlibzip    %s\n",
    v.certbench, v.lua, v.boringssl, v.libuv, v.libcurl, v.libcurl_tls, v.libzip))
  return 0
end

-- a text document (help, man, completion, doc): under --json one object holding it
local function document(globals, kind, text, extra)
  if globals.json then
    local t = { [kind] = text }
    for k, v in pairs(extra or {}) do t[k] = v end
    ui.json(t)
  else
    io.stdout:write(text, text:sub(-1) == "\n" and "" or "\n")
  end
  return 0
end

local function command_json(p, cname)
  local opts, args = M.options_of(M.command_parser(p, cname))
  local c = p.commands[cname]
  for _, o in ipairs(opts) do o.aliases = ui.array(o.aliases) end
  return { plugin = p.name, command = cname, summary = c.summary, description = c.description,
           default = p.default == cname or nil, added_by = p.added_by and p.added_by[cname] or nil,
           options = ui.array(opts), arguments = ui.array(args) }
end

-- help [plugin [command]]: for a plugin with a default command, `help show` is its help too
local function cmd_help(words, globals)
  local pname, cname = words[1], words[2]
  if not pname then
    if globals.json then
      local list = {}
      for _, e in ipairs(plugins.discover()) do list[#list + 1] = e.name end
      ui.json { builtins = BUILTINS, plugins = ui.array(list) }
      return 0
    end
    io.stdout:write(overview(), "\n")
    return 0
  end
  if BUILTINS[pname] and not (pname == "help" and words[2]) then
    return document(globals, "help", "certbench " .. pname .. ": " .. BUILTINS[pname], { command = pname })
  end
  local p, err = plugins.load(pname)
  if not p then
    if plugins.find(pname) then return failure(err) end
    local names = {}
    for _, e in ipairs(plugins.discover()) do names[#names + 1] = e.name end
    return unknown("plugin", pname, names, "certbench plugins lists them")
  end
  if not cname then
    if globals.json then
      local cmds = {}
      for _, n in ipairs(sorted_keys(p.commands)) do cmds[#cmds + 1] = command_json(p, n) end
      ui.json { plugin = p.name, summary = p.summary, default = p.default, commands = ui.array(cmds) }
      return 0
    end
    local text = plugin_help(p)
    if p.default then text = M.command_parser(p, p.default, true):get_help() .. "\n\n" .. text end
    return document(globals, "help", text)
  end
  if not p.commands[cname] then
    local t = {}
    for _, n in ipairs(sorted_keys(p.commands)) do t[#t + 1] = pname .. " " .. n end
    return unknown("command", pname .. " " .. cname, t, "certbench help " .. pname)
  end
  if globals.json then ui.json(command_json(p, cname)) return 0 end
  io.stdout:write(M.command_parser(p, cname, true):get_help(), "\n")
  return 0
end

-- take_globals(argv) -> globals, words: the global flags are taken wherever they stand, up
-- to `--` and, for `run`, up to the script's name (what follows is the script's own)
local function take_globals(argv)
  local globals, words = {}, { [0] = argv[0] }
  local first, stop = nil, false
  for i = 1, #argv do
    local a = argv[i]
    if stop then
      words[#words + 1] = a
    elseif a == "--" then
      words[#words + 1] = a
      stop = true
    elseif GLOBAL_FLAGS[a] then
      globals[GLOBAL_FLAGS[a]] = true
    else
      words[#words + 1] = a
      if a:sub(1, 1) ~= "-" then
        if not first then first = a
        elseif first == "run" then stop = true end
      end
    end
  end
  return globals, words
end

local function plugin_names()
  local names = {}
  for _, e in ipairs(plugins.discover()) do names[#names + 1] = e.name end
  return names
end

function M.main(argv)
  local globals, words = take_globals(argv)
  configure(globals)
  local word = words[1]
  if word == nil then
    if globals.help then return cmd_help({}, globals) end
    if globals.json then return usage_error("which plugin or command? (certbench help)") end
    io.stderr:write(overview(), "\n")
    return 2
  end
  if word == "--version" then return cmd_version(globals) end
  if word:sub(1, 1) == "-" then return usage_error("unknown option '%s' (certbench help)", word) end
  if BUILTINS[word] and word ~= "help" then
    if globals.help then return cmd_help({ word }, globals) end
    if word == "run" then return run_script(words, 2, globals) end
    if word == "completion" then
      if words[2] == "bash" and not words[3] then
        return document(globals, "completion", require("certbench.docs").bash(words[0]))
      end
      if words[2] == "words" then io.stdout:write(require("certbench.docs").words(words, 3), "\n") return 0 end
      return usage_error("completion: only 'bash' is supported (certbench completion bash)")
    end
    local extra = words[3] or (word ~= "doc" and words[2])
    if extra then return usage_error("%s: unexpected argument '%s' (certbench help %s)", word, extra, word) end
    if word == "plugins" then return cmd_plugins(globals) end
    if word == "version" then return cmd_version(globals) end
    if word == "man" then return document(globals, "man", require("certbench.docs").man()) end
    if word == "doc" then
      local text, err = require("certbench.docs").reference(words[2])
      if not text then return usage_error("doc: %s", err) end
      return document(globals, "doc", text, { topic = words[2] })
    end
  end
  if word == "help" then
    if globals.help and not words[2] then return cmd_help({ "help" }, globals) end
    local rest = {}
    for j = 2, #words do rest[#rest + 1] = words[j] end
    return cmd_help(rest, globals)
  end

  local p, err = plugins.load(word)
  if not p then
    if plugins.find(word) then return failure(err) end
    local names = sorted_keys(BUILTINS)
    for _, n in ipairs(plugin_names()) do names[#names + 1] = n end
    return unknown("plugin or command", word, names, "certbench help lists them")
  end
  local cname = words[2]
  local rest_from = 3
  if p.default and (cname == nil or not p.commands[cname]) then
    cname, rest_from = p.default, 2
  end
  if globals.help then
    if cname and p.commands[cname] and not (p.default == cname and rest_from == 2) then
      return cmd_help({ word, cname }, globals)
    end
    return cmd_help({ word }, globals)
  end
  if cname == nil then
    if globals.json then return usage_error("%s: which command? (certbench help %s)", p.name, p.name) end
    io.stderr:write(plugin_help(p), "\n")
    return 2
  end
  if not p.commands[cname] then
    local t = {}
    for _, n in ipairs(sorted_keys(p.commands)) do t[#t + 1] = p.name .. " " .. n end
    return unknown("command", p.name .. " " .. cname, t, "certbench help " .. p.name)
  end
  local args = {}
  for j = rest_from, #words do args[#args + 1] = words[j] end
  return run_command(p, cname, args, globals)
end

return M
