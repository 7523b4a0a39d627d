-- crl/mirror.lua: keep a folder of CRLs fresh from a list of distribution points, the way an
-- appliance's "automatic CRL updates" do, without its failure modes: a CRL is published only
-- when it is signed by a trusted CA, current, and not older than the one already published;
-- a source that fails keeps its last good CRL; every run leaves a JSON report and Prometheus
-- metrics for monitoring. This file is the module scripts require and a run from start to end;
-- the parts of a run are in files of their own:
--   crl/mirror_config.lua     the configuration: keys, checks, config files, options, environment
--   crl/mirror_reconcile.lua  the state made to agree with the files before a run
--   crl/mirror_source.lua     one source: download, validation of each CRL, its result
--   crl/mirror_publish.lua    staging and commit of the CRL files, CA links, old-style names
--   crl/mirror_metrics.lua    freshness verdicts and the Prometheus text
--   crl/mirror_schedule.lua   the daily job
--
--   mirror.config(t) -> cfg | nil, err          check and complete a configuration table (an
--                                               unknown key is an error naming it)
--   mirror.configure(opts) -> cfg, daily_opts | nil, err, code
--                                               the configuration `crl mirror` runs with: a
--                                               config file (opts.config), options over it,
--                                               plugins' crl_sources (opts.plugin_sources), an
--                                               IGTF folder (opts.igtf_dir), the environment
--                                               (CERTBENCH_CRL_MIRROR_INTERVAL, _MAX_RUNS:
--                                               daily_opts); relative paths of options are
--                                               taken from opts.cwd (crl/mirror_config.lua)
--   mirror.load_config(path) -> t | nil, err    a config file: Lua returning a table (the keys:
--                                               crl/mirror_config.lua)
--   mirror.run(cfg[, opts]) -> report, ok       one run; ok: every source succeeded
--   mirror.daily(cfg[, opts]) -> summary        runs every day at cfg.daily_at (UTC) until
--                                               SIGTERM/SIGINT
--   mirror.next_daily(now, "HH:MM") -> epoch    the next such time after now
--   mirror.seconds(v, what), mirror.parse_hhmm(s), mirror.defaults, mirror.META
--
-- The folder (out_dir) after a run:
--   <base>.der, <base>.pem      each CRL (base: issuer CN, issuer hash, key id: one file per
--                               issuer key, delta CRLs and CRL partitions apart)
--   <issuer-hash>.r<n>          the OpenSSL hash folder entry of the CRL, so
--                               `openssl verify -CApath DIR -crl_check` works on DIR: a
--                               symbolic link to <base>.pem (made once; hash_links = "hardlink"
--                               makes it a second name of the PEM file instead)
--   <subject-hash>.<n>          the trusted CA certificates (unless publish_cas = false) (a
--                               <subject-hash>.<n> already there with the same certificate, as
--                               a trust folder has it, is left alone and never removed)
--   <names of a source>         links to its CRL's files (a source's names: fetch-crl's pem and
--                               der formats; a file there that is not a CRL is left alone)
--   A <hash>.rN that is a file, not the mirror's link (fetch-crl's), counts as published: the
--   mirror taking over a fetch-crl folder refuses a lower CRL number from its first run.
--   .certbench-mirror/state.json     what is published: numbers, dates, digests, ETags. A
--                                    source no longer configured is forgotten once it has not
--                                    been asked for FORGET_AFTER (30 days: a run with a few
--                                    sources on the command line forgets nothing); the CRLs
--                                    it published stay, and stay protected from rollback.
--   .certbench-mirror/last-run.json  the report of the last run (also cfg.report)
--   .certbench-mirror/lock           held by a run (flock), with its process id
--   The state folder and its tmp/ are the running user's own (0700): a run refuses them when
--   they are symbolic links or another user's, and reaches them only through the descriptors
--   it checked (fs.private_dir), so nothing it writes or removes there can land elsewhere.
--   Names read back from state.json are used only when they are plain names of the mirror's
--   own kinds (report.state_ignored lists the others).
local fs = require "certbench.fs"
local loop = require "certbench.loop"
local ui = require "certbench.ui"
local crlfile = require "certbench.plugins.crl.crlfile"
local trust = require "certbench.plugins.crl.trust"
local state = require "certbench.plugins.crl.state"
local config = require "certbench.plugins.crl.mirror_config"
local reconcile = require "certbench.plugins.crl.mirror_reconcile"
local publish = require "certbench.plugins.crl.mirror_publish"
local source = require "certbench.plugins.crl.mirror_source"
local metrics = require "certbench.plugins.crl.mirror_metrics"
local schedule = require "certbench.plugins.crl.mirror_schedule"

local M = {
  META = config.META,
  defaults = config.defaults,
  config = config.config,
  configure = config.configure,
  load_config = config.load_config,
  seconds = config.seconds,
  parse_hhmm = config.parse_hhmm,
  next_daily = schedule.next_daily,
}

local GC_PAUSE = 120
local FORGET_AFTER = 30 * 86400

-- streamed into the file: the state and report of thousands of sources never sit in memory
-- as one string
local function save_json(path, t, sync)
  return ui.write_json(path, t, { sync = sync ~= false })
end

-- notify(cfg, report, published): the site plugins' hooks of a run whose files, state and report
-- are written (crl.published for each CRL it published, then crl.mirror_done); a hook's failure
-- is reported by certbench.plugins and changes nothing here
local function notify(cfg, report, published)
  local ok, plugins = pcall(require, "certbench.plugins")
  if not ok then return end
  if published and report.crls_published > 0 and plugins.has_hook("crl.published") then
    for _, s in ipairs(report.sources) do
      for _, c in ipairs(s.crls or {}) do
        if c.action == "published" then
          plugins.emit("crl.published", { out_dir = cfg.out_dir, url = s.url, files = c.files,
            issuer = c.issuer, number = c.number, this_update = c.this_update, next_update = c.next_update })
        end
      end
    end
  end
  plugins.emit("crl.mirror_done", { out_dir = cfg.out_dir, ok = report.ok, sources_ok = report.sources_ok,
    sources_failed = report.sources_failed, crls_published = published and report.crls_published or 0,
    crls_unchanged = report.crls_unchanged, crls_rejected = report.crls_rejected,
    report = cfg.report or config.meta(cfg, "last-run.json") })
end

-- run(cfg[, opts]) -> report, ok
-- opts: now = function() -> epoch (tests), cancel = {stop = bool} (set by a signal), trust
-- (a loaded trust set, reused by daily runs)
local run
function M.run(cfg, opts)
  -- A run's garbage (responses, CRL summaries, staging) comes at a steady rate while its live
  -- data (state, report) grows with the sources: with Lua's default pause of 200% the heap
  -- reaches twice the live data before a cycle starts. 120% keeps the peak near the live data
  -- for a few per cent more time in the collector (measured: 5,000 sources, 98 -> 64 MB).
  local pause = collectgarbage("setpause", GC_PAUSE)
  local r = table.pack(pcall(run, cfg, opts))
  collectgarbage("setpause", pause)
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

function run(cfg, opts)
  opts = opts or {}
  local now = opts.now or os.time
  local started, t0 = now(), loop.now()
  local report = { started = crlfile.time(started), out_dir = cfg.out_dir, sources = {}, ok = false }
  local ok, err = fs.mkdir(cfg.out_dir, { parents = true })
  if not ok and not fs.isdir(cfg.out_dir) then return nil, err end
  -- the state folder and tmp/: checked once, then used through their descriptors only
  local sd <close>, serr = fs.private_dir(fs.join(cfg.out_dir, config.META))
  if not sd then return nil, "mirror: " .. serr end
  local tmpd <close>, terr = sd:sub("tmp")
  if not tmpd then return nil, "mirror: " .. terr end
  local function shown(m) return sd:shown(tmpd:shown(tostring(m))) end
  local lock, lerr = fs.lock(sd:path("lock"), { timeout = cfg.wait or 0, pid = true })
  if not lock then
    return nil, ("mirror: %s is in use by another mirror run (%s)"):format(cfg.out_dir, shown(lerr))
  end
  -- downloads a killed run left behind (the lock says no run is using them)
  for _, f in ipairs(fs.list(tmpd:path()) or {}) do fs.remove(tmpd:path(f)) end
  local set = opts.trust
  if not set then
    set, err = trust.load(cfg.ca, { spool_dir = tmpd:path() })
    if not set then lock:unlock() return nil, "mirror: " .. shown(err) end
  end
  -- the spool of the state (entries changed by the run) in the folder's tmp: on the same file
  -- system as the mirror, not in a /tmp that may be small
  local st = state.load(sd:path("state.json"), { spool_dir = tmpd:path() })
  local ignored = {}
  reconcile.reconcile(cfg, st, ignored, set)
  local ctx = { cfg = cfg, state = st, trust = set, now = now, cancel = opts.cancel,
                tmp = tmpd:path(), written = 0, configured = {}, state_ignored = ignored, stood_for = {},
                staged = {}, pending = {}, owner = {}, seq = 0, prev_success = {}, results = {},
                -- each source's result as JSON text, on disk
                rstore = fs.spool(tmpd:path()),
                counts = { ok = 0, failed = 0, published = 0, unchanged = 0, rejected = 0 } }
  for _, s in ipairs(cfg.sources) do ctx.configured[s.url] = true end
  if cfg.publish_cas then
    local pok, perr = pcall(publish.publish_cas, ctx)
    if not pok then report.warning = "cannot publish the CA certificates: " .. tostring(type(perr) == "table" and perr.publish or perr) end
  end
  local pool = loop.pool(cfg.concurrency)
  for i, src in ipairs(cfg.sources) do pool:submit(source.run_source, ctx, src, i) end
  for i, r in ipairs(pool:wait()) do
    if not ctx.results[i] then
      -- a bug in the source task: the run goes on, the source is reported failed
      source.finish_source(ctx, i, { url = cfg.sources[i].url, ok = false, crls = {},
        error = "internal error: " .. tostring(r[2]), code = "internal" })
    end
  end
  fs.fault("crl.mirror:staged")
  local cok, cerr = publish.commit(ctx)
  if not cok then report.warning = "cannot sync the new files, none was published: " .. shown(cerr) end
  fs.fault("crl.mirror:published")
  if cfg.hash_names.old then
    local hok, herr = pcall(publish.old_names, ctx)
    if not hok then report.warning = "cannot make the old hash names: " .. tostring(herr) end
  end
  local names_ok, names_err = pcall(publish.names, ctx)
  if not names_ok then report.warning = "cannot make the names of the pem/der formats: " .. tostring(names_err) end
  local fresh = metrics.judge_freshness(ctx, report, now())
  local nok, nfail = ctx.counts.ok, ctx.counts.failed
  local finished = now()
  report.finished = crlfile.time(finished)
  report.finished_epoch = finished
  report.duration = loop.now() - t0
  report.sources_ok, report.sources_failed = nok, nfail
  report.ok = nfail == 0 and fresh
  report.files_written = ctx.written
  st.meta.last_run = finished
  for _, u in ipairs(st.sources:keys()) do
    if not ctx.configured[u] and (st.sources:peek(u).last_attempt or 0) < finished - FORGET_AFTER then
      st.sources:set(u, nil)
    end
  end
  if report.ok then st.meta.last_full_success = finished end
  report.crls_published, report.crls_unchanged, report.crls_rejected =
    ctx.counts.published, ctx.counts.unchanged, ctx.counts.rejected
  -- the results stay where they are (the spool of rstore) until the report is read or written
  local rstore, slots = ctx.rstore, ctx.results
  report.sources = ui.lazy_array(#cfg.sources, function(i) return ui.raw(rstore:read(slots[i])) end)
  ctx.results = nil
  if #ignored > 0 then report.state_ignored = ignored end
  local sok, sverr = st:save(sd:path("state.json"))
  if not sok then report.warning = "cannot save the state: " .. shown(sverr) end
  save_json(sd:path("last-run.json"), report, false)
  if cfg.report then
    local rok, rerr = save_json(cfg.report, report)
    if not rok then report.warning = "cannot write the report: " .. tostring(rerr) end
  end
  if cfg.metrics then
    local w, merr = fs.writer(cfg.metrics)
    if w then
      metrics.write_metrics(ctx, report, w)
      w, merr = w:commit()
    end
    if not w then report.warning = "cannot write the metrics: " .. tostring(merr) end
  end
  st:close()
  lock:unlock()
  notify(cfg, report, cok)
  return report, report.ok
end

-- daily(cfg[, opts]) -> summary (crl/mirror_schedule.lua), each run by M.run
function M.daily(cfg, opts)
  return schedule.daily(cfg, opts, function(...) return M.run(...) end)
end

return M
