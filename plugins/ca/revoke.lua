-- certbench.plugins.ca.revoke: revoking a certificate (one index line changes)
-- (methods of the CA object of authority.lua, which copies them in the first time one is called)
local A = require "certbench.plugins.ca.authority"
-- the methods this file adds to the CA object
local CA = {}
local fs = require "certbench.fs"
local options = require "certbench.options"
local db = require "certbench.plugins.ca.db"
local S = A._shared
local now = S.now
local emit = S.emit

-- revoking ----------------------------------------------------------------------------------

local function reason_error(r)
  return nil, string.format("unknown revocation reason '%s' (one of: %s)", tostring(r), table.concat(db.reason_list(), ", "))
end

-- revoke_locked(key, reason, t, extra) under the lock: one line changes, the file is rewritten
-- atomically (index.txt.old keeps the previous one, as openssl does)
function CA:_revoke_locked(key, reason, t)
  local p = self.p
  local text, err = fs.read(p.index)
  if not text then return nil, err end
  local entries, bad = db.parse_index(text)
  if #bad > 0 then
    return nil, string.format("%s line %d: %s (openssl ca would refuse this file too; fix or remove the line)",
      p.index, bad[1].line, bad[1].why)
  end
  local found
  for _, e in ipairs(entries) do
    if e.key == key then found = e end
  end
  if not found then return nil, string.format("serial %s is not in %s: this CA did not issue it", key, p.index) end
  if found.status == "R" then
    local r = found.revocation
    return nil, string.format("serial %s is already revoked (%s%s)", key, require("certbench.ui").time(r.time),
      r.reason and (", " .. r.reason) or "")
  end
  found.status = "R"
  found.revoked = db.revoked_field(t, reason)
  local new = db.replace_line(text, found.line, db.format_line(found))
  if not new then return nil, p.index .. ": could not find line " .. found.line end
  fs.fault("ca.revoke:before")
  local ok, werr = fs.write(p.index, new)
  if not ok then return nil, werr end
  self._idx = nil
  fs.fault("ca.revoke:written")
  fs.write(p.index_old, text, { sync = false }) -- a convenience copy, as openssl leaves it
  return { serial = key, status = "revoked", reason = reason, revoked_at = t, subject = found.subject }
end

-- revoke{serial= | cert=, reason=, time=} -> info | nil, err
function CA:revoke(o)
  self:_check_open()
  if type(o) ~= "table" then error("ca:revoke: expected a table {serial= | cert=, reason=}", 2) end
  options.check(o, { "serial", "cert", "reason", "time" }, "ca:revoke")
  local key
  if o.cert ~= nil then
    local cert, err = self:_own_cert(o.cert)
    if not cert then return nil, err end
    key = db.norm_serial(cert:serial())
  elseif o.serial ~= nil then
    key = db.norm_serial(o.serial)
    if not key then return nil, string.format("'%s' is not a serial number (hexadecimal)", tostring(o.serial)) end
  else
    error("ca:revoke: serial or cert is required", 2)
  end
  local reason
  if o.reason ~= nil then
    reason = db.reason_word(o.reason)
    if not reason then return reason_error(o.reason) end
  end
  local t = o.time or now()
  local info, err = self:_locked(function() return self:_revoke_locked(key, reason, t) end)
  if not info then return nil, err end
  emit("ca.revoked", { ca = self.dir, serial = info.serial, subject = info.subject,
                       reason = info.reason, revoked_at = info.revoked_at })
  return info
end


return CA
