-- certbench.docs (internal): the man page, the bash completion and the API reference, generated
-- from the same plugin and argparse definitions as --help and from the header comments of the
-- modules (core/<module>.lua), so they cannot drift apart.
--   docs.man() -> troff text;  docs.bash() -> the completion script
--   docs.modules() -> { {name=, summary=, file=}... } the public modules (a header that says
--     "(internal)" on its first line is left out)
--   docs.header(module) -> the header text | nil, err
--   docs.entry(module, fn) -> the lines documenting module.fn (or the method fn) | nil
--   docs.plugin_apis() -> { {name=, summary=, file=}... } the built-in plugins, whose init.lua
--     header documents their Lua API (require "certbench.plugins.NAME")
--   docs.reference([topic]) -> text | nil, err   topic: nil (the list), "x509", "x509.load",
--     "plugins" (the plugin contract), "plugins.vcs" or "vcs" (a built-in plugin's header; a
--     core module of the same name wins: `crl` is certbench.crl, `plugins.crl` the plugin),
--     "plugins.vcs.plan" or "vcs.plan" (one of its functions)
--   docs.complete(words) -> kind ("words" | "files"), candidates: what bash offers after words
local plugins = require "certbench.plugins"
local cli = require "certbench.cli"
local cb = require "certbench"
local fs = require "certbench.fs"

local M = {}

local contract_text -- the plugin contract as text (below)
local plugin_header -- the header of a built-in plugin (below)
local entry_in -- the entry of a function in a header (below)

local BUILTINS = { "run", "plugins", "help", "version", "completion", "man", "doc" }
local GLOBALS = { "--json", "--quiet", "--verbose", "--no-progress", "--help" }

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- every loadable plugin with its commands' parsers
local function catalogue()
  local out = {}
  for _, e in ipairs(plugins.load_all()) do
    if e.plugin then
      local cmds = {}
      for _, name in ipairs(sorted_keys(e.plugin.commands)) do
        cmds[#cmds + 1] = { name = name, def = e.plugin.commands[name],
                            parser = cli.command_parser(e.plugin, name) }
      end
      out[#out + 1] = { name = e.name, plugin = e.plugin, commands = cmds }
    end
  end
  return out
end

local options_of = cli.options_of

local function roff(s)
  s = tostring(s or ""):gsub("\\", "\\\\"):gsub("\n%.", "\n\\&."):gsub("^%.", "\\&."):gsub("%-", "\\-")
  return s
end

function M.man()
  local L = {}
  local function add(s) L[#L + 1] = s end
  add('.TH CERTBENCH 1 "" "certbench ' .. cb.version .. '" "User Commands"')
  add(".SH NAME")
  add("certbench \\- a certificate workbench: keys, requests, a private CA, PFX, conversions, CRLs")
  add(".SH SYNOPSIS")
  add(".B certbench")
  add("[\\-\\-json] [\\-\\-quiet] [\\-\\-verbose] [\\-\\-no\\-progress] \\fIplugin\\fR \\fIcommand\\fR [\\fIoptions\\fR]")
  add(".br")
  add(".B certbench run")
  add("\\fIFILE\\fR [\\fIargs\\fR]")
  add(".br")
  add(".B certbench")
  add("plugins | help [\\fIplugin\\fR [\\fIcommand\\fR]] | version | completion bash | man")
  add(".SH DESCRIPTION")
  add("certbench makes every step of running certificates for video-conferencing and SIP servers a")
  add("command and a Lua function: keys and CSRs, an OpenSSL-compatible private CA, PFX files,")
  add("Windows-style conversions, CRL fetching, mirroring and revocation checks.")
  add(".SH GLOBAL OPTIONS")
  for _, g in ipairs { { "\\-\\-json", "one JSON document on standard output" },
                       { "\\-q, \\-\\-quiet", "less output" },
                       { "\\-v, \\-\\-verbose", "more output; a traceback on internal errors" },
                       { "\\-\\-no\\-progress", "no progress bar (it is shown only on a terminal)" } } do
    add(".TP"); add("\\fB" .. g[1] .. "\\fR"); add(g[2])
  end
  add(".SH PASSWORDS")
  add("Options taking a password source accept \\fBpass:\\fItext\\fR, \\fBenv:\\fIVAR\\fR, \\fBfile:\\fIpath\\fR,")
  add("\\fBfd:\\fIN\\fR and \\fBstdin\\fR, as OpenSSL does; without one, certbench asks on the terminal.")
  for _, p in ipairs(catalogue()) do
    add(".SH PLUGIN " .. roff(p.name:upper()))
    add(roff(p.plugin.summary or ""))
    for _, c in ipairs(p.commands) do
      local opts, args = options_of(c.parser)
      local usage = "certbench " .. p.name .. " " .. c.name
      for _, a in ipairs(args) do usage = usage .. " " .. a.name:upper() end
      add(".SS " .. roff(usage))
      add(roff(c.def.summary or ""))
      if c.def.description then add(".PP"); add(roff(c.def.description)) end
      for _, a in ipairs(args) do
        add(".TP"); add("\\fI" .. roff(a.name:upper()) .. "\\fR"); add(roff(a.description))
      end
      for _, o in ipairs(opts) do
        local names = {}
        for _, n in ipairs(o.aliases) do names[#names + 1] = "\\fB" .. roff(n) .. "\\fR" end
        add(".TP")
        add(table.concat(names, ", ") .. (o.argname and (" \\fI" .. roff(o.argname) .. "\\fR") or ""))
        add(roff(o.description))
      end
    end
  end
  add(".SH PLUGINS")
  add(".nf")
  add(roff(contract_text()))
  add(".fi")
  add(".SH LUA API")
  add("Scripts (\\fBcertbench run\\fR, or a stock lua5.4 with the build folder on package.cpath)")
  add("require these modules; \\fBcertbench doc\\fR \\fImodule\\fR prints the same reference.")
  for _, m in ipairs(M.modules()) do
    add(".SS certbench." .. roff(m.name))
    add(".nf")
    add(roff(M.header(m.name)))
    add(".fi")
  end
  add(".SH ENVIRONMENT")
  add(".TP"); add("\\fBCERTBENCH_PLUGINS\\fR")
  add("colon\\-separated folders searched for plugins before ~/.local/share/certbench/plugins and the built\\-in ones")
  add(".TP"); add("\\fBCERTBENCH_HOME\\fR")
  add("the folder holding core/ and plugins/ (found from the program's location by default: the source tree, or PREFIX/share/certbench once installed, the Lua code being inside the program)")
  add(".SH EXIT STATUS")
  add("0 success, 1 the job failed, 2 usage error, 3 revoked or invalid (checks).")
  return table.concat(L, "\n") .. "\n"
end

-- the API reference -------------------------------------------------------------------------

local function core_file(name) return cb.root .. "/core/" .. name .. ".lua" end
local function plugin_file(name) return cb.root .. "/plugins/" .. name .. "/init.lua" end

-- the leading comment block of a file, without the "-- " of each line
local function header_of(file)
  local text = fs.read(file, 1 << 20)
  if not text then return nil end
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do
    if not line:match("^%-%-") then break end
    lines[#lines + 1] = (line:gsub("^%-%- ?", ""))
  end
  return lines
end

function M.modules()
  local out = {}
  local names = fs.list(cb.root .. "/core") or {}
  table.sort(names)
  for _, f in ipairs(names) do
    local name = f:match("^([%w_]+)%.lua$")
    local h = name and header_of(core_file(name))
    local summary = h and h[1] and h[1]:match("^certbench%." .. name .. ": (.*)$")
    if summary then
      -- the first sentence, which may go on over the next lines
      for i = 2, #h do
        if h[i] == "" or h[i]:match("^%s") or summary:find("%.%s") or summary:find("%.$") then break end
        summary = summary .. " " .. h[i]
      end
      summary = summary:match("^(.-)%.%s") or summary:match("^(.-)%.$") or summary
    end
    if summary then out[#out + 1] = { name = name, summary = summary, file = core_file(name) } end
  end
  return out
end

-- header(name): a core module's header, else a built-in plugin's ("plugins.NAME": the plugin's)
function M.header(name)
  if type(name) ~= "string" then return nil, "no module named '" .. tostring(name) .. "'" end
  local pname = name:match("^plugins%.([%w_]+)$")
  local h = not pname and name:match("^[%w_]+$") and header_of(core_file(name))
  if not h or not (h[1] or ""):match("^certbench%." .. name .. "[ :]") then
    h = plugin_header(pname or name)
    if h then return table.concat(h, "\n") end
    local list, plist = {}, {}
    for _, m in ipairs(M.modules()) do list[#list + 1] = m.name end
    for _, m in ipairs(M.plugin_apis()) do plist[#plist + 1] = "plugins." .. m.name end
    return nil, ("no module named '%s' (modules: %s; plugins: %s)"):format(name, table.concat(list, ", "),
      table.concat(plist, ", "))
  end
  return table.concat(h, "\n")
end

local function indent(l) return #(l:match("^%s*")) end

-- entry(module, fn): the line that starts with `module.fn` or `fn(` (a method), and the lines
-- after it that are indented deeper (its continuation); for a method named inside a list of
-- methods, that line
function M.entry(name, fn)
  local h = header_of(core_file(name))
  if not h then return nil end
  return entry_in(h, name, fn)
end

-- the header of a built-in plugin's init.lua | nil
function plugin_header(name)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then return nil end
  local h = header_of(plugin_file(name))
  if not h or not (h[1] or ""):find(name, 1, true) then return nil end
  return h
end

function M.plugin_apis()
  local out = {}
  for _, e in ipairs(plugins.discover()) do
    if e.builtin and plugin_header(e.name) then
      local p = plugins.load(e.name)
      out[#out + 1] = { name = e.name, summary = p and p.summary or "", file = plugin_file(e.name) }
    end
  end
  return out
end

-- plugin_entry(plugin, fn): fn's entry in the plugin's "Lua API:" (or "From Lua") part of its
-- header (the command synopsis above it names commands, not functions)
function M.plugin_entry(name, fn)
  local h = plugin_header(name)
  if not h then return nil end
  for i, l in ipairs(h) do
    if l:match("^Lua API") or l:match("^From Lua") then h = table.move(h, i, #h, 1, {}) break end
  end
  return entry_in(h, "[%w_]+", fn)
end

-- A plugin's header names its functions after the local it requires the plugin as
-- (`vcs.plan{...}`, `ca_plugin.init(...)`): any name before the dot is taken.
function entry_in(h, name, fn)
  local esc = fn:gsub("%p", "%%%0")
  local pats = { "^%s*" .. name .. "%." .. esc .. "[%s%(%{,=]", "^%s*" .. name .. "%." .. esc .. "$",
                 "^%s*[%w_]+:" .. esc .. "[%s%(%{]", "^%s*" .. esc .. "%(" }
  for _, pat in ipairs(pats) do
    for i, l in ipairs(h) do
      if l:match(pat) then
        local out, base = { l:sub(indent(l) + 1) }, indent(l)
        for j = i + 1, #h do
          if h[j] == "" or indent(h[j]) <= base then break end
          out[#out + 1] = h[j]:sub(base + 1)
        end
        return table.concat(out, "\n")
      end
    end
  end
  -- a name listed with others ("digest.sha256(data), .sha384, .sha512", "Methods: a(), b()")
  for _, l in ipairs(h) do
    if l:find("[%s%.:,(]" .. esc .. "[%s%(,%){]") or l:find("[%s%.:,(]" .. esc .. "$")
       or l:find("^" .. esc .. "[%s%(]") then
      return l
    end
  end
  return nil
end

function contract_text()
  local L = { "The plugin contract: init.lua returns a table with these fields (checked at load; a",
    "wrong type, an unknown field or an unknown hook event is a load error naming the plugin and",
    "the field). Other names in the table must be functions or tables: the plugin's Lua API,",
    "require(\"certbench.plugins.NAME\").fn. The loader sets dir (the plugin's folder).", "" }
  local function list(t)
    for _, e in ipairs(t) do L[#L + 1] = ("  %-12s %-9s %s"):format(e[1], e[2]:gsub("|", " or "), e[3]) end
  end
  list(plugins.CONTRACT)
  L[#L + 1] = ""
  L[#L + 1] = "A command (commands.NAME):"
  list(plugins.COMMAND)
  L[#L + 1] = ""
  L[#L + 1] = "Results: run returns a result, or nil, err[, exit code], or result, nil, exit code for"
  L[#L + 1] = "checks that succeed with a verdict (3: revoked/invalid). Library functions of a plugin"
  L[#L + 1] = "return data (nil, err on failure), never exit codes: the command maps a result to a code."
  L[#L + 1] = ""
  L[#L + 1] = "Hooks (hooks = { [event] = function(ev) ... end }), called after the operation is durable,"
  L[#L + 1] = "from the CLI and from scripts alike; ev is a copy. A hook that raises, or returns nil, err,"
  L[#L + 1] = "is reported on stderr naming its plugin; the operation stays done. Events:"
  for _, e in ipairs(plugins.EVENTS) do L[#L + 1] = ("  %-16s %s"):format(e[1], e[2]) end
  L[#L + 1] = ""
  L[#L + 1] = "Extensions and hooks are read from site plugins (outside certbench's own plugins/); a"
  L[#L + 1] = "site plugin that fails to load adds nothing (`certbench plugins` says why). Example:"
  L[#L + 1] = "tests/site-plugins/acme/init.lua."
  return table.concat(L, "\n")
end

function M.reference(topic)
  if topic == nil then
    local L = { "The certbench Lua modules (require \"certbench.NAME\"); certbench doc NAME for one,",
                "certbench doc NAME.FUNCTION for one function, certbench doc plugins for the plugin contract.", "" }
    for _, m in ipairs(M.modules()) do L[#L + 1] = ("  %-9s %s"):format(m.name, m.summary) end
    L[#L + 1] = ""
    L[#L + 1] = "The Lua API of the built-in plugins (require \"certbench.plugins.NAME\"); certbench doc"
    L[#L + 1] = "plugins.NAME (or NAME, when no module has that name), certbench doc plugins.NAME.FUNCTION."
    L[#L + 1] = ""
    for _, m in ipairs(M.plugin_apis()) do L[#L + 1] = ("  %-17s %s"):format("plugins." .. m.name, m.summary) end
    return table.concat(L, "\n")
  end
  if topic == "plugins" then return contract_text() end
  local pname, pfn = topic:match("^plugins%.([%w_]+)[.:]([%w_]+)$")
  local mod, fn = topic:match("^([%w_]+)[.:]([%w_]+)$")
  if mod and mod ~= "plugins" and not header_of(core_file(mod)) and plugin_header(mod) then pname, pfn = mod, fn end
  if pname then
    local h, err = M.header("plugins." .. pname)
    if not h then return nil, err end
    local e = M.plugin_entry(pname, pfn)
    if not e then return nil, ("certbench.plugins.%s has no entry for '%s' (certbench doc plugins.%s)"):format(pname, pfn, pname) end
    return e
  end
  if mod and mod ~= "plugins" then
    local h, err = M.header(mod)
    if not h then return nil, err end
    local e = M.entry(mod, fn)
    if not e then return nil, ("certbench.%s has no entry for '%s' (certbench doc %s)"):format(mod, fn, mod) end
    return e
  end
  return M.header(topic)
end

-- bash completion ---------------------------------------------------------------------------

-- the options of a command that take a value, and their choices; --profile completes profiles
local function value_options(parser)
  local takes, choices = {}, {}
  for _, o in ipairs(parser._options) do
    if (o._maxargs or 0) > 0 then
      for _, a in ipairs(o._aliases) do takes[a] = true; choices[a] = o._choices end
    end
  end
  return takes, choices
end

local function profile_names()
  local ok, profiles = pcall(require, "certbench.plugins.ca.profiles")
  if not ok then return {} end
  return profiles.names()
end

-- complete(words): words are what follows `certbench` on the line, the last being the word under
-- the cursor. Asked by the completion script at completion time, so site plugins on
-- CERTBENCH_PLUGINS then, and profiles added since, are offered.
function M.complete(words)
  local cur = words[#words] or ""
  local prior = {}
  for i = 1, #words - 1 do
    local w = words[i]
    local g = false
    for _, f in ipairs(GLOBALS) do if w == f then g = true end end
    if not g and w ~= "-q" and w ~= "-v" and w ~= "-h" then prior[#prior + 1] = w end
  end
  local prev = prior[#prior]
  local positional = {}
  for _, w in ipairs(prior) do if w:sub(1, 1) ~= "-" then positional[#positional + 1] = w end end
  local top = {}
  for _, b in ipairs(BUILTINS) do top[#top + 1] = b end
  for _, e in ipairs(plugins.discover()) do top[#top + 1] = e.name end
  if #positional == 0 then
    if cur:sub(1, 1) == "-" then return "words", GLOBALS end
    return "words", top
  end
  local first = positional[1]
  if first == "help" then
    if #positional == 1 then return "words", top end
    if #positional == 2 then
      local p = plugins.load(positional[2])
      return "words", p and (function() local t = {} for n in pairs(p.commands) do t[#t + 1] = n end return t end)() or {}
    end
    return "words", {}
  end
  if first == "run" then return "files", {} end
  if first == "completion" then return "words", #positional == 1 and { "bash" } or {} end
  if first == "doc" then
    if #positional > 1 then return "words", {} end
    local t = { "plugins" }
    for _, m in ipairs(M.modules()) do t[#t + 1] = m.name end
    for _, m in ipairs(M.plugin_apis()) do t[#t + 1] = "plugins." .. m.name end
    return "words", t
  end
  for _, b in ipairs(BUILTINS) do if first == b then return "words", {} end end
  local p = plugins.load(first)
  if not p then return "words", {} end
  local cname = positional[2]
  local offer_commands = false
  if not cname or not p.commands[cname] then
    if #positional == 1 and cur:sub(1, 1) ~= "-" then offer_commands = true end
    cname = p.default
  end
  local names = {}
  if offer_commands then for n in pairs(p.commands) do names[#names + 1] = n end end
  if not cname then return "words", names end
  local parser = cli.command_parser(p, cname)
  local takes, choices = value_options(parser)
  if prev and takes[prev] and prev:sub(1, 1) == "-" then
    if prev == "--profile" then return "words", profile_names() end
    if choices[prev] then return "words", choices[prev] end
    return "files", {}
  end
  if cur:sub(1, 1) == "-" then
    local flags = {}
    for _, o in ipairs(parser._options) do for _, a in ipairs(o._aliases) do flags[#flags + 1] = a end end
    return "words", flags
  end
  -- a default command takes files where a command name could stand (certbench show FILE)
  return "files", names
end

-- the script: every completion asks `certbench completion words -- WORDS...`
function M.bash(program)
  local prog = program and fs.realpath(program) or "certbench"
  prog = "'" .. prog:gsub("'", "'\\''") .. "'"
  local L = {
    "# bash completion for certbench (generated by `certbench completion bash`). It asks certbench",
    "# at each completion, so site plugins (CERTBENCH_PLUGINS) and their profiles are current.",
    "_certbench() {",
    "  local cur=${COMP_WORDS[COMP_CWORD]} prog=" .. prog .. " out kind list",
    "  [[ -x $prog ]] || prog=${COMP_WORDS[0]}",
    "  out=$(\"$prog\" completion words -- \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null) || return",
    "  kind=${out%%$'\\n'*}",
    "  list=''; [[ $out == *$'\\n'* ]] && list=${out#*$'\\n'}",
    "  COMPREPLY=($(compgen -W \"$list\" -- \"$cur\"))",
    "  if [[ $kind == files ]]; then COMPREPLY+=($(compgen -f -- \"$cur\")); fi",
    "}",
    "complete -o filenames -F _certbench certbench",
  }
  return table.concat(L, "\n") .. "\n"
end

-- words(words, from): the text `completion words` prints: the kind, then one candidate a line
function M.words(argv, from)
  local w = {}
  local i = from
  if argv[i] == "--" then i = i + 1 end
  for j = i, #argv do w[#w + 1] = argv[j] end
  local kind, list = M.complete(w)
  table.sort(list)
  return kind .. "\n" .. table.concat(list, "\n")
end

return M
