-- certbench.archive: what CRLs and certificates arrive in, from content alone.
--   archive.detect(data)            -> "zip" | "gzip" | "tar" | "bzip2" | "xz" | "pem" | "der" | "pkcs7"
--                                      | "unknown"
--   archive.pem_labels(data)        -> { "X509 CRL", "CERTIFICATE", ... } in order
--   archive.members(data[, opts])   -> { {name=, data=[, not_a_file=]}, ... } | nil, err, code
--   archive.iter(data[, opts])      for m in archive.iter(data) do ... end (raises on a failure)
--   archive.open(data[, opts])      -> reader | nil, err, code;
--                                      reader:next() -> member | nil at the end | nil, err, code
--   archive.crls(data[, opts])      -> { {name=, der=}, ... } | nil, err, code (every CRL found)
--   archive.certs(data[, opts])     -> { {name=, der=}, ... } | nil, err, code (every certificate)
--   archive.pkcs7(der) -> { certs = {der...}, crls = {der...} } | nil, err, "format"
--   archive.der_split(data) -> { der, ... } | nil   (DER elements back to back)
--   archive.gzip(data[, {name=, level=, mtime=}])                     -> gzip bytes
--   archive.strip_gz(base)          -> the member name of a compressed file base (x.gz -> x)
--   archive.zip({ {name=, data=[, method="store"]}, ... }[, {mtime=}]) -> zip bytes | nil, err
--   archive.der_kind(der)          -> "crl" | "cert" | "pkcs7" | "other", by shape, without parsing
--
-- opts: the limits below (archive.defaults), plus name= (the file or URL the data came from:
-- it prefixes error messages and names the member of a plain or gzip file); any other key
-- raises, naming the function and the key (so do gzip's and zip's).
-- ZIP, GZIP, tar (plain, .gz, .bz2, .xz: libarchive, loaded on first use), bzip2 and xz members
-- that are archives again are expanded up to max_depth levels (the outer archive is level 1; a
-- tar inside a gzip, bzip2 or xz file is one level with it, as a .tar.gz is one archive);
-- folders are skipped; a member that is not a regular file (a symbolic link in a tar) is
-- returned with data "" and not_a_file saying what it is; a GZIP file is one member
-- (concatenated gzip members inflate to one file, as gunzip does). Anything else is one
-- member, itself. Every limit applies to every kind.
-- Member names come from the archive and are untrusted labels: never use them as paths (a
-- member named "../../etc/x" is read as any other, and its name is only ever shown).
--
-- Error codes (the third value of every failure; stable: callers decide on them, never on the
-- message text; archive.CODES maps each to its description):
--   "max_members", "max_member", "max_total", "max_ratio", "max_depth"   over that limit (a zip
--       bomb stops at max_ratio or max_total)
--   "truncated"    the data ends early (a cut gzip stream or zip member, a zip without its end
--                  of central directory)
--   "corrupt"      bad data: a CRC mismatch, a bad central directory, corrupt compressed data,
--                  trailing garbage, a tar that libarchive refuses
--   "encrypted"    an encrypted member (certbench never reads them)
--   "unsupported"  a compression method libzip does not support
--   "unavailable"  libzip or libarchive cannot be loaded
--   "nomem"        out of memory
--   "format"       (crls, certs, pkcs7) a PEM block or PKCS#7 inside that does not decode
local c = require "_certbench.archive"
local pem = require "_certbench.pem"
local options_check = require("certbench.options").check

local M = {}

M.CODES = {
  max_members = "more members than max_members", max_member = "a member larger than max_member",
  max_total = "more bytes inflated in all than max_total", max_ratio = "an inflation ratio past max_ratio",
  max_depth = "archives nested deeper than max_depth", truncated = "the data ends early",
  corrupt = "bad archive data", encrypted = "an encrypted member", unsupported = "an unsupported compression method",
  unavailable = "libzip or libarchive cannot be loaded", nomem = "out of memory",
  format = "a PEM block or PKCS#7 inside that does not decode",
}

M.defaults = {
  max_members = 1000,          -- members in all, nested ones included
  max_total = 256 << 20,       -- bytes inflated in all
  max_member = 64 << 20,       -- bytes of one member
  max_ratio = 200,             -- inflated:compressed, per member and for the whole archive
  ratio_grace = 1 << 20,       -- max_ratio applies past this many inflated bytes
  max_depth = 2,               -- archive levels expanded (a ZIP in a ZIP is level 2)
}

local LIMITS = { "max_members", "max_total", "max_member", "max_ratio", "ratio_grace", "max_depth" }
local KNOWN = { "name" } -- with LIMITS: the keys of opts
for _, k in ipairs(LIMITS) do KNOWN[#KNOWN + 1] = k end

local function checkdata(data, fname)
  if type(data) ~= "string" then
    error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname, type(data)), 3)
  end
end

local function options(opts, fname)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error(("bad argument #2 to '%s' (table expected, got %s)"):format(fname, type(opts)), 3)
  end
  options_check(opts, KNOWN, "archive." .. fname, 4)
  local o = {}
  for _, k in ipairs(LIMITS) do
    local v = opts[k]
    if v == nil then
      v = M.defaults[k]
    elseif math.type(v) ~= "integer" or v < 0 then
      error(("%s: option '%s' must be a non-negative integer"):format(fname, k), 3)
    end
    o[k] = v
  end
  if opts.name ~= nil and type(opts.name) ~= "string" then
    error(("%s: option 'name' must be a string"):format(fname), 3)
  end
  o.name = opts.name
  return o
end

function M.detect(data)
  checkdata(data, "detect")
  return c.detect(data)
end

function M.pem_labels(data)
  checkdata(data, "pem_labels")
  local labels = {}
  for _, b in ipairs((pem.blocks(data))) do
    if b.error ~= "mangled" then labels[#labels + 1] = b.label end
  end
  return labels
end

-- der_kind(der) -> "crl" | "cert" | "pkcs7" | "other", by shape, without parsing
M.der_kind = c.der_kind

local function basename(p) return p:match("([^/]*)$") end
local function dirpart(p) return p:match("^(.*/)") or "" end

-- gunzip's naming: x.gz -> x, x.tgz -> x.tar (bunzip2 and unxz likewise)
local function strip_gz(base)
  local s = base:match("^(.+)%.[gG][zZ]$") or base:match("^(.+)%.gzip$") or base:match("^(.+)%.bz2$")
    or base:match("^(.+)%.xz$")
  if s then return s end
  s = base:match("^(.+)%.tgz$") or base:match("^(.+)%.tbz2?$") or base:match("^(.+)%.txz$")
  if s then return s .. ".tar" end
  return base
end

-- strip_gz(base) -> the name of the one member of a compressed file called base (crl.scan_file
-- inflating a gzip CRL names it so when the header has no file name)
M.strip_gz = strip_gz

local CONTAINERS = { zip = true, gzip = true, tar = true, bzip2 = true, xz = true }
local COMPRESSORS = { gzip = true, bzip2 = true, xz = true }
M.CONTAINERS = CONTAINERS

-- open_level: a C reader for one archive. name: the member holding it (nil at the top).
-- Members of a zip or tar are named by their path in it (prefixed "inner.zip/" when nested);
-- the one member of a compressed file keeps its name without the .gz (or the name the gzip
-- header gives).
local function open_level(data, kind, budget, name, top_name, in_compressor)
  local ckind = (kind == "bzip2" or kind == "xz") and "tar" or kind
  if kind == "tar" and in_compressor then -- x.tar.gz: "x.tar.gz: a.der", not "x.tar/a.der"
    return c.reader(data, ckind, budget, dirpart(name), "data")
  end
  if kind == "zip" or kind == "tar" then
    return c.reader(data, ckind, budget, name and (name .. "/") or "", "data")
  end
  local label = name or (top_name and basename(top_name)) or nil
  if label then return c.reader(data, ckind, budget, dirpart(label), strip_gz(basename(label))) end
  return c.reader(data, ckind, budget, "", "data")
end

local Reader = {}
Reader.__index = Reader

function Reader:close()
  for i = #self.stack, 1, -1 do self.stack[i]:close() end
  self.stack = {}
  self.single = nil
end
Reader.__close = Reader.close

function Reader:fail(err, code)
  if self.o.name then err = self.o.name .. ": " .. err end
  self.err, self.code = err, code
  self:close()
  return nil, err, code
end

-- reader:next() -> {name=, data=} | nil at the end | nil, err, code (and the same ever after)
function Reader:next()
  if self.err then return nil, self.err, self.code end
  if self.single then
    local m = self.single
    self.single = nil
    return m
  end
  while true do
    local r = self.stack[#self.stack]
    if not r then return nil end
    -- on a failure: nil, err, code
    local name, data, not_a_file = r:next()
    if name == nil then
      if data ~= nil then return self:fail(data, not_a_file) end
      r:close()
      self.stack[#self.stack] = nil
      self.levels[#self.levels] = nil
    else
      local kind = not not_a_file and c.detect(data)
      if not CONTAINERS[kind] then return { name = name, data = data, not_a_file = not_a_file } end
      -- a tar straight inside a gzip/bzip2/xz file is the same level (a .tar.gz)
      local same = kind == "tar" and COMPRESSORS[self.kinds[#self.kinds]]
      local level = self.levels[#self.levels] + (same and 0 or 1)
      if level > self.o.max_depth then
        return self:fail(("member %s: archives nested deeper than %d levels (max_depth)")
          :format(name, self.o.max_depth), "max_depth")
      end
      local inner, err, code = open_level(data, kind, self.budget, name, nil, same)
      if not inner then return self:fail(("member %s: %s"):format(name, err), code) end
      self.stack[#self.stack + 1] = inner
      self.levels[#self.levels + 1] = level
      self.kinds[#self.kinds + 1] = kind
    end
  end
end

-- used() -> members read, bytes inflated so far
function Reader:used()
  return self.budget:used()
end

local function open(data, o)
  local budget = c.budget(o.max_members, o.max_total, o.max_member, o.max_ratio, o.ratio_grace, #data)
  local self = setmetatable({ o = o, budget = budget, stack = {}, levels = {}, kinds = {} }, Reader)
  local kind = c.detect(data)
  if CONTAINERS[kind] and o.max_depth >= 1 then
    local r, err, code = open_level(data, kind, budget, nil, o.name)
    if not r then
      if o.name then err = o.name .. ": " .. err end
      return nil, err, code
    end
    self.stack[1], self.levels[1], self.kinds[1] = r, 1, kind
  else
    self.single = { name = o.name and basename(o.name) or "data", data = data }
    self.plain = true
  end
  return self
end

function M.open(data, opts)
  checkdata(data, "open")
  return open(data, options(opts, "open"))
end

function M.members(data, opts)
  checkdata(data, "members")
  local r, err, code = open(data, options(opts, "members"))
  if not r then return nil, err, code end
  local list = {}
  while true do
    local m, e, ecode = r:next()
    if not m then
      if e then return nil, e, ecode end
      return list
    end
    list[#list + 1] = m
  end
end

-- iter: the reader is the loop's to-be-closed value, so leaving the loop early frees it
function M.iter(data, opts)
  checkdata(data, "iter")
  local r, err = open(data, options(opts, "iter"))
  if not r then error(err, 2) end
  return function()
    local m, e = r:next()
    if not m and e then error(e, 2) end
    return m
  end, nil, nil, r
end

local CERT_LABELS = { CERTIFICATE = true, ["X509 CERTIFICATE"] = true, ["TRUSTED CERTIFICATE"] = true }
local P7_LABELS = { PKCS7 = true, CMS = true, ["PKCS #7 SIGNED DATA"] = true }

-- collect: the objects of one kind ("crl" or "cert") in every member, in order.
local function collect(data, o, want)
  local r, err, code = open(data, o)
  if not r then return nil, err, code end
  local out = {}
  -- errors name the member, unless the data was no archive (then o.name says it all)
  local function where(name) return r.plain and "" or (name .. ": ") end
  local function add(name, der) out[#out + 1] = { name = name, der = der } end
  local function from_p7(name, der)
    local p7, perr = c.pkcs7(der)
    if not p7 then return nil, where(name) .. perr end
    for _, d in ipairs(want == "crl" and p7.crls or p7.certs) do add(name, d) end
    return true
  end
  local function from_der(name, der)
    local k = c.der_kind(der)
    if k == want then add(name, der)
    elseif k == "pkcs7" then return from_p7(name, der) end
    return true
  end
  local function from_pem(name, text)
    for i, b in ipairs((pem.blocks(text))) do
      local relevant = (want == "crl" and b.label == "X509 CRL") or
        (want == "cert" and CERT_LABELS[b.label]) or P7_LABELS[b.label]
      if relevant then
        if b.error then
          local why = ({ truncated = "no END line", bad_base64 = "bad base64", empty = "bad base64" })[b.error]
            or ("closed by END " .. tostring(b.end_label))
          return nil, ("%sPEM block %d (%s): %s"):format(where(name), i, b.label, why)
        end
        if P7_LABELS[b.label] then
          local ok, e = from_p7(name, b.der)
          if not ok then return nil, e end
        elseif b.label == "TRUSTED CERTIFICATE" then
          -- OpenSSL's trusted form: the certificate, then its trust settings
          local parts = c.der_split(b.der)
          if parts then add(name, parts[1]) end
        else
          add(name, b.der)
        end
      end
    end
    return true
  end
  while true do
    local m, e, ecode = r:next()
    if not m then
      if e then return nil, e, ecode end
      return out
    end
    local kind = c.detect(m.data)
    local ok, ferr = true, nil
    if kind == "der" then
      ok, ferr = from_der(m.name, m.data)
    elseif kind == "pkcs7" and m.data:byte(1) == 0x30 then
      ok, ferr = from_p7(m.name, m.data)
    elseif kind == "pem" or kind == "pkcs7" then
      ok, ferr = from_pem(m.name, m.data)
    elseif kind == "unknown" then
      -- DER files back to back, as concatenated gzip members of DER CRLs inflate to
      for _, der in ipairs(c.der_split(m.data) or {}) do
        ok, ferr = from_der(m.name, der)
        if not ok then break end
      end
    end
    if not ok then
      r:close()
      if o.name then ferr = o.name .. ": " .. ferr end
      return nil, ferr, "format"
    end
  end
end

function M.crls(data, opts)
  checkdata(data, "crls")
  return collect(data, options(opts, "crls"), "crl")
end

function M.certs(data, opts)
  checkdata(data, "certs")
  return collect(data, options(opts, "certs"), "cert")
end

M.gzip = c.gzip
M.zip = c.zip
-- pkcs7(der) -> { certs = {der...}, crls = {der...} } | nil, err, "format": a SignedData's contents, sliced
M.pkcs7 = c.pkcs7
-- der_split(data) -> { der, ... } | nil: DER elements back to back
M.der_split = c.der_split

return M
