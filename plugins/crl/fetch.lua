-- crl/fetch.lua: download one CRL distribution point (http, https, ldap, ldaps) and unpack
-- every CRL in what it serves: a PEM or DER CRL, a PKCS#7 .p7c, a ZIP or GZIP archive of them,
-- or the certificateRevocationList;binary values of an LDAP entry.
--   fetch.get(url[, opts]) -> result | nil, err, code
-- opts: timeout (s, 120), connect_timeout (s, 10), low_speed = {bytes_per_sec, s} ({1, 60}),
--   max_size (bytes, 256 MiB), max_redirects (5), ca_file, ca_path (HTTPS trust; default the
--   system store), etag, if_modified_since (epoch): a conditional request, allow_file (file://
--   URLs: read from the file system, the mtime as Last-Modified), limits (archive
--   limits: max_members, max_total, max_ratio, ...), tmp_dir: the body streams to a file
--   there (big CRLs never sit in a Lua string; the file is removed afterwards); with
--   stream_over = N too, only a body of more than N bytes does, a smaller one stays in memory;
--   scan: a DER CRL in such a file (or a file:// source) is scanned (crl.scan_file: never held
--   whole; the object keeps the file open after its name is removed, and has no lookup()).
-- result: { url=, final_url=, status=, not_modified=, etag=, last_modified=, bytes=, time=,
--   protocol=, crls = { {name=, crl=} | {name=, error=}, ... } } (crls is empty on a 304)
-- Error codes: those of certbench.http ("timeout", "too_large", "connect", "tls", "redirect",
--   "http", "protocol", "truncated", "ldap", "url", "io"), "format" (no CRL in it), "archive"
--   (a bad or hostile archive: a zip bomb, too many members).
local http = require "certbench.http"
local fs = require "certbench.fs"
local rand = require "certbench.rand"
local common = require "certbench.plugins.crl.common"

local M = {}

M.defaults = {
  timeout = 120, connect_timeout = 10, low_speed = { 1, 60 }, max_size = 256 << 20, max_redirects = 5,
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
      local list, err = common.from_data(v, ("%s#%d"):format(url, i))
      if list then
        for _, m in ipairs(list) do out[#out + 1] = m end
      else
        out[#out + 1] = { name = url, error = err }
      end
    end
  end
  return out
end

local function classify(err)
  -- archive.crls errors: limits (zip bomb, member count) and broken archives
  if err:find("ratio", 1, true) or err:find("limit", 1, true) or err:find("too many", 1, true)
     or err:find("max_", 1, true) or err:find("zip", 1, true) or err:find("gzip", 1, true) then
    return "archive"
  end
  return "format"
end

-- get_file(url, path, opts): a file:// source, a CRL another job drops in a folder: read by the
-- common reader (archives too); its mtime stands for Last-Modified, so a conditional request
-- gets "not modified" for a file unchanged since
local function get_file(url, path, opts)
  local st, serr = fs.stat(path)
  if not st then return nil, url .. ": " .. tostring(serr), "io" end
  local res = { url = url, final_url = url, status = 200, last_modified = st.mtime, bytes = st.size,
                protocol = "file", crls = {} }
  if opts.if_modified_since and st.mtime <= opts.if_modified_since then
    res.status, res.not_modified, res.crls = 304, true, {}
    return res
  end
  local list, err = common.from_file(path, opts.limits, { scan = opts.scan })
  if not list then return nil, url .. ": " .. tostring(err), "format" end
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
    if tmp then body, lerr = fs.read(tmp, req.max_size * 2 + 4096) end
    if body then list, lerr, lcode = ldap_crls(body, url) end
  elseif tmp then
    list, lerr, lcode = common.from_file(tmp, opts.limits, { scan = opts.scan })
  else
    list, lerr, lcode = common.from_data(r.body, url, opts.limits)
  end
  if tmp then fs.remove(tmp) end
  if not list then
    -- messages about the temporary file name the URL instead
    if tmp then lerr = tostring(lerr):gsub(tmp:gsub("%p", "%%%0"), url) end
    return nil, lerr, lcode or classify(lerr)
  end
  for _, m in ipairs(list) do
    if tmp and m.name == tmp then m.name = url end
    if m.error and tmp then m.error = m.error:gsub(tmp:gsub("%p", "%%%0"), url) end
  end
  res.crls = list
  return res
end

return M
