-- The crl plugin: CRL information, fetching, mirroring and revocation checking.
--   certbench crl info FILE... [--ca CA.pem] [--entries]
--   certbench crl fetch URL... [--out-dir DIR] [--ca TRUSTED.pem] [--tls-ca CA.pem]
--   certbench crl mirror --config FILE.lua | --source URL... --out-dir DIR --ca TRUSTED.pem
--                        [--concurrency N] [--once | --daily-at HH:MM] [--metrics FILE.prom]
--   certbench crl check CERT [--chain CA.pem] [--crl FILE... | --crl-dir DIR | --fetch]
--                        [--fallback revoked|not-revoked] [--expired revoked|undetermined|ignore]
--   certbench crl diff OLD NEW
--   certbench crl bundle SOURCE... --out crls.pem [--ca CA.pem...] [--fetch] [--allow-expired] [--force]
-- From Lua: require("certbench.plugins.crl").info(path, {ca=}), .fetch(urls, opts),
-- .mirror (certbench.plugins.crl.mirror), .check(opts), .diff(old, new),
-- .bundle{ sources =, cas =, out =, fetch =, allow_expired =, force = } (crl/bundle.lua).
local fs = require "certbench.fs"
local lazy = require("certbench").lazy
local x509 = lazy "certbench.x509"
local crl = lazy "certbench.crl"
local ui = require "certbench.ui"
local options = require "certbench.options"
local common = lazy "certbench.plugins.crl.common"
local trust = lazy "certbench.plugins.crl.trust"
local mirror = lazy "certbench.plugins.crl.mirror"
local check = lazy "certbench.plugins.crl.check"
local fetch = lazy "certbench.plugins.crl.fetch"
local bundle = lazy "certbench.plugins.crl.bundle"

local M = {
  name = "crl",
  version = "1.0",
  summary = "CRLs: info, fetch, mirror distribution points, check revocation of a chain, diff",
  mirror = mirror,
  checker = check,
  fetcher = fetch,
  common = common,
  trust = trust,
  bundle = function(...) return bundle.build(...) end,
}

-- info ---------------------------------------------------------------------------------------

local function num(h) return h and common.number_text(h) or "-" end

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
  local d = common.summary(c)
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
    local it, at = nil, 0
    d.revoked = ui.lazy_array(c:count(), function(i)
      if not it or i <= at then it, at = c:entries(), 0 end
      local e
      while at < i do
        e = it()
        at = at + 1
      end
      return e and { serial = e.serial, date = common.time(e.date), reason = e.reason,
                     invalidity_date = common.time(e.invalidity_date) }
    end)
  end
  return d
end

-- info(paths, {ca = {files}, entries = bool}) -> result, exit code
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
    local list, err = common.from_file(p, nil, { scan = true })
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

local function info_text(res, ctx)
  local say = ctx.ui.say
  for i, d in ipairs(res.crls) do
    if i > 1 then say("") end
    say("%s%s", d.file, d.member and (" [" .. d.member .. "]") or "")
    if d.error then
      say("  error:        %s", d.error)
    else
      say("  issuer:       %s", d.issuer)
      say("  issuer hash:  %s%s", d.issuer_hash, d.aki and ("   key id: " .. d.aki) or "")
      say("  this update:  %s", d.this_update)
      say("  next update:  %s%s", d.next_update or "none", d.expired and "  (EXPIRED)" or "")
      say("  number:       %s%s", d.number and (num(d.number) .. " (hex " .. d.number .. ")") or "none",
        d.delta and ("  (delta CRL on base " .. num(d.delta_base) .. ")") or "")
      say("  entries:      %d", d.entries)
      say("  signature:    %s (v%d)", d.signature_algorithm, d.version)
      if d.issuing_distribution_point then
        say("  scope (IDP):  %s", #d.issuing_distribution_point > 0 and table.concat(d.issuing_distribution_point, ", ") or "-")
      end
      if d.freshest_crl then say("  delta CRLs:   %s", table.concat(d.freshest_crl, ", ")) end
      if d.critical_extensions then say("  critical:     %s", table.concat(d.critical_extensions, ", ")) end
      if d.verified ~= nil then
        say("  verifies:     %s", d.verified and ("yes, by " .. d.verified_by) or ("NO: " .. tostring(d.verify_error)))
      end
      for _, e in ipairs(d.revoked or {}) do
        say("    %s  %s%s", e.serial, e.date, e.reason and ("  " .. e.reason) or "")
      end
    end
  end
end

-- fetch --------------------------------------------------------------------------------------

-- newer_on_disk(paths, id, c, set) -> text | nil: a file already in the output folder holds a
-- verified CRL of the same sequence that is newer than c (a higher number, or the same number
-- with a later thisUpdate): replacing it would roll the folder back
local function newer_on_disk(paths, id, c, set)
  for _, p in ipairs(paths) do
    -- the first file there is enough (the .crl and .pem are written together): one old CRL
    -- in memory beside the new one, not two
    if fs.exists(p) then paths = { p } break end
  end
  for _, p in ipairs(paths) do
    -- scanned, not loaded: the old CRL costs a piece of it in memory, not its size
    local old = fs.exists(p) and crl.scan_file(p)
    if old then
      local oca = set:issuer_of(old)
      if oca and common.identity(old, oca).key == id.key then
        local on, nn = old:number(), c:number()
        local newer
        if on and nn then
          local cmp = common.cmp_number(on, nn)
          newer = cmp > 0 or (cmp == 0 and old:this_update() > c:this_update())
        else
          newer = old:this_update() > c:this_update()
        end
        local msg = newer and ("%s holds CRL number %s, newer than the fetched %s: kept (--force replaces it)")
          :format(p, on and common.number_text(on) or "-", nn and common.number_text(nn) or "-")
        old:close()
        if msg then return msg end
      else
        old:close()
      end
    end
  end
end

-- One memory budget for all the URLs of a fetch, whatever their number: a download bigger
-- than FETCH_STREAM_OVER goes to a file in a private folder and its CRL is scanned from there
-- (crl.scan_file: pieces of 1 MiB, never the CRL whole), a smaller one stays in memory with its
-- parsed CRL (at most about twice its size); each task holds at most FETCH_TASK_BYTES, so the
-- budget sets how many URLs are downloaded and checked at once (48 MiB / 12 MiB: 4).
local FETCH_BUDGET = 48 << 20
local FETCH_STREAM_OVER = 4 << 20
local FETCH_TASK_BYTES = 2 * FETCH_STREAM_OVER + (4 << 20) -- a body, its CRL, the scan's buffers
local FETCH_CONCURRENCY = math.max(1, FETCH_BUDGET // FETCH_TASK_BYTES)

-- fetch(urls, {out_dir=, ca = {files}, tls_ca=, timeout=, max_size=, allow_expired=, format=,
--              force=})
-- With ca, a CRL is not written over a newer verified one of the same sequence unless force.
--   -> { sources = {...}, out_dir =, ok = every URL and CRL succeeded } | nil, err
function M.fetch(urls, opts)
  opts = options.check(opts, { "out_dir", "ca", "tls_ca", "format", "timeout", "max_size", "allow_expired", "time",
    "force" },
    "crl.fetch") or {}
  local set
  if opts.ca and #opts.ca > 0 then
    local err
    set, err = trust.load(opts.ca)
    if not set then return nil, "crl fetch: " .. err end
  end
  local dir = opts.out_dir or "."
  if not fs.isdir(dir) then
    local ok, err = fs.mkdir(dir, { parents = true })
    if not ok then return nil, "crl fetch: " .. err end
  end
  local loop = require "certbench.loop"
  local now = opts.time or os.time()
  local format = opts.format or "both"
  -- Memory: downloads over FETCH_STREAM_OVER go to a private folder next to the output and
  -- their CRLs are scanned there (never a body of max_size in memory per URL), and at most
  -- FETCH_CONCURRENCY URLs are downloaded and checked at once, each CRL written and closed in
  -- its task: one budget for all URLs, whatever their number or size (four 200 MB CRLs, or
  -- four endless bodies, cost four tasks' buffers, not four times max_size).
  local tmpd, terr = fs.private_dir(fs.join(dir, ".certbench-fetch-" .. require("certbench.rand").serial(6)))
  if not tmpd then return nil, "crl fetch: " .. terr end
  local failed = false
  -- a CRL written from its object (c:write: no Lua string of it) under a temporary name in the
  -- private folder, then renamed over its file: the old file or the new, never torn
  local function write_crl(c, p, fmt)
    local tmp = tmpd:path("w-" .. require("certbench.rand").serial(6))
    local ok, err = c:write(tmp, { format = fmt, mode = 420, sync = true })
    if ok then ok, err = fs.rename(tmp, p) end
    if not ok then fs.remove(tmp) return nil, tmpd:shown(tostring(err)) end
    return true
  end
  local function one(url)
    local r, err, code = fetch.get(url, { timeout = opts.timeout, max_size = opts.max_size, ca_file = opts.tls_ca,
                                          tmp_dir = tmpd:path(), stream_over = FETCH_STREAM_OVER, scan = true })
    local s = { url = url, crls = {} }
    if not r then
      s.error, s.code, failed = err, code, true
    else
      s.status, s.bytes = r.status, r.bytes
      for _, m in ipairs(r.crls) do
        local item
        if not m.crl then
          item = { member = m.name, error = m.error }
        else
          local c = m.crl
          item = common.summary(c)
          item.member = m.name ~= url and m.name or nil
          local nu = c:next_update()
          item.expired = nu ~= nil and nu < now
          local ca
          if set then
            local why
            ca, why = set:issuer_of(c)
            item.verified = ca ~= nil
            if not ca then item.error = why end
          end
          if not item.error and item.expired and not opts.allow_expired then
            item.error = ("expired at %s (--allow-expired writes it all the same)"):format(item.next_update)
          end
          local id = not item.error and common.identity(c, ca)
          if id and set and not opts.force then
            item.error = newer_on_disk({ fs.join(dir, id.base .. ".crl"), fs.join(dir, id.base .. ".pem") }, id, c, set)
          end
          if not item.error then
            item.files = {}
            if format == "der" or format == "both" then
              local p = fs.join(dir, id.base .. ".crl")
              local ok, werr = write_crl(c, p, "der")
              if not ok then item.error = werr else item.files[#item.files + 1] = p ui.wrote(p) end
            end
            if not item.error and (format == "pem" or format == "both") then
              local p = fs.join(dir, id.base .. ".pem")
              local ok, werr = write_crl(c, p, "pem")
              if not ok then item.error = werr else item.files[#item.files + 1] = p ui.wrote(p) end
            end
            item.files = ui.array(item.files)
          end
          c:close()
        end
        if item.error then failed = true end
        s.crls[#s.crls + 1] = item
      end
    end
    s.crls = ui.array(s.crls)
    return s
  end
  local pool = loop.pool(FETCH_CONCURRENCY)
  for _, url in ipairs(urls) do pool:submit(one, url) end
  local out = {}
  for i, res in ipairs(pool:wait()) do
    if res[1] then out[i] = res[1]
    else out[i] = { url = urls[i], crls = ui.array({}), error = "internal error: " .. tostring(res[2]) } failed = true end
  end
  local rmdir = tmpd:name()
  tmpd:close()
  fs.remove(rmdir)
  return { sources = ui.array(out), out_dir = dir, ok = not failed }
end

local function fetch_text(res, ctx)
  for _, s in ipairs(res.sources) do
    if s.error then
      ctx.ui.say("FAILED: %s", ui.about(s.url, s.error))
    else
      ctx.ui.say("%s: %d CRL(s), %s bytes", s.url, #s.crls, tostring(s.bytes or "?"))
      for _, c in ipairs(s.crls) do
        if c.issuer then
          ctx.ui.say("  %s  #%s  %s .. %s  %d entries%s", c.issuer, num(c.number), c.this_update,
            c.next_update or "-", c.entries, c.verified and "  verified" or "")
        end
        if c.member then ctx.ui.say("    member %s", c.member) end
        if c.error then ctx.ui.say("    REJECTED: %s", c.error) end
        for _, f in ipairs(c.files or {}) do ctx.ui.say("    wrote %s", f) end
      end
    end
  end
end

-- diff -----------------------------------------------------------------------------------------

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
    return e and shape(e)
  end)
end

-- diff(old_path, new_path) -> result. Streamed: DER CRLs are scanned from their files
-- (crl.scan_file), never held whole, and the serials added and removed are lists read as they
-- are printed (crl.missing: constant memory when both CRLs are in serial order, else a set of
-- one CRL's serials, about 10 bytes and the serial's length each).
function M.diff(old_path, new_path)
  local a, err = common.first_crl(old_path, nil, { scan = true })
  if not a then return nil, "crl diff: " .. err end
  local b, berr = common.first_crl(new_path, nil, { scan = true })
  if not b then return nil, "crl diff: " .. berr end
  local res = {
    old = common.summary(a), new = common.summary(b),
    same_issuer = a:issuer():equals(b:issuer()),
    added = walk(crl.missing(b, a, { count = true }), b, a, function(e)
      return { serial = e.serial, date = common.time(e.date), reason = e.reason }
    end),
    removed = walk(crl.missing(a, b, { count = true }), a, b, function(e) return { serial = e.serial } end),
  }
  res.old.file, res.new.file = old_path, new_path
  if a:number() and b:number() then
    local cmp = common.cmp_number(b:number(), a:number())
    res.number_order = cmp > 0 and "newer" or (cmp < 0 and "older" or "same")
  end
  -- a and b stay open for the lists; they are closed when collected
  return res
end

local function diff_text(res, ctx)
  local say = ctx.ui.say
  if not res.same_issuer then say("WARNING: the CRLs have different issuers") end
  say("old: %s  #%s  %s .. %s  %d entries", res.old.issuer, num(res.old.number), res.old.this_update,
    res.old.next_update or "-", res.old.entries)
  say("new: %s  #%s  %s .. %s  %d entries%s", res.new.issuer, num(res.new.number), res.new.this_update,
    res.new.next_update or "-", res.new.entries,
    res.number_order == "older" and "  (OLDER number than old)" or "")
  say("added %d, removed %d", #res.added, #res.removed)
  for _, e in ipairs(res.added) do say("+ %s  %s%s", e.serial, e.date, e.reason and ("  " .. e.reason) or "") end
  for _, e in ipairs(res.removed) do say("- %s", e.serial) end
end

-- check ------------------------------------------------------------------------------------------

local function load_certs(path)
  local data, err = fs.read(path, 64 << 20)
  if not data then return nil, err end
  local certs, cerr = x509.load_all(data)
  if not certs or #certs == 0 then return nil, ("%s: %s"):format(path, tostring(cerr or "no certificate")) end
  return certs, data
end

-- check(opts): opts as certbench.plugins.crl.check.run, plus cert = path, chain_files,
-- crl_files (paths): -> result (result.verdict) | nil, err
function M.check(opts)
  local certs, err = load_certs(opts.cert)
  if not certs then return nil, "crl check: " .. err end
  local chain = {}
  local crls = {}
  for _, p in ipairs(opts.chain_files or {}) do
    local set, serr = trust.load(p)
    if not set then return nil, "crl check: " .. serr end
    for _, c in ipairs(set:all()) do chain[#chain + 1] = c end
    -- CRLs embedded in the CA file are used, as appliances use them
    for _, e in ipairs(set.crls) do crls[#crls + 1] = e end
  end
  local extra, cerr = check.load_crl_files(opts.crl_files or {})
  if not extra then return nil, "crl check: " .. cerr end
  for _, e in ipairs(extra) do crls[#crls + 1] = e end
  if opts.crl_dir and not fs.isdir(opts.crl_dir) then
    return nil, ("crl check: %s is not a folder"):format(opts.crl_dir)
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.certs, o.chain, o.crls = certs, chain, crls
  return check.run(o)
end

local function check_text(res, ctx)
  local say = ctx.ui.say
  for _, c in ipairs(res.certificates) do
    say("%-12s %s (serial %s): %s%s", c.role, c.subject, c.serial, c.status:upper():gsub("_", " "),
      c.reason and (": " .. c.reason) or "")
    if c.crl then
      say("%-12s   CRL %s #%s, thisUpdate %s, nextUpdate %s%s", "", c.crl.source or "?", num(c.crl.number),
        c.crl.this_update, c.crl.next_update or "-", c.crl.expired and " (expired)" or "")
    end
    if c.delta then say("%-12s   delta CRL %s #%s", "", c.delta.source or "?", num(c.delta.number)) end
    if c.ocsp then
      if c.ocsp.error then say("%-12s   OCSP: no answer: %s", "", c.ocsp.error)
      else
        say("%-12s   OCSP %s: %s, thisUpdate %s, nextUpdate %s%s", "", c.ocsp.url or "?", c.ocsp.status,
          c.ocsp.this_update or "-", c.ocsp.next_update or "-",
          c.ocsp.revocation_time and (", revoked " .. c.ocsp.revocation_time .. (c.ocsp.reason and (" (" .. c.ocsp.reason .. ")") or "")) or "")
      end
    end
    if ctx.verbose or c.status == "undetermined" then
      for _, n in ipairs(c.notes or {}) do say("%-12s   - %s", "", n) end
    end
  end
  say("verdict: %s%s", res.verdict:upper(), res.fallback_applied and (" (fallback " .. res.fallback .. ": the status could not be established)") or "")
end

-- mirror ---------------------------------------------------------------------------------------

local function mirror_text(res, ctx)
  local say = ctx.ui.say
  if res.daily then
    say("stopped%s after %d run(s), %d with failures", res.stopped_by and (" by " .. res.stopped_by) or "",
      res.runs, res.failed_runs)
    return
  end
  for _, s in ipairs(res.sources) do
    if s.ok then
      local p, u = 0, 0
      for _, c in ipairs(s.crls) do if c.action == "published" then p = p + 1 else u = u + 1 end end
      say("ok      %s%s: %d published, %d unchanged", s.url, s.not_modified and " (not modified)" or "", p, u)
      if s.warning then ctx.ui.warn("%s", s.warning) end
      for _, e in ipairs(s.failover or {}) do ctx.ui.warn("failover: %s", e) end
    else
      say("FAILED  %s", ui.about(s.url, s.error or "?"))
    end
  end
  say("%d of %d sources ok; %d CRLs published, %d unchanged, %d rejected; %s",
    res.sources_ok, res.sources_ok + res.sources_failed, res.crls_published, res.crls_unchanged,
    res.crls_rejected, res.out_dir)
  for _, w in ipairs(res.state_ignored or {}) do ctx.ui.warn("ignored: %s", w) end
  for _, x in ipairs(res.stale or {}) do
    say("STALE   the published CRL of %s (%s) expired at %s", x.issuer, x.crl, x.next_update)
  end
  for _, x in ipairs(res.expiring or {}) do
    ctx.ui.warn("the published CRL of %s (%s) expires at %s", x.issuer, x.crl, x.next_update)
  end
  if res.warning then ctx.ui.warn("%s", res.warning) end
end

local function mirror_cmd(args)
  -- paths in a config file are relative to the file; on the command line, to the current folder
  local cwd = fs.realpath(".") or "."
  local function abs(p)
    if p == nil or p:sub(1, 1) == "/" then return p end
    return fs.join(cwd, p)
  end
  local t = {}
  if args.config then
    local err
    t, err = mirror.load_config(args.config)
    if not t then return nil, "crl mirror: " .. err end
  end
  local function set(k, v) if v ~= nil then t[k] = v end end
  local srcs = common.list(args.source)
  if #srcs > 0 then
    t.sources = t.sources or {}
    for _, u in ipairs(srcs) do t.sources[#t.sources + 1] = u end
  end
  if args.plugin_sources then
    t.sources = t.sources or {}
    -- every plugin's list, one after the other (plugins.sources)
    for _, e in ipairs(require("certbench.plugins").sources()) do t.sources[#t.sources + 1] = e.source end
  end
  local cas = common.list(args.ca)
  for i, p in ipairs(cas) do cas[i] = abs(p) end
  if args.igtf_dir then
    -- an IGTF trust folder as fetch-crl reads it: its CAs are trusted, its URLs the sources
    local g, gerr = require("certbench.plugins.crl.igtf").read(abs(args.igtf_dir))
    if not g then return nil, "crl mirror: --igtf-dir: " .. gerr end
    for _, p in ipairs(g.ca) do cas[#cas + 1] = p end
    t.sources = t.sources or {}
    for _, src in ipairs(g.sources) do t.sources[#t.sources + 1] = src end
    for _, n in ipairs(g.notes) do ui.warn("--igtf-dir: %s", n) end
  end
  if #cas > 0 then t.ca = cas end
  set("out_dir", abs(args.out_dir))
  set("concurrency", args.concurrency and math.tointeger(tonumber(args.concurrency)))
  if args.concurrency and not math.tointeger(tonumber(args.concurrency)) then
    return nil, "crl mirror: --concurrency must be an integer", 2
  end
  set("metrics", abs(args.metrics))
  set("report", abs(args.report))
  set("grace", args.grace)
  set("timeout", args.timeout)
  set("tls_ca", abs(args.tls_ca))
  set("daily_at", args.daily_at)
  set("random_delay", args.random_delay)
  set("wait", args.wait)
  set("warn_before", args.warn_before)
  set("tolerance", args.tolerance)
  set("hash_names", args.hash_names)
  if args.max_size then
    local n = math.tointeger(tonumber(args.max_size))
    if not n then return nil, "crl mirror: --max-size must be a number of bytes", 2 end
    t.max_size = n
  end
  if args.no_ca_links then t.publish_cas = false end
  set("hash_links", args.hash_links)
  local cfg, err = mirror.config(t)
  if not cfg then return nil, "crl " .. err, 2 end
  local daily = cfg.daily_at and not args.once
  local interval = os.getenv("CERTBENCH_CRL_MIRROR_INTERVAL")
  if daily or (interval and not args.once and cfg.daily_at) then
    local summary = mirror.daily(cfg, {
      interval = interval and tonumber(interval) or nil,
      max_runs = tonumber(os.getenv("CERTBENCH_CRL_MIRROR_MAX_RUNS") or ""),
    })
    summary.daily = true
    summary.last_report = nil
    if summary.error then return nil, "crl mirror: " .. summary.error end
    return summary
  end
  local report, rok = mirror.run(cfg)
  if not report then return nil, rok end
  return report, nil, rok and 0 or 1
end

-- commands -------------------------------------------------------------------------------------

-- the exit codes of `crl check`'s verdicts (the JSON keeps exit_code, as it always had it)
local VERDICT_EXIT = { good = 0, revoked = 3, undetermined = 1 }

M.commands = {
  bundle = {
    summary = "one PEM file of the CRLs of a chain or folder, each verified, for an appliance's manual CRL upload",
    description = "SOURCE is a CRL file (PEM, DER, ZIP/GZIP, p7c), a folder (a `crl mirror` folder, or CRLs "
      .. "downloaded by hand), an http(s) URL, or a certificate file (the chain, the trusted CA file): its CA "
      .. "certificates verify the CRLs, and with --fetch the CRLs their distribution points name are "
      .. "downloaded. Every CRL must verify against a CA given and be current (an expired CRL makes the "
      .. "appliance treat every certificate of its CA as revoked) or nothing is written; of several CRLs "
      .. "of one CA the highest CRL number is kept. CAs without a CRL are named.",
    options = function(p)
      p:argument("sources", "CRL files, folders, URLs, certificate chains"):args("+")
      p:option("--out", "the PEM file to write"):count(1)
      p:option("--ca", "CA certificates that sign the CRLs (repeat)"):count("*")
      p:flag("--fetch", "download the CRLs named by the certificates' CRL distribution points")
      p:flag("--allow-expired", "take expired CRLs too")
      p:option("--timeout", "seconds for each download (60)"):convert(options.seconds("--timeout"))
      p:flag("--force", "replace an existing file")
    end,
    run = function(args)
      local timeout = args.timeout
      local r, err, code = bundle.build { sources = args.sources, cas = common.list(args.ca), out = args.out,
        fetch = args.fetch, allow_expired = args.allow_expired, force = args.force, timeout = timeout }
      if not r then return nil, err, code end
      r.crls = ui.array(r.crls)
      r.left_out = ui.array(r.left_out)
      r.without_crl = ui.array(r.without_crl)
      r.warnings = ui.array(r.warnings)
      return r
    end,
    text = function(r, ctx)
      ctx.ui.say("%s: %d CRL%s, each verified", r.out, #r.crls, #r.crls == 1 and "" or "s")
      for _, c in ipairs(r.crls) do
        ctx.ui.say("  %s%s: %d entr%s, next update %s (from %s)", c.issuer, c.number and (" #" .. c.number) or "",
          c.entries, c.entries == 1 and "y" or "ies", c.next_update or "none", c.source)
      end
      for _, x in ipairs(r.left_out) do ctx.ui.say("left out %s: %s", x.source, x.why) end
      for _, w in ipairs(r.warnings) do ctx.ui.warn("%s", w) end
    end,
  },

  info = {
    summary = "what a CRL file holds: issuer, dates, number, entries, signature (and whether it verifies)",
    description = "FILE may be PEM, DER, PKCS#7 (.p7c), or a ZIP/GZIP archive of CRLs. With --ca the "
      .. "signature is checked against the CA of the CRL's issuer name and key id; exit 3 if it does not verify.",
    options = function(p)
      p:argument("file", "CRL file(s)"):args("+")
      p:option("--ca", "trusted CA certificate file(s) to verify the signature with"):count("*")
      p:flag("--entries", "list the revoked serials too")
    end,
    run = function(args)
      local res, err = M.info(args.file, { ca = common.list(args.ca), entries = args.entries })
      if not res then return nil, err end
      return res, nil, res.ok and 0 or (res.checked and 3 or 1)
    end,
    text = info_text,
  },
  fetch = {
    summary = "download CRLs (http, https, ldap; PEM, DER, ZIP, GZIP, p7c), validate and write them",
    description = "Each CRL found is written as DER (.crl) and PEM (.pem) under --out-dir, named after "
      .. "its issuer. With --ca, a CRL that does not verify is not written; an expired CRL is not "
      .. "written unless --allow-expired. Exit 1 if any URL or CRL failed.",
    options = function(p)
      p:argument("url", "distribution point URL(s)"):args("+")
      p:option("-o --out-dir", "folder to write to", ".")
      p:option("--ca", "trusted CA certificate file(s): only CRLs they signed are written"):count("*")
      p:option("--tls-ca", "CA file for HTTPS servers (default: the system store)")
      p:option("--format", "der, pem or both", "both"):choices { "der", "pem", "both" }
      p:option("--timeout", "seconds for each download", tostring(fetch.defaults.timeout)):convert(options.seconds("--timeout"))
      p:option("--max-size", "bytes at most per download", tostring(fetch.defaults.max_size))
      p:flag("--allow-expired", "write expired CRLs too")
      p:flag("--force", "with --ca: replace a CRL in --out-dir even when it is newer than the one fetched")
    end,
    run = function(args)
      local res, code = M.fetch(args.url, {
        out_dir = args.out_dir, ca = common.list(args.ca), tls_ca = args.tls_ca, format = args.format,
        timeout = args.timeout, max_size = math.tointeger(tonumber(args.max_size)),
        allow_expired = args.allow_expired, force = args.force,
      })
      if not res then return nil, code end
      return res, nil, res.ok and 0 or 1
    end,
    text = fetch_text,
  },
  mirror = {
    summary = "mirror CRL distribution points into a folder (DER, PEM, OpenSSL hash links), once or daily",
    description = "Every CRL must verify against a trusted CA (--ca, matched by issuer name and key id), "
      .. "be current (nextUpdate ahead, or within --grace) and have a CRL number not lower than the one "
      .. "published before; only then is it published, atomically. A failed source keeps its last good "
      .. "CRL. Exit 1 if any source failed. --daily-at runs until SIGTERM.",
    epilog = "A config file is Lua returning a table: { out_dir =, ca = {...}, sources = { url, or "
      .. "{url=, tls_ca=, timeout=, max_size=} }, concurrency =, grace =, metrics =, report =, daily_at = }.",
    options = function(p)
      p:option("-c --config", "configuration file (Lua returning a table)")
      p:option("-s --source", "a distribution point URL (repeatable)"):count("*")
      p:option("-o --out-dir", "the mirror folder")
      p:option("--ca", "trusted CA certificate file(s) that sign the CRLs"):count("*")
      p:option("--concurrency", "downloads at once (default 8)")
      p:option("--igtf-dir", "an IGTF trust folder (/etc/grid-security/certificates): its CAs (<alias>.pem, <hash>.0) are trusted and the URLs of each (<alias>.info crlurl, <hash>.crl_url) are a source pinned to that CA")
      p:option("--hash-names", "new (default), or new,old: also the MD5-based names of OpenSSL before 1.0 (<hash>.N, <hash>.rN) as symbolic links")
      p:option("--tolerance", "a failed download is a warning while the published CRL is current and was fetched within this long: 24h")
      p:option("--warn-before", "report a published CRL as expiring this long before its nextUpdate (default a quarter of its validity): 24h, 3600")
      p:option("--wait", "seconds to wait while another run holds the folder's lock (default 30), then fail naming its process")
      p:flag("--once", "one run, then exit (the default without --daily-at)")
      p:option("--daily-at", "run every day at HH:MM UTC, until SIGTERM")
      p:option("--random-delay", "up to this many seconds added to --daily-at (default 300)")
      p:option("--grace", "publish CRLs up to this long past their nextUpdate (30m, 12h; default 0)")
      p:option("--metrics", "Prometheus textfile to write after each run")
      p:option("--report", "JSON run report to write after each run")
      p:option("--timeout", ("seconds for each download (default %d)"):format(fetch.defaults.timeout))
      p:option("--max-size", ("bytes at most per download (default %d MiB)"):format(fetch.defaults.max_size >> 20))
      p:option("--tls-ca", "CA file for HTTPS servers (default: the system store)")
      p:flag("--no-ca-links", "do not put the trusted CA certificates into the folder as <hash>.N")
      p:option("--hash-links", "the <hash>.rN entries: symbolic links to the PEM files (default) or hard links")
        :choices { "symlink", "hardlink" }
      p:flag("--plugin-sources", "add the sources plugins list in crl_sources")
    end,
    run = mirror_cmd,
    text = mirror_text,
  },
  check = {
    summary = "revocation status of a certificate and every CA of its chain (exit 0 good, 3 revoked, 1 undetermined)",
    description = "Each certificate is checked against its issuer's CRL from --crl, --crl-dir, CRLs "
      .. "embedded in the --chain file, or with --fetch its distribution points. An expired CRL makes "
      .. "its CA's certificates revoked (--expired changes that); when no usable CRL exists, "
      .. "--fallback decides (else the verdict is undetermined, exit 1).",
    options = function(p)
      p:argument("cert", "the certificate (PEM or DER; more certificates after it are chain candidates)")
      p:option("--chain", "CA certificates, up to the trust anchor (repeatable; CRLs in them are used)"):count("*")
      p:option("--crl", "CRL file(s) (PEM, DER, p7c, ZIP, GZIP)"):count("*")
      p:option("--crl-dir", "a folder of CRLs (an OpenSSL hash folder or a crl mirror)")
      p:flag("--fetch", "download CRLs from the certificates' distribution points when none is given")
      p:option("--fallback", "when the status cannot be established: revoked or not-revoked")
        :choices { "revoked", "not-revoked" }
      p:option("--expired", "what an expired CRL means: revoked (default), undetermined, ignore")
        :choices { "revoked", "undetermined", "ignore" }
      p:option("--at", "check at this time (2026-11-28T00:00:00Z or epoch seconds)")
      p:option("--timeout", "seconds for each download with --fetch", "30"):convert(options.seconds("--timeout"))
      p:option("--tls-ca", "CA file for HTTPS distribution points and OCSP responders")
      p:flag("--ocsp", "also ask each certificate's OCSP responder; revoked from either source wins")
    end,
    run = function(args)
      local t
      if args.at then
        local err
        t, err = common.parse_time(args.at)
        if not t then return nil, "crl check: --at: " .. err, 2 end
      end
      local res, err = M.check {
        cert = args.cert, chain_files = common.list(args.chain), crl_files = common.list(args.crl),
        crl_dir = args.crl_dir, fetch = args.fetch, fallback = args.fallback, expired = args.expired,
        time = t, fetch_opts = { timeout = args.timeout, ca_file = args.tls_ca },
        ocsp = args.ocsp, ocsp_opts = { timeout = args.timeout, ca_file = args.tls_ca },
      }
      if not res then return nil, err end
      res.exit_code = VERDICT_EXIT[res.verdict]
      return res, nil, res.exit_code
    end,
    text = check_text,
  },
  diff = {
    summary = "what changed between two CRLs: serials added and removed, numbers and dates",
    options = function(p)
      p:argument("old", "the older CRL")
      p:argument("new", "the newer CRL")
    end,
    run = function(args)
      local res, err = M.diff(args.old, args.new)
      if not res then return nil, err end
      return res
    end,
    text = diff_text,
  },
}

return M
