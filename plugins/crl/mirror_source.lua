-- crl/mirror_source.lua: one source of a mirror run: its download (with failover between its
-- URLs and conditional requests), the checks each CRL in it must pass before it is published
-- (trusted signer, current, no rollback, the source's issuers), and its result.
--   run_source(ctx, src, i) -> true    the task of source i (cfg.sources[i]) in the run's pool;
--                                      its result ends in ctx.results[i] (finish_source)
--   finish_source(ctx, i, out)         the result of source i is final: counted and kept as
--                                      JSON text on disk (ctx.rstore)
-- ctx: the run's context (crl/mirror.lua: run; crl/mirror_publish.lua names its fields).
local fs = require "certbench.fs"
local loop = require "certbench.loop"
local ui = require "certbench.ui"
local crlfile = require "certbench.plugins.crl.crlfile"
local fetch = require "certbench.plugins.crl.fetch"
local publish = require "certbench.plugins.crl.mirror_publish"

local M = {}

-- the key under which an item of a source's result holds its staged record until the result
-- is final (not a string: never encoded)
local STAGED = {}

-- validate(ctx, c, now) -> id | nil, err, code: the checks before anything is published
local function validate(ctx, c, now)
  local cfg, st = ctx.cfg, ctx.state
  local ca, why, code = ctx.trust:issuer_of(c)
  if not ca then return nil, why, code end
  local tu, nu = c:this_update(), c:next_update()
  if tu > now + cfg.skew then
    return nil, ("not yet valid: its thisUpdate %s is in the future"):format(crlfile.time(tu)), "not_yet_valid"
  end
  if nu and nu + cfg.grace < now then
    return nil, ("expired: its nextUpdate %s is past%s"):format(crlfile.time(nu),
      cfg.grace > 0 and (" the grace of %ds"):format(math.floor(cfg.grace)) or ""), "expired"
  end
  local id = crlfile.identity(c, ca)
  local prev = st.crls:peek(id.key)
  if prev then
    local n, pn = c:number(), prev.number
    if pn and not n then
      return nil, ("has no CRL number, but the published CRL of this issuer has number %s")
        :format(crlfile.number_text(pn)), "rollback"
    end
    if n and pn then
      local cmp = crlfile.cmp_number(n, pn)
      if cmp < 0 then
        return nil, ("CRL number %s is lower than the published %s (an older or replayed CRL)")
          :format(crlfile.number_text(n), crlfile.number_text(pn)), "rollback"
      end
      if cmp == 0 and tu < (prev.this_update_epoch or 0) then
        return nil, ("CRL number %s was published with a later thisUpdate %s (a replayed CRL)")
          :format(crlfile.number_text(n), crlfile.time(prev.this_update_epoch)), "rollback"
      end
    elseif tu < (prev.this_update_epoch or 0) then
      return nil, ("thisUpdate %s is older than the published %s (an older or replayed CRL)")
        :format(crlfile.time(tu), crlfile.time(prev.this_update_epoch)), "rollback"
    end
  end
  return id, ca
end

local function crl_item(ctx, c, name, src, now, pins)
  local item = crlfile.summary(c)
  item.member = name ~= src.url and name or nil
  if pins and not pins[item.issuer] then
    -- a distribution point serves its CA's CRL; another CA's, however valid, means the source
    -- changed hands or is misconfigured: the CA it stood for would silently go stale
    local list = {}
    for k in pairs(pins) do list[#list + 1] = k end
    table.sort(list)
    item.action, item.code = "rejected", "issuer"
    item.error = ("the source is pinned to %s, not to this issuer (the source's issuers in the configuration change that)")
      :format(table.concat(list, "; "))
    return item
  end
  local id, err, code = validate(ctx, c, now)
  if not id then
    item.action, item.error, item.code = "rejected", err, code
    return item
  end
  item.key = id.key
  local ok, files, action, sg, staged = pcall(publish.publish, ctx, c, id, src, now)
  if not ok then
    local e = type(files) == "table" and files.publish or tostring(files)
    item.action, item.error, item.code = "rejected", "cannot publish: " .. tostring(e), "io"
    return item
  end
  item.action, item.files = action, files
  if staged then item[STAGED] = sg end
  return item
end

-- expired_published(ctx, keys, now, entry) -> error text when a CRL a source stands for is
-- expired (entry(k): the state entry of k, decoded once a source)
local function expired_published(ctx, keys, now, entry)
  for _, k in ipairs(keys or {}) do
    local e = entry(k)
    if e and e.next_update_epoch and e.next_update_epoch + ctx.cfg.grace < now then
      return ("the published CRL of %s expired at %s and the source still serves no newer one")
        :format(e.issuer, crlfile.time(e.next_update_epoch))
    end
  end
end

local function all_published(ctx, keys, entry)
  if not keys or #keys == 0 then return false end
  for _, k in ipairs(keys) do
    local e = entry(k)
    if not e or not e.base or e.repair or not fs.exists(fs.join(ctx.cfg.out_dir, e.base .. ".der")) then return false end
  end
  return true
end

-- finish_source(ctx, i, out): the result of source i is final (unless its CRL cannot take its
-- name at commit): counted, and kept as its JSON text on disk (ctx.rstore): a run of thousands
-- of sources holds an integer for each result until the report is written
function M.finish_source(ctx, i, out)
  local n = ctx.counts
  if out.ok then n.ok = n.ok + 1 else n.failed = n.failed + 1 end
  for j, it in ipairs(out.crls) do
    local a = it.action
    if a ~= "published" and a ~= "rejected" then a = "unchanged" end
    n[a] = n[a] + 1
    local sg = it[STAGED]
    if sg then
      it[STAGED] = nil
      publish.staged_source(sg, i, j)
    end
    -- no task changes an entry across a yield (publish sets it before it writes), so what
    -- this source decoded goes back to text now; the commit decodes what it updates again
    if it.key then ctx.state.crls:cool(it.key) end
  end
  ctx.state.sources:cool(out.url)
  out.crls = ui.array(out.crls)
  ctx.results[i] = ctx.rstore:put(ui.encode_json(out))
end

function M.run_source(ctx, src, i)
  local cfg = ctx.cfg
  local out = { url = src.url, name = src.name, ok = false, crls = {} }
  if ctx.cancel and ctx.cancel.stop then
    out.error, out.code, out.skipped = "not started: the mirror is stopping", "cancelled", true
    M.finish_source(ctx, i, out)
    return true
  end
  local sst = ctx.state.sources:get(src.url) or {}
  ctx.state.sources:set(src.url, sst)
  ctx.prev_success[src.url] = sst.last_success
  for _, k in ipairs(sst.keys or {}) do
    local t = ctx.stood_for[k] or {}
    t[#t + 1] = i
    ctx.stood_for[k] = t
  end
  sst.last_attempt = ctx.now()
  local t0 = loop.now()
  local peeked = {}
  local function entry(k)
    local e = peeked[k]
    if e == nil then e = ctx.state.crls:peek(k) or false peeked[k] = e end
    return e or nil
  end
  local conditional = sst.ok and all_published(ctx, sst.keys, entry)
  -- failover: the URLs of the source in order, until one answers; the others' errors are
  -- reported (out.failover), not fatal. A conditional request only to the URL that served
  -- last: another server's ETag means nothing
  local r, err, code
  local urls = src.urls or { src.url }
  for k, u in ipairs(urls) do
    local cond = conditional and (sst.served_by or src.url) == u
    r, err, code = fetch.get(u, {
      timeout = src.timeout or cfg.timeout, connect_timeout = src.connect_timeout or cfg.connect_timeout,
      low_speed = src.low_speed or cfg.low_speed, max_size = src.max_size or cfg.max_size,
      ca_file = src.tls_ca or cfg.tls_ca, limits = src.limits or cfg.limits,
      etag = cond and sst.etag or nil, allow_file = true,
      if_modified_since = cond and not sst.etag and sst.last_modified or nil,
      -- a big download streams to a file, as soon as its Content-Length or its size says it is
      -- big; small ones stay in memory (faster). A DER CRL in such a file is scanned there
      -- (crl.scan_file): checked, hashed and written out a piece at a time, never held whole,
      -- so four 200 MB CRLs at once cost a few MB each, not their size
      tmp_dir = src.stream ~= false and ctx.tmp or nil,
      stream_over = src.stream == nil and cfg.stream_over or 0, scan = true,
    })
    if r then
      if #urls > 1 then out.served_by = u end
      sst.served_by = #urls > 1 and u or nil
      break
    end
    if k < #urls then
      out.failover = out.failover or {}
      out.failover[#out.failover + 1] = err
    end
  end
  out.seconds = loop.now() - t0
  -- other sources ran meanwhile (one may have published a CRL this one stands for too)
  peeked = {}
  local now = ctx.now()
  if not r then
    out.error, out.code = err, code
  elseif r.not_modified then
    out.http_status, out.not_modified = r.status, true
    for _, k in ipairs(sst.keys or {}) do
      local e = entry(k)
      if e then
        out.crls[#out.crls + 1] = { issuer = e.issuer, number = e.number, action = "not_modified",
          next_update = crlfile.time(e.next_update_epoch), key = k }
      end
    end
    local exp = expired_published(ctx, sst.keys, now, entry)
    if exp then out.error, out.code = ("%s: not modified, but %s"):format(src.url, exp), "expired" end
    out.ok = exp == nil
  else
    out.http_status, out.bytes = r.status, r.bytes
    sst.bytes = r.bytes
    local keys, failed, issuers = {}, nil, {}
    -- the issuers the source may serve: the configuration's, else those of its first success
    local pin_list, pins = src.issuers or sst.issuers, nil
    if pin_list then
      pins = {}
      for _, n in ipairs(pin_list) do pins[n] = true end
    end
    for _, m in ipairs(r.crls) do
      local item
      if m.crl then
        item = crl_item(ctx, m.crl, m.name, src, now, pins)
        if item.action ~= "rejected" then issuers[item.issuer] = true end
        m.crl:close()
      else
        item = { member = m.name, action = "rejected", error = m.error, code = "format" }
      end
      if item.key and item.action ~= "rejected" then keys[#keys + 1] = item.key end
      if item.action == "rejected" then
        failed = failed or item
      end
      out.crls[#out.crls + 1] = item
    end
    if failed then
      local n = 0
      for _, it in ipairs(out.crls) do if it.action == "rejected" then n = n + 1 end end
      out.error = ("%s: %s%s"):format(src.url,
        failed.issuer and ("the CRL of " .. failed.issuer .. ": ") or "", failed.error)
      if n > 1 then out.error = out.error .. (" (and %d more rejected)"):format(n - 1) end
      out.code = failed.code
    end
    out.ok = failed == nil
    if out.ok then
      sst.etag, sst.last_modified, sst.keys = r.etag, r.last_modified, keys
      if not sst.issuers and not src.issuers and next(issuers) then
        sst.issuers = {}
        for n in pairs(issuers) do sst.issuers[#sst.issuers + 1] = n end
        table.sort(sst.issuers)
      end
    else
      -- a later run must download again, not get a 304 for what was rejected
      sst.etag, sst.last_modified = nil, nil
      if #keys > 0 then sst.keys = keys end
    end
  end
  if r and (r.bytes or 0) > (1 << 20) then
    -- a body of megabytes kept in memory (under stream_over) is garbage now: collect it, or
    -- the next ones pile up on top of it before the collector gets round to it
    r = nil
    collectgarbage()
  end
  local tolerance = src.tolerance or cfg.tolerance
  if not r and tolerance and sst.keys and #sst.keys > 0 then
    -- aging tolerance: a failed download is a warning while every CRL the source stands for is
    -- published, current and fetched within the tolerance; past it, a failure
    local within, oldest = true, now
    for _, k in ipairs(sst.keys) do
      local e = entry(k)
      if not e or not e.last_success or (e.next_update_epoch and e.next_update_epoch + cfg.grace < now)
         or now - e.last_success > tolerance then
        within = false
      else
        oldest = math.min(oldest, e.last_success)
      end
    end
    if within then
      out.ok, out.code = true, nil
      out.warning = ("%s (tolerated: the published CRL is current and was fetched %s ago, within %ds)")
        :format(out.error, ("%d s"):format(now - oldest), math.floor(tolerance))
      out.error = nil
    end
  end
  if not out.ok and src.optional and out.code ~= "cancelled" then
    -- fetch-crl's noerrors: this source's failure is a warning; an expired CRL it published
    -- still fails the run (metrics.judge_freshness), as a consumer takes it for "all revoked"
    out.ok, out.code = true, nil
    out.warning = ("%s (not an error: the source is optional)"):format(out.error)
    out.error = nil
  end
  if src.nowarnings then out.nowarnings = true end
  sst.ok = out.ok
  if out.ok then
    sst.last_success = now
    sst.last_error, sst.last_error_code = nil, nil
  else
    sst.errors_total = (sst.errors_total or 0) + 1
    sst.last_error, sst.last_error_code = out.error, out.code
  end
  M.finish_source(ctx, i, out)
  return true
end

return M
