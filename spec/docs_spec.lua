-- man page and bash completion come from the same definitions as --help
local h = require "support.helper"
local site = h.root .. "/tests/site-plugins"

local function cb(args)
  return h.run3("CERTBENCH_PLUGINS=" .. h.q(site) .. " " .. h.q(h.bin) .. " " .. args)
end

local function complete(words)
  -- load the generated script into bash, set COMP_WORDS as bash would, print COMPREPLY
  local dir = h.tmpdir()
  local script = cb("completion bash")
  h.write(dir .. "/c.bash", script)
  local n = select(2, words:gsub("%S+", ""))
  local trailing = words:sub(-1) == " "
  local cword = trailing and n or n - 1
  local out = h.run(string.format(
    "bash -c 'source %s; COMP_WORDS=(%s%s); COMP_CWORD=%d; _certbench; printf \"%%s\\n\" \"${COMPREPLY[@]}\"'",
    dir .. "/c.bash", words, trailing and "\"\"" or "", cword))
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
  it("refuses shells it does not know", function()
    local _, err, rc = cb("completion zsh")
    assert.equal(2, rc)
    assert.matches("only 'bash' is supported", err, 1, true)
  end)
end)
