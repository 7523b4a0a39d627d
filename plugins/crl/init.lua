-- The crl plugin: CRL information, fetching, mirroring and revocation checking. This file is
-- the command table (options, the call into the library, the text output); the work is in:
--   crl/inspect.lua   info, diff              crl/fetch.lua     downloading, `crl fetch`
--   crl/check.lua     revocation of a chain   crl/mirror.lua    the mirror (and mirror_*.lua)
--   crl/bundle.lua    `crl bundle`            crl/trust.lua     the trusted CAs that sign CRLs
--   crl/crlfile.lua   reading CRLs, their numbers, identity and summary
--   crl/state.lua     the mirror's state      crl/igtf.lua      IGTF trust folders
--   crl/fetchcrl_conf.lua  fetch-crl's configuration file as the mirror's (--fetch-crl-conf)
--
--   certbench crl info FILE... [--ca CA.pem] [--entries]
--   certbench crl fetch URL... [--out-dir DIR] [--ca TRUSTED.pem] [--tls-ca CA.pem]
--   certbench crl mirror --config FILE.lua | --fetch-crl-conf /etc/fetch-crl.conf
--                        | --source URL... --out-dir DIR --ca TRUSTED.pem
--                        [--concurrency N] [--once | --daily-at HH:MM] [--metrics FILE.prom]
--   certbench crl check CERT [--chain CA.pem] [--crl FILE... | --crl-dir DIR | --fetch]
--                        [--fallback revoked|not-revoked] [--expired revoked|undetermined|ignore]
--   certbench crl diff OLD NEW
--   certbench crl bundle SOURCE... --out crls.pem [--ca CA.pem...] [--fetch] [--allow-expired] [--force]
-- From Lua, require("certbench.plugins.crl"):
--   .info(paths, {ca=, entries=}), .diff(old, new)          (crl/inspect.lua)
--   .fetch(urls, opts)                                       (crl/fetch.lua: save)
--   .check(opts) with paths                                  (crl/check.lua: files)
--   .bundle{ sources =, cas =, out =, fetch =, allow_expired =, force = } (crl/bundle.lua)
--   .mirror      the mirror module (certbench.plugins.crl.mirror)
--   .revocation  the chain checker with objects (certbench.plugins.crl.check: .run(opts))
--   .download    the downloader of one distribution point (certbench.plugins.crl.fetch: .get)
--   .trust, .crlfile   the modules crl/trust.lua and crl/crlfile.lua
local fs = require "certbench.fs"
local lazy = require("certbench").lazy
local ui = require "certbench.ui"
local options = require "certbench.options"
local crlfile = lazy "certbench.plugins.crl.crlfile"
local trust = lazy "certbench.plugins.crl.trust"
local mirror = lazy "certbench.plugins.crl.mirror"
local check = lazy "certbench.plugins.crl.check"
local fetch = lazy "certbench.plugins.crl.fetch"
local inspect = lazy "certbench.plugins.crl.inspect"
local bundle = lazy "certbench.plugins.crl.bundle"

local M = {
  name = "crl",
  version = "1.0",
  summary = "CRLs: info, fetch, mirror distribution points, check revocation of a chain, diff",
  mirror = mirror,
  revocation = check,
  download = fetch,
  crlfile = crlfile,
  trust = trust,
  info = function(...) return inspect.info(...) end,
  diff = function(...) return inspect.diff(...) end,
  fetch = function(...) return fetch.save(...) end,
  check = function(...) return check.files(...) end,
  bundle = function(...) return bundle.build(...) end,
}

-- the command line's values ------------------------------------------------------------------

-- list(v) -> a flat list of strings from argparse values (count="*" options give lists)
local function list(v)
  if v == nil then return {} end
  if type(v) == "string" then return { v } end
  local out = {}
  for _, x in ipairs(v) do
    if type(x) == "table" then for _, y in ipairs(x) do out[#out + 1] = y end else out[#out + 1] = x end
  end
  return out
end

-- parse_time("2026-11-28T00:00:00Z" | "1795820000" | "now") -> epoch | nil, err
local function parse_time(s)
  if s == nil then return nil end
  if s == "now" then return os.time() end
  if s:match("^%d+$") then return math.tointeger(tonumber(s)) end
  local y, mo, d, h, mi, sec = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):?(%d*)Z?$")
  if not y then
    y, mo, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
    h, mi, sec = "0", "0", "0"
  end
  if not y then return nil, ("'%s' is not a time (2026-11-28T00:00:00Z or epoch seconds)"):format(s) end
  y, mo, d, h, mi = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi)
  sec = tonumber(sec ~= "" and sec or "0")
  -- days from civil (Howard Hinnant), so no local time zone gets involved
  local yy = mo <= 2 and y - 1 or y
  local era = (yy >= 0 and yy or yy - 399) // 400
  local yoe = yy - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + h * 3600 + mi * 60 + sec
end

local function num(h) return h and crlfile.number_text(h) or "-" end

-- nm(s): a name a report holds in RFC 4514 form (its --json form, kept for scripts and mirror
-- configurations) as people see names in every command: name:text(), escaped for the terminal
local function nm(s) return s and require("certbench.name").text_of(s) end

-- info ---------------------------------------------------------------------------------------

local function info_text(res, ctx)
  local say = ctx.ui.say
  for i, d in ipairs(res.crls) do
    if i > 1 then say("") end
    say("%s%s", d.file, d.member and (" [" .. d.member .. "]") or "")
    if d.error then
      say("  error:        %s", d.error)
    else
      say("  issuer:       %s", nm(d.issuer))
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
        say("  verifies:     %s", d.verified and ("yes, by " .. nm(d.verified_by)) or ("NO: " .. tostring(d.verify_error)))
      end
      for _, e in ipairs(d.revoked or {}) do
        say("    %s  %s%s", e.serial, e.date, e.reason and ("  " .. e.reason) or "")
      end
    end
  end
end

-- fetch --------------------------------------------------------------------------------------

local function fetch_text(res, ctx)
  for _, s in ipairs(res.sources) do
    if s.error then
      ctx.ui.say("FAILED: %s", ui.about(s.url, s.error))
    else
      ctx.ui.say("%s: %s, %s bytes", s.url, ui.plural(#s.crls, "CRL"), tostring(s.bytes or "?"))
      for _, c in ipairs(s.crls) do
        if c.issuer then
          ctx.ui.say("  %s  #%s  %s .. %s  %s%s", nm(c.issuer), num(c.number), c.this_update,
            c.next_update or "-", ui.plural(c.entries, "entry"), c.verified and "  verified" or "")
        end
        if c.member then ctx.ui.say("    member %s", c.member) end
        if c.error then ctx.ui.say("    REJECTED: %s", c.error) end
        for _, f in ipairs(c.files or {}) do ctx.ui.say("    wrote %s", f) end
      end
    end
  end
end

-- diff -----------------------------------------------------------------------------------------

local function diff_text(res, ctx)
  local say = ctx.ui.say
  if not res.same_issuer then say("WARNING: the CRLs have different issuers") end
  say("old: %s  #%s  %s .. %s  %s", nm(res.old.issuer), num(res.old.number), res.old.this_update,
    res.old.next_update or "-", ui.plural(res.old.entries, "entry"))
  say("new: %s  #%s  %s .. %s  %s%s", nm(res.new.issuer), num(res.new.number), res.new.this_update,
    res.new.next_update or "-", ui.plural(res.new.entries, "entry"),
    res.number_order == "older" and "  (OLDER number than old)" or "")
  say("added %d, removed %d", #res.added, #res.removed)
  for _, e in ipairs(res.added) do say("+ %s  %s%s", e.serial, e.date, e.reason and ("  " .. e.reason) or "") end
  for _, e in ipairs(res.removed) do say("- %s", e.serial) end
end

-- check ------------------------------------------------------------------------------------------

local function check_text(res, ctx)
  local say = ctx.ui.say
  for _, c in ipairs(res.certificates) do
    say("%-12s %s (serial %s): %s%s", c.role, nm(c.subject), c.serial, c.status:upper():gsub("_", " "),
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
      for _, n in ipairs(c.notes or {}) do
        -- the OCSP failure is a note too (for --json); its line above already says it
        if not (c.ocsp and c.ocsp.error and n == "OCSP: " .. tostring(c.ocsp.error)) then say("%-12s   - %s", "", n) end
      end
    end
  end
  say("verdict: %s%s", res.verdict:upper(), res.fallback_applied and (" (fallback " .. res.fallback .. ": the status could not be established)") or "")
end

-- mirror ---------------------------------------------------------------------------------------

local function mirror_text(res, ctx)
  local say = ctx.ui.say
  if res.daily then
    say("stopped%s after %s, %d with failures", res.stopped_by and (" by " .. res.stopped_by) or "",
      ui.plural(res.runs, "run"), res.failed_runs)
    return
  end
  for _, s in ipairs(res.sources) do
    if s.ok then
      local p, u = 0, 0
      for _, c in ipairs(s.crls) do if c.action == "published" then p = p + 1 else u = u + 1 end end
      say("ok      %s%s: %d published, %d unchanged", s.url, s.not_modified and " (not modified)" or "", p, u)
      -- a source of a fetch-crl CA with nowarnings: its warnings are in the report only
      if s.warning and not s.nowarnings then ctx.ui.warn("%s", s.warning) end
      for _, e in ipairs(not s.nowarnings and s.failover or {}) do ctx.ui.warn("failover: %s", e) end
    else
      say("FAILED  %s", ui.about(s.url, s.error or "?"))
    end
  end
  say("%d of %s ok; %s published, %d unchanged, %d rejected; %s",
    res.sources_ok, ui.plural(res.sources_ok + res.sources_failed, "source"), ui.plural(res.crls_published, "CRL"), res.crls_unchanged,
    res.crls_rejected, res.out_dir)
  for _, w in ipairs(res.state_ignored or {}) do ctx.ui.warn("ignored: %s", w) end
  for _, x in ipairs(res.stale or {}) do
    say("STALE   the published CRL of %s (%s) expired at %s", nm(x.issuer), x.crl, x.next_update)
  end
  for _, x in ipairs(res.expiring or {}) do
    ctx.ui.warn("the published CRL of %s (%s) expires at %s", nm(x.issuer), x.crl, x.next_update)
  end
  if res.warning then ctx.ui.warn("%s", res.warning) end
end

-- the options of `crl mirror` are handed to mirror.configure as they are: it reads the config
-- file, merges, checks every value once, and reads the environment, as for a script
local function mirror_cmd(args)
  local opts = {
    -- paths in a config file are relative to the file; on the command line, to the current folder
    cwd = fs.realpath(".") or ".",
    config = args.config, sources = list(args.source), plugin_sources = args.plugin_sources or nil,
    igtf_dir = args.igtf_dir, fetch_crl_conf = args.fetch_crl_conf, ca = list(args.ca), out_dir = args.out_dir,
    concurrency = args.concurrency, metrics = args.metrics, report = args.report, grace = args.grace,
    timeout = args.timeout, max_size = args.max_size, tls_ca = args.tls_ca, daily_at = args.daily_at,
    random_delay = args.random_delay, wait = args.wait, warn_before = args.warn_before,
    tolerance = args.tolerance, hash_names = args.hash_names, hash_links = args.hash_links,
  }
  if args.no_ca_links then opts.publish_cas = false end
  local cfg, daily_opts, code = mirror.configure(opts)
  if not cfg then return nil, "crl " .. daily_opts, code end
  if cfg.daily_at and not args.once then
    local summary = mirror.daily(cfg, daily_opts)
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
      -- no default of its own: a download without --timeout takes http.defaults.timeout
      p:option("--timeout", ("seconds for each download (default %d)"):format(require("certbench.http").defaults.timeout))
        :convert(options.seconds("--timeout"))
      p:flag("--force", "replace an existing file")
    end,
    run = function(args)
      local timeout = args.timeout
      local r, err, code = bundle.build { sources = args.sources, cas = list(args.ca), out = args.out,
        fetch = args.fetch, allow_expired = args.allow_expired, force = args.force, timeout = timeout }
      if not r then return nil, err, code end
      r.crls = ui.array(r.crls)
      r.left_out = ui.array(r.left_out)
      r.without_crl = ui.array(r.without_crl)
      r.warnings = ui.array(r.warnings)
      return r
    end,
    text = function(r, ctx)
      ctx.ui.say("%s: %s, each verified", r.out, ui.plural(#r.crls, "CRL"))
      for _, c in ipairs(r.crls) do
        ctx.ui.say("  %s%s: %s, next update %s (from %s)", ui.escape(c.issuer), c.number and (" #" .. c.number) or "",
          ui.plural(c.entries, "entry"), c.next_update or "none", c.source)
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
      local res, err = M.info(args.file, { ca = list(args.ca), entries = args.entries })
      if not res then return nil, err end
      return res, nil, res.ok and 0 or (res.checked and 3 or 1)
    end,
    text = info_text,
  },
  fetch = {
    summary = "download CRLs (http, https, ldap; PEM, DER, ZIP, GZIP, p7c), validate and write them",
    description = "Each CRL found is written as DER (.crl) and PEM (.pem) under --out-dir, named after "
      .. "its issuer. With --ca, a CRL that does not verify is not written; an expired CRL is not "
      .. "written unless --allow-expired. Exit 1 if any URL or CRL failed. Memory: one budget of "
      .. "48 MiB for all the URLs, 4 downloaded at a time; a CRL over 4 MiB is checked and written "
      .. "from a temporary file a piece at a time, never held whole.",
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
        out_dir = args.out_dir, ca = list(args.ca), tls_ca = args.tls_ca, format = args.format,
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
      p:option("--igtf-dir", "an IGTF trust folder (/etc/grid-security/certificates): its CAs (<alias>.pem, <hash>.0) are trusted and the URLs of each (<alias>.info crl_url, <hash>.crl_url) are a source pinned to that CA")
      p:option("--fetch-crl-conf", "fetch-crl's configuration file (/etc/fetch-crl.conf): its infodir, output, agingtolerance, formats, per-CA sections... as the mirror's configuration; an unsupported key is refused naming its line")
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
      p:option("--timeout", "seconds for each download with --fetch (and each OCSP request)",
        tostring(check.TIMEOUT)):convert(options.seconds("--timeout"))
      p:option("--tls-ca", "CA file for HTTPS distribution points and OCSP responders")
      p:flag("--ocsp", "also ask each certificate's OCSP responder; revoked from either source wins")
    end,
    run = function(args)
      local t
      if args.at then
        local err
        t, err = parse_time(args.at)
        if not t then return nil, "crl check: --at: " .. err, 2 end
      end
      local res, err = M.check {
        cert = args.cert, chain_files = list(args.chain), crl_files = list(args.crl),
        crl_dir = args.crl_dir, fetch = args.fetch, fallback = args.fallback, expired = args.expired,
        time = t, fetch_opts = { timeout = args.timeout, ca_file = args.tls_ca },
        ocsp = args.ocsp, ocsp_opts = { timeout = args.timeout, ca_file = args.tls_ca },
      }
      if not res then return nil, err end
      res.exit_code = VERDICT_EXIT[res.verdict]
      return res, nil, res.exit_code
    end,
    text = check_text,
    -- what --quiet keeps of a verdict that is not good: the certificate that decided it
    reason = function(res)
      for _, want in ipairs { "revoked", "undetermined" } do
        for _, c in ipairs(res.certificates) do
          if c.status == want then
            return ("%s %s (serial %s): %s%s%s"):format(c.role, nm(c.subject), c.serial, want:upper(),
              c.reason and (": " .. c.reason) or (c.notes and c.notes[1] and (": " .. c.notes[1]) or ""),
              res.fallback_applied and (" (fallback " .. res.fallback .. ")") or "")
          end
        end
      end
      return "verdict: " .. tostring(res.verdict)
    end,
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
