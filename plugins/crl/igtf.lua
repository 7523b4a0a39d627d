-- crl/igtf.lua: an IGTF trust folder (/etc/grid-security/certificates, as the Debian fetch-crl
-- and ca-policy packages lay it out) read as a mirror configuration, the way fetch-crl 3 reads it
-- (/usr/sbin/fetch-crl, TrustAnchor::loadAnchor), and fetch-crl's own configuration file:
--   <name>.info       "alias = A" and "crl_url = URL[;URL...]", or "crl_url.0 =", "crl_url.1 =",
--                     ... for a CA with several CRLs (fetch-crl prefers it to a .crl_url of the
--                     same name)
--   <name>.crl_url    one URL a line, all for the same CRL (the older form; the name is usually
--                     the CA's subject hash)
--   the CA            the first of <alias>.pem, <alias>.R, <name>.R (R the CRL's index, 0 for
--                     most), fetch-crl's default catemplate; <alias> is <name> for a .crl_url
--   igtf.read(dir[, opts]) -> { ca = { files }, sources = { {urls =, issuers = {subject}, name =}, ... },
--                       notes = { text... } } | nil, err
--       opts (what a fetch-crl.conf sets, crl/fetchcrl_conf.lua): cadir (where the CAs are; default
--       dir), catemplate = { templates } (default the one above), nosymlinks (skip metadata files
--       that are symbolic links), anchor = function(alias, name) -> { crl_urls = { [R] = {urls} },
--       prepend_url =, postpend_url =, cadir =, catemplate =, source = { keys added to the
--       source }, names = { pem =, der = } (name templates of the CRL's files) } | nil (the per-CA settings; templates already expanded but for @R@)
--   igtf.parse_ini(text) -> { {section =, key =, value =, line =}, ... }
--       fetch-crl's ConfigTiny grammar (.info files and fetch-crl.conf): "\" + newline continues
--       a line, "#" or ";" starts a comment line, " ; " starts an inline comment, "[name]" a
--       section ("_" the main one), "key = value" or a bare "key" (value "1"); line: the
--       physical line the entry starts on
--   igtf.expand(template, alias, name, status) -> text   @ALIAS@, @ANCHORNAME@, @STATUS@ replaced
-- Each CRL is verified against its own CA: the source is pinned to that CA's subject (a CRL of
-- another CA from its URL is rejected), and the URLs of one CRL are one source tried in order.
local fs = require "certbench.fs"
local x509 = require "certbench.x509"

local M = {}

M.CATEMPLATE = { "@ALIAS@.pem", "@ALIAS@.@R@", "@ANCHORNAME@.@R@" }

local function read_text(path)
  return fs.read(path, 1 << 20)
end

function M.parse_ini(text)
  local entries, section = {}, "_"
  local n, pending, start = 0, nil, nil
  -- physical lines: \r\n, \r\n\n... and lone \r end a line, as ConfigTiny splits them
  for line in (text:gsub("\r\n", "\n"):gsub("\r", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if pending then line = pending .. line:gsub("^%s+", "") else start = n end
    if line:sub(-1) == "\\" then
      pending = line:sub(1, -2)
    else
      pending = nil
      if not line:match("^%s*[#;]") and line:match("%S") then
        line = line:gsub("%s;%s.+$", "")
        local sect = line:match("^%s*%[%s*(.-)%s*%]%s*$")
        if sect and sect ~= "" then
          section = sect
        else
          local k, v = line:match("^%s*([^=]-)%s*=%s*(.-)%s*$")
          if not k then k, v = line:match("^%s*(.-)%s*$"), "1" end
          entries[#entries + 1] = { section = section, key = k, value = v, line = start }
        end
      end
    end
  end
  return entries
end

-- info_fields(text) -> the key/value pairs of the main section of an .info file (keys after a
-- "[section]" line are not the anchor's)
local function info_fields(text)
  local t = {}
  for _, e in ipairs(M.parse_ini(text)) do
    if e.section == "_" then t[e.key] = e.value end
  end
  return t
end

function M.expand(s, alias, name, status)
  return (s:gsub("@ANCHORNAME@", function() return name end)
           :gsub("@STATUS@", function() return status end)
           :gsub("@ALIAS@", function() return alias end))
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

local function is_link(path) return fs.readlink(path) ~= nil end

function M.read(dir, opts)
  opts = opts or {}
  local names = fs.list(dir)
  if not names then return nil, dir .. ": cannot read the folder" end
  table.sort(names)
  local listed = {}
  local function have(cadir, f)
    if not listed[cadir] then
      listed[cadir] = {}
      for _, n in ipairs(cadir == dir and names or fs.list(cadir) or {}) do listed[cadir][n] = true end
    end
    return listed[cadir][f]
  end
  local res = { ca = {}, sources = {}, notes = {} }
  local done, ca_seen = {}, {}
  local function note(fmt, ...) res.notes[#res.notes + 1] = fmt:format(...) end
  -- a CA file: its subject, and (once per certificate) in the trusted set
  local function ca_of(path)
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
  local function add(meta, name, alias, status, r, urls, a)
    local path = fs.join(dir, meta)
    if #urls == 0 then return note("%s: no CRL URL", path) end
    for _, u in ipairs(urls) do
      if not u:match("^%w+://") then return note("%s: not a URL: %s: ignored", path, u) end
    end
    local function url_at(t) return t and (t:gsub("@R@", tostring(r))) end
    local pre, post = url_at(a.prepend_url), url_at(a.postpend_url)
    if pre or post then
      local all = { pre }
      for _, u in ipairs(urls) do all[#all + 1] = u end
      all[#all + 1] = post
      urls = all
    end
    local cadir = a.cadir or opts.cadir or dir
    local file
    local tried = {}
    for _, t in ipairs(a.catemplate or opts.catemplate or M.CATEMPLATE) do
      local f = M.expand(t, alias, name, status):gsub("@R@", tostring(r))
      tried[#tried + 1] = f
      if have(cadir, f) then file = f break end
    end
    if not file then
      return note("%s: no CA beside it (%s): ignored", path, table.concat(tried, ", "))
    end
    local subject, fp = ca_of(fs.join(cadir, file))
    -- the same CA's CRL r named twice (an .info and a .crl_url of other names): fetched once
    if not subject or done[fp .. "/" .. r] then return end
    done[fp .. "/" .. r] = true
    local src = { urls = urls, issuers = { subject }, name = meta }
    for k, v in pairs(a.source or {}) do src[k] = v end
    if a.names then
      -- fetch-crl's pem and der formats: the names of this CRL's files (nametemplate_*)
      src.names = {}
      for f, t in pairs(a.names) do src.names[f] = url_at(t) end
    end
    res.sources[#res.sources + 1] = src
  end
  -- the per-CRL URLs of an anchor, as its settings may replace them (crl_url.R of its section)
  local function add_all(meta, name, alias, status, lists)
    local a = opts.anchor and opts.anchor(alias, name, status) or {}
    for r, l in pairs(a.crl_urls or {}) do lists[r + 1] = l end
    for i = 1, #lists do add(meta, name, alias, status, i - 1, lists[i], a) end
  end
  local function skip(n)
    return opts.nosymlinks and is_link(fs.join(dir, n))
  end
  -- .info first (fetch-crl prefers it), then the .crl_url of names without one
  for _, n in ipairs(names) do
    local name = n:match("^(.+)%.info$")
    if name and not skip(n) then
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
        local lists, r = {}, 0
        while f["crl_url." .. r] do
          lists[r + 1] = split_urls(f["crl_url." .. r])
          r = r + 1
        end
        add_all(n, name, f.alias, f.status or "local", lists)
      end
    end
  end
  for _, n in ipairs(names) do
    local name = n:match("^(.+)%.crl_url$")
    if name and not have(dir, name .. ".info") and not skip(n) then
      local text = read_text(fs.join(dir, n))
      if text then add_all(n, name, name, "unknown", { crl_url_urls(text) })
      else note("%s: cannot read it: ignored", fs.join(dir, n)) end
    end
  end
  if #res.sources == 0 then
    return nil, dir .. ": no CA with a CRL URL (<alias>.info with crl_url, or <hash>.crl_url, beside the CA's <alias>.pem or <hash>.0)"
  end
  return res
end

return M
