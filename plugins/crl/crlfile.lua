-- crl/crlfile.lua: CRLs as the crl plugin reads and names them: loading CRLs from files and from
-- downloaded bytes (PEM, DER, ZIP, GZIP, PKCS#7), CRL numbers as big hex integers, the
-- identity of a CRL (issuer, key, delta or base, scope) that names its files, summaries for
-- reports, time text.
-- Error codes of from_data, from_file, first_crl (the third value): "format" (no CRL in it, or
-- a CRL, PEM block or PKCS#7 that does not decode), "io" (the file cannot be read), "http" (a
-- URL), or a code of certbench.archive (archive.CODES: "max_ratio", "truncated", ...).
local crl = require "certbench.crl"
local archive = require "certbench.archive"
local input = require "certbench.input"
local detect = require "certbench.detect"
local pem = require "certbench.pem"
local fs = require "certbench.fs"
local digest = require "certbench.digest"
local ui = require "certbench.ui"

local M = {}

-- a download of a CRL file ("-" and URLs, input.fetch); a local file read into memory (archives,
-- bundles) is capped at fs.FILE_MAX, the one cap on a local file, and a DER, PEM or gzip CRL
-- scanned from its file is not capped: it is never held whole
M.MAX_FILE = 1 << 30

-- time(epoch) -> RFC 3339 text, or nil
M.time = ui.time -- the one formatter of times (nil for nil); the name the crl plugin's code uses

-- CRL numbers are hex strings of any length (RFC 5280 allows 20 octets)
local function strip(h) return (h:upper():gsub("^0+", "")) end

-- cmp_number(a, b) -> -1, 0, 1 for hex strings
function M.cmp_number(a, b)
  a, b = strip(a), strip(b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

-- number_value(hex) -> an integer when it fits in 53 bits (for metrics), else nil
function M.number_value(h)
  if h == nil then return nil end
  local s = strip(h)
  if #s > 13 then return nil end
  if s == "" then return 0 end
  return math.tointeger(tonumber(s, 16))
end

-- number_text(hex) -> the number in decimal as openssl prints it, or 0x-hex when it is too big
function M.number_text(h)
  local v = M.number_value(h)
  if v then return tostring(v) end
  return "0x" .. strip(h)
end

-- slug(text) -> a file-name-safe word
function M.slug(s)
  s = tostring(s or ""):gsub("[^%w%-%.]+", "_"):gsub("^[_%.]+", ""):gsub("_+$", "")
  if #s > 48 then s = s:sub(1, 48) end
  return s
end

-- scope(c) -> "" or a short id of the issuing distribution point (a CA may partition its CRLs;
-- each partition has its own sequence of numbers)
local function scope(c)
  local idp = c:issuing_distribution_point()
  if not idp then return "" end
  local parts = {}
  for _, u in ipairs(idp.urls or {}) do parts[#parts + 1] = u end
  for _, k in ipairs { "only_user", "only_ca", "indirect", "only_attribute", "relative_name" } do
    if idp[k] then parts[#parts + 1] = k end
  end
  for _, r in ipairs(idp.only_some_reasons or {}) do parts[#parts + 1] = tostring(r) end
  if #parts == 0 then return "" end
  return digest.hex(digest.sha256(table.concat(parts, "\n"))):sub(1, 8):lower()
end

-- identity(c[, ca]) -> { key=, hash=, base=, aki=, delta=, scope= }: one sequence of CRLs. Two
-- CRLs of one identity replace each other; a CA's new key (same name, new key), its delta CRLs
-- and its partitions are identities of their own. With ca (the trusted certificate whose key
-- verified c), the key part is that key's identifier, not what the CRL says: a CRL without an
-- authority key identifier is of the same sequence as one with it, so it cannot start a
-- sequence of its own beside the current one (and take its <hash>.rN).
function M.identity(c, ca)
  local issuer = c:issuer()
  local hash = issuer:hash()
  local aki = c:aki()
  if ca then
    aki = ca:ski()
    if not aki then
      local pk = ca:public_key()
      aki = require("certbench.digest").hex(pk:spki_sha256()):sub(1, 40):upper()
      pk:close()
    end
  end
  local delta = c:is_delta()
  local sc = scope(c)
  local key = hash .. "-" .. (aki and aki:lower() or "noaki") .. (delta and "-delta" or "")
    .. (sc ~= "" and ("-" .. sc) or "")
  local cn = issuer:get("CN") or issuer:get("OU") or issuer:get("O") or "crl"
  local base = M.slug(cn) .. "_" .. hash .. "_" .. (aki and aki:sub(1, 8):lower() or "noaki")
    .. (delta and "_delta" or "") .. (sc ~= "" and ("_" .. sc) or "")
  return { key = key, hash = hash, base = base, aki = aki, delta = delta, scope = sc ~= "" and sc or nil }
end

-- summary(c) -> a table for reports and --json
function M.summary(c)
  local nu = c:next_update()
  return {
    issuer = tostring(c:issuer()),
    issuer_hash = c:issuer():hash(),
    aki = c:aki(),
    number = c:number(),
    delta_base = c:delta_base(),
    this_update = M.time(c:this_update()),
    next_update = M.time(nu),
    entries = c:count(),
    signature_algorithm = c:signature_algorithm(),
  }
end

-- from_data(data, name[, limits[, keep_der]]) -> { {name=, crl=[, der=]} | {name=, error=}, ... }
-- | nil, err, code: every CRL in the data, read through certbench.input (PEM, DER, PKCS#7, ZIP, GZIP,
-- tar, bzip2, xz, nested up to the limits). A member that certbench.input did not understand
-- is an entry with error (the source fails: a CRL may be in it); members that are plainly not
-- PKI data (a README.txt) are left out. With keep_der, each entry keeps the DER it was parsed
-- from (der), which spares the caller a copy (to_der) when it writes the CRL out.
function M.from_data(data, name, limits, keep_der)
  if data:byte(1) == 0x30 then
    -- a lone DER CRL, the common case: parsed as it is, no member copy
    local c = crl.load(data)
    if c then return { { name = name, crl = c, der = keep_der and data or nil } } end
  end
  local r, err, code = input.bytes(data, name, { limits = limits })
  if not r then return nil, err, code end
  local out = {}
  for _, o in ipairs(r.objects) do
    if o.kind == "crl" then
      local c, cerr = crl.load(o.der)
      local mname = o.member or name
      out[#out + 1] = c and { name = mname, crl = c, der = keep_der and o.der or nil }
        or { name = mname, error = ("%s: %s"):format(o.from, cerr) }
    end
  end
  -- a whole source not understood (an HTML page) is "no CRL found"; a member of an archive
  -- not understood is a failure of the source next to the CRLs that were read
  local whole = #r.unknown == 1 and r.unknown[1].from == name
  if #out > 0 or not whole then
    for _, u in ipairs(r.unknown) do
      out[#out + 1] = { name = u.from, error = ("%s: not understood: %s"):format(u.from, u.reason) }
    end
  end
  if #out == 0 then
    local kind = archive.detect(data)
    local what = kind == "unknown" and "neither PEM, DER, ZIP, GZIP nor tar" or kind
    if kind == "pem" then
      local labels = pem.labels(data)
      what = "PEM with " .. (labels ~= "" and labels or "no") .. " blocks"
    elseif #r.objects > 0 then
      local kinds, seen = {}, {}
      for _, o in ipairs(r.objects) do
        if not seen[o.kind] then seen[o.kind] = true kinds[#kinds + 1] = detect.NOUN[o.kind] or o.kind end
      end
      what = what .. " holding " .. table.concat(kinds, ", ")
    end
    return nil, ("%s: no CRL found (the content is %s)"):format(name, what), "format"
  end
  return out
end

-- the archive limits a gzip file is inflated under (crl.GZIP_SCAN unless limits say), and the
-- codes of crl.scan_file that send it to certbench.archive in memory instead
local GZ_LIMITS = { "max_total", "max_member", "max_ratio", "ratio_grace" }
local GZ_FALLBACK = { notder = true, bundle = true, nocrl = true, tmp = true }

-- PEM_HEAD: where the first "-----BEGIN " of a PEM file is looked for before it is scanned
local PEM_HEAD = 64 * 1024

-- from_file(path[, limits[, opts]]) -> like from_data (code "io" when the file cannot be read). A
-- DER CRL is parsed straight from the file (crl.load_file: no copy in a Lua string, the big-CRL
-- path); with opts.scan, it is scanned instead, and so is a PEM file holding one CRL or a gzip
-- file holding a DER or PEM CRL (opts.tmp_dir: where its DER is decoded or inflated to) (crl.scan_file: checked, counted and hashed a
-- piece at a time, never held whole; the object reads its entries from the file again, and has
-- no lookup()). Anything else (PEM bundles, archives, a .p7c) is read and goes through
-- from_data (certbench.input), in memory; "-" and URLs through input.fetch.
function M.from_file(path, limits, opts)
  if input.is_source(path) then -- "-" or a URL
    local data, ferr, fcode = input.fetch(path, { max_size = M.MAX_FILE })
    if not data then return nil, ferr, fcode end
    return M.from_data(data, path, limits)
  end
  local st = fs.stat(path)
  if st and st.type ~= "file" then
    -- a pipe (<(...)), a FIFO or a device is read once, whole (fs.read: a FIFO nobody writes
    -- is a bounded wait): its head read here would be gone for the reads below
    local data, rerr = fs.read(path, M.MAX_FILE)
    if not data then return nil, rerr, "io" end
    return M.from_data(data, path, limits)
  end
  local f, oerr = io.open(path, "rb")
  if not f then return nil, oerr, "io" end
  local head = f:read(PEM_HEAD) or ""
  f:close()
  if opts and opts.scan and head:find("-----BEGIN ", 1, true) then
    -- PEM: its first CRL block decoded to a temporary file in pieces (in opts.tmp_dir, else
    -- $TMPDIR) and scanned there. A file with other blocks too (a bundle), no CRL block, or no
    -- room for the temporary file is read whole below, as before.
    local c, others, code = crl.scan_file(path, { tmp_dir = opts.tmp_dir })
    if c and not others then return { { name = path, crl = c } } end
    if c then c:close()
    elseif code ~= "nopem" and code ~= "tmp" then return nil, others, math.type(code) == "integer" and "io" or "format" end
  end
  if opts and opts.scan and head:byte(1) == 0x1f and head:byte(2) == 0x8b and head:byte(3) == 8 then
    -- gzip (a .crl.gz, or a gzip body without Content-Encoding; several members are one
    -- stream, as for gzip -d): inflated to a temporary file in pieces under the limits (their
    -- codes: max_ratio, max_total, truncated, corrupt...), a PEM CRL in it decoded as it
    -- inflates, and scanned there. Content that is no CRL (PKCS#7, a tar), a PEM bundle, DER
    -- CRLs back to back or no room for the file: read whole below (certbench.archive).
    -- the limits given, else crl.GZIP_SCAN's (1 GiB: the scan holds none of it in memory)
    local gz = {}
    for _, k in ipairs(GZ_LIMITS) do gz[k] = limits and limits[k] end
    local c, err, code = crl.scan_file(path, { tmp_dir = opts.tmp_dir, gzip = gz })
    -- named as certbench.archive names the member: the file name in the header, else the file's
    -- without .gz
    if c then return { { name = err or archive.strip_gz(path:match("[^/]*$")), crl = c } } end
    if math.type(code) == "integer" then return nil, err, "io" end
    if not GZ_FALLBACK[code] then return nil, err, code end
  end
  if head:byte(1) == 0x30 then
    local c, err, code
    if opts and opts.scan then c, err, code = crl.scan_file(path) else c, err, code = crl.load_file(path) end
    if c then return { { name = path, crl = c } } end
    local data = fs.read(path)
    -- a .p7c holding CRLs is a SEQUENCE too
    if data and archive.detect(data) == "pkcs7" then return M.from_data(data, path, limits) end
    -- crl.load_file: an errno when the file could not be read, no code when it is no CRL
    return nil, err, math.type(code) == "integer" and "io" or "format"
  end
  local data, rerr = fs.read(path)
  if not data then return nil, rerr, "io" end
  return M.from_data(data, path, limits)
end

-- first_crl(path[, limits[, opts]]) -> crl, count | nil, err, code: the only (or first) CRL of a
-- file (opts as from_file's)
function M.first_crl(path, limits, opts)
  local list, err, code = M.from_file(path, limits, opts)
  if not list then return nil, err, code end
  for _, m in ipairs(list) do if m.crl then return m.crl, #list end end
  return nil, list[1].error, "format"
end

return M
