-- crl/trust.lua: the trusted CAs a CRL must be signed by, found by issuer name and authority
-- key identifier, as a relying party finds them. Files may be PEM bundles (the "Trusted CA
-- certificate" file of an appliance, with CRLs embedded in it too), DER certificates, PKCS#7
-- bundles (.p7b/.p7c) or ZIP/GZIP archives of those.
--   trust.load(paths) -> set | nil, err
--   set:add(cert) / set:add_der(der) -> true (added) | false (already there)
--   set:count()                      the number of distinct CAs
--   set:all() -> { cert, ... }       every CA, parsed (for small sets: a chain, a CA file)
--   set:each() -> iterator of der, subject_hash (no parsing); set:der(i)
--   set:issuer_of(crl) -> cert | nil, why, code ("untrusted" | "signature")
--   set:candidates(name[, keyid]) -> { cert, ... } whose subject is name (and SKI keyid)
--   set.crls                         CRLs found in the files: { {crl=, source=}, ... }
--
-- A mirror may trust thousands of CAs (one per source) and looks at each once a run, so the
-- set keeps each CA's DER on disk (fs.spool), indexed by subject hash, and parses a CA only
-- when a CRL names it: a parsed certificate costs BoringSSL about 6 KB the Lua collector never
-- sees, its DER in memory a few hundred bytes, its slot in the spool one integer. The last
-- CACHE_SIZE CAs parsed are kept for CRLs that come again.
--   trust.new([{spool_dir = dir}]), trust.load(paths[, {spool_dir = dir}])
local x509 = require "certbench.x509"
local fs = require "certbench.fs"
local input = require "certbench.input"
local crl = require "certbench.crl"
local store = require "certbench.store"

local M = {}
local Set = {}
Set.__index = Set

local CACHE_SIZE = 64

function M.new(opts)
  return setmetatable({ ders = {}, hashes = {}, by_hash = {}, crls = {}, files = {},
                        spool = fs.spool(opts and opts.spool_dir), cache = {}, ncache = 0 }, Set)
end

-- subject_hash(cert): OpenSSL's subject name hash, the name object freed at once
local function subject_hash(cert)
  local nm = cert:subject()
  local h = nm:hash()
  nm:close()
  return h
end

-- indexes(self, h) -> the indexes of the CAs of subject hash h
local function indexes(self, h)
  local l = self.by_hash[h]
  if type(l) == "number" then return { l } end
  return l or {}
end

-- index(self, der, h) -> true, or false when this very certificate is there already (the
-- DER of the CAs of the same subject hash compared: rarely more than one)
local function index(self, der, h)
  for _, j in ipairs(indexes(self, h)) do
    if self:der(j) == der then return false end
  end
  local i = #self.ders + 1
  self.ders[i], self.hashes[i] = self.spool:put(der), h
  -- most names are held by one CA: its index, not a table of one
  local l = self.by_hash[h]
  if l == nil then self.by_hash[h] = i
  elseif type(l) == "number" then self.by_hash[h] = { l, i }
  else l[#l + 1] = i end
  return true
end

-- der(i): the DER of the CA of index i
function Set:der(i) return self.spool:read(self.ders[i]) end

function Set:add(cert)
  return index(self, cert:to_der(), subject_hash(cert))
end

-- add_der(der) -> true | false (already there) | nil, err
function Set:add_der(der)
  local cert, err = x509.load(der)
  if not cert then return nil, err end
  local h = subject_hash(cert)
  cert:close()
  return index(self, der, h)
end

function Set:count() return #self.ders end

-- parsed(i): the CA of index i as a certificate, from the cache when it was parsed lately.
-- Certificates are dropped from the cache, never closed: a caller may still hold one.
function Set:parsed(i)
  local c = self.cache[i]
  if c then return c end
  if self.ncache >= CACHE_SIZE then
    self.cache, self.ncache = {}, 0
  end
  c = assert(x509.load(self:der(i)))
  self.cache[i] = c
  self.ncache = self.ncache + 1
  return c
end

function Set:all()
  local out = {}
  for i = 1, #self.ders do out[i] = self:parsed(i) end
  return out
end

function Set:each()
  local i = 0
  return function()
    i = i + 1
    if self.ders[i] == nil then return nil end
    return self:der(i), self.hashes[i]
  end
end

-- add_file(path) -> ncerts, ncrls | nil, err: every certificate (a trust anchor) and CRL the
-- file holds, read through certbench.input (PEM, DER, PKCS#7, ZIP, tar...); a member it does not
-- understand fails the file. A big PEM bundle is read a piece at a time (input.read_pieces), each
-- CA going to the spool as it comes: a bundle of thousands of CAs is never whole in memory, as
-- text or as objects. CRLs found in it are kept in memory (set.crls: what the caller asked for).
function Set:add_file(path)
  local n, m, seen = 0, 0, 0
  local ok, err = input.read_pieces(path, function(r)
    if input.problem(r) then return nil, (input.problem(r)) end
    local certs = input.of(r, "certificate")
    for i, o in ipairs(certs) do
      seen = seen + 1
      local added, derr = self:add_der(o.der)
      if added == nil then
        return nil, ("%s: certificate %d%s: %s"):format(path, seen,
          o.from ~= path and (" (" .. o.from .. ")") or "", tostring(derr))
      end
      if added then n = n + 1 end
      certs[i] = nil
    end
    for _, o in ipairs(input.of(r, "crl")) do
      local c = crl.load(o.der)
      if c then
        self.crls[#self.crls + 1] = { crl = c, source = path }
        m = m + 1
      end
    end
    return true
  end)
  if not ok then return nil, err end
  if seen == 0 then
    -- a file of CRLs only is no trust anchor: say so rather than "not a certificate"
    for i = #self.crls, 1, -1 do
      if self.crls[i].source == path and m > 0 then table.remove(self.crls, i) m = m - 1 end
    end
    return nil, ("%s: no CA certificate in it"):format(path)
  end
  self.files[#self.files + 1] = path
  return n, m
end

-- load(paths[, opts]) -> set | nil, err
function M.load(paths, opts)
  local s = M.new(opts)
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
  for _, i in ipairs(indexes(self, name:hash())) do
    local c = self:parsed(i)
    if c:subject():equals(name) then
      local ski = c:ski()
      if keyid == nil or ski == nil or ski == keyid then out[#out + 1] = c end
    end
  end
  return out
end

M.can_sign_crls = store.can_sign_crls

-- issuer_of(c) -> the trusted certificate whose key signed CRL c | nil, why, code
function Set:issuer_of(c)
  return store.find_issuer(c, self:candidates(c:issuer()), { noun = "trusted CA", among = "the trusted CAs" })
end

return M
