-- crl/inspect.lua: what CRL files hold (`crl info`) and how two CRLs differ (`crl diff`).
--   info(paths[, {ca = {files}, entries = bool, time = epoch}]) -> result
--     result: { crls = { {file=, member=, issuer=, number=, this_update=, next_update=,
--       entries=, verified=, verified_by=, verify_error=, revoked = {...}, ...} | {file=,
--       member=, error=}, ... }, ok = every file read and (with ca) every CRL verified,
--       checked = ca was given } | nil, err (a file that cannot be read at all, or the CAs)
--   diff(old_path, new_path) -> { old =, new = (summaries), same_issuer =, added = {{serial=,
--     date=, reason=}...}, removed = {{serial=}...}, number_order = "newer"|"older"|"same" }
--     | nil, err. added and removed are lazy lists (ui.lazy_array), read from the CRLs as they
--     are printed or encoded.
-- Both commands scan DER files (crl.scan_file) rather than load them: their memory is that of
-- a small CRL whatever the size (crl diff of CRLs whose entries are not in serial order keeps
-- one CRL's serials in a set, about 10 bytes and the serial's length each).
local ui = require "certbench.ui"
local crl = require("certbench").lazy "certbench.crl"
local options = require "certbench.options"
local crlfile = require "certbench.plugins.crl.crlfile"
local trust = require "certbench.plugins.crl.trust"

local M = {}

local function idp_text(idp)
  if not idp then return nil end
  local t = {}
  for _, u in ipairs(idp.urls or {}) do t[#t + 1] = u end
  for _, k in ipairs { "only_user", "only_ca", "indirect", "only_attribute" } do
    if idp[k] then t[#t + 1] = k end
  end
  if idp.only_some_reasons then t[#t + 1] = "only_some_reasons" end
  return t
end

-- describe(c, set, now) -> a table about one CRL
local function describe(c, set, now, with_entries)
  local d = crlfile.summary(c)
  d.version = c:version()
  d.delta = c:is_delta()
  d.expired = c:next_update() ~= nil and c:next_update() < now
  d.issuing_distribution_point = idp_text(c:issuing_distribution_point())
  d.freshest_crl = c:freshest_crl()
  local crit = {}
  for _, x in ipairs(c:extensions()) do
    if x.critical then crit[#crit + 1] = x.name or x.oid end
  end
  if #crit > 0 then d.critical_extensions = ui.array(crit) end
  if set then
    local ca, why = set:issuer_of(c)
    d.verified = ca ~= nil
    d.verified_by = ca and tostring(ca:subject()) or nil
    d.verify_error = why
  end
  if with_entries then
    -- read from the CRL as it is printed, not gathered (c stays open for it)
    d.revoked = ui.lazy_stream(c:count(), function() return c:entries() end, function(e)
      return { serial = e.serial, date = crlfile.time(e.date), reason = e.reason,
               invalidity_date = crlfile.time(e.invalidity_date) }
    end)
  end
  return d
end

-- info(paths, {ca = {files}, entries = bool, time = epoch}) -> result | nil, err
function M.info(paths, opts)
  opts = options.check(opts, { "ca", "entries", "time" }, "crl.info") or {}
  local set
  if opts.ca and #opts.ca > 0 then
    local err
    set, err = trust.load(opts.ca)
    if not set then return nil, "crl info: " .. err end
  end
  local now = opts.time or os.time()
  local out = {}
  local bad = false
  for _, p in ipairs(paths) do
    local list, err = crlfile.from_file(p, nil, { scan = true })
    if not list then return nil, "crl info: " .. err end
    for _, m in ipairs(list) do
      if m.crl then
        local d = describe(m.crl, set, now, opts.entries)
        d.file = p
        d.member = m.name ~= p and m.name or nil
        if set and not d.verified then bad = true end
        out[#out + 1] = d
        -- with the entries, the list reads them as it is printed: closed when collected
        if not opts.entries then m.crl:close() end
      else
        out[#out + 1] = { file = p, member = m.name, error = m.error }
        bad = true
      end
    end
  end
  -- ok: every file read and, with CAs, every CRL verified; checked: CAs were given
  return { crls = ui.array(out), ok = not bad, checked = set ~= nil }
end

-- walk(n, a, b, shape) -> a lazy list of the n entries of a that b lacks (crl.missing), each
-- made by shape(entry) as the printer or the JSON encoder reaches it, not gathered
local function walk(n, a, b, shape)
  local it, at = nil, 0
  return ui.lazy_array(n, function(i)
    if not it or i <= at then it, at = crl.missing(a, b), 0 end
    local e
    while at < i do
      e = it()
      at = at + 1
    end
    -- the last one: run the iterator to its end, which frees its set of serials at once (the
    -- list of removed entries builds its own next)
    if at == n and e then it() end
    return e and shape(e)
  end)
end

-- diff(old_path, new_path) -> result. Streamed: DER CRLs are scanned from their files, never
-- held whole, and the serials added and removed are lists read as they are printed
-- (crl.missing: constant memory when both CRLs are in serial order, else a set of one CRL's
-- serials).
function M.diff(old_path, new_path)
  local a, err = crlfile.first_crl(old_path, nil, { scan = true })
  if not a then return nil, "crl diff: " .. err end
  local b, berr = crlfile.first_crl(new_path, nil, { scan = true })
  if not b then return nil, "crl diff: " .. berr end
  local res = {
    old = crlfile.summary(a), new = crlfile.summary(b),
    same_issuer = a:issuer():equals(b:issuer()),
    added = walk(crl.missing(b, a, { count = true }), b, a, function(e)
      return { serial = e.serial, date = crlfile.time(e.date), reason = e.reason }
    end),
    removed = walk(crl.missing(a, b, { count = true }), a, b, function(e) return { serial = e.serial } end),
  }
  res.old.file, res.new.file = old_path, new_path
  if a:number() and b:number() then
    local cmp = crlfile.cmp_number(b:number(), a:number())
    res.number_order = cmp > 0 and "newer" or (cmp < 0 and "older" or "same")
  end
  -- a and b stay open for the lists; they are closed when collected
  return res
end

return M
