-- certbench.secret: passwords from the sources OpenSSL users know.
--   secret.get(spec[, {prompt = "text", confirm = bool, what = "CA key"}]) -> secret | nil, err
--     spec: "pass:TEXT", "env:VAR", "file:PATH", "fd:N", "stdin", or nil for a terminal prompt
--     (with confirmation when opts.confirm, for new passwords). Another opts key raises.
--   secret.new(text) -> secret;  secret.is_secret(v)
--   secret.check_spec(spec) -> true | nil, err   the form of a source, without reading it (a
--     mistake in it is a usage error: the CLI checks every --pass* option with this)
--   secret.read_fd(fd, what) -> secret | nil, err     the first line read from a descriptor
--   secret.read_file(path) -> secret | nil, err       the first line of a file
--   secret.prompt(text[, confirm]) -> secret | nil, err   on the terminal, echo off
--   A secret is a userdata: s:reveal() gives the text, s:close() wipes it (also at collection and
--   with `local s <close> = ...`), s:len() its length in bytes, s:equals(other) compares in
--   constant time; crypto functions take it directly, so the text never has to become a Lua
--   string.
local c = require "_certbench.secret"
local options = require "certbench.options"

local M = { new = c.new, is_secret = c.is_secret, read_fd = c.read_fd, read_file = c.read_file,
            prompt = c.prompt }

local SOURCES = "pass:TEXT, env:VAR, file:PATH, fd:N or stdin"

-- check_spec(spec): pass:, env:VAR, file:PATH, fd:N or stdin, spelt right
function M.check_spec(spec)
  if type(spec) ~= "string" then return nil, "a password source is text (" .. SOURCES .. ")" end
  local kind, rest = spec:match("^(%a+):(.*)$")
  if spec == "stdin" or kind == "pass" then return true end
  if kind == "env" or kind == "file" then
    if rest == "" then return nil, kind .. ": needs a " .. (kind == "env" and "variable name" or "path") end
    return true
  end
  if kind == "fd" then
    local n = math.tointeger(tonumber(rest))
    if not n or n < 0 then return nil, "fd:" .. rest .. ": not a file descriptor number" end
    return true
  end
  return nil, "unknown password source '" .. spec .. "' (use " .. SOURCES .. ")"
end

function M.get(spec, opts)
  opts = options.check(opts, { "prompt", "confirm", "what" }, "secret.get") or {}
  if spec == nil or spec == "" then
    local s, err = c.prompt(opts.prompt or ("Enter " .. (opts.what or "password") .. ": "))
    if not s then return nil, err end
    if opts.confirm then
      local again, err2 = c.prompt("Verifying - " .. (opts.prompt or ("Enter " .. (opts.what or "password") .. ": ")))
      if not again then s:close(); return nil, err2 end
      local same = s:equals(again)
      again:close()
      if not same then s:close(); return nil, "the passwords do not match" end
    end
    return s
  end
  if M.is_secret(spec) then return spec end
  if type(spec) ~= "string" then
    error("secret.get: the password source must be a string (" .. SOURCES .. ")", 2)
  end
  local kind, rest = spec:match("^(%a+):(.*)$")
  if spec == "stdin" then
    return c.read_fd(0, "stdin")
  elseif kind == "pass" then
    return c.new(rest)
  elseif kind == "env" then
    if rest == "" then return nil, "env: needs a variable name" end
    local v = os.getenv(rest)
    if v == nil then return nil, "env:" .. rest .. ": the environment variable is not set" end
    return c.new(v)
  elseif kind == "file" then
    if rest == "" then return nil, "file: needs a path" end
    return c.read_file(rest)
  elseif kind == "fd" then
    local n = tonumber(rest)
    if not n or n ~= math.floor(n) or n < 0 then return nil, "fd:" .. rest .. ": not a file descriptor number" end
    return c.read_fd(math.tointeger(n), "fd:" .. rest)
  end
  return nil, "unknown password source '" .. spec .. "' (use " .. SOURCES .. ")"
end

return M
