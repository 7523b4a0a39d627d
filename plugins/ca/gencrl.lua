-- certbench.plugins.ca.gencrl: the CA's CRL
-- (methods of the CA object of authority.lua, which copies them in the first time one is called)
local A = require "certbench.plugins.ca.authority"
-- the methods this file adds to the CA object
local CA = {}
local fs = require "certbench.fs"
local options = require "certbench.options"
local db = require "certbench.plugins.ca.db"
local S = A._shared
local stage = S.stage
local now = S.now
local emit = S.emit
local lazy = S.lazy

-- CRLs ----------------------------------------------------------------------------------------

-- gencrl{days= | hours=} -> crl, info | nil, err. The number comes from crlnumber, which moves
-- on before the CRL is written, so a crash never gives two CRLs the same number.
function CA:gencrl(o)
  self:_check_open()
  o = options.check(o, { "days", "hours", "time", "digest" }, "ca:gencrl") or {}
  if o.days ~= nil and o.hours ~= nil then error("ca:gencrl: days or hours, not both", 2) end
  local days, hours = o.days, o.hours
  if days == nil and hours == nil then days = 30 end
  for _, v in ipairs({ days or 1, hours or 1 }) do
    if math.type(v) ~= "integer" or v <= 0 then error("ca:gencrl: days/hours must be a positive integer", 2) end
  end
  local key, kerr = self:_key()
  if not key then return nil, kerr end
  local crl, info = self:_locked(function()
    local p = self.p
    local c, err = self:_index()
    if not c then return nil, err end
    local entries = {}
    for _, e in ipairs(c.entries) do
      if e.status == "R" then
        local r = e.revocation
        entries[#entries + 1] = { serial = e.key, date = r.time, reason = r.reason,
                                  invalidity_date = r.compromise_time }
      end
    end
    local numtext = fs.read(p.crlnumber, 4096)
    local number
    if numtext then
      local nerr
      number, nerr = db.parse_serial_file(numtext, p.crlnumber)
      if not number then return nil, nerr end
    end
    local t = o.time or now()
    local crl, cerr = lazy.crl.new({ issuer = self.cert, key = key, entries = entries, number = number,
      this_update = t, days = days, hours = hours, digest = o.digest })
    if not crl then return nil, cerr end
    local pem = crl:to_pem()
    local file = p.crl .. "/" .. (number or "crl") .. ".pem"
    if not fs.isdir(p.crl) then
      local ok, merr = fs.mkdir(p.crl)
      if not ok then return nil, merr end
    end
    -- everything that needs space first (temporary files), then renames: crlnumber moves on
    -- before the CRL appears, so a crash never gives two CRLs the same number
    local list = {}
    if number then
      list[#list + 1] = { p.crlnumber, db.serial_file_text(db.add_serial(number, 1)), true }
      list[#list + 1] = { p.crlnumber_old, numtext }
    end
    list[#list + 1] = { file, pem, true }
    list[#list + 1] = { p.crl_pem, pem, true }
    local staged, serr = stage(list)
    if not staged then return nil, serr end
    for i, x in ipairs(staged) do
      local ok, rerr = fs.rename(x.tmp, x.path)
      if not ok then
        for j = i, #staged do fs.remove(staged[j].tmp) end
        return nil, rerr
      end
      if i == 1 and number then fs.fault("ca.gencrl:number") end
    end
    return crl, { number = number, file = file, current = p.crl_pem, revoked = #entries,
                  this_update = t, next_update = t + (days and days * 86400 or hours * 3600) }
  end)
  if not crl then return nil, info end
  emit("crl.published", { ca = self.dir, file = info.file, current = info.current, number = info.number,
                          this_update = info.this_update, next_update = info.next_update,
                          revoked = info.revoked })
  return crl, info
end

return CA
