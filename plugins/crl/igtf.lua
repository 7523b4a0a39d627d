-- crl/igtf.lua: an IGTF trust folder (/etc/grid-security/certificates, as the Debian fetch-crl
-- and ca-policy packages lay it out) read as a mirror configuration, the way fetch-crl reads it:
--   <alias>.pem       a CA certificate            <hash>.0     the same (often a link to it)
--   <alias>.info      "crlurl = URL[; URL...]" (one or more lines; fetch-crl prefers it)
--   <hash>.crl_url    one URL a line (the older form, used when a CA has no .info)
--   igtf.read(dir) -> { ca = { files }, sources = { {urls =, issuers = {subject}, name =}, ... },
--                       notes = { text... } } | nil, err
-- Each CRL is verified against its own CA: the source is pinned to that CA's subject (a CRL of
-- another CA from its URL is rejected), and every URL of a CA is one source tried in order.
local fs = require "certbench.fs"
local x509 = require "certbench.x509"

local M = {}

local function read_lines(path)
  local text = fs.read(path, 1 << 20)
  if not text then return nil end
  local t = {}
  for line in text:gmatch("[^\r\n]+") do t[#t + 1] = line end
  return t
end

-- info_urls(path) -> the crlurl values of an .info file, in order
local function info_urls(path)
  local urls = {}
  for _, line in ipairs(read_lines(path) or {}) do
    local v = line:match("^%s*crlurl%s*=%s*(.-)%s*$")
    if v then
      for u in v:gmatch("[^;%s]+") do urls[#urls + 1] = u end
    end
  end
  return urls
end

local function crl_url_urls(path)
  local urls = {}
  for _, line in ipairs(read_lines(path) or {}) do
    local u = line:match("^%s*(%S+)%s*$")
    if u and not u:match("^#") then urls[#urls + 1] = u end
  end
  return urls
end

function M.read(dir)
  local names = fs.list(dir)
  if not names then return nil, dir .. ": cannot read the folder" end
  local have = {}
  for _, n in ipairs(names) do have[n] = true end
  local res = { ca = {}, sources = {}, notes = {} }
  local by_subject, ca_seen = {}, {}
  -- a CA file: its subject, and (once per certificate) in the trusted set
  local function ca_of(file)
    local path = fs.join(dir, file)
    local data = fs.read(path, 1 << 20)
    local cert = data and x509.load(data)
    if not cert then
      res.notes[#res.notes + 1] = path .. ": not a certificate: ignored"
      return nil
    end
    local fp = cert:fingerprint("sha256")
    if not ca_seen[fp] then
      ca_seen[fp] = true
      res.ca[#res.ca + 1] = path
    end
    return tostring(cert:subject()), fp
  end
  local function add(file, urls, name)
    if #urls == 0 then
      res.notes[#res.notes + 1] = fs.join(dir, name) .. ": no CRL URL"
      return
    end
    local subject, fp = ca_of(file)
    if not subject or by_subject[fp] then return end
    by_subject[fp] = true
    res.sources[#res.sources + 1] = { urls = urls, issuers = { subject }, name = name }
  end
  -- .info first (fetch-crl prefers it), then the .crl_url of CAs not covered
  for _, n in ipairs(names) do
    local alias = n:match("^(.+)%.info$")
    if alias then
      if have[alias .. ".pem"] then add(alias .. ".pem", info_urls(fs.join(dir, n)), n)
      else res.notes[#res.notes + 1] = fs.join(dir, n) .. ": no " .. alias .. ".pem beside it: ignored" end
    end
  end
  for _, n in ipairs(names) do
    local hash = n:match("^(%x%x%x%x%x%x%x%x)%.crl_url$")
    if hash then
      if have[hash .. ".0"] then add(hash .. ".0", crl_url_urls(fs.join(dir, n)), n)
      else res.notes[#res.notes + 1] = fs.join(dir, n) .. ": no " .. hash .. ".0 beside it: ignored" end
    end
  end
  if #res.sources == 0 then return nil, dir .. ": no CA with a CRL URL (<alias>.info with crlurl, or <hash>.crl_url beside <hash>.0)" end
  return res
end

return M
