-- crl/mirror_schedule.lua: the long-running mirror job: a run every day at a UTC time (plus a
-- random delay), or every N seconds, until SIGTERM/SIGINT.
--   daily(cfg, opts, run) -> summary   run: the function of one run (mirror.run)
--   next_daily(now, "HH:MM") -> epoch  the next such time after now
local loop = require "certbench.loop"
local ui = require "certbench.ui"
local rand = require "certbench.rand"
local crlfile = require "certbench.plugins.crl.crlfile"
local state = require "certbench.plugins.crl.state"
local config = require "certbench.plugins.crl.mirror_config"

local M = {}

function M.next_daily(now, hhmm)
  local off = assert(config.parse_hhmm(hhmm))
  local t = now - now % 86400 + off
  if t <= now then t = t + 86400 end
  return t
end

-- daily(cfg, opts, run) -> summary: runs at cfg.daily_at (UTC) plus a random delay of up to
-- cfg.random_delay seconds, every day, until SIGTERM or SIGINT; a failed run (or one that
-- raised) is reported and the next one is scheduled all the same. The first run is at once
-- when the folder has no complete run in the last day (a fresh mirror, or a job restarted
-- after a long stop).
-- opts: interval (seconds: every that many seconds instead of daily; tests and
-- CERTBENCH_CRL_MIRROR_INTERVAL), on_run(report, ok, err) after each run, max_runs
function M.daily(cfg, opts, run)
  opts = opts or {}
  local cancel = { stop = false }
  local summary = { runs = 0, failed_runs = 0, errors = 0 }
  local timer
  local running = false
  local watcher
  local function log(fmt, ...) ui.info("crl mirror: " .. fmt, ...) end

  local schedule
  local function one_run()
    running = true
    summary.runs = summary.runs + 1
    local ok, report, rok = pcall(run, cfg, { cancel = cancel, now = opts.now })
    running = false
    if not ok then
      summary.errors = summary.errors + 1
      summary.failed_runs = summary.failed_runs + 1
      log("run %d failed: %s", summary.runs, tostring(report))
      if opts.on_run then opts.on_run(nil, false, tostring(report)) end
    elseif not report then
      summary.failed_runs = summary.failed_runs + 1
      log("run %d failed: %s", summary.runs, tostring(rok))
      if opts.on_run then opts.on_run(nil, false, rok) end
    else
      if not rok then summary.failed_runs = summary.failed_runs + 1 end
      summary.last_report = report
      log("run %d: %d of %s ok, %s published, %d unchanged, %d rejected", summary.runs,
        report.sources_ok, ui.plural(report.sources_ok + report.sources_failed, "source"), ui.plural(report.crls_published, "CRL"),
        report.crls_unchanged, report.crls_rejected)
      if opts.on_run then opts.on_run(report, rok) end
    end
    if opts.max_runs and summary.runs >= opts.max_runs then cancel.stop = true end
    if cancel.stop then
      if watcher then watcher:close() watcher = nil end
      return
    end
    schedule()
  end

  schedule = function(first)
    local delay
    if opts.interval then
      delay = first and 0 or opts.interval
    else
      local m = state.read_meta(config.meta(cfg, "state.json")) or {}
      local now = os.time()
      if first and (not m.last_full_success or m.last_full_success < now - 86400) then
        delay = 0
      else
        delay = M.next_daily(now, cfg.daily_at) - now
        if cfg.random_delay > 0 then
          delay = delay + rand.uniform(math.floor(cfg.random_delay * 1000) + 1) / 1000
        end
      end
      summary.next_run = crlfile.time(now + math.floor(delay))
      if delay > 0 then log("next run at %s", summary.next_run) end
    end
    timer = loop.after(delay, one_run)
  end

  watcher = loop.on_signal({ "SIGTERM", "SIGINT" }, function(name)
    cancel.stop = true
    summary.stopped_by = name
    if timer and not running then timer:stop() end
    log("%s: %s", name, running and "stopping after the current run" or "stopping")
    if watcher then watcher:close() watcher = nil end
  end)
  schedule(true)
  local ok, err = loop.run()
  if not ok then summary.error = err end
  return summary
end

return M
