-- crl/igtf.lua: an IGTF trust folder (/etc/grid-security/certificates, as the Debian fetch-crl
-- and ca-policy packages lay it out) read as a mirror configuration, the way fetch-crl 3 reads it
-- (/usr/sbin/fetch-crl, TrustAnchor::loadAnchor):
--   <name>.info       "alias = A" and "crl_url = URL[;URL...]", or "crl_url.0 =", "crl_url.1 =",
--                     ... for a CA with several CRLs (fetch-crl prefers it to a .crl_url of the
--                     same name)
--   <name>.crl_url    one URL a line, all for the same CRL (the older form; the name is usually
--                     the CA's subject hash)
--   the CA            the first of <alias>.pem, <alias>.R, <name>.R (R the CRL's index, 0 for
--                     most), fetch-crl's default catemplate; <alias> is <name> for a .crl_url
--   igtf.read(dir) -> { ca = { files }, sources = { {urls =, issuers = {subject}, name =}, ... },
--                       notes = { text... } } | nil, err
-- Each CRL is verified against its own CA: the source is pinned to that CA's subject (a CRL of
-- another CA from its URL is rejected), and the URLs of one CRL are one source tried in order.
local fs = require "certbench.fs"
local x509 = require "certbench.x509"

local M = {}

local function read_text(path)
  return fs.read(path, 1 << 20)
end

-- info_fields(text) -> the key/value pairs of the main section of an .info file, parsed as
-- fetch-crl's ConfigTiny does: "\" + newline continues a line, "#" or ";" starts a comment line,
-- " ; " starts an inline comment (so "crl_url = A ; B" is A alone, "A;B" and "A B" are both),
-- values are trimmed, and keys after a "[section]" line are not the anchor's.
local function info_fields(text)
  text = text:gsub("\\\r?\n%s*", "")
  local t, main = {}, true
  for line in text:gmatch("[^\r\n]+") do
    if not line:match("^%s*[#;]") and line:match("%S") then
      line = line:gsub("%s;%s.+$", "")
      local sect = line:match("^%s*%[%s*(.-)%s*%]%s*$")
      if sect then
        main = sect == "_"
      elseif main then
        local k, v = line:match("^%s*([^=]-)%s*=%s*(.-)%s*$")
        if k then t[k] = v end
      end
    end
  end
  return t
end

local function split_urls(v)
  local urls = {}
  for u in v:gmatch("[^;%s]+") do urls[#urls + 1] = u end
  return urls
end

local function crl_url_urls(text)
  local urls = {}
  for line in text:gmatch("[^\r\n]+") do
    local u = line:match("^%s*([^#]-)%s*$")
    if u and u ~= "" then urls[#urls + 1] = u end
  end
  return urls
end

function M.read(dir)
  local names = fs.list(dir)
  if not names then return nil, dir .. ": cannot read the folder" end
  table.sort(names)
  local have = {}
  for _, n in ipairs(names) do have[n] = true end
  local res = { ca = {}, sources = {}, notes = {} }
  local done, ca_seen = {}, {}
  local function note(fmt, ...) res.notes[#res.notes + 1] = fmt:format(...) end
  -- a CA file: its subject, and (once per certificate) in the trusted set
  local function ca_of(file)
    local path = fs.join(dir, file)
    local data = fs.read(path, 1 << 20)
    local cert = data and x509.load(data)
    if not cert then
      note("%s: not a certificate: ignored", path)
      return nil
    end
    local fp = cert:fingerprint("sha256")
    if not ca_seen[fp] then
      ca_seen[fp] = true
      res.ca[#res.ca + 1] = path
    end
    return tostring(cert:subject()), fp
  end
  -- one CRL (index r) of the anchor `name` (alias `alias`), from the URLs in order
  local function add(meta, name, alias, r, urls)
    local path = fs.join(dir, meta)
    if #urls == 0 then return note("%s: no CRL URL", path) end
    for _, u in ipairs(urls) do
      if not u:match("^%w+://") then return note("%s: not a URL: %s: ignored", path, u) end
    end
    local file
    for _, f in ipairs { alias .. ".pem", ("%s.%d"):format(alias, r), ("%s.%d"):format(name, r) } do
      if have[f] then file = f break end
    end
    if not file then
      return note("%s: no CA beside it (%s.pem, %s.%d or %s.%d): ignored", path, alias, alias, r, name, r)
    end
    local subject, fp = ca_of(file)
    -- the same CA's CRL r named twice (an .info and a .crl_url of other names): fetched once
    if not subject or done[fp .. "/" .. r] then return end
    done[fp .. "/" .. r] = true
    res.sources[#res.sources + 1] = { urls = urls, issuers = { subject }, name = meta }
  end
  -- .info first (fetch-crl prefers it), then the .crl_url of names without one
  for _, n in ipairs(names) do
    local name = n:match("^(.+)%.info$")
    if name then
      local text = read_text(fs.join(dir, n))
      local f = text and info_fields(text) or {}
      if not text then
        note("%s: cannot read it: ignored", fs.join(dir, n))
      elseif f.crl_url and f["crl_url.0"] then
        note("%s: both crl_url and crl_url.0: ignored", fs.join(dir, n))
      elseif not (f.crl_url or f["crl_url.0"]) then
        note("%s: no crl_url (a CA without a CRL)", fs.join(dir, n))
      elseif not f.alias or f.alias == "" then
        note("%s: no alias: ignored", fs.join(dir, n))
      else
        f["crl_url.0"] = f["crl_url.0"] or f.crl_url
        local r = 0
        while f["crl_url." .. r] do
          add(n, name, f.alias, r, split_urls(f["crl_url." .. r]))
          r = r + 1
        end
      end
    end
  end
  for _, n in ipairs(names) do
    local name = n:match("^(.+)%.crl_url$")
    if name and not have[name .. ".info"] then
      local text = read_text(fs.join(dir, n))
      if text then add(n, name, name, 0, crl_url_urls(text))
      else note("%s: cannot read it: ignored", fs.join(dir, n)) end
    end
  end
  if #res.sources == 0 then
    return nil, dir .. ": no CA with a CRL URL (<alias>.info with crl_url, or <hash>.crl_url, beside the CA's <alias>.pem or <hash>.0)"
  end
  return res
end

return M
