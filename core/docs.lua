-- certbench.docs: the man page and the bash completion, generated from the same plugin and
-- argparse definitions as --help, so they cannot drift apart.
local plugins = require "certbench.plugins"
local cli = require "certbench.cli"
local cb = require "certbench"

local M = {}

local BUILTINS = { "run", "plugins", "help", "version", "completion", "man" }
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

local function options_of(parser)
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
  add(".SH ENVIRONMENT")
  add(".TP"); add("\\fBCERTBENCH_PLUGINS\\fR")
  add("colon\\-separated folders searched for plugins before ~/.local/share/certbench/plugins and the built\\-in ones")
  add(".TP"); add("\\fBCERTBENCH_HOME\\fR")
  add("the folder holding core/ and plugins/ (found from the program's location by default: the source tree, or PREFIX/share/certbench once installed, the Lua code being inside the program)")
  add(".SH EXIT STATUS")
  add("0 success, 1 the job failed, 2 usage error, 3 revoked or invalid (checks).")
  return table.concat(L, "\n") .. "\n"
end

-- bash completion: plugin names, their commands, each command's options (and their choices)
function M.bash()
  local L = {}
  local function add(s) L[#L + 1] = s end
  local cat = catalogue()
  local top = {}
  for _, b in ipairs(BUILTINS) do top[#top + 1] = b end
  for _, p in ipairs(cat) do top[#top + 1] = p.name end
  add("# bash completion for certbench " .. cb.version .. " (generated by `certbench completion bash`)")
  add("_certbench() {")
  add("  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i w plugin='' cmd=''")
  add("  for ((i = 1; i < COMP_CWORD; i++)); do")
  add("    w=${COMP_WORDS[i]}")
  add("    [[ $w == -* ]] && continue")
  add("    if [[ -z $plugin ]]; then plugin=$w; elif [[ -z $cmd ]]; then cmd=$w; fi")
  add("  done")
  add("  if [[ -z $plugin ]]; then")
  add("    COMPREPLY=($(compgen -W '" .. table.concat(top, " ") .. " " .. table.concat(GLOBALS, " ") .. "' -- \"$cur\")); return")
  add("  fi")
  add("  case $plugin in")
  add("    run) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;")
  add("    help) if [[ -z $cmd ]]; then COMPREPLY=($(compgen -W '" .. table.concat(top, " ") .. "' -- \"$cur\")); fi; return ;;")
  add("    completion) COMPREPLY=($(compgen -W 'bash' -- \"$cur\")); return ;;")
  for _, p in ipairs(cat) do
    local names = {}
    for _, c in ipairs(p.commands) do names[#names + 1] = c.name end
    add("    " .. p.name .. ")")
    add("      if [[ -z $cmd ]]; then COMPREPLY=($(compgen -W '" .. table.concat(names, " ") .. "' -- \"$cur\")); [[ ${#COMPREPLY[@]} -gt 0 ]] && return; fi")
    add("      case $cmd in")
    for _, c in ipairs(p.commands) do
      local opts = options_of(c.parser)
      local flags, choice_cases = {}, {}
      for _, o in ipairs(opts) do
        for _, n in ipairs(o.aliases) do flags[#flags + 1] = n end
        if o.choices then
          choice_cases[#choice_cases + 1] = "          " .. table.concat(o.aliases, "|") ..
            ") COMPREPLY=($(compgen -W '" .. table.concat(o.choices, " ") .. "' -- \"$cur\")); return ;;"
        end
      end
      add("        " .. c.name .. ")")
      if #choice_cases > 0 then
        add("          case $prev in")
        for _, cc in ipairs(choice_cases) do add("  " .. cc) end
        add("          esac")
      end
      add("          if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '" .. table.concat(flags, " ") .. "' -- \"$cur\")); else COMPREPLY=($(compgen -f -- \"$cur\")); fi ;;")
    end
    add("      esac ;;")
  end
  add("  esac")
  add("}")
  add("complete -o filenames -F _certbench certbench")
  return table.concat(L, "\n") .. "\n"
end

return M
