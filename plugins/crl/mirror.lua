-- crl/mirror.lua: keep a folder of CRLs fresh from a list of distribution points, the way an
-- appliance's "automatic CRL updates" do, without its failure modes: a CRL is published only
-- when it is signed by a trusted CA, current, and not older than the one already published;
-- a source that fails keeps its last good CRL; every run leaves a JSON report and Prometheus
-- metrics for monitoring.
--
--   mirror.config(t) -> cfg | nil, err          check and complete a configuration table (an
--                                               unknown key is an error naming it)
--   mirror.configure(opts) -> cfg, daily_opts | nil, err, code
--                                               the configuration `crl mirror` runs with: a
--                                               config file (opts.config), options over it,
--                                               plugins' crl_sources (opts.plugin_sources), the
--                                               environment (CERTBENCH_CRL_MIRROR_INTERVAL,
--                                               _MAX_RUNS: daily_opts); relative paths from the
--                                               command line are taken from opts.cwd
--   mirror.load_config(path) -> t | nil, err    a config file: Lua returning a table (below)
--   mirror.run(cfg[, opts]) -> report, ok       one run; ok: every source succeeded
--   mirror.daily(cfg[, opts]) -> summary        runs every day at cfg.daily_at (UTC) until
--                                               SIGTERM/SIGINT
--   mirror.next_daily(now, "HH:MM") -> epoch    the next such time after now
--
-- The folder (out_dir) after a run:
--   <base>.der, <base>.pem      each CRL (base: issuer CN, issuer hash, key id: one file per
--                               issuer key, delta CRLs and CRL partitions apart)
--   <issuer-hash>.r<n>          the OpenSSL hash folder entry of the CRL, so
--                               `openssl verify -CApath DIR -crl_check` works on DIR: a
--                               symbolic link to <base>.pem (made once; hash_links = "hardlink"
--                               makes it a second name of the PEM file instead)
--   <subject-hash>.<n>          the trusted CA certificates (unless publish_cas = false)
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
--
-- Configuration (a config file returns such a table; command-line options override it):
--   out_dir = "/var/lib/crl", ca = { "trusted.pem", ... } (the CAs that sign the CRLs),
--   sources = { "http://pki.example.com/root.crl",
--               { url = "https://...", name = "corp", tls_ca = "server-ca.pem",
--                 timeout = 30, max_size = 64 << 20 }, ... },
--   concurrency = 8, grace = 0 (seconds a CRL may be past its nextUpdate and still be
--   published), skew = 300 (seconds a thisUpdate may be in the future), metrics = "x.prom",
--   report = "run.json", daily_at = "03:30", random_delay = 300 (seconds, at most, added to
--   daily_at), publish_cas = true, timeout = 120, connect_timeout = 10, max_size = 256 MiB,
--   low_speed = {1, 60}, tls_ca = "ca.pem" (HTTPS trust for every source; default the system
--   store), limits = { archive limits: max_members, max_total, max_member, max_ratio },
--   stream_over = 4 MiB (a download bigger than this, by its Content-Length or as it arrives,
--   streams to a temporary file instead of memory; a source's stream = true/false decides for
--   it), hash_links = "symlink"
--   (or "hardlink", for consumers that do not follow symbolic links), hash_names = "new" (or
--   "new,old": also the names of OpenSSL before 1.0, <md5-hash>.N and <md5-hash>.rN, symbolic
--   links beside the new ones, as fetch-crl's -o with both hash kinds), wait = 30 (seconds to
--   wait for another run's lock before failing, naming its process), warn_before (seconds
--   before a published CRL's nextUpdate from which it is reported as expiring; default a
--   quarter of its validity). A source may name the issuers it serves (issuers = { "O = x,
--   CN = y" }, as the report shows them); else it is pinned to those of its first success,
--   and a CRL of another issuer from it is rejected. Every published CRL gets a verdict each
--   run: one past its nextUpdate (and the grace) fails the run and the sources that stood for
--   it (report.stale, metric certbench_crl_stale).
local crl = require "certbench.crl"
local fs = require "certbench.fs"
local loop = require "certbench.loop"
local ui = require "certbench.ui"
local rand = require "certbench.rand"
local digest = require "certbench.digest"
local pkey = require "certbench.pkey"
local common = require "certbench.plugins.crl.common"
local trust = require "certbench.plugins.crl.trust"
local state = require "certbench.plugins.crl.state"
local fetch = require "certbench.plugins.crl.fetch"

local M = {}

M.META = ".certbench-mirror"

local GC_PAUSE = 120
-- the key under which an item of a source's result holds its staged record until the result
-- is final (not a string: never encoded)
local STAGED = {}
local FORGET_AFTER = 30 * 86400

M.defaults = {
  concurrency = 8, grace = 0, skew = 300, random_delay = 300, publish_cas = true,
  stream_over = 4 << 20, hash_links = "symlink", wait = 30,
}
-- the download defaults are fetch's, defined there once
for _, k in ipairs { "timeout", "connect_timeout", "max_size", "low_speed" } do M.defaults[k] = fetch.defaults[k] end

-- configuration ---------------------------------------------------------------------------

local function is_int(v) return math.type(v) == "integer" end

local function seconds(v, what)
  if v == nil then return nil end
  if type(v) == "number" and v >= 0 then return v end
  if type(v) == "string" then
    local n, unit = v:match("^(%d+%.?%d*)([smhd]?)$")
    if n then return tonumber(n) * ({ [""] = 1, s = 1, m = 60, h = 3600, d = 86400 })[unit] end
  end
  return nil, ("%s: '%s' is not a duration (seconds, or 30m, 12h, 2d)"):format(what, tostring(v))
end
M.seconds = seconds

function M.parse_hhmm(s)
  local h, m = tostring(s):match("^(%d%d?):(%d%d)$")
  h, m = tonumber(h), tonumber(m)
  if not h or h > 23 or m > 59 then
    return nil, ("daily_at: '%s' is not a UTC time of day (HH:MM)"):format(tostring(s))
  end
  return h * 3600 + m * 60
end

function M.next_daily(now, hhmm)
  local off = assert(M.parse_hhmm(hhmm))
  local t = now - now % 86400 + off
  if t <= now then t = t + 86400 end
  return t
end

-- load_config(path): the file is Lua returning a table; it runs without access to anything
-- but os.getenv and the string/table/math libraries (a config holds data, not code).
function M.load_config(path)
  local text, err = fs.read(path, 16 << 20)
  if not text then return nil, err end
  local env = { os = { getenv = os.getenv, time = os.time }, string = string, table = table,
                math = math, tostring = tostring, tonumber = tonumber, ipairs = ipairs,
                pairs = pairs }
  local chunk, lerr = load(text, "@" .. path, "t", env)
  if not chunk then return nil, ("%s: %s"):format(path, lerr) end
  local ok, t = pcall(chunk)
  if not ok then return nil, ("%s: %s"):format(path, tostring(t)) end
  if type(t) ~= "table" then return nil, ("%s: must return a table, not %s"):format(path, type(t)) end
  -- relative paths in the file are relative to the file
  t._dir = fs.dirname(path)
  return t
end

local function rel(dir, p)
  if p == nil or dir == nil or p:sub(1, 1) == "/" then return p end
  return fs.join(dir, p)
end

-- the keys a configuration and a source may hold
local CONFIG_KEYS = { out_dir = true, ca = true, sources = true, metrics = true, report = true,
  daily_at = true, tls_ca = true, limits = true, hash_names = true, tolerance = true,
  warn_before = true, _dir = true }
for k in pairs(M.defaults) do CONFIG_KEYS[k] = true end
local SOURCE_KEYS = { url = true, name = true, tls_ca = true, ca_file = true, timeout = true,
  connect_timeout = true, max_size = true, stream = true, low_speed = true, limits = true,
  urls = true, issuers = true }

local function unknown_keys(t, known, what)
  local bad = {}
  for k in pairs(t) do if not known[k] then bad[#bad + 1] = tostring(k) end end
  if #bad == 0 then return nil end
  table.sort(bad)
  return ("mirror: %s: unknown key%s %s"):format(what, #bad > 1 and "s" or "", "'" .. table.concat(bad, "', '") .. "'")
end

-- config(t) -> cfg | nil, err
function M.config(t)
  if type(t) ~= "table" then error("mirror.config: expected a table", 2) end
  local bad = unknown_keys(t, CONFIG_KEYS, "configuration")
  if bad then return nil, bad end
  local cfg = {}
  for k, v in pairs(M.defaults) do cfg[k] = v end
  for k, v in pairs(t) do cfg[k] = v end
  local dir = t._dir
  if type(cfg.out_dir) ~= "string" or cfg.out_dir == "" then return nil, "mirror: no output folder (out_dir, --out-dir)" end
  cfg.out_dir = rel(dir, cfg.out_dir)
  local cas = cfg.ca
  if type(cas) == "string" then cas = { cas } end
  if type(cas) ~= "table" or #cas == 0 then
    return nil, "mirror: no trusted CA file (ca, --ca): every CRL must be verified against one"
  end
  cfg.ca = {}
  for i, p in ipairs(cas) do cfg.ca[i] = rel(dir, p) end
  if type(cfg.sources) ~= "table" or #cfg.sources == 0 then
    return nil, "mirror: no sources (sources, --source)"
  end
  local srcs, seen = {}, {}
  for i, s in ipairs(cfg.sources) do
    if type(s) == "string" then s = { url = s } end
    if type(s) == "table" and s.url == nil and type(s.urls) == "table" then
      -- several URLs for one CRL, tried in order (failover): the first names the source
      local c = {}
      for k, v in pairs(s) do c[k] = v end
      c.url = s.urls[1]
      s = c
    end
    if type(s) ~= "table" or type(s.url) ~= "string" then
      return nil, ("mirror: sources[%d] must be a URL or a table with url (or urls)"):format(i)
    end
    local sbad = unknown_keys(s, SOURCE_KEYS, ("sources[%d]"):format(i))
    if sbad then return nil, sbad end
    for _, u in ipairs(s.urls or { s.url }) do
      if type(u) ~= "string" or not u:match("^[%a][%w+.-]*://") then
        return nil, ("mirror: sources[%d]: '%s' is not a URL"):format(i, tostring(u))
      end
    end
    if not seen[s.url] then
      seen[s.url] = true
      local c = {}
      for k, v in pairs(s) do c[k] = v end
      c.tls_ca = rel(dir, c.tls_ca or c.ca_file)
      srcs[#srcs + 1] = c
    end
  end
  cfg.sources = srcs
  if not is_int(cfg.concurrency) or cfg.concurrency < 1 or cfg.concurrency > 1024 then
    return nil, "mirror: concurrency must be an integer from 1 to 1024"
  end
  local err
  for i, s in ipairs(cfg.sources) do
    if s.issuers ~= nil then
      local ok = type(s.issuers) == "table" and #s.issuers > 0
      for _, n in ipairs(ok and s.issuers or {}) do ok = ok and type(n) == "string" end
      if not ok then return nil, ("mirror: sources[%d].issuers must be a list of issuer names as the report shows them"):format(i) end
    end
  end
  if cfg.tolerance ~= nil then
    local terr
    cfg.tolerance, terr = seconds(cfg.tolerance, "tolerance")
    if cfg.tolerance == nil then return nil, "mirror: " .. terr end
  end
  if cfg.warn_before ~= nil then
    local werr
    cfg.warn_before, werr = seconds(cfg.warn_before, "warn_before")
    if cfg.warn_before == nil then return nil, "mirror: " .. werr end
  end
  for _, k in ipairs { "grace", "skew", "random_delay", "timeout", "connect_timeout", "wait" } do
    cfg[k], err = seconds(cfg[k], k)
    if cfg[k] == nil then return nil, "mirror: " .. err end
  end
  if not is_int(cfg.max_size) or cfg.max_size < 1 then return nil, "mirror: max_size must be a positive integer" end
  if not is_int(cfg.stream_over) or cfg.stream_over < 0 then return nil, "mirror: stream_over must be an integer >= 0" end
  local hn = cfg.hash_names or "new"
  if type(hn) == "table" then hn = table.concat(hn, ",") end
  cfg.hash_names = {}
  for w in tostring(hn):gmatch("[^,%s]+") do
    if w ~= "new" and w ~= "old" then
      return nil, ("mirror: hash_names: '%s' is neither new nor old"):format(w)
    end
    cfg.hash_names[w] = true
  end
  if not next(cfg.hash_names) then return nil, "mirror: hash_names: new, old or both" end
  if cfg.hash_names.old and cfg.hash_links == "hardlink" then
    return nil, "mirror: hash_names with old takes symbolic hash links only"
  end
  if cfg.hash_links ~= "symlink" and cfg.hash_links ~= "hardlink" then
    return nil, ("mirror: hash_links must be \"symlink\" or \"hardlink\", not '%s'"):format(tostring(cfg.hash_links))
  end
  if cfg.daily_at ~= nil then
    local ok, derr = M.parse_hhmm(cfg.daily_at)
    if not ok then return nil, "mirror: " .. derr end
  end
  cfg.metrics = rel(dir, cfg.metrics)
  cfg.report = rel(dir, cfg.report)
  cfg.tls_ca = rel(dir, cfg.tls_ca)
  return cfg
end

-- configure(opts) -> cfg, daily_opts | nil, err, code (2: a usage error)
-- opts: config = path (a config file), cwd = folder for the relative paths of the other options,
-- plugin_sources = true (add every plugin's crl_sources), sources = {URL...} (added to the
-- file's), ca = {files} (replaces the file's), and any key of a configuration (out_dir,
-- concurrency, grace, ...) overriding the file's; unknown keys are an error naming them.
local CONFIGURE_KEYS = { config = true, cwd = true, plugin_sources = true }
for k in pairs(CONFIG_KEYS) do if k ~= "_dir" then CONFIGURE_KEYS[k] = true end end
function M.configure(opts)
  if type(opts) ~= "table" then error("mirror.configure: expected a table", 2) end
  local bad = unknown_keys(opts, CONFIGURE_KEYS, "options")
  if bad then return nil, bad, 2 end
  local function abs(p)
    if p == nil or opts.cwd == nil or p:sub(1, 1) == "/" then return p end
    return fs.join(opts.cwd, p)
  end
  local t = {}
  if opts.config then
    local err
    t, err = M.load_config(opts.config)
    if not t then return nil, "mirror: " .. err end
  end
  t.sources = t.sources or {}
  for _, u in ipairs(opts.sources or {}) do t.sources[#t.sources + 1] = u end
  if opts.plugin_sources then
    for _, e in ipairs(require("certbench.plugins").sources()) do t.sources[#t.sources + 1] = e.source end
  end
  if opts.ca and #opts.ca > 0 then
    t.ca = {}
    for i, p in ipairs(opts.ca) do t.ca[i] = abs(p) end
  end
  for k, v in pairs(opts) do
    if not CONFIGURE_KEYS[k] or k == "config" or k == "cwd" or k == "plugin_sources" or k == "sources" or k == "ca" then
    elseif k == "out_dir" or k == "metrics" or k == "report" or k == "tls_ca" then t[k] = abs(v)
    else t[k] = v end
  end
  local cfg, err = M.config(t)
  if not cfg then return nil, err, 2 end
  local interval = os.getenv("CERTBENCH_CRL_MIRROR_INTERVAL")
  return cfg, { interval = interval and tonumber(interval) or nil,
                max_runs = tonumber(os.getenv("CERTBENCH_CRL_MIRROR_MAX_RUNS") or "") }
end

-- state -------------------------------------------------------------------------------------

local function meta(cfg, name) return fs.join(cfg.out_dir, M.META, name) end

-- names of the folder that the state may hold: the CRL base names the mirror makes
-- (common.identity) and the <hash>.N of the CA certificates
local function plain_base(s) return type(s) == "string" and s:match("^[%w][%w._-]*$") ~= nil and not s:find("..", 1, true) end
local function ca_link_name(s) return type(s) == "string" and s:match("^%x%x%x%x%x%x%x%x%.%d+$") ~= nil end

-- sha256(c): the digest of a CRL's DER, as the state keeps it
local function sha256(c)
  return (c:fingerprint("sha256"):gsub(":", ""):lower())
end

-- take(st, c, path): remember a CRL found published (by a run whose state was lost, or that
-- ended before it saved its state), so that nothing older replaces it
local function take(st, c, path, ca)
  local id = common.identity(c, ca)
  local e = st.crls:get(id.key)
  local newer = not e or not e.number or (c:number() and common.cmp_number(c:number(), e.number) > 0)
    or (not c:number() and c:this_update() > (e.this_update_epoch or 0))
  if not newer then return end
  local s = common.summary(c)
  e = e or {}
  e.issuer, e.hash, e.aki, e.delta, e.base = s.issuer, id.hash, id.aki, id.delta, id.base
  e.number, e.this_update_epoch, e.next_update_epoch = c:number(), c:this_update(), c:next_update()
  e.entries = c:count()
  e.sha256 = sha256(c)
  local stt = fs.stat(path)
  e.size, e.mtime, e.ino = stt and stt.size, stt and stt.mtime, stt and stt.ino
  -- it, or its PEM, may be torn: the next good download writes both again
  e.repair = "all"
  st.crls:set(id.key, e)
end

-- same_file(stat, size, mtime, ino): a file is the one the state remembers. Every write makes
-- a new file (rename), so the inode tells a rewrite in the same second with the same size.
local function same_file(s, size, mtime, ino)
  return s ~= nil and s.size == size and s.mtime == mtime and (ino == nil or s.ino == ino)
end

-- reconcile(cfg, st): the files are the truth about what is published. A DER file changed
-- since the state was saved (a run that ended early) or not in the state at all (a state
-- lost) is read, so that the number it holds is never rolled back. Such a CRL is marked for
-- repair: its next good download rewrites both files, however unchanged the bytes look (a
-- run cut short by a power loss may leave them torn); a PEM changed alone is rewritten alone.
-- verified(set, c, path, ignored) -> the trusted CA that signed c | nil: a file in the folder
-- enters the state (its number guards against rollback) only when it verifies; else it is
-- ignored and listed, so one forged file cannot make every genuine CRL "older"
local function verified(set, c, path, ignored)
  local ca, why = set:issuer_of(c)
  if not ca then ignored[#ignored + 1] = ("%s: not used (%s)"):format(path, tostring(why)) end
  return ca
end

local function reconcile(cfg, st, ignored, set)
  local known, changed = {}, {}
  local bad = {}
  for k, e in st.crls:each() do
    if e.base ~= nil and not plain_base(e.base) then
      -- a name that would lead out of the folder (or that the mirror never makes): the entry
      -- is dropped, so nothing is read, replaced or removed under it
      bad[#bad + 1] = k
      ignored[#ignored + 1] = ("crls[%s].base: %q is not a plain name"):format(k, tostring(e.base))
    elseif e.base then
      local path = fs.join(cfg.out_dir, e.base .. ".der")
      known[e.base .. ".der"] = true
      local s = fs.stat(path)
      if s and not same_file(s, e.size, e.mtime, e.ino) then changed[#changed + 1] = { k, path } end
      if e.pem_size and not same_file(fs.stat(fs.join(cfg.out_dir, e.base .. ".pem")), e.pem_size, e.pem_mtime, e.pem_ino) then
        local he = st.crls:get(k)
        he.repair = he.repair or "pem"
      end
    end
  end
  for _, k in ipairs(bad) do st.crls:set(k, nil) end
  for _, ch in ipairs(changed) do
    st.crls:get(ch[1]).repair = "all"
    local c = crl.load_file(ch[2])
    local ca = c and verified(set, c, ch[2], ignored)
    if ca then take(st, c, ch[2], ca) end
  end
  for _, name in ipairs(fs.list(cfg.out_dir) or {}) do
    if name:match("%.der$") and not known[name] then
      local path = fs.join(cfg.out_dir, name)
      local c = crl.load_file(path)
      local ca = c and verified(set, c, path, ignored)
      if ca then take(st, c, path, ca) end
    end
  end
  st.crls:cool_all()
end

-- streamed into the file: the state and report of thousands of sources never sit in memory
-- as one string
local function save_json(path, t, sync)
  return ui.write_json(path, t, { sync = sync ~= false })
end

-- publishing ----------------------------------------------------------------------------------

-- r_index(ctx, key, hash): the n of the <hash>.rN entry of a CRL: its own, or the first free
-- one of its issuer hash (the indexes in use, by hash, are gathered once per run)
local function r_index(ctx, key, hash)
  local e = ctx.state.crls:peek(key)
  if e and e.r_index then return e.r_index end
  if not ctx.r_used then
    -- once a run, and only when a CRL is new to the folder
    ctx.r_used = {}
    for _, o in ctx.state.crls:each() do
      if o.hash and o.r_index then
        local u = ctx.r_used[o.hash] or {}
        u[o.r_index] = true
        ctx.r_used[o.hash] = u
      end
    end
  end
  local used = ctx.r_used[hash] or {}
  ctx.r_used[hash] = used
  local i = 0
  while used[i] do i = i + 1 end
  used[i] = true
  return i
end

-- publish_cas writes its few files at once (atomically, durable at the run's sync)
local function write(path, data)
  local ok, err = fs.write(path, data, { sync = false, mode = 420 })
  if not ok then error({ publish = err }) end
end

-- A CRL is published in two steps. While the sources run, each file that must change is
-- written under a temporary name (tmp/pub-N, on the thread pool: creating files costs the
-- file system time the loop need not wait for) and the change is staged. When every source is
-- done, commit() makes the new files durable with one syncfs(2), gives each its published name
-- with rename(2), and makes the names durable with an fsync of the folder. A crash at any
-- moment thus leaves each published name with its old file or its new and complete one,
-- whatever the file system does with data not yet synced; and no inode is freed while the run
-- still creates files (ext4 without a journal makes each creation skip, one by one, the inodes
-- freed in the last minutes: a quadratic cost in a run that frees as it goes).

-- a CRL of this many entries or more is written on the thread pool (smaller ones cost less
-- than the hand-over)
local ASYNC_MIN = 1000

-- The staged record of a CRL (sg) is small, as a run of thousands of sources holds one for
-- each of them until the commit: an array of the CRL's key, a snapshot of its state entry
-- before (to put back), its base name, its hash entry name (<hash>.rN), its files as
-- tmp/pub-N (der, pem; false: not written), the link to make ("symlink" or "hardlink", or
-- false) and, once its source is done, the index of its source's result and of its item there.
-- The paths are made again from these at the commit.
-- ctx.pending: what is staged, by base (PENDING_DER | PENDING_PEM) and by hash name;
-- ctx.owner[key]: the last record staged for a key (a CRL may come twice in a run).
local PENDING_DER, PENDING_PEM = 1, 2
-- the fields of a staged record (an array: a third of the memory of a table with names)
local SG_KEY, SG_PREV, SG_BASE, SG_HASH, SG_DER, SG_PEM, SG_LINK, SG_SRC, SG_ITEM = 1, 2, 3, 4, 5, 6, 7, 8, 9

local function tmp_path(ctx, n) return fs.join(ctx.tmp, ("pub-%d"):format(n)) end

local function staged_paths(ctx, sg)
  local dir = ctx.cfg.out_dir
  return fs.join(dir, sg[SG_BASE] .. ".der"), fs.join(dir, sg[SG_BASE] .. ".pem"), fs.join(dir, sg[SG_HASH])
end

-- there(ctx, base, bit, path): the file is published, or staged to be
local function there(ctx, base, bit, path)
  return (ctx.pending[base] or 0) & bit ~= 0 or fs.exists(path)
end

-- stage_link(ctx, sg, files, pem_name, pem_new): the <hash>.rN entry names the published PEM. A
-- symbolic link is made once and follows every later replacement of the PEM; a hard link names
-- one version of it, so it is made again after each. Whatever else stands there (a copy an older
-- version wrote, a stale link) is replaced atomically.
local function stage_link(ctx, sg, files, pem_name, pem_new)
  if ctx.cfg.hash_links == "hardlink" then
    if not pem_new then
      local a, b = fs.stat(files.pem), fs.stat(files.hash, { follow = false })
      if a and b and a.ino == b.ino and a.dev == b.dev then return end
    end
    sg[SG_LINK] = "hardlink"
  elseif not ctx.pending[sg[SG_HASH]] and fs.readlink(files.hash) ~= pem_name then
    sg[SG_LINK] = "symlink"
  end
end

-- publish(ctx, c, id, src, now) -> files, action, sg, staged: stages what is not on disk already.
-- A CRL whose bytes are those published (same digest, files in place) costs no write. The
-- files are written from the CRL object (c:write: no Lua string of a big CRL, on the thread
-- pool). staged: the record waits for the commit, which may still turn it into a failure.
local function publish(ctx, c, id, src, now)
  local st, dir = ctx.state, ctx.cfg.out_dir
  local sha = sha256(c)
  local prev = st.crls:snapshot(id.key)
  local e = st.crls:get(id.key)
  local idx = r_index(ctx, id.key, id.hash)
  local pem_name = id.base .. ".pem"
  local hash_name = ("%s.r%d"):format(id.hash, idx)
  local files = {
    der = fs.join(dir, id.base .. ".der"), pem = fs.join(dir, pem_name), hash = fs.join(dir, hash_name),
  }
  local sg = { id.key, prev or false, id.base, hash_name, false, false, false, 0, 0 }
  local same = e ~= nil and e.sha256 == sha and e.base == id.base and e.repair ~= "all"
  local der_new = not (same and there(ctx, id.base, PENDING_DER, files.der))
  local pem_new = der_new or (e ~= nil and e.repair ~= nil) or not there(ctx, id.base, PENDING_PEM, files.pem)
  if der_new then ctx.seq = ctx.seq + 1 sg[SG_DER] = ctx.seq end
  if pem_new then ctx.seq = ctx.seq + 1 sg[SG_PEM] = ctx.seq end
  stage_link(ctx, sg, files, pem_name, pem_new)
  local nops = (sg[SG_DER] and 1 or 0) + (sg[SG_PEM] and 1 or 0) + (sg[SG_LINK] and 1 or 0)
  local action = der_new and "published" or "unchanged"
  -- the state and the staged names first, before the files are written (the task yields
  -- then): a second copy of this CRL in the run, or another CRL of the same issuer hash,
  -- sees them
  e = e or {}
  e.issuer, e.hash, e.aki, e.delta, e.base, e.r_index = tostring(c:issuer()), id.hash, id.aki, id.delta, id.base, idx
  e.number, e.this_update_epoch, e.next_update_epoch = c:number(), c:this_update(), c:next_update()
  e.entries, e.sha256, e.repair = c:count(), sha, nil
  e.source, e.last_success = src.url, now
  if action == "published" then e.published_at = now end
  st.crls:set(id.key, e)
  if nops == 0 then
    if not e.pem_size or not e.ino then
      -- a state from before these were kept: remember the files as they are
      local sd, sp = fs.stat(files.der), fs.stat(files.pem)
      if sd then e.size, e.mtime, e.ino = sd.size, sd.mtime, sd.ino end
      if sp then e.pem_size, e.pem_mtime, e.pem_ino = sp.size, sp.mtime, sp.ino end
    end
    return files, action, sg
  end
  local bits = (sg[SG_DER] and PENDING_DER or 0) | (sg[SG_PEM] and PENDING_PEM or 0)
  ctx.pending[id.base] = (ctx.pending[id.base] or 0) | bits
  if sg[SG_LINK] then ctx.pending[hash_name] = true end
  local written, err = {}, nil
  for _, f in ipairs { { sg[SG_DER], "der" }, { sg[SG_PEM], "pem" } } do
    if f[1] and not err then
      local path = tmp_path(ctx, f[1])
      local ok, werr = c:write(path, { format = f[2], mode = 420, async = c:count() >= ASYNC_MIN })
      if ok then written[#written + 1] = path else err = werr end
    end
  end
  if err then
    for _, p in ipairs(written) do fs.remove(p) end
    ctx.pending[id.base] = (ctx.pending[id.base] or 0) & ~bits
    if sg[SG_LINK] then ctx.pending[hash_name] = nil end
    st.crls:restore(id.key, prev)
    error({ publish = err })
  end
  ctx.owner[id.key] = sg
  ctx.staged[#ctx.staged + 1] = sg
  ctx.written = ctx.written + nops
  return files, action, sg, true
end

-- source_failed(ctx, res, err, code): the result and the state of a source say it failed,
-- also after the fact (its CRL could not take its published name)
local function source_failed(ctx, res, err, code)
  local sst = ctx.state.sources:get(res.url)
  if res.ok then
    sst.errors_total = (sst.errors_total or 0) + 1
    sst.last_success = ctx.prev_success[res.url]
  end
  res.ok, res.error, res.code = false, err, code
  sst.ok = false
  sst.etag, sst.last_modified = nil, nil
  sst.last_error, sst.last_error_code = err, code
  ctx.state.sources:cool(res.url)
end

-- commit(ctx) -> true | nil, err: the staged files take their published names (see above)
local function commit(ctx)
  if ctx.written == 0 then return true end
  local dir, st = ctx.cfg.out_dir, ctx.state
  local function undo(sg, why)
    if sg[SG_DER] then fs.remove(tmp_path(ctx, sg[SG_DER])) end
    if sg[SG_PEM] then fs.remove(tmp_path(ctx, sg[SG_PEM])) end
    if ctx.owner[sg[SG_KEY]] == sg then st.crls:restore(sg[SG_KEY], sg[SG_PREV] or nil) end
    -- the result of its source, decoded, changed and kept again (a rare path)
    local n = ctx.counts
    local res = ui.decode_json(ctx.rstore:read(ctx.results[sg[SG_SRC]]))
    local item = res.crls[sg[SG_ITEM]]
    local a = item.action == "published" and "published" or "unchanged"
    n[a], n.rejected = n[a] - 1, n.rejected + 1
    item.action, item.error, item.code = "rejected", "cannot publish: " .. tostring(why), "io"
    if res.ok then n.ok, n.failed = n.ok - 1, n.failed + 1 end
    source_failed(ctx, res, ("%s: the CRL of %s: %s"):format(res.url, item.issuer, item.error), "io")
    res.crls = ui.array(res.crls)
    ctx.results[sg[SG_SRC]] = ctx.rstore:put(ui.encode_json(res))
  end
  -- the data of every new file on disk before any of them takes a published name
  local ok, err = fs.syncfs(dir)
  if not ok then
    for _, sg in ipairs(ctx.staged) do undo(sg, err) end
    return nil, err
  end
  fs.fault("crl.mirror:synced")
  for _, sg in ipairs(ctx.staged) do
    local der, pem, hash = staged_paths(ctx, sg)
    local r, failed = true, nil
    if sg[SG_DER] then
      r, failed = fs.rename(tmp_path(ctx, sg[SG_DER]), der, { sync = false })
      if r then sg[SG_DER] = false end
    end
    if r and sg[SG_PEM] then
      r, failed = fs.rename(tmp_path(ctx, sg[SG_PEM]), pem, { sync = false })
      if r then sg[SG_PEM] = false end
    end
    if r and sg[SG_LINK] == "symlink" then
      r, failed = fs.symlink(sg[SG_BASE] .. ".pem", hash, { replace = true, sync = false })
    elseif r and sg[SG_LINK] == "hardlink" then
      r, failed = fs.link(pem, hash, { replace = true, sync = false })
    end
    if not r then
      undo(sg, failed)
    elseif ctx.owner[sg[SG_KEY]] == sg then
      local e = st.crls:get(sg[SG_KEY])
      local sd, sp = fs.stat(der), fs.stat(pem)
      if sd then e.size, e.mtime, e.ino = sd.size, sd.mtime, sd.ino end
      if sp then e.pem_size, e.pem_mtime, e.pem_ino = sp.size, sp.mtime, sp.ino end
    end
    st.crls:cool(sg[SG_KEY])
  end
  -- the names: one fsync of each folder (on a journaled file system, one commit)
  fs.sync(dir)
  fs.sync(ctx.tmp)
  return true
end

-- validate(ctx, c, now) -> id | nil, err, code: the checks before anything is published
local function validate(ctx, c, now)
  local cfg, st = ctx.cfg, ctx.state
  local ca, why, code = ctx.trust:issuer_of(c)
  if not ca then return nil, why, code end
  local tu, nu = c:this_update(), c:next_update()
  if tu > now + cfg.skew then
    return nil, ("not yet valid: its thisUpdate %s is in the future"):format(common.time(tu)), "not_yet_valid"
  end
  if nu and nu + cfg.grace < now then
    return nil, ("expired: its nextUpdate %s is past%s"):format(common.time(nu),
      cfg.grace > 0 and (" the grace of %ds"):format(math.floor(cfg.grace)) or ""), "expired"
  end
  local id = common.identity(c, ca)
  local prev = st.crls:peek(id.key)
  if prev then
    local n, pn = c:number(), prev.number
    if pn and not n then
      return nil, ("has no CRL number, but the published CRL of this issuer has number %s")
        :format(common.number_text(pn)), "rollback"
    end
    if n and pn then
      local cmp = common.cmp_number(n, pn)
      if cmp < 0 then
        return nil, ("CRL number %s is lower than the published %s (an older or replayed CRL)")
          :format(common.number_text(n), common.number_text(pn)), "rollback"
      end
      if cmp == 0 and tu < (prev.this_update_epoch or 0) then
        return nil, ("CRL number %s was published with a later thisUpdate %s (a replayed CRL)")
          :format(common.number_text(n), common.time(prev.this_update_epoch)), "rollback"
      end
    elseif tu < (prev.this_update_epoch or 0) then
      return nil, ("thisUpdate %s is older than the published %s (an older or replayed CRL)")
        :format(common.time(tu), common.time(prev.this_update_epoch)), "rollback"
    end
  end
  return id, ca
end

local function crl_item(ctx, c, name, src, now, pins)
  local item = common.summary(c)
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
  local ok, files, action, sg, staged = pcall(publish, ctx, c, id, src, now)
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
        :format(e.issuer, common.time(e.next_update_epoch))
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
local function finish_source(ctx, i, out)
  local n = ctx.counts
  if out.ok then n.ok = n.ok + 1 else n.failed = n.failed + 1 end
  for j, it in ipairs(out.crls) do
    local a = it.action
    if a ~= "published" and a ~= "rejected" then a = "unchanged" end
    n[a] = n[a] + 1
    local sg = it[STAGED]
    if sg then
      it[STAGED] = nil
      sg[SG_SRC], sg[SG_ITEM] = i, j
    end
    -- no task changes an entry across a yield (publish sets it before it writes), so what
    -- this source decoded goes back to text now; the commit decodes what it updates again
    if it.key then ctx.state.crls:cool(it.key) end
  end
  ctx.state.sources:cool(out.url)
  out.crls = ui.array(out.crls)
  ctx.results[i] = ctx.rstore:put(ui.encode_json(out))
end

local function run_source(ctx, src, i)
  local cfg = ctx.cfg
  local out = { url = src.url, name = src.name, ok = false, crls = {} }
  if ctx.cancel and ctx.cancel.stop then
    out.error, out.code, out.skipped = "not started: the mirror is stopping", "cancelled", true
    finish_source(ctx, i, out)
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
      -- big; small ones stay in memory (faster)
      tmp_dir = src.stream ~= false and ctx.tmp or nil,
      stream_over = src.stream == nil and cfg.stream_over or 0,
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
          next_update = common.time(e.next_update_epoch), key = k }
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
  if not r and cfg.tolerance and sst.keys and #sst.keys > 0 then
    -- aging tolerance: a failed download is a warning while every CRL the source stands for is
    -- published, current and fetched within the tolerance; past it, a failure
    local within, oldest = true, now
    for _, k in ipairs(sst.keys) do
      local e = entry(k)
      if not e or not e.last_success or (e.next_update_epoch and e.next_update_epoch + cfg.grace < now)
         or now - e.last_success > cfg.tolerance then
        within = false
      else
        oldest = math.min(oldest, e.last_success)
      end
    end
    if within then
      out.ok, out.code = true, nil
      out.warning = ("%s (tolerated: the published CRL is current and was fetched %s ago, within %ds)")
        :format(out.error, ("%d s"):format(now - oldest), math.floor(cfg.tolerance))
      out.error = nil
    end
  end
  sst.ok = out.ok
  if out.ok then
    sst.last_success = now
    sst.last_error, sst.last_error_code = nil, nil
  else
    sst.errors_total = (sst.errors_total or 0) + 1
    sst.last_error, sst.last_error_code = out.error, out.code
  end
  finish_source(ctx, i, out)
  return true
end

-- trusted CA certificates as <subject-hash>.<n>, so the folder works as an OpenSSL CApath
local function publish_cas(ctx)
  local st, dir = ctx.state, ctx.cfg.out_dir
  local wanted = {}
  local per_hash = {}
  local list = {}
  -- from the DER the trust set keeps: no CA is parsed for this (the order by digest is the
  -- one the certificates' fingerprints give, so the <hash>.N of each CA stays what it was)
  for der, hash in ctx.trust:each() do
    list[#list + 1] = { der = der, hash = hash, fp = digest.sha256(der) }
  end
  table.sort(list, function(a, b) if a.hash ~= b.hash then return a.hash < b.hash end return a.fp < b.fp end)
  for _, it in ipairs(list) do
    local n = per_hash[it.hash] or 0
    per_hash[it.hash] = n + 1
    local name = ("%s.%d"):format(it.hash, n)
    local pem = pkey.pem_encode("CERTIFICATE", it.der)
    wanted[name] = true
    if fs.read(fs.join(dir, name), 1 << 20) ~= pem then
      write(fs.join(dir, name), pem)
      ctx.written = ctx.written + 1
    end
  end
  for name in pairs(st.meta.ca_links) do
    if not ca_link_name(name) then
      ctx.state_ignored[#ctx.state_ignored + 1] = ("ca_links: %q is not a plain <hash>.N name"):format(tostring(name))
    elseif not wanted[name] then
      fs.remove(fs.join(dir, name))
    end
  end
  st.meta.ca_links = wanted
end

-- old_names(ctx): with hash_names "old", the pre-1.0 OpenSSL names as symbolic links beside the
-- new ones: <old-hash>.rN to each published PEM (N counted per old hash, kept in the state) and
-- <old-hash>.N to each CA link <hash>.N. Made after the commit, from what is published.
local function old_names(ctx)
  local st, dir = ctx.state, ctx.cfg.out_dir
  local used, unnamed = {}, {}
  for k, e in st.crls:each() do
    if e.hash_old and e.r_old then
      local u = used[e.hash_old] or {}
      u[e.r_old] = true
      used[e.hash_old] = u
    elseif e.base and e.issuer then
      unnamed[#unnamed + 1] = k
    end
  end
  for _, k in ipairs(unnamed) do
    local e = st.crls:get(k)
    local c = crl.load_file(fs.join(dir, e.base .. ".der"))
    if c then
      e.hash_old = c:issuer():hash_old()
      c:close()
      local u = used[e.hash_old] or {}
      local i = 0
      while u[i] do i = i + 1 end
      u[i] = true
      used[e.hash_old] = u
      e.r_old = i
    end
    st.crls:cool(k)
  end
  for _, e in st.crls:each() do
    if e.hash_old and e.r_old and e.base and fs.exists(fs.join(dir, e.base .. ".pem")) then
      local name = ("%s.r%d"):format(e.hash_old, e.r_old)
      if fs.readlink(fs.join(dir, name)) ~= e.base .. ".pem" then
        fs.symlink(e.base .. ".pem", fs.join(dir, name), { replace = true, sync = false })
        ctx.written = ctx.written + 1
      end
    end
  end
  if ctx.cfg.publish_cas then
    -- the CA links are read back from the folder (their certificates parsed: only with this
    -- option); the old names a previous run made and no CA wants any more are removed
    local per_old, wanted = {}, {}
    local names = {}
    for name in pairs(st.meta.ca_links) do if ca_link_name(name) then names[#names + 1] = name end end
    table.sort(names)
    for _, name in ipairs(names) do
      local data = fs.read(fs.join(dir, name), 1 << 20)
      local cert = data and require("certbench.x509").load(data)
      if cert then
        local old = cert:subject():hash_old()
        local n = per_old[old] or 0
        per_old[old] = n + 1
        local oname = ("%s.%d"):format(old, n)
        wanted[oname] = true
        if fs.readlink(fs.join(dir, oname)) ~= name then
          fs.symlink(name, fs.join(dir, oname), { replace = true, sync = false })
        end
      end
    end
    for name in pairs(st.meta.ca_links_old or {}) do
      if ca_link_name(name) and not wanted[name] and not st.meta.ca_links[name] then fs.remove(fs.join(dir, name)) end
    end
    st.meta.ca_links_old = wanted
  end
  fs.sync(dir)
end

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
local function judge_freshness(ctx, report, now)
  local stale, expiring = {}, {}
  for k, e in ctx.state.crls:each() do
    local v = freshness(ctx.cfg, e, now)
    if v == "stale" then
      stale[#stale + 1] = { issuer = e.issuer, crl = e.base, next_update = common.time(e.next_update_epoch), key = k }
    elseif v == "expiring" then
      expiring[#expiring + 1] = { issuer = e.issuer, crl = e.base, next_update = common.time(e.next_update_epoch) }
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

-- metrics ------------------------------------------------------------------------------------

local function label(v)
  return '"' .. tostring(v):gsub("\\", "\\\\"):gsub("\n", "\\n"):gsub('"', '\\"') .. '"'
end

-- write_metrics(ctx, report, w): the Prometheus text into the fs.writer w, a line at a time
-- (no table of rows: a mirror of thousands of CRLs has five lines for each)
local function write_metrics(ctx, report, w)
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
    cols[4][i], cols[5][i] = e.entries or false, common.number_value(e.number) or false
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

-- a run ---------------------------------------------------------------------------------------

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
    report = cfg.report or meta(cfg, "last-run.json") })
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
  local report = { started = common.time(started), out_dir = cfg.out_dir, sources = {}, ok = false }
  local ok, err = fs.mkdir(cfg.out_dir, { parents = true })
  if not ok and not fs.isdir(cfg.out_dir) then return nil, err end
  -- the state folder and tmp/: checked once, then used through their descriptors only
  local sd <close>, serr = fs.private_dir(fs.join(cfg.out_dir, M.META))
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
  reconcile(cfg, st, ignored, set)
  local ctx = { cfg = cfg, state = st, trust = set, now = now, cancel = opts.cancel,
                tmp = tmpd:path(), written = 0, configured = {}, state_ignored = ignored, stood_for = {},
                staged = {}, pending = {}, owner = {}, seq = 0, prev_success = {}, results = {},
                -- each source's result as JSON text, on disk
                rstore = fs.spool(tmpd:path()),
                counts = { ok = 0, failed = 0, published = 0, unchanged = 0, rejected = 0 } }
  for _, s in ipairs(cfg.sources) do ctx.configured[s.url] = true end
  if cfg.publish_cas then
    local pok, perr = pcall(publish_cas, ctx)
    if not pok then report.warning = "cannot publish the CA certificates: " .. tostring(type(perr) == "table" and perr.publish or perr) end
  end
  local pool = loop.pool(cfg.concurrency)
  for i, src in ipairs(cfg.sources) do pool:submit(run_source, ctx, src, i) end
  for i, r in ipairs(pool:wait()) do
    if not ctx.results[i] then
      -- a bug in the source task: the run goes on, the source is reported failed
      finish_source(ctx, i, { url = cfg.sources[i].url, ok = false, crls = {},
        error = "internal error: " .. tostring(r[2]), code = "internal" })
    end
  end
  fs.fault("crl.mirror:staged")
  local cok, cerr = commit(ctx)
  if not cok then report.warning = "cannot sync the new files, none was published: " .. shown(cerr) end
  fs.fault("crl.mirror:published")
  if cfg.hash_names.old then
    local hok, herr = pcall(old_names, ctx)
    if not hok then report.warning = "cannot make the old hash names: " .. tostring(herr) end
  end
  local fresh = judge_freshness(ctx, report, now())
  local nok, nfail = ctx.counts.ok, ctx.counts.failed
  local finished = now()
  report.finished = common.time(finished)
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
      write_metrics(ctx, report, w)
      w, merr = w:commit()
    end
    if not w then report.warning = "cannot write the metrics: " .. tostring(merr) end
  end
  st:close()
  lock:unlock()
  notify(cfg, report, cok)
  return report, report.ok
end

-- the long-running job -------------------------------------------------------------------------

-- daily(cfg[, opts]) -> summary: runs at cfg.daily_at (UTC) plus a random delay of up to
-- cfg.random_delay seconds, every day, until SIGTERM or SIGINT; a failed run (or one that
-- raised) is reported and the next one is scheduled all the same. The first run is at once
-- when the folder has no complete run in the last day (a fresh mirror, or a job restarted
-- after a long stop).
-- opts: interval (seconds: every that many seconds instead of daily; tests and
-- CERTBENCH_CRL_MIRROR_INTERVAL), on_run(report, ok, err) after each run, max_runs
function M.daily(cfg, opts)
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
    local ok, report, rok = pcall(M.run, cfg, { cancel = cancel, now = opts.now })
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
      log("run %d: %d of %d sources ok, %d CRLs published, %d unchanged, %d rejected", summary.runs,
        report.sources_ok, report.sources_ok + report.sources_failed, report.crls_published,
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
      local m = state.read_meta(meta(cfg, "state.json")) or {}
      local now = os.time()
      if first and (not m.last_full_success or m.last_full_success < now - 86400) then
        delay = 0
      else
        delay = M.next_daily(now, cfg.daily_at) - now
        if cfg.random_delay > 0 then
          delay = delay + rand.uniform(math.floor(cfg.random_delay * 1000) + 1) / 1000
        end
      end
      summary.next_run = common.time(now + math.floor(delay))
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
