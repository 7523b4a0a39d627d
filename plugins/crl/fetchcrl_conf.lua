-- crl/fetchcrl_conf.lua: fetch-crl 3's configuration file (/etc/fetch-crl.conf, the files of its
-- cfgdir /etc/fetch-crl.d) read as a mirror configuration, so that a fetch-crl user switches with
-- one command: `crl mirror --fetch-crl-conf /etc/fetch-crl.conf`. The grammar is igtf.parse_ini
-- (fetch-crl's ConfigTiny); the meaning of each key is fetch-crl 3.0.22's (/usr/sbin/fetch-crl,
-- its man page and fetch-crl.cnf.example):
--   infodir          the IGTF trust folder read (igtf.read); default /etc/grid-security/certificates
--   cadir            where the CAs are found (default infodir); catemplate their names
--   output, output_openssl   out_dir (default infodir: CRLs beside the CAs, as <hash>.r0)
--   formats          openssl (the <hash>.rN names; opensslmode dual, the default, adds the pre-1.0
--                    names: hash_names new,old), pem and der (a symbolic link per CRL named by
--                    nametemplate_pem/_der, default @ANCHORNAME@.@R@.crl.pem / .crl, to the
--                    published <base>.pem/.der, in the output folder or in output_pem/_der), nss
--                    refused (below)
--   agingtolerance   hours: tolerance (default 24, as fetch-crl's)
--   httptimeout      timeout (seconds); parallelism: concurrency
--   nosymlinks       metadata files that are symbolic links are skipped
--   nowarnings, noerrors (and warnings, errors, which cancel them): a source with noerrors
--                    fails as a warning (exit 0); an expired published CRL still fails the run.
--                    nowarnings silences the warnings of the text output (the report keeps them)
--   prepend_url, postpend_url (noprepend_url, nopostpend_url)   URLs tried before / after the
--                    CA's, with @ALIAS@, @ANCHORNAME@, @STATUS@ and @R@ replaced
--   statedir, stateless, nostatedir   accepted: the mirror keeps its state in
--                    OUT/.certbench-mirror, which its rollback protection needs (a note says so)
--   cfgdir           more files of settings (default /etc/fetch-crl.d; empty: none)
--   symlinks         read by no fetch-crl 3 (the Debian default file has it): ignored
--   rcmode = normal  what the mirror does (exit 1 on any failure); noquiet: ignored
--   [ALIAS] or [ANCHORNAME] sections: agingtolerance, httptimeout, crl_url.R (replacing the
--                    CA's URLs for CRL R), prepend_url, postpend_url, cadir, catemplate,
--                    nametemplate_*, the toggles above, statedir; the alias's value wins
-- Any other key is refused, naming the file, the line and the reason.
--
--   read(path) -> conf | nil, err[, 2 (a setting refused)]
--     conf = { settings = { mirror configuration keys }, igtf_dir =, igtf = { igtf.read options },
--              notes = { text... }, nowarnings = bool }
local fs = require "certbench.fs"
local igtf = require "certbench.plugins.crl.igtf"

local M = {}

M.CFGDIR = "/etc/fetch-crl.d"
M.INFODIR = "/etc/grid-security/certificates"

-- the keys of the main section; true: known, a string: refused with this reason
local MAIN = {
  infodir = true, cadir = true, output = true, output_openssl = true, output_pem = true,
  output_der = true, formats = true, opensslmode = true, agingtolerance = true, httptimeout = true,
  parallelism = true, nosymlinks = true, symlinks = true, nowarnings = true, noerrors = true,
  warnings = true, errors = true, prepend_url = true, postpend_url = true, catemplate = true,
  nametemplate_pem = true, nametemplate_der = true, statedir = true, stateless = true, cfgdir = true,
  rcmode = true, noquiet = true,
  output_nss = "NSS databases are not written (see formats)",
  nssdbprefix = "NSS databases are not written (see formats)",
  nonssverify = "NSS databases are not written (see formats)",
  postexec = "a site plugin's crl.mirror_done or crl.published hook runs after the files are durable (README, \"Site plugins\")",
  randomwait = "delay the start in the timer (systemd RandomizedDelaySec) or use --daily-at with --random-delay",
  logmode = "the mirror prints to stdout/stderr (journald keeps a service's output) and writes a JSON report (--report)",
  syslogfacility = "the mirror prints to stdout/stderr (journald keeps a service's output)",
  http_proxy = "set the http_proxy/https_proxy environment variables, which libcurl reads",
  user_agent = "the mirror's User-Agent is certbench's",
  cache_control_request = "the mirror sends conditional requests (ETag, Last-Modified) instead",
  nocache = "the mirror keeps no cache besides its published files and state",
  backups = "each file is replaced atomically; no ~ copies are kept",
  inet6glue = "libcurl uses IPv6 by itself",
  openssl = "the mirror does not run the openssl command", path = "the mirror runs no other program",
  version = "the User-Agent is certbench's", packager = "the User-Agent is certbench's",
  exec3tmpdir = "the mirror runs no other program", exec3mode = "the mirror runs no other program",
  expirestolerance = "the mirror has no download cache to expire", maxcachetime = "the mirror has no download cache to expire",
  verbosity = "use certbench --verbose", debuglevel = "use certbench --verbose",
  proctimeout = "use httptimeout (the whole download)",
}
-- the keys of a [ALIAS] / [ANCHORNAME] section (and crl_url.R)
local ANCHOR = {
  agingtolerance = true, httptimeout = true, prepend_url = true, postpend_url = true,
  noprepend_url = true, nopostpend_url = true, nowarnings = true, noerrors = true, warnings = true,
  errors = true, cadir = true, catemplate = true, nametemplate_pem = true, nametemplate_der = true,
  statedir = true, nostatedir = true,
  postexec = MAIN.postexec, http_proxy = MAIN.http_proxy, nohttp_proxy = MAIN.http_proxy,
  user_agent = MAIN.user_agent, nocache = MAIN.nocache, cache = MAIN.nocache, proctimeout = MAIN.proctimeout,
}
local FORMATS = { openssl = true, pem = true, der = true,
  nss = "formats: nss is not supported: an NSS database is changed by NSS's crlutil (libnss3-tools), "
    .. "outside the mirror's atomic, verified publication; load the published <base>.pem with crlutil -I" }

local function where(e) return ("%s:%d"):format(e.file, e.line) end

-- a toggle is on as Perl sees its value: a bare "nowarnings" is "1"; "nowarnings = 0" or "=" is off
local function truthy(e) return e ~= nil and e.value ~= "" and e.value ~= "0" end

-- the entries of the file and of its cfgdir, by section and key (a later entry replaces an
-- earlier one, as in fetch-crl)
local function load(path)
  local text, err = fs.read(path, 1 << 20)
  if not text then return nil, err end
  local sections = {}
  local function take(file, t)
    for _, e in ipairs(igtf.parse_ini(t)) do
      e.file = file
      local s = sections[e.section] or {}
      sections[e.section] = s
      s[e.key] = e
    end
  end
  take(path, text)
  local main = sections._ or {}
  sections._ = main
  local cfgdir = main.cfgdir and main.cfgdir.value or M.CFGDIR
  if cfgdir ~= "" and fs.isdir(cfgdir) then
    local names = fs.list(cfgdir) or {}
    table.sort(names)
    for _, n in ipairs(names) do
      local p = fs.join(cfgdir, n)
      local st = fs.stat(p)
      local t = st and st.type == "file" and fs.read(p, 1 << 20)
      if t then take(p, t) end
    end
  end
  return sections
end

local function check_keys(sections)
  local list = {}
  for name, s in pairs(sections) do
    for k, e in pairs(s) do list[#list + 1] = { name, k, e } end
  end
  -- the first bad key of the file, by line
  table.sort(list, function(a, b)
    if a[3].file ~= b[3].file then return a[3].file < b[3].file end
    return a[3].line < b[3].line
  end)
  for _, it in ipairs(list) do
    local name, k, e = it[1], it[2], it[3]
    local known = name == "_" and MAIN[k] or ANCHOR[k]
    if name ~= "_" and k:match("^crl_url%.%d+$") then known = true end
    if known == nil then
      return nil, ("%s: %s: not a fetch-crl setting certbench knows%s"):format(where(e), k,
        name == "_" and "" or (" (in the section [%s])"):format(name))
    elseif known ~= true then
      return nil, ("%s: %s: not supported: %s"):format(where(e), k, known)
    end
  end
  return true
end

local function number(e, what)
  if e == nil then return nil end
  local n = e.value:match("^%s*(%d+)%s*$")
  if not n then return nil, ("%s: %s: '%s' is not %s"):format(where(e), e.key, e.value, what) end
  return math.tointeger(tonumber(n))
end

function M.read(path)
  local sections, err = load(path)
  if not sections then return nil, err end
  local conf, cerr = M.interpret(sections, path)
  -- a setting refused is a usage error (2), as an unknown key of a mirror config file is
  if not conf then return nil, cerr, 2 end
  return conf
end

-- interpret(sections, path) -> conf | nil, err: the settings read from path, checked
function M.interpret(sections, path)
  local ok, kerr = check_keys(sections)
  if not ok then return nil, kerr end
  local main = sections._
  local base = fs.dirname(path)
  local function val(k) return main[k] and main[k].value or nil end
  local function abs(p)
    if p == nil or p:sub(1, 1) == "/" then return p end
    return fs.join(base, p)
  end
  local conf = { settings = {}, notes = {}, igtf = {} }
  local set = conf.settings
  local function note(fmt, ...) conf.notes[#conf.notes + 1] = fmt:format(...) end
  conf.igtf_dir = abs(val("infodir") or M.INFODIR)
  conf.igtf.cadir = abs(val("cadir"))
  set.out_dir = abs(val("output_openssl") or val("output")) or conf.igtf_dir
  -- formats and their names
  local formats = {}
  for f in (val("formats") or "openssl"):gmatch("[^;,%s\1]+") do
    if FORMATS[f] == nil then
      return nil, ("%s: formats: '%s' is none of openssl, pem, der"):format(where(main.formats), f)
    elseif FORMATS[f] ~= true then
      return nil, ("%s: %s"):format(where(main.formats), FORMATS[f])
    end
    formats[f] = true
  end
  -- the folders of the pem and der files: the output folder, or output_pem / output_der (then
  -- the names there are links to the files in the output folder, by their absolute path)
  local folder = {}
  for _, f in ipairs { "pem", "der" } do
    local o = abs(val("output_" .. f))
    local ro = o and fs.realpath(o)
    if o and o ~= set.out_dir and (ro == nil or ro ~= fs.realpath(set.out_dir)) then folder[f] = o end
  end
  local mode = val("opensslmode") or "dual"
  if mode ~= "dual" and mode ~= "single" then
    return nil, ("%s: opensslmode: '%s' is neither dual nor single"):format(where(main.opensslmode), mode)
  end
  set.hash_names = formats.openssl and mode == "dual" and "new,old" or "new"
  if not formats.openssl then note("formats: the <hash>.rN names are published all the same (the mirror's folder is an OpenSSL CApath)") end
  -- numbers
  local hours, herr = number(main.agingtolerance, "a number of hours")
  if herr then return nil, herr end
  set.tolerance = (hours or 24) * 3600
  local t, terr = number(main.httptimeout, "a number of seconds")
  if terr then return nil, terr end
  set.timeout = t
  local p, perr = number(main.parallelism, "a number of downloads")
  if perr then return nil, perr end
  if p and p > 0 then set.concurrency = p end
  if main.rcmode and val("rcmode") ~= "normal" then
    return nil, ("%s: rcmode: '%s' is not supported: the mirror exits 1 on any failure (rcmode = normal); noerrors makes a CA's failures warnings")
      :format(where(main.rcmode), val("rcmode"))
  end
  if truthy(main.statedir) or truthy(main.stateless) then
    note("%s: the mirror keeps its state in %s/.certbench-mirror (its rollback protection needs it): fetch-crl's statedir is not used",
      main.statedir and "statedir" or "stateless", set.out_dir)
  end
  conf.igtf.nosymlinks = truthy(main.nosymlinks) or nil
  local function on(k) return truthy(main[k]) end
  conf.nowarnings = on("nowarnings") and not on("warnings")
  -- catemplate: a list separated by ";" or spaces
  local function templates(s)
    local l = {}
    for x in s:gmatch("[^;%s\1]+") do l[#l + 1] = x end
    return l
  end
  -- the values of every section checked now, not when a CA happens to use them
  for _, s in pairs(sections) do
    for _, k in ipairs { "agingtolerance", "httptimeout" } do
      local _, nerr = number(s[k], k == "httptimeout" and "a number of seconds" or "a number of hours")
      if nerr then return nil, nerr end
    end
    if s.catemplate and s.catemplate.value:find("@HASH@", 1, true) then
      return nil, ("%s: catemplate: @HASH@ is not supported: name the CA files after the .info/.crl_url file or its alias"):format(where(s.catemplate))
    end
  end
  -- the settings of one CA: its alias's section, else its anchor name's, else the main one's
  conf.igtf.anchor = function(alias, name, status)
    local sa, sn = sections[alias] or {}, sections[name] or {}
    local function get(k)
      local e = sa[k] or sn[k] or main[k]
      if e and e.value ~= "" then return e.value, e end
    end
    local function any(k) return truthy(sa[k]) or truthy(sn[k]) or truthy(main[k]) end
    local a = { source = {} }
    for _, k in ipairs { "prepend_url", "postpend_url", "cadir", "catemplate", "nametemplate_pem", "nametemplate_der" } do
      local v = get(k)
      if v then a[k] = igtf.expand(v, alias, name, status) end
    end
    if any("noprepend_url") then a.prepend_url = nil end
    if any("nopostpend_url") then a.postpend_url = nil end
    a.cadir = abs(a.cadir)
    if a.catemplate then a.catemplate = templates(a.catemplate) end
    if formats.pem or formats.der then
      a.names = { pem = formats.pem and (a.nametemplate_pem or igtf.expand("@ANCHORNAME@.@R@.crl.pem", alias, name, status)) or nil,
                  der = formats.der and (a.nametemplate_der or igtf.expand("@ANCHORNAME@.@R@.crl", alias, name, status)) or nil }
      for f, d in pairs(folder) do
        if a.names[f] then a.names[f] = fs.join(d, a.names[f]) end
      end
    end
    a.nametemplate_pem, a.nametemplate_der = nil, nil
    local h = get("agingtolerance")
    if h and h:match("^%d+$") then a.source.tolerance = tonumber(h) * 3600 end
    local ht = get("httptimeout")
    if ht and ht:match("^%d+$") then a.source.timeout = tonumber(ht) end
    if any("noerrors") and not any("errors") then a.source.optional = true end
    if any("nowarnings") and not any("warnings") then a.source.nowarnings = true end
    -- crl_url.R of the sections (the alias's over the anchor name's)
    for _, s in ipairs { sn, sa } do
      local r = 0
      while s["crl_url." .. r] do
        a.crl_urls = a.crl_urls or {}
        local l = {}
        for u in s["crl_url." .. r].value:gmatch("[^;%s\1]+") do l[#l + 1] = u end
        a.crl_urls[r] = l
        r = r + 1
      end
    end
    return a
  end
  return conf
end

return M
