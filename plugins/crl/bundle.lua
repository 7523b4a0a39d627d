-- crl/bundle.lua: one PEM file holding the CRLs of a chain, for the appliance's manual CRL
-- upload (the guide's "Manual CRL updates": "It must be in PEM encoded format"; an upload
-- replaces the file before, so every CA's CRL goes in the one file).
--
--   bundle.build{ sources = { file | folder | url, ... }, cas = { file, ... }, out =,
--                 fetch = bool, allow_expired = bool, force = bool, time = epoch, timeout = s }
--     -> result | nil, err, code
--   result = { out =, crls = { {issuer=, number=, this_update=, next_update=, entries=, source=} ... },
--              left_out = { {source=, why=} ... }, without_crl = { subject... }, warnings = {...} }
-- Sources: CRL files (PEM, DER, ZIP/GZIP archives, PKCS#7), folders (each file in them that holds
-- CRLs or certificates, as a `crl mirror` folder), http(s) URLs, and certificate files (a chain,
-- a CA file): their CA certificates are trusted to sign the CRLs, and with fetch the CRLs named
-- by their CRL distribution points are downloaded. Every CRL must verify against a CA given
-- (in a source or in cas) and be current (the appliance treats every certificate of a CA whose
-- CRL has expired as revoked) unless allow_expired: otherwise nothing is written. Of several
-- CRLs of one CA (and scope) the highest CRL number is kept.
local fs = require "certbench.fs"
local x509 = require "certbench.x509"
local ui = require "certbench.ui"
local outputs = require "certbench.outputs"
local crlfile = require "certbench.plugins.crl.crlfile"
local trust = require "certbench.plugins.crl.trust"

local M = {}

local function is_url(s) return s:match("^https?://") ~= nil end

local function download(url, timeout)
  local http = require "certbench.http"
  local r, err = http.get(url, { fail_on_status = true, timeout = timeout }) -- http.defaults otherwise
  if not r then return nil, err end
  return r.body or ""
end

-- read(name, data, out, strict): the CRLs and certificates of one input into out
local function take(name, data, out, strict)
  local certs = x509.load_all(data)
  local n = 0
  if certs then
    for _, c in ipairs(certs) do out.certs[#out.certs + 1] = { cert = c, source = name } n = n + 1 end
  end
  local list = crlfile.from_data(data, name)
  if list then
    for _, m in ipairs(list) do
      if m.crl then
        out.crls[#out.crls + 1] = { crl = m.crl, source = m.name ~= name and (name .. ": " .. m.name) or name }
        n = n + 1
      elseif m.error then
        return nil, m.error
      end
    end
  end
  if n == 0 and strict then return nil, name .. ": neither a CRL nor a certificate in it" end
  return n
end

local function read_source(src, out, timeout)
  if is_url(src) then
    local data, err = download(src, timeout)
    if not data then return nil, err end
    return take(src, data, out, true)
  end
  if fs.isdir(src) then
    local names, lerr = fs.list(src)
    if not names then return nil, lerr end
    table.sort(names)
    local found = 0
    for _, n in ipairs(names) do
      local p = fs.join(src, n)
      local st = fs.stat(p)
      if st and st.type == "file" and not n:match("^%.") then
        local data = fs.read(p)
        if data then
          local k = take(p, data, out, false)
          found = found + (k or 0)
        end
      end
    end
    if found == 0 then return nil, src .. ": no CRL or certificate in the folder" end
    return found
  end
  local data, err = fs.read(src)
  if not data then return nil, err end
  return take(src, data, out, true)
end

local function scope(c)
  local idp = c:issuing_distribution_point()
  local t = { c:issuer():text(), c:aki() or "", c:is_delta() and "delta" or "base" }
  if idp then
    for _, u in ipairs(idp.urls or {}) do t[#t + 1] = u end
    for _, k in ipairs { "only_user", "only_ca", "indirect", "only_attribute" } do if idp[k] then t[#t + 1] = k end end
  end
  return table.concat(t, "|")
end

function M.build(o)
  if not o.sources or #o.sources == 0 then return nil, "crl bundle: give the sources (files, folders or URLs)", 2 end
  if not o.out then return nil, "crl bundle: --out is required", 2 end
  local now = o.time or os.time()
  local got = { crls = {}, certs = {} }
  for _, src in ipairs(o.sources) do
    local ok, err = read_source(src, got, o.timeout)
    if not ok then return nil, err end
  end
  for _, f in ipairs(o.cas or {}) do
    local data, err = fs.read(f)
    if not data then return nil, err end
    local certs = x509.load_all(data)
    if not certs or #certs == 0 then return nil, f .. ": no certificate in it" end
    for _, c in ipairs(certs) do got.certs[#got.certs + 1] = { cert = c, source = f } end
  end
  local res = { out = o.out, left_out = {}, without_crl = {}, warnings = {} }
  -- with fetch, the CRLs the certificates point at
  if o.fetch then
    local seen = {}
    for _, e in ipairs(got.certs) do
      if not e.cert:is_self_signed() then
        local urls = e.cert:crl_distribution_points() or {}
        local ok_one, last
        for _, u in ipairs(urls) do
          if is_url(u) and not seen[u] then
            seen[u] = true
            local data, err = download(u, o.timeout)
            if data then
              local k, terr = take(u, data, got, true)
              if k then ok_one = true else last = terr end
            else
              last = err
            end
          elseif seen[u] then
            ok_one = true
          end
        end
        if not ok_one and last then res.warnings[#res.warnings + 1] = last end
      end
    end
  end
  if #got.crls == 0 then
    return nil, ("crl bundle: no CRL in %s%s"):format(table.concat(o.sources, ", "),
      o.fetch and "" or " (--fetch downloads them from the certificates' CRL distribution points)"), 1
  end
  local set = trust.new()
  local cas = {}
  for _, e in ipairs(got.certs) do
    if e.cert:is_ca() and set:add(e.cert) then cas[#cas + 1] = e.cert end
  end
  if #cas == 0 then
    return nil, "crl bundle: no CA certificate to verify the CRLs with: give the chain (a source, or --ca FILE)", 2
  end
  -- each verified and current; one per CA and scope, the newest
  local keep, order, problems = {}, {}, {}
  local seen_der = {}
  for _, e in ipairs(got.crls) do
    local c = e.crl
    local fp = c:fingerprint()
    if not seen_der[fp] then
      seen_der[fp] = true
      local ca, why = set:issuer_of(c)
      local nu = c:next_update()
      if not ca then
        problems[#problems + 1] = ("%s (CRL of %s): %s"):format(e.source, c:issuer():text(), why)
      elseif nu and nu < now and not o.allow_expired then
        problems[#problems + 1] = ("%s (CRL of %s) expired %s: the appliance would treat every certificate of that "
          .. "CA as revoked; get a current one (or --allow-expired)"):format(e.source, c:issuer():text(), ui.time(nu))
      else
        local k = scope(c)
        local prev = keep[k]
        local newer = not prev
        if prev then
          local a, b = c:number(), prev.crl:number()
          if a and b then newer = crlfile.cmp_number(a, b) > 0 else newer = c:this_update() > prev.crl:this_update() end
        end
        if newer then
          if prev then
            res.left_out[#res.left_out + 1] = { source = prev.source, why = "an older CRL of the same CA (" .. e.source .. " is newer)" }
          else
            order[#order + 1] = k
          end
          keep[k] = e
        else
          res.left_out[#res.left_out + 1] = { source = e.source, why = "an older CRL of the same CA (" .. prev.source .. " is newer)" }
        end
      end
    end
  end
  if #problems > 0 then return nil, "crl bundle: " .. table.concat(problems, "; ") .. ": nothing written", 1 end
  local pems, list, covered = {}, {}, {}
  for _, k in ipairs(order) do
    local e = keep[k]
    local c = e.crl
    pems[#pems + 1] = c:to_pem()
    covered[c:issuer():text()] = true
    list[#list + 1] = { issuer = c:issuer():text { exact = true }, number = c:number() and crlfile.number_text(c:number()) or nil,
                        this_update = ui.time(c:this_update()), next_update = c:next_update() and ui.time(c:next_update()) or nil,
                        entries = c:count(), source = e.source, delta = c:is_delta() or nil }
  end
  for _, ca in ipairs(cas) do
    local s = ca:subject():text()
    if not covered[s] then res.without_crl[#res.without_crl + 1] = s end
  end
  if #res.without_crl > 0 then
    res.warnings[#res.warnings + 1] = ("no CRL for %s: with revocation checking on, the fallback behavior decides for the "
      .. "certificates %s"):format(table.concat(res.without_crl, "; "), #res.without_crl == 1 and "it issued" or "they issued")
  end
  local out = outputs.new { force = o.force }
  out:add(o.out, table.concat(pems), { what = "CRLs (PEM)" })
  local written, werr = out:commit()
  if not written then return nil, "crl bundle: " .. werr end
  res.crls = list
  return res
end

return M
