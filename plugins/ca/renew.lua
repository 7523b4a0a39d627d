-- certbench.plugins.ca.renew: renewing a certificate (a new one with the old one's subject, key and extensions)
-- (methods of the CA object of authority.lua, which copies them in the first time one is called)
local A = require "certbench.plugins.ca.authority"
-- the methods this file adds to the CA object
local CA = {}
local fs = require "certbench.fs"
local options = require "certbench.options"
local db = require "certbench.plugins.ca.db"
local S = A._shared
local cert_path = S.cert_path
local oneline_of = S.oneline_of
local now = S.now
local emit = S.emit
local emit_issued = S.emit_issued

-- renewing --------------------------------------------------------------------------------------

-- renew{serial= | cert=, days=, revoke_old=} -> cert, details | nil, err: a new certificate with
-- the subject, public key and extensions of an old one (SKI/AKI made anew), a new serial and a
-- new validity; revoke_old revokes the old one as superseded, under the same lock.
function CA:renew(o)
  self:_check_open()
  if type(o) ~= "table" then error("ca:renew: expected a table {serial= | cert=, days=}", 2) end
  options.check(o, { "serial", "cert", "days", "revoke_old", "not_before" }, "ca:renew")
  local old
  if o.cert ~= nil then
    local err
    old, err = self:_own_cert(o.cert)
    if not old then return nil, err end
  elseif o.serial ~= nil then
    local key = db.norm_serial(o.serial)
    if not key then return nil, string.format("'%s' is not a serial number (hexadecimal)", tostring(o.serial)) end
    local data, err = fs.read(cert_path(self, key))
    if not data then return nil, "serial " .. key .. ": " .. err end
    old, err = self:_own_cert(data)
    if not old then return nil, err end
  else
    error("ca:renew: serial or cert is required", 2)
  end
  local key = db.norm_serial(old:serial())
  local days = o.days
  if days == nil then
    days = math.max(1, (old:not_after() - old:not_before() + 43200) // 86400)
  elseif math.type(days) ~= "integer" or days <= 0 then
    error("ca:renew: days must be a positive integer", 2)
  end
  local exts = {}
  for _, e in ipairs(old:extensions() or {}) do
    if e.oid ~= "2.5.29.14" and e.oid ~= "2.5.29.35" then
      exts[#exts + 1] = { oid = e.oid, value_der = e.der, critical = e.critical }
    end
  end
  local subject = old:subject()
  local nb = o.not_before or now()
  local item = {
    opts = { subject = subject, issuer = self.cert, public_key = old:public_key(), not_before = nb,
             not_after = nb + days * 86400, extensions = #exts > 0 and exts or nil },
    oneline = oneline_of(subject), profile = "renewal of " .. key,
  }
  local ckey, kerr = self:_key()
  if not ckey then return nil, kerr end
  local res, err = self:_locked(function()
    local c, ierr = self:_index()
    if not c then return nil, ierr end
    local e = c.by_key[key]
    if not e then return nil, string.format("serial %s is not in %s: this CA did not issue it", key, self.p.index) end
    if e.status == "R" then return nil, string.format("serial %s is revoked: issue a new certificate from a new CSR instead", key) end
    local out, cerr = self:_commit({ item }, ckey, { ignore_serial = o.revoke_old and key or nil })
    if not out then return nil, cerr end
    if o.revoke_old then
      local r, rerr = self:_revoke_locked(key, "superseded", now())
      if not r then return nil, "renewed as " .. out[1].serial .. ", but revoking " .. key .. " failed: " .. rerr end
      out[1].revoked_old = key
    end
    return out
  end)
  if not res then return nil, err end
  res[1].renewed = key
  emit_issued(self, res[1])
  if res[1].revoked_old then
    emit("ca.revoked", { ca = self.dir, serial = key, subject = subject:oneline(), reason = "superseded" })
  end
  return res[1].cert, res[1]
end

return CA
