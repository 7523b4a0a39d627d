-- certbench.crl: certificate revocation lists, on an engine that parses the DER in place (no
-- object per entry, a sorted serial index), so a million-entry CRL loads in about the time it
-- takes to hash it.
--   crl.load(pem_or_der)            -> crl | nil, err    (PEM with text around, CRLF, BOM; DER;
--                                                          bare base64)
--   crl.load_all(bundle)            -> { crl, ... } | nil, err
--   crl.load_file(path[, max_bytes]) -> crl | nil, err    (no copy of the file in a Lua string)
--   crl.scan_file(path[, {max_bytes=, chunk=, tmp_dir=, gzip=}]) -> crl[, others] | nil, err, code
--                                   (a PEM CRL: its first CRL block decoded in pieces to a
--                                   nameless file in tmp_dir, $TMPDIR, /tmp, which is scanned;
--                                   others: the file has other PEM blocks; code "nopem": no CRL
--                                   block, "tmp": no temporary file there. With gzip = {max_total=,
--                                   max_member=, max_ratio=, ratio_grace=} (archive's limits), a
--                                   gzip file (several members: one stream, as for gzip -d) is
--                                   inflated the same way, a PEM in it decoded as it inflates,
--                                   and scanned (others: the name in its header, or false);
--                                   gzip = true, or a missing limit: crl.GZIP_SCAN's; gzip.name:
--                                   the stream's in messages when its header has none (else the
--                                   file's without .gz, as certbench.archive names it);
--                                   codes of archive.CODES, or "notder", "bundle", "nocrl": read
--                                   it whole) a DER CRL checked from its
--                                   file without holding it: read once in pieces of chunk bytes
--                                   (1 MiB), every entry checked and counted, tbsCertList hashed
--                                   for verify(), the whole hashed for fingerprint("sha256"). The
--                                   object keeps the file open and its entries there: entries(),
--                                   serials(), write() and other fingerprints read it again (write
--                                   checks the bytes are those scanned); lookup(), text(),
--                                   to_der(), to_pem() and trust stores need crl.load_file. Memory:
--                                   about 2 x chunk while scanning, a few KB after, whatever the
--                                   size (a file of at most chunk bytes is parsed whole).
--   crl.GZIP_SCAN                   the limits of a gzip CRL inflated by scan_file: 1 GiB in all
--                                   (scan_file's max_bytes of a DER file), archive's max_ratio
--                                   (200:1 past 1 MiB)
--   crl.missing(a, b[, {count=true}]) -> iterator of a's entries whose serial b lacks | count:
--                                   both in serial order, walked side by side (constant memory);
--                                   else b's serials in a set (serial length + ~10 bytes each)
--   crl.new{ issuer=cert, key=pkey, this_update=, next_update= | days= | hours=, number=,
--            delta_base=, entries={ {serial=, date=, reason=, invalidity_date=}, ... },
--            digest="sha256", pss=false, idp={ urls=, only_user=, only_ca=, only_some_reasons=,
--            indirect=, only_attribute= }, freshest={ delta CRL URLs } }   -> crl | nil, err
--   crl.reasons                     the RFC 5280 reason names by code (0..10, no 7)
-- Methods: issuer(), issuer_der(), this_update(), next_update(), number(), delta_base(),
--   is_delta(), aki(), issuing_distribution_point(), freshest_crl(), signature_algorithm(),
--   version(), count(),
--   entries() (iterator, entries decoded lazily), serials() (iterator of hex serials),
--   lookup(serial_hex | cert) -> entry | nil (a certificate matches by serial and issuer: the
--   CRL's, or in an indirect CRL the entry's certificate issuer), verify(issuer_cert | pkey)
--   -> true | false, why (with a certificate: its subject must be the CRL's issuer and its key
--   usage allow cRLSign; inside a loop task the check runs on the thread pool),
--   to_der(), to_pem(), fingerprint([alg="sha256"]) -> "AB:CD:..." (of the DER),
--   write(path[, {format="der"|"pem", mode=0644, sync=false, async=false}]) -> true | nil, err,
--   errno (a new file, O_EXCL, straight from the DER in memory; async: on the thread pool
--   inside a loop task),
--   text(), extensions(), close().
-- An entry: { serial = "0A", date = epoch, reason = "keyCompromise" | nil,
--   invalidity_date = epoch | nil, certificate_issuer = name | nil (indirect CRLs) }.
local c = require "_certbench.crl"
local options = require "certbench.options"
require "certbench.name" -- the methods of the name objects that issuer() returns

local archive_strip_gz = function(base) return require("certbench.archive").strip_gz(base) end

local M = {
  load = c.load,
  load_all = c.load_all,
  load_file = c.load_file,
  missing = c.missing,
  reasons = c.reasons,
}

-- The limits of a gzip CRL inflated by scan_file. What certbench.archive caps at 64 MiB a member
-- (archive.defaults.max_member) it holds in memory; the scan holds a piece of 1 MiB and writes the
-- DER to a temporary file, so the cap guards the disk and the time, not the memory. A CRL of a
-- million entries is about 40 MB of DER and real ones reach hundreds of MB, so 64 MiB would send
-- them to the in-memory path (or refuse them): the scan takes what scan_file takes of a DER file
-- (max_bytes, 1 GiB). Bombs stay refused by the ratio: deflate reaches 1032:1, a CRL compresses
-- 1.9:1 (a million random 16-byte serials, openssl ca -gencrl, gzip -6: 45.5 MB to 24.3 MB) to
-- 6.6:1 (spec/support/big_crl.py's 16-byte serials in order), and archive's 200:1 past 1 MiB
-- stops a bomb after a few kB of it.
M.GZIP_SCAN = { max_total = 1 << 30, max_member = 1 << 30, max_ratio = 200, ratio_grace = 1 << 20 }

-- crl.scan_file: gzip = true, or a limit left out, takes GZIP_SCAN's
function M.scan_file(path, opts)
  local gz = type(opts) == "table" and opts.gzip
  if gz == true or type(gz) == "table" then
    local o, lim = {}, {}
    for k, v in pairs(opts) do o[k] = v end
    for k, v in pairs(M.GZIP_SCAN) do lim[k] = v end
    if gz ~= true then for k, v in pairs(gz) do lim[k] = v end end
    -- named in messages as certbench.archive names the member when the header has none
    if lim.name == nil and type(path) == "string" then lim.name = archive_strip_gz(path:match("[^/]*$")) end
    o.gzip = lim
    opts = o
  end
  return c.scan_file(path, opts)
end

local reason_bits = { -- ReasonFlags (RFC 5280 5.2.5): the bit of each reason
  keycompromise = 1, cacompromise = 2, affiliationchanged = 3, superseded = 4,
  cessationofoperation = 5, certificatehold = 6, privilegewithdrawn = 7, aacompromise = 8,
}

local function check_time(v, what)
  if v ~= nil and math.type(v) ~= "integer" then
    error(("crl.new: %s must be an integer (epoch seconds), not %s"):format(what, type(v)), 3)
  end
  return v
end

local function hex_number(v, what)
  if v == nil then return nil end
  if math.type(v) == "integer" then
    if v < 0 then error(("crl.new: %s must not be negative"):format(what), 3) end
    return ("%X"):format(v)
  end
  if type(v) ~= "string" or not v:match("^%x+$") then
    error(("crl.new: %s must be a hex string or an integer"):format(what), 3)
  end
  return v:upper()
end

local function url_list(v, what)
  if v == nil then return nil end
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then error(("crl.new: %s must be a list of URLs"):format(what), 3) end
  for i, u in ipairs(v) do
    if type(u) ~= "string" then error(("crl.new: %s[%d] must be a string"):format(what, i), 3) end
  end
  return v
end

local IDP_KEYS = { "urls", "only_user", "only_ca", "only_some_reasons", "indirect", "only_attribute" }
local NEW_KEYS = { "issuer", "key", "this_update", "next_update", "days", "hours", "number",
  "delta_base", "entries", "digest", "pss", "idp", "freshest", "sort" }

local function idp_options(idp)
  if idp == nil then return nil end
  if type(idp) ~= "table" then error("crl.new: idp must be a table", 3) end
  options.check(idp, IDP_KEYS, "crl.new: idp", 4)
  local out = {
    urls = idp.urls or {},
    only_user = idp.only_user and true or false,
    only_ca = idp.only_ca and true or false,
    indirect = idp.indirect and true or false,
    only_attribute = idp.only_attribute and true or false,
  }
  if type(out.urls) == "string" then out.urls = { out.urls } end
  if type(out.urls) ~= "table" then error("crl.new: idp.urls must be a list of strings", 3) end
  for i, u in ipairs(out.urls) do
    if type(u) ~= "string" then error(("crl.new: idp.urls[%d] must be a string"):format(i), 3) end
  end
  if out.only_user and out.only_ca then
    error("crl.new: idp.only_user and idp.only_ca exclude each other", 3)
  end
  if idp.only_some_reasons ~= nil then
    if type(idp.only_some_reasons) ~= "table" then
      error("crl.new: idp.only_some_reasons must be a list of reason names", 3)
    end
    local mask = 0
    for _, r in ipairs(idp.only_some_reasons) do
      local bit = type(r) == "string" and reason_bits[r:lower()]
      if not bit then error(("crl.new: idp.only_some_reasons: unknown reason '%s'"):format(tostring(r)), 3) end
      mask = mask | (1 << bit)
    end
    out.only_some_reasons = mask
  end
  return out
end

-- crl.new{...}: a version 2 CRL signed by key for issuer, with authorityKeyIdentifier (the
-- issuer's SKI), CRL number, delta CRL indicator (delta_base, which makes a delta CRL) and
-- issuing distribution point; entries carry reasonCode and invalidityDate extensions.
-- Entries are sorted by serial, as openssl ca does (sort=false keeps the given order).
function M.new(opts)
  if type(opts) ~= "table" then error("crl.new: expects a table of options", 2) end
  options.check(opts, NEW_KEYS, "crl.new")
  if opts.issuer == nil then error("crl.new: issuer (a certbench.x509) is required", 2) end
  if opts.key == nil then error("crl.new: key (a certbench.pkey) is required", 2) end
  local this_update = check_time(opts.this_update, "this_update") or os.time()
  local next_update = check_time(opts.next_update, "next_update")
  if next_update == nil then
    if opts.days ~= nil then
      if math.type(opts.days) ~= "integer" or opts.days < 0 then error("crl.new: days must be a non-negative integer", 2) end
      next_update = this_update + opts.days * 86400
    elseif opts.hours ~= nil then
      if math.type(opts.hours) ~= "integer" or opts.hours < 0 then error("crl.new: hours must be a non-negative integer", 2) end
      next_update = this_update + opts.hours * 3600
    end
  end
  local number = hex_number(opts.number, "number")
  local delta_base = hex_number(opts.delta_base, "delta_base")
  if delta_base and not number then
    error("crl.new: a delta CRL needs its own number (RFC 5280 5.2.4)", 2)
  end
  local digest = opts.digest
  if digest ~= nil then
    if type(digest) ~= "string" then error("crl.new: digest must be a string", 2) end
    digest = digest:lower():gsub("-", "")
  end
  if opts.entries ~= nil and type(opts.entries) ~= "table" then
    error("crl.new: entries must be a list of tables", 2)
  end
  return c.build {
    issuer = opts.issuer,
    key = opts.key,
    this_update = this_update,
    next_update = next_update,
    number = number,
    delta_base = delta_base,
    entries = opts.entries,
    digest = digest,
    pss = opts.pss and true or false,
    idp = idp_options(opts.idp),
    freshest = url_list(opts.freshest, "freshest"),
    sort = opts.sort ~= false,
  }
end

return M
