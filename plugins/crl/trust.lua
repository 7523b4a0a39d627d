-- crl/trust.lua: the trusted CAs a CRL must be signed by, found by issuer name and authority
-- key identifier, as a relying party finds them. Files may be PEM bundles (the "Trusted CA
-- certificate" file of an appliance, with CRLs embedded in it too) or DER certificates.
--   trust.load(paths) -> set | nil, err
--   set:add(cert)
--   set:issuer_of(crl) -> cert | nil, why, code ("untrusted" | "signature")
--   set:candidates(name[, keyid]) -> { cert, ... } whose subject is name (and SKI keyid)
--   set.certs, set.crls (CRLs found in the files)
local x509 = require "certbench.x509"
local fs = require "certbench.fs"
local archive = require "certbench.archive"
local crl = require "certbench.crl"

local M = {}
local Set = {}
Set.__index = Set

function M.new()
  return setmetatable({ certs = {}, crls = {}, by_hash = {}, files = {}, seen = {} }, Set)
end

function Set:add(cert)
  -- by fingerprint: comparing with every certificate added (==) is quadratic, 0.26 s for a
  -- bundle of 2000 CAs
  local fp = cert:fingerprint()
  if self.seen[fp] then return false end
  self.seen[fp] = true
  self.certs[#self.certs + 1] = cert
  local h = cert:subject():hash()
  local l = self.by_hash[h] or {}
  l[#l + 1] = cert
  self.by_hash[h] = l
  return true
end

-- add_file(path) -> ncerts, ncrls | nil, err
function Set:add_file(path)
  local data, err = fs.read(path, 64 << 20)
  if not data then return nil, err end
  local certs, cerr = x509.load_all(data)
  if not certs then
    -- a file of CRLs only is no trust anchor: say so rather than "not a certificate"
    return nil, ("%s: no CA certificate in it (%s)"):format(path, tostring(cerr))
  end
  local n = 0
  for _, c in ipairs(certs) do if self:add(c) then n = n + 1 end end
  local m = 0
  if archive.detect(data) == "pem" and data:find("BEGIN X509 CRL", 1, true) then
    for _, c in ipairs(crl.load_all(data) or {}) do
      self.crls[#self.crls + 1] = { crl = c, source = path }
      m = m + 1
    end
  end
  self.files[#self.files + 1] = path
  return n, m
end

-- load(paths) -> set | nil, err
function M.load(paths)
  local s = M.new()
  if type(paths) == "string" then paths = { paths } end
  for _, p in ipairs(paths or {}) do
    local n, err = s:add_file(p)
    if not n then return nil, err end
  end
  return s
end

-- candidates(name[, keyid]): certificates whose subject equals name; with keyid (an AKI),
-- those whose SKI is keyid or who have none
function Set:candidates(name, keyid)
  local out = {}
  for _, c in ipairs(self.by_hash[name:hash()] or {}) do
    if c:subject():equals(name) then
      local ski = c:ski()
      if keyid == nil or ski == nil or ski == keyid then out[#out + 1] = c end
    end
  end
  return out
end

local function can_sign_crls(cert)
  local ku = cert:key_usage()
  if not ku or #ku == 0 then return true end
  for _, u in ipairs(ku) do if u == "cRLSign" then return true end end
  return false
end
M.can_sign_crls = can_sign_crls

-- issuer_of(c) -> the trusted certificate whose key signed CRL c | nil, why, code
function Set:issuer_of(c)
  local name, aki = c:issuer(), c:aki()
  local named = self:candidates(name)
  if #named == 0 then
    return nil, ("issuer %s is not among the trusted CAs"):format(tostring(name)), "untrusted"
  end
  local keyed = self:candidates(name, aki)
  if #keyed == 0 then
    return nil, ("no trusted CA %s has the key %s the CRL names (authority key identifier)")
      :format(tostring(name), aki), "untrusted"
  end
  local why
  for _, ca in ipairs(keyed) do
    if not can_sign_crls(ca) then
      why = why or ("the trusted CA %s may not sign CRLs (keyUsage without cRLSign)"):format(tostring(name))
    else
      local ok, reason = c:verify(ca)
      if ok then return ca end
      why = ("the signature does not verify with the trusted CA %s (%s)"):format(tostring(name), tostring(reason))
    end
  end
  return nil, why, "signature"
end

return M
