-- crl/fetch.lua: download one CRL distribution point (http, https, ldap, ldaps) and unpack
-- every CRL in what it serves: a PEM or DER CRL, a PKCS#7 .p7c, a ZIP or GZIP archive of them,
-- or the certificateRevocationList;binary values of an LDAP entry.
--   fetch.get(url[, opts]) -> result | nil, err, code
-- opts: timeout (s, 120), connect_timeout (s, http.defaults': 10), low_speed = {bytes_per_sec,
--   s} ({1, 60}), max_size (bytes, 256 MiB), max_redirects (http.defaults': 5), ca_file, ca_path (HTTPS trust; default the
--   system store), etag, if_modified_since (epoch): a conditional request, allow_file (file://
--   URLs: read from the file system, the mtime as Last-Modified), limits (archive
--   limits: max_members, max_total, max_ratio, ...), tmp_dir: the body streams to a file
--   there (big CRLs never sit in a Lua string; the file is removed afterwards); with
--   stream_over = N too, only a body of more than N bytes does, a smaller one stays in memory;
--   scan: a DER or PEM CRL in such a file (or a file:// source) is scanned (crl.scan_file: never held
--   whole; a PEM one is decoded to a nameless file in tmp_dir first; the object keeps the file
--   open after its name is removed, and has no lookup()).
-- result: { url=, final_url=, status=, not_modified=, etag=, last_modified=, bytes=, time=,
--   protocol=, crls = { {name=, crl=} | {name=, error=}, ... } } (crls is empty on a 304)
-- Error codes: those of certbench.http ("timeout", "too_large", "connect", "tls", "redirect",
--   "http", "protocol", "truncated", "ldap", "url", "io"), "format" (no CRL in it, or one that
--   does not decode), "archive" (a bad or hostile archive: any code of certbench.archive but
--   "format" — a zip bomb, too many members, a truncated or corrupt archive), "io" (the
--   downloaded file cannot be read back). Decided on the codes the readers return, never on
--   their messages.
--   fetch.save(urls, opts) -> { sources = {...}, out_dir =, ok = } | nil, err
--     `crl fetch`: each URL downloaded (get), each CRL checked and written to a folder (below)
local http = require "certbench.http"
local fs = require "certbench.fs"
local rand = require "certbench.rand"
local archive = require "certbench.archive"
local ui = require "certbench.ui"
local options = require "certbench.options"
local crl = require "certbench.crl"
local crlfile = require "certbench.plugins.crl.crlfile"
local trust = require "certbench.plugins.crl.trust"

local M = {}

-- a CRL download: connecting and redirects as every download (http.defaults, the one place
-- they are defined); the whole transfer allowed more time and bytes than http's 60 s and
-- 64 MiB on purpose, as CRLs of big CAs run to hundreds of MiB (a stalled one still ends
-- after low_speed's 60 s below 1 byte/s). crl fetch, the mirror and crl check's prefetch use them.
M.defaults = {
  timeout = 120, connect_timeout = http.defaults.connect_timeout, low_speed = { 1, 60 },
  max_size = 256 << 20, max_redirects = http.defaults.max_redirects,
}

local LDAP_ATTRS = { "certificateRevocationList", "authorityRevocationList", "deltaRevocationList" }

local function ldap_crls(body, url)
  local values = {}
  for _, a in ipairs(LDAP_ATTRS) do
    for _, v in ipairs(http.ldap_values(body, a .. ";binary") or {}) do values[#values + 1] = v end
    for _, v in ipairs(http.ldap_values(body, a) or {}) do values[#values + 1] = v end
  end
  if #values == 0 then
    return nil, ("%s: the LDAP entry holds no certificateRevocationList value"):format(url), "format"
  end
  local out = {}
  local seen = {}
  for i, v in ipairs(values) do
    if not seen[v] then
      seen[v] = true
      local list, err = crlfile.from_data(v, ("%s#%d"):format(url, i))
      if list then
        for _, m in ipairs(list) do out[#out + 1] = m end
      else
        out[#out + 1] = { name = url, error = err }
      end
    end
  end
  return out
end

-- classify(code) -> the error code fetch.get reports for a failure of crlfile's readers (their
-- code: "format", "io", "http", or one of certbench.archive's, which are all "archive" here)
local function classify(code)
  if archive.CODES[code] and code ~= "format" then return "archive" end
  if code == "io" or code == "http" then return code end
  return "format"
end

-- get_file(url, path, opts): a file:// source, a CRL another job drops in a folder: read by
-- crlfile.from_file (archives too). Its identity (inode, size, mtime, ctime) stands for an ETag, so a
-- conditional request gets "not modified" for the same file unchanged since. Not the mtime alone
-- as Last-Modified: a CRL dropped in the second the last one was read (renamed into place, or
-- the same size written over it), or copied with its older mtime kept (cp -p, rsync -t, unzip),
-- was taken for the old one and never published
local function get_file(url, path, opts)
  local st, serr = fs.stat(path)
  if not st then return nil, url .. ": " .. tostring(serr), "io" end
  local tag = ("file:%d:%d:%d:%d"):format(st.ino or 0, st.size or 0, st.mtime or 0, st.ctime_ns or 0)
  local res = { url = url, final_url = url, status = 200, last_modified = st.mtime, etag = tag, bytes = st.size,
                protocol = "file", crls = {} }
  if opts.etag and opts.etag == tag then
    res.status, res.not_modified, res.crls = 304, true, {}
    return res
  end
  local list, err, code = crlfile.from_file(path, opts.limits, { scan = opts.scan, tmp_dir = opts.tmp_dir })
  if not list then return nil, url .. ": " .. tostring(err), classify(code) end
  res.crls = list
  return res
end

function M.get(url, opts)
  opts = opts or {}
  -- file:// only where the caller asks for it (a mirror's configured sources), never for a
  -- URL a certificate or a server names
  local fpath = opts.allow_file and url:match("^file://(/.*)$")
  if fpath then return get_file(url, fpath, opts) end
  local req = {
    timeout = opts.timeout or M.defaults.timeout,
    connect_timeout = opts.connect_timeout or M.defaults.connect_timeout,
    low_speed = opts.low_speed or M.defaults.low_speed,
    max_size = opts.max_size or M.defaults.max_size,
    max_redirects = opts.max_redirects or M.defaults.max_redirects,
    ca_file = opts.ca_file, ca_path = opts.ca_path,
    etag = opts.etag, if_modified_since = opts.if_modified_since,
    fail_on_status = true,
  }
  local tmp
  if opts.tmp_dir then
    tmp = fs.join(opts.tmp_dir, "dl-" .. rand.serial(8) .. ".part")
    req.to_file = tmp
    req.to_file_over = opts.stream_over
  end
  local r, err, code = http.get(url, req)
  if not r then
    if tmp then
      fs.remove(tmp)
      -- our temporary file is no name for the user: the folder it was in is
      err = tostring(err):gsub(tmp:gsub("%p", "%%%0") .. ": cannot write the download next to it",
        (opts.tmp_dir:gsub("%%", "%%%%")) .. ": cannot write the download there")
    end
    return nil, err, code
  end
  local res = {
    url = url, final_url = r.url, status = r.status, not_modified = r.not_modified or nil,
    etag = r.headers and r.headers.etag, last_modified = r.last_modified, bytes = r.size,
    time = r.time, protocol = r.protocol, crls = {},
  }
  if r.not_modified then
    if tmp then fs.remove(tmp) end
    -- a 304 means "what you have is current" only as the answer to a conditional request:
    -- to a plain one it delivers nothing, and a source answering so has failed
    if not (opts.etag or opts.if_modified_since) then
      return nil, url .. ": 304 Not Modified to a request that was not conditional (nothing was delivered)", "http"
    end
    return res
  end
  if tmp and not r.file then
    -- small enough to stay in memory (stream_over): no file was made
    tmp = nil
  end
  local list, lerr, lcode
  if r.protocol == "ldap" or r.protocol == "ldaps" then
    local body = r.body
    if tmp then
      body, lerr = fs.read(tmp, req.max_size * 2 + 4096)
      if not body then lcode = "io" end
    end
    if body then list, lerr, lcode = ldap_crls(body, url) end
  elseif tmp then
    list, lerr, lcode = crlfile.from_file(tmp, opts.limits, { scan = opts.scan, tmp_dir = opts.tmp_dir })
  else
    list, lerr, lcode = crlfile.from_data(r.body, url, opts.limits)
  end
  if tmp then fs.remove(tmp) end
  if not list then
    -- messages about the temporary file name the URL instead
    if tmp then lerr = tostring(lerr):gsub(tmp:gsub("%p", "%%%0"), url) end
    return nil, lerr, classify(lcode)
  end
  for _, m in ipairs(list) do
    if tmp and m.name == tmp then m.name = url end
    if m.error and tmp then m.error = m.error:gsub(tmp:gsub("%p", "%%%0"), url) end
  end
  res.crls = list
  return res
end

-- `crl fetch`: download CRLs and write them to a folder ---------------------------------------


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
      if oca and crlfile.identity(old, oca).key == id.key then
        local on, nn = old:number(), c:number()
        local newer
        if on and nn then
          local cmp = crlfile.cmp_number(on, nn)
          newer = cmp > 0 or (cmp == 0 and old:this_update() > c:this_update())
        else
          newer = old:this_update() > c:this_update()
        end
        local msg = newer and ("%s holds CRL number %s, newer than the fetched %s: kept (--force replaces it)")
          :format(p, on and crlfile.number_text(on) or "-", nn and crlfile.number_text(nn) or "-")
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


-- remove_stale(dir, mine): the private folders (.certbench-fetch-*) that runs killed (SIGKILL,
-- SIGTERM, a power cut) left in dir, with their partial downloads (up to --max-size each): one
-- more was left by every such run. A folder is stale when no running fetch holds its lock, it
-- is this user's, and it is older than a minute (a fetch starting now has made its folder but
-- may not hold the lock yet). mine: this run's, as tmpd:name() names it.
local STALE_AGE = 60
local function remove_stale(dir, mine)
  local me = fs.stat(mine, { follow = false })
  if not me then return end
  for _, name in ipairs(fs.list(dir) or {}) do
    local p = fs.join(dir, name)
    local st = name:match("^%.certbench%-fetch%-%x+$") and fs.stat(p, { follow = false })
    if st and st.ino == me.ino and st.dev == me.dev then st = nil end -- this run's
    if st and st.type == "directory" and st.uid == me.uid and st.mtime < os.time() - STALE_AGE then
      local lk = fs.lock(p, { wait = false })
      if lk then
        for _, f in ipairs(fs.list(p) or {}) do fs.remove(fs.join(p, f)) end
        fs.remove(p)
        lk:unlock()
      end
    end
  end
end

-- save(urls, {out_dir=, ca = {files}, tls_ca=, timeout=, max_size=, allow_expired=, format=,
--              force=})
-- With ca, a CRL is not written over a newer verified one of the same sequence unless force.
--   -> { sources = {...}, out_dir =, ok = every URL and CRL succeeded } | nil, err
function M.save(urls, opts)
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
  -- held while this run lives: remove_stale leaves the folder of a running fetch alone
  local tmplock = fs.lock(tmpd:path())
  remove_stale(dir, tmpd:name())
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
    local r, err, code = M.get(url, { timeout = opts.timeout, max_size = opts.max_size, ca_file = opts.tls_ca,
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
          item = crlfile.summary(c)
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
          local id = not item.error and crlfile.identity(c, ca)
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
  if tmplock then tmplock:unlock() end
  return { sources = ui.array(out), out_dir = dir, ok = not failed }
end

return M
