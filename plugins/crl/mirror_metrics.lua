-- crl/mirror_metrics.lua: what a mirror run says about the CRLs it has published, whatever
-- their sources did this run: the freshness verdict on each (report.stale, report.expiring; a
-- stale one fails the sources that stood for it) and the Prometheus text of the run.
--   judge_freshness(ctx, report, now) -> true when no published CRL is stale
--   write_metrics(ctx, report, w)      the Prometheus textfile into the fs.writer w
-- ctx: the run's context (crl/mirror.lua: run).
local ui = require "certbench.ui"
local crlfile = require "certbench.plugins.crl.crlfile"

local M = {}

-- freshness(cfg, e, now) -> "stale" | "expiring" | "fresh" | nil: the verdict on a published CRL
local function freshness(cfg, e, now)
  local nu, tu = e.next_update_epoch, e.this_update_epoch
  if not nu then return nil end
  if nu + cfg.grace < now then return "stale" end
  local before = cfg.warn_before or math.max(0, (nu - (tu or nu)) // 4)
  if nu - now <= before then return "expiring" end
  return "fresh"
end

-- judge_freshness(ctx, report, now): every CRL the mirror has published, whatever its source
-- did this run (a source that now serves another CA, or none, leaves its CA's CRL to expire):
-- a stale one fails the run and the sources that stood for it
function M.judge_freshness(ctx, report, now)
  local stale, expiring = {}, {}
  for k, e in ctx.state.crls:each() do
    local v = freshness(ctx.cfg, e, now)
    if v == "stale" then
      stale[#stale + 1] = { issuer = e.issuer, crl = e.base, next_update = crlfile.time(e.next_update_epoch), key = k }
    elseif v == "expiring" then
      expiring[#expiring + 1] = { issuer = e.issuer, crl = e.base, next_update = crlfile.time(e.next_update_epoch) }
    end
  end
  for _, sx in ipairs(stale) do
    for _, i in ipairs(ctx.stood_for[sx.key] or {}) do
      local out = ctx.results[i] and ui.decode_json(ctx.rstore:read(ctx.results[i]))
      if out and out.ok then
        out.ok, out.code = false, "stale"
        out.error = ("%s: the published CRL of %s expired at %s and the source no longer serves it")
          :format(out.url, sx.issuer, sx.next_update)
        ctx.results[i] = ctx.rstore:put(ui.encode_json(out))
        ctx.counts.ok, ctx.counts.failed = ctx.counts.ok - 1, ctx.counts.failed + 1
        local sst = ctx.state.sources:get(out.url)
        if sst then
          sst.ok = false
          sst.errors_total = (sst.errors_total or 0) + 1
          sst.last_error, sst.last_error_code = out.error, out.code
          ctx.state.sources:cool(out.url)
        end
      end
    end
    sx.key = nil
  end
  if #stale > 0 then report.stale = ui.array(stale) end
  if #expiring > 0 then report.expiring = ui.array(expiring) end
  return #stale == 0
end

local function label(v)
  return '"' .. tostring(v):gsub("\\", "\\\\"):gsub("\n", "\\n"):gsub('"', '\\"') .. '"'
end

-- write_metrics(ctx, report, w): the Prometheus text into the fs.writer w, a line at a time
-- (no table of rows: a mirror of thousands of CRLs has five lines for each)
function M.write_metrics(ctx, report, w)
  local function head(name, kind, help)
    w:write("# HELP ", name, " ", help, "\n# TYPE ", name, " ", kind, "\n")
  end
  local function line(name, labels, v)
    w:write(name, labels, " ", math.tointeger(v) and tostring(math.tointeger(v)) or ("%.3f"):format(v), "\n")
  end
  local function single(name, help, v)
    head(name, "gauge", help)
    line(name, "", v)
  end
  single("certbench_crl_mirror_last_run_timestamp_seconds", "When the last mirror run ended.", report.finished_epoch)
  single("certbench_crl_mirror_last_run_duration_seconds", "How long the last mirror run took.", report.duration)
  single("certbench_crl_mirror_last_run_success", "1 if every source succeeded in the last run.", report.ok and 1 or 0)
  head("certbench_crl_mirror_sources", "gauge", "Sources by the result of the last run.")
  line("certbench_crl_mirror_sources", '{result="ok"}', report.sources_ok)
  line("certbench_crl_mirror_sources", '{result="failed"}', report.sources_failed)

  -- each entry decoded once: its labels and values in columns, then a metric at a time
  local labels, cols = {}, { {}, {}, {}, {}, {}, {}, {} }
  for _, e in ctx.state.crls:each() do
    local i = #labels + 1
    labels[i] = "{issuer=" .. label(e.issuer) .. ",crl=" .. label(e.base) .. "}"
    cols[1][i], cols[2][i], cols[3][i] = e.last_success or false, e.next_update_epoch or false, e.this_update_epoch or false
    cols[4][i], cols[5][i] = e.entries or false, crlfile.number_value(e.number) or false
    local v = freshness(ctx.cfg, e, report.finished_epoch)
    cols[6][i] = v and (v == "stale" and 1 or 0) or false
    cols[7][i] = v and (v == "expiring" and 1 or 0) or false
  end
  local function per_crl(name, help, col)
    head(name, "gauge", help)
    for i, l in ipairs(labels) do
      if col[i] then line(name, l, col[i]) end
    end
  end
  per_crl("certbench_crl_last_success_timestamp_seconds",
    "When the CRL was last fetched and validated (published or unchanged).", cols[1])
  per_crl("certbench_crl_next_update_timestamp_seconds", "nextUpdate of the published CRL.", cols[2])
  per_crl("certbench_crl_this_update_timestamp_seconds", "thisUpdate of the published CRL.", cols[3])
  per_crl("certbench_crl_entries", "Revoked certificates in the published CRL.", cols[4])
  per_crl("certbench_crl_number", "CRL number of the published CRL (when it fits a float).", cols[5])
  per_crl("certbench_crl_stale", "1 if the published CRL is past its nextUpdate (and the grace).", cols[6])
  per_crl("certbench_crl_expiring", "1 if the published CRL's nextUpdate is within warn_before.", cols[7])

  labels, cols = {}, { {}, {}, {}, {} }
  for u, sst in ctx.state.sources:each() do
    if ctx.configured[u] then
      local i = #labels + 1
      labels[i] = label(u)
      cols[1][i], cols[2][i], cols[3][i] = sst.ok and 1 or 0, sst.errors_total or 0, sst.last_success or false
      cols[4][i] = not sst.ok and sst.last_error_code or false
    end
  end
  local function per_source(name, kind, help, col, extra)
    head(name, kind, help)
    for i, l in ipairs(labels) do
      if col[i] then line(name, "{source=" .. l .. (extra and extra(col[i]) or "") .. "}", extra and 1 or col[i]) end
    end
  end
  per_source("certbench_crl_source_up", "gauge", "1 if the source succeeded in the last run.", cols[1])
  per_source("certbench_crl_source_errors_total", "counter", "Failed runs of the source.", cols[2])
  per_source("certbench_crl_source_last_success_timestamp_seconds", "gauge", "When the source last succeeded.", cols[3])
  per_source("certbench_crl_source_error", "gauge", "The kind of the last error of a failing source.", cols[4],
    function(code) return ",code=" .. label(code) end)
end

return M
