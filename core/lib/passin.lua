-- certbench.passin (internal): opening PFX files and private keys that may need a password,
-- for the plugins that read what users hand them (show, pfx, vcs): the password from --passin
-- (pass:TEXT, env:VAR, file:PATH, fd:N, stdin) or, without one, asked on the terminal, and a
-- wrong or missing one said in one line naming the file.
local secret = require "certbench.secret"
local pkey = require "certbench.pkey"
local pkcs12 = require "certbench.pkcs12"

local M = {}

M.SOURCES = "pass:TEXT, env:VAR, file:PATH, fd:N or stdin"

-- password(spec, what) -> secret | nil, err: the password given on the command line, or the
-- terminal prompt when there is none (which fails without a terminal)
function M.password(spec, what, opts)
  if spec ~= nil then
    local s, err = secret.get(spec, { what = what })
    if not s then return nil, err end
    return s
  end
  return secret.get(nil, { prompt = "Enter " .. what .. ": ", confirm = opts and opts.confirm })
end

-- new_password(spec, what[, opts]) -> secret | nil, err: a password that will protect a file
-- (--passout, --key-passout). Empty only when asked for with pass: (as pfx build's help says):
-- an empty file:, stdin at its end (</dev/null) or Enter at the prompt gave a file protected by
-- nothing, silently
function M.new_password(spec, what, opts)
  local s, err = M.password(spec, what, opts)
  if not s then return nil, err end
  if s:len() == 0 and not (spec and spec:sub(1, 5) == "pass:") then
    s:close()
    return nil, ("%s gave an empty password (an empty password is pass:)"):format(spec or "the prompt")
  end
  return s
end

-- no_password(what, prompt_error): the message when a password is needed and none came
function M.no_password(what, perr)
  local why = tostring(perr):find("no terminal", 1, true) and "no terminal to ask on" or tostring(perr)
  return ("%s: give the password with --passin (%s); %s"):format(what, M.SOURCES, why)
end

local function close(s)
  if s and secret.is_secret(s) then s:close() end
end
M.close = close

-- open_pfx(data, name, passin) -> result of pkcs12.parse | nil, err, code
-- The empty password is tried first (pkcs12 tries "" and absent); only a PFX that needs a
-- password asks for one, and then a wrong one is said to be wrong.
function M.open_pfx(data, name, passin)
  local pw, perr
  if passin ~= nil then
    pw, perr = M.password(passin, "the password of " .. name)
    if not pw then return nil, name .. ": --passin: " .. perr, "password" end
  end
  local r, err, code = pkcs12.parse(data, pw, { name = name })
  if not r and code == "bad_password" and passin == nil then
    pw, perr = M.password(nil, "the password of " .. name)
    if not pw then return nil, M.no_password(name .. ": the PFX is protected by a password", perr), "password_needed" end
    r, err, code = pkcs12.parse(data, pw, { name = name })
  end
  close(pw)
  if not r then
    if code == "bad_password" then err = err:gsub("^(.-): wrong password", "%1: wrong password for the PFX", 1) end
    return nil, err, code
  end
  return r
end

-- load_key(data, name, passin) -> key | nil, err, code. data: PEM text (a block with its
-- headers) or DER. An encrypted key takes --passin, or asks.
function M.load_key(data, name, passin)
  local k, err, code = pkey.load(data, { name = name })
  if k or code ~= "encrypted" then return k, err, code end
  local pw, perr = M.password(passin, "the password of the private key in " .. name)
  if not pw then
    if passin ~= nil then return nil, name .. ": --passin: " .. perr, "password" end
    return nil, M.no_password(name .. ": the private key is encrypted", perr), "password_needed"
  end
  k, err, code = pkey.load(data, { name = name, password = pw })
  close(pw)
  if not k and code == "bad_password" then
    return nil, name .. ": wrong password for the private key", code
  end
  return k, err, code
end

return M
