-- crl/mirror_config.lua: the configuration of a CRL mirror (certbench.plugins.crl.mirror), checked
-- and completed once, the same for `crl mirror` and for a script.
--
--   config(t) -> cfg | nil, err          check and complete a configuration table (an unknown
--                                        key is an error naming it)
--   configure(opts) -> cfg, daily_opts | nil, err, code
--                                        the configuration `crl mirror` runs with: a config file
--                                        (opts.config), options over it, plugins' crl_sources
--                                        (opts.plugin_sources), an IGTF trust folder
--                                        (opts.igtf_dir), fetch-crl's configuration file
--                                        (opts.fetch_crl_conf, crl/fetchcrl_conf.lua), the environment
--                                        (CERTBENCH_CRL_MIRROR_INTERVAL, _MAX_RUNS: daily_opts)
--   load_config(path) -> t | nil, err    a config file: Lua returning a table (below)
--   seconds(v, what) -> seconds | nil, err    30, "30m", "12h", "2d"
--   parse_hhmm("HH:MM") -> seconds into the day | nil, err
--   meta(cfg, name) -> the path of a file of the mirror's own folder (META)
--   defaults, META
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
--   and a CRL of another issuer from it is rejected. A source may also have its own tolerance,
--   optional = true (its failure is a warning, exit 0: fetch-crl's noerrors; an expired CRL it
--   published still fails the run), nowarnings = true (its warnings stay out of the text output)
--   and names = { pem = NAME, der = NAME } (symbolic links of those names to the <base>.pem /
--   .der of its CRL: fetch-crl's pem and der formats; an absolute path is a link in another
--   folder, to the file's absolute path). Every published CRL gets a verdict each
--   run: one past its nextUpdate (and the grace) fails the run and the sources that stood for
--   it (report.stale, metric certbench_crl_stale).
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local fetch = require "certbench.plugins.crl.fetch"

local M = {}

-- the mirror's own folder in out_dir: state, report, lock, tmp/
M.META = ".certbench-mirror"

M.defaults = {
  concurrency = 8, grace = 0, skew = 300, random_delay = 300, publish_cas = true,
  stream_over = 4 << 20, hash_links = "symlink", wait = 30,
}
-- the download defaults are fetch's, defined there once
for _, k in ipairs { "timeout", "connect_timeout", "max_size", "low_speed" } do M.defaults[k] = fetch.defaults[k] end

function M.meta(cfg, name) return fs.join(cfg.out_dir, M.META, name) end

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
  urls = true, issuers = true, tolerance = true, optional = true, nowarnings = true, names = true }

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
    if s.tolerance ~= nil then
      local terr
      s.tolerance, terr = seconds(s.tolerance, ("sources[%d].tolerance"):format(i))
      if s.tolerance == nil then return nil, "mirror: " .. terr end
    end
    if s.names ~= nil then
      local ok = type(s.names) == "table"
      for k, n in pairs(ok and s.names or {}) do
        -- a plain name (in out_dir), or an absolute path with no "." or ".." in it
        ok = ok and (k == "pem" or k == "der") and type(n) == "string"
          and (n:match("^[^/.][^/]*$") ~= nil or (n:match("^/[^/]") ~= nil and not n:find("/%.") and n:sub(-1) ~= "/"))
      end
      if not ok then return nil, ("mirror: sources[%d].names must be { pem = NAME, der = NAME }, plain file names or absolute paths"):format(i) end
    end
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
-- The one place where a mirror's configuration is assembled, for `crl mirror` and for scripts:
-- opts: config = path (a config file; its relative paths are taken from its folder), cwd =
-- folder for the relative paths of the other options, sources = {URL...} (added to the file's),
-- plugin_sources = true (then every plugin's crl_sources), igtf_dir = folder (an IGTF trust
-- folder: its CAs are trusted and its URLs are sources, each pinned to its CA; notes about it
-- are warnings), ca = {files} (replaces the file's; the IGTF folder's CAs are added to it),
-- and any key of a configuration (out_dir, concurrency, grace, ...) overriding the file's. A
-- count given as text ("8", as the command line gives it) is taken as the integer; every value
-- is then checked once, by config(). Unknown keys are an error naming them. fetch_crl_conf =
-- file: fetch-crl's configuration (crl/fetchcrl_conf.lua) in place of a config file (not both):
-- its settings are the file's, its infodir the igtf_dir (unless one is given), read with its
-- per-CA settings. With an IGTF folder that is also out_dir (fetch-crl's default output), the
-- CAs are not published again (publish_cas = false unless set): they are in the folder already.
-- daily_opts: { interval =, max_runs = } from CERTBENCH_CRL_MIRROR_INTERVAL and
-- CERTBENCH_CRL_MIRROR_MAX_RUNS (tests and short-interval jobs), for mirror.daily.
local CONFIGURE_KEYS = { config = true, cwd = true, plugin_sources = true, igtf_dir = true, fetch_crl_conf = true }
for k in pairs(CONFIG_KEYS) do if k ~= "_dir" then CONFIGURE_KEYS[k] = true end end
-- handled before the loop that copies the rest
local ASSEMBLED = { config = true, cwd = true, plugin_sources = true, igtf_dir = true, sources = true, ca = true,
  fetch_crl_conf = true }
local PATHS = { out_dir = true, metrics = true, report = true, tls_ca = true }
local COUNTS = { concurrency = true, max_size = true }
function M.configure(opts)
  if type(opts) ~= "table" then error("mirror.configure: expected a table", 2) end
  local bad = unknown_keys(opts, CONFIGURE_KEYS, "options")
  if bad then return nil, bad, 2 end
  local function abs(p)
    if type(p) ~= "string" or opts.cwd == nil or p:sub(1, 1) == "/" then return p end
    return fs.join(opts.cwd, p)
  end
  local t = {}
  if opts.config and opts.fetch_crl_conf then
    return nil, "mirror: a config file or a fetch-crl configuration, not both", 2
  end
  if opts.config then
    local err
    t, err = M.load_config(opts.config)
    if not t then return nil, "mirror: " .. err end
  end
  local fc, igtf_opts
  local igtf_dir = opts.igtf_dir
  if opts.fetch_crl_conf then
    -- fetch-crl's own file (crl/fetchcrl_conf.lua): its settings are the file's; the IGTF
    -- folder it names is read with its per-CA settings (an igtf_dir option replaces the folder)
    local ferr, fcode
    fc, ferr, fcode = require("certbench.plugins.crl.fetchcrl_conf").read(abs(opts.fetch_crl_conf))
    if not fc then return nil, "mirror: " .. ferr, fcode end
    for k, v in pairs(fc.settings) do t[k] = v end
    igtf_opts = fc.igtf
    igtf_dir = igtf_dir or fc.igtf_dir
    if not fc.nowarnings then
      for _, n in ipairs(fc.notes) do ui.warn("fetch-crl-conf: %s", n) end
    end
  end
  t.sources = t.sources or {}
  for _, u in ipairs(opts.sources or {}) do t.sources[#t.sources + 1] = u end
  if opts.plugin_sources then
    -- every plugin's list, one after the other (plugins.sources)
    for _, e in ipairs(require("certbench.plugins").sources()) do t.sources[#t.sources + 1] = e.source end
  end
  local cas = {}
  for i, p in ipairs(opts.ca or {}) do cas[i] = abs(p) end
  if igtf_dir then
    -- an IGTF trust folder as fetch-crl reads it: its CAs are trusted, its URLs the sources
    local g, gerr = require("certbench.plugins.crl.igtf").read(abs(igtf_dir), igtf_opts)
    if not g then return nil, "mirror: igtf_dir: " .. gerr end
    for _, p in ipairs(g.ca) do cas[#cas + 1] = p end
    for _, src in ipairs(g.sources) do t.sources[#t.sources + 1] = src end
    if not (fc and fc.nowarnings) then
      for _, n in ipairs(g.notes) do ui.warn("igtf_dir: %s", n) end
    end
  end
  if #cas > 0 then t.ca = cas end
  for k, v in pairs(opts) do
    if ASSEMBLED[k] then -- done above
    elseif PATHS[k] then t[k] = abs(v)
    elseif COUNTS[k] and type(v) == "string" then t[k] = math.tointeger(tonumber(v)) or v
    else t[k] = v end
  end
  if igtf_dir and t.out_dir and t.publish_cas == nil then
    -- the mirror publishing into the trust folder itself (fetch-crl's default output): the CAs
    -- are there already, as the IGTF packages put them; the mirror writes no <hash>.N of its own
    local a, b = fs.realpath(abs(igtf_dir)), fs.realpath(t.out_dir)
    if a and a == b then t.publish_cas = false end
  end
  local cfg, err = M.config(t)
  if not cfg then return nil, err, 2 end
  local interval = os.getenv("CERTBENCH_CRL_MIRROR_INTERVAL")
  return cfg, { interval = interval and tonumber(interval) or nil,
                max_runs = tonumber(os.getenv("CERTBENCH_CRL_MIRROR_MAX_RUNS") or "") }
end

return M
