-- crl/check.lua: the revocation status of every certificate of a chain (the leaf and each CA
-- up to the trust anchor), each against the CRL of its issuer, as an appliance decides it:
-- a CRL that has expired makes the certificates of its CA revoked (unless told otherwise), and
-- when no CRL can be had the fallback policy decides.
--
--   check.run(opts) -> result                  result.verdict: good, revoked, undetermined
--                                              (`crl check` exits 0, 3, 1)
--   check.files(opts) -> result | nil, err     the same from files: cert = path, chain_files =
--                                              {paths}, crl_files = {paths} (below)
--   check.load_crl_files(paths) -> { {crl=, source=}... } | nil, err
-- opts:
--   certs = { leaf, intermediates... } (certbench.x509; the first is the one checked)
--   chain = { cert, ... }          the CAs to build the chain from (trust anchor included)
--   crls = { {crl=, source=}, ... } CRLs given (files, the CA file's embedded ones)
--   crl_dir = "DIR"                 a folder of CRLs (a mirror: <issuer-hash>.rN first)
--   fetch = true                    download the CRLs from each certificate's distribution
--                                   points (http, https, ldap) when no CRL given covers it
--   fetch_opts = { timeout=, ... }  for certbench.plugins.crl.fetch
--   fallback = nil | "revoked" | "not-revoked"   when the status cannot be established
--   expired = "revoked" (default) | "undetermined" | "ignore": what an expired CRL means
--   time = epoch (default now), skew = seconds a thisUpdate may be ahead (300)
--   ocsp = true                     also ask each certificate's OCSP responder (its AIA URL):
--                                   "revoked" from either source wins; "good" from OCSP settles
--                                   a certificate no usable CRL covers; an OCSP failure leaves
--                                   the CRL's verdict as it is (and is kept as evidence)
--   ocsp_opts = { timeout=, ca_file= }
-- result: { verdict = "good" | "revoked" | "undetermined", fallback_applied = bool,
--   time =, certificates = { {position=, subject=, serial=, issuer=, status=, reason=,
--   revocation = {date=, reason=}, crl = {source=, issuer=, number=, this_update=,
--   next_update=, expired=, signer=}, delta = {...}, notes = {...}}, ... } }
local fs = require "certbench.fs"
local input = require "certbench.input"
local ui = require "certbench.ui"
local crlfile = require "certbench.plugins.crl.crlfile"
local trust = require "certbench.plugins.crl.trust"
local store = require "certbench.store"

local M = {}

-- `crl check --timeout`'s default: seconds for each download of a distribution point and each
-- OCSP request: http.defaults.check_timeout (core/lib/downloads.lua says why it is shorter).
M.TIMEOUT = require("certbench.downloads").check_timeout

-- CRL extensions a relying party understands; a critical one outside this list makes the CRL
-- unusable (RFC 5280 5.2)
local KNOWN_EXT = {
  ["2.5.29.20"] = true, ["2.5.29.27"] = true, ["2.5.29.35"] = true, ["2.5.29.28"] = true,
  ["2.5.29.46"] = true, ["2.5.29.18"] = true, ["1.3.6.1.5.5.7.1.1"] = true,
}

local MAX_DEPTH = 6 -- separate CRL signing keys are checked recursively; no deeper than this

local Checker = {}
Checker.__index = Checker

-- name_of: a certificate's subject in a result field (RFC 4514, its --json form); shown: the same
-- in a message, as people see names in every command (name:text(), escaped)
local function name_of(c) return tostring(c:subject()) end
local function shown(c) return c:subject():text() end

-- issuer_in(cert, pool) -> the certificate of pool that issued cert (certbench.store's helper)
local function issuer_in(cert, pool) return (store.find_issuer(cert, pool)) end

-- scan_dir(): every CRL file of --crl-dir, read once. In a hash folder (a mirror) the
-- <hash>.rN files are the same CRLs as the .der/.pem ones, so only they are read.
function Checker:scan_dir()
  if self.dir_all then return end
  self.dir_all = {}
  local names = fs.list(self.crl_dir) or {}
  local hashed = false
  for _, f in ipairs(names) do if f:match("^%x+%.r%d+$") then hashed = true end end
  for _, f in ipairs(names) do
    local want = hashed and f:match("^%x+%.r%d+$")
      or (not hashed and (f:match("%.crl$") or f:match("%.der$") or f:match("%.pem$")))
    if want then
      local p = fs.join(self.crl_dir, f)
      for _, m in ipairs(crlfile.from_file(p) or {}) do
        if m.crl then self.dir_all[#self.dir_all + 1] = { crl = m.crl, source = p } end
      end
    end
  end
end

function Checker:crls_for(name)
  local h = name:hash()
  local out = {}
  for _, e in ipairs(self.crls) do
    if e.crl:issuer():equals(name) then out[#out + 1] = e end
  end
  if self.crl_dir then
    self.dir_cache = self.dir_cache or {}
    if self.dir_cache[h] == nil then
      local found = {}
      local i = 0
      while true do
        local p = fs.join(self.crl_dir, ("%s.r%d"):format(h, i))
        if not fs.exists(p) then break end
        local list = crlfile.from_file(p)
        for _, m in ipairs(list or {}) do
          if m.crl then found[#found + 1] = { crl = m.crl, source = p } end
        end
        i = i + 1
      end
      if i == 0 then
        -- not a hash folder: every CRL file of the folder, read once
        self:scan_dir()
        for _, e in ipairs(self.dir_all) do
          if e.crl:issuer():hash() == h then found[#found + 1] = e end
        end
      end
      self.dir_cache[h] = found
    end
    for _, e in ipairs(self.dir_cache[h]) do
      if e.crl:issuer():equals(name) then out[#out + 1] = e end
    end
  end
  return out
end

-- all_crls() -> every CRL given (files, the CA file, every file of --crl-dir)
function Checker:all_crls()
  local out = {}
  for _, e in ipairs(self.crls) do out[#out + 1] = e end
  if self.crl_dir then
    self:scan_dir()
    for _, e in ipairs(self.dir_all) do out[#out + 1] = e end
  end
  return out
end

-- prefetch(certs): the distribution points of every certificate of the path downloaded at once
-- on the loop (20 points at --timeout 3 took 60 s one after another), with the limits of
-- fetch_opts; fetch_for then finds them done. The notes of a failed download are kept for the
-- certificate that names the point.
function Checker:prefetch(certs)
  local fetch = require "certbench.plugins.crl.fetch"
  local urls, seen = {}, {}
  for _, cert in ipairs(certs) do
    if not cert:is_self_signed() then
      for _, url in ipairs(cert:crl_distribution_points() or {}) do
        if (url:match("^https?://") or url:match("^ldaps?://")) and not seen[url] then
          seen[url] = true
          urls[#urls + 1] = url
        end
      end
    end
  end
  if #urls < 2 then return end
  local tasks = {}
  for i, url in ipairs(urls) do tasks[i] = function() return fetch.get(url, self.fetch_opts) end end
  local results = require("certbench.loop").all(tasks)
  self.fetched, self.fetch_errors = self.fetched or {}, self.fetch_errors or {}
  for i, url in ipairs(urls) do
    local r, err = results[i][1], results[i][2]
    local got = {}
    if not r then
      self.fetch_errors[url] = { ("fetch %s"):format(err) }
    else
      local errs = {}
      for _, m in ipairs(r.crls) do
        if m.crl then got[#got + 1] = { crl = m.crl, source = url } else errs[#errs + 1] = m.error end
      end
      self.fetch_errors[url] = errs
    end
    self.fetched[url] = got
  end
end

-- checker:fetch_for(cert, notes) -> { {crl=, source=}, ... }: the CRLs downloaded from cert's
-- http(s)/ldap(s) distribution points (each URL once per check; failures added to notes)
function Checker:fetch_for(cert, notes)
  local fetch = require "certbench.plugins.crl.fetch"
  local out = {}
  local urls = cert:crl_distribution_points() or {}
  if #urls == 0 then
    notes[#notes + 1] = "no CRL distribution point in the certificate to fetch from"
  end
  for _, url in ipairs(urls) do
    if url:match("^https?://") or url:match("^ldaps?://") then
      self.fetched = self.fetched or {}
      local got = self.fetched[url]
      for _, e in ipairs(self.fetch_errors and self.fetch_errors[url] or {}) do notes[#notes + 1] = e end
      if got == nil then
        local r, err = fetch.get(url, self.fetch_opts)
        got = {}
        if not r then
          notes[#notes + 1] = ("fetch %s"):format(err)
        else
          for _, m in ipairs(r.crls) do
            if m.crl then got[#got + 1] = { crl = m.crl, source = url } else notes[#notes + 1] = m.error end
          end
        end
        self.fetched[url] = got
      end
      for _, e in ipairs(got) do out[#out + 1] = e end
    end
  end
  return out
end

local function unknown_critical(c)
  for _, x in ipairs(c:extensions()) do
    if x.critical and not KNOWN_EXT[x.oid] then return x.name or x.oid end
  end
end

-- parse_dps(text, issuer_text) -> the distribution points of a CRLDistributionPoints or
-- IssuingDistributionPoint extension, from its text (BoringSSL's printer, the same for both):
-- { {names = {[name]=true} | nil, issuers = {[name]=true} | nil}, ... }. Names are "URI:..."
-- and "DirName: C = .., CN = .."; a relative name becomes the full name it stands for: the
-- RDN added to the CRL issuer's name (RFC 5280 4.2.1.13), issuer_text unless the point names
-- its cRLIssuer. nil when there is no such extension.
local function parse_dps(text, issuer_text)
  if not text then return nil end
  local list, cur, mode = {}, nil, nil
  local function new() cur = {} list[#list + 1] = cur end
  local relative = {}
  for line in text:gmatch("[^\n]+") do
    local indented = line:match("^%s+(.-)%s*$")
    if not indented then
      local head = line:match("^%s*(.-)%s*$")
      mode = nil
      if head == "Full Name:" or head == "Relative Name:" then
        if not cur or cur.names or cur.issuers or cur.rel then new() end
        mode = head == "Full Name:" and "full" or "relative"
      elseif head == "CRL Issuer:" then
        if not cur or cur.issuers then new() end
        mode = "issuer"
      end
    elseif mode == "full" then
      cur.names = cur.names or {}
      cur.names[indented] = true
    elseif mode == "relative" then
      cur.rel = cur.rel or {}
      cur.rel[#cur.rel + 1] = indented
      relative[#relative + 1] = cur
    elseif mode == "issuer" then
      cur.issuers = cur.issuers or {}
      cur.issuers[indented] = true
    end
  end
  for _, dp in ipairs(list) do
    if dp.rel then
      local base = issuer_text
      if dp.issuers then base = (next(dp.issuers)):match("^DirName: (.*)$") or base end
      dp.names = dp.names or {}
      for _, r in ipairs(dp.rel) do dp.names["DirName: " .. base .. ", " .. r] = true end
    end
  end
  return list
end

local function ext_text(obj, oid)
  for _, x in ipairs(obj:extensions()) do
    if x.oid == oid then return x.text or "" end
  end
end

local ALL_REASONS = { "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
  "cessationOfOperation", "certificateHold", "privilegeWithdrawn", "aACompromise" }

local function intersects(a, b)
  for k in pairs(a) do if b[k] then return true end end
  return false
end

-- in_scope(c, cert) -> true, reasons (list, nil for all) | false, why: whether CRL c covers
-- cert (RFC 5280 6.3.3 b): the CRL issuer (the certificate's issuer, or the cRLIssuer of one
-- of its distribution points for an indirect CRL), the distribution point names, the kind of
-- certificate, the reasons
local function in_scope(c, cert)
  local idp = c:issuing_distribution_point() or {}
  local direct = c:issuer():equals(cert:issuer())
  local issuer_text = "DirName: " .. c:issuer():text()
  local crl_dp = parse_dps(ext_text(c, "2.5.29.28"), c:issuer():text())
  local crl_names
  for _, dp in ipairs(crl_dp or {}) do
    if dp.names then crl_names = crl_names or {} for n in pairs(dp.names) do crl_names[n] = true end end
  end
  local cert_dps = parse_dps(ext_text(cert, "2.5.29.31"), cert:issuer():text())
  if not cert_dps or #cert_dps == 0 then
    if not direct then return false, "is from another issuer than the certificate's" end
    if crl_names then return false, "is for a distribution point, and the certificate names none" end
  else
    local why
    local match = false
    for _, dp in ipairs(cert_dps) do
      local ok
      if dp.issuers then
        ok = dp.issuers[issuer_text] and idp.indirect
        if not ok then why = why or (dp.issuers[issuer_text] and "is not an indirect CRL, and the certificate's distribution point names another CRL issuer"
          or "is not from the CRL issuer the certificate's distribution point names") end
      else
        ok = direct
        if not ok then why = why or "is from another issuer than the certificate's" end
      end
      if ok and crl_names then
        if not dp.names then
          ok = dp.issuers ~= nil
          if not ok then why = why or "is for a distribution point, and the certificate names none" end
        elseif not intersects(crl_names, dp.names) then
          ok = false
          why = why or "is for another distribution point than the certificate's"
        end
      end
      if ok then match = true break end
    end
    if not match then return false, why end
  end
  if idp.only_user and cert:is_ca() then return false, "covers end-entity certificates only" end
  if idp.only_ca and not cert:is_ca() then return false, "covers CA certificates only" end
  if idp.only_attribute then return false, "covers attribute certificates only" end
  if idp.only_some_reasons then return true, idp.only_some_reasons end
  return true
end

-- indirect_issuers(cert) -> {[ "DirName: ..." ] = true} of the cRLIssuer fields of its
-- distribution points, or nil
local function indirect_issuers(cert)
  local out
  for _, dp in ipairs(parse_dps(ext_text(cert, "2.5.29.31"), cert:issuer():text()) or {}) do
    for n in pairs(dp.issuers or {}) do out = out or {} out[n] = true end
  end
  return out
end

-- signer(c, issuer, depth, notes) -> the certificate whose key signed CRL c for issuer's
-- certificates: issuer itself, or a separate CRL signing certificate with the same name
-- issued by issuer's own issuer and itself not revoked
function Checker:signer(c, issuer, depth, notes)
  local aki, ski = c:aki(), issuer:ski()
  local direct = c:issuer():equals(issuer:subject())
  if direct and (aki == nil or ski == nil or aki == ski) then
    if store.can_sign_crls(issuer) then
      local ok, why = c:verify(issuer)
      if ok then return issuer end
      notes[#notes + 1] = ("the signature does not verify with %s (%s)"):format(shown(issuer), tostring(why))
    else
      notes[#notes + 1] = ("%s may not sign CRLs (keyUsage without cRLSign)"):format(shown(issuer))
    end
  end
  for _, cand in ipairs(self.pool) do
    if cand ~= issuer and cand:subject():equals(c:issuer()) and (aki == nil or cand:ski() == nil or cand:ski() == aki)
       and store.can_sign_crls(cand) and c:verify(cand) then
      if cand:is_self_signed() then return cand end -- a trust anchor signs its own CRLs
      if depth >= MAX_DEPTH then
        notes[#notes + 1] = "CRL signing certificates nested too deep"
        return nil
      end
      local up = issuer_in(cand, self.pool)
      if not up then
        notes[#notes + 1] = ("the CRL signing certificate %s has no issuer in the chain"):format(shown(cand))
      else
        local st = self:status(cand, up, depth + 1)
        if st.status == "good" then return cand end
        notes[#notes + 1] = ("the CRL signing certificate %s (serial %s) is %s%s"):format(shown(cand),
          cand:serial(), st.status, st.reason and (": " .. st.reason) or "")
      end
    end
  end
  if not direct and #notes == 0 then
    notes[#notes + 1] = ("no certificate of its issuer %s in the chain signed it"):format(c:issuer():text())
  end
  return nil
end

local function crl_evidence(e, signer, now)
  local c = e.crl
  local nu = c:next_update()
  return {
    source = e.source, issuer = tostring(c:issuer()), number = c:number(),
    this_update = crlfile.time(c:this_update()), next_update = crlfile.time(nu),
    expired = nu ~= nil and nu < now, signer = signer and name_of(signer) or nil,
    entries = c:count(),
  }
end

local function better(a, b) -- is CRL a fresher than b
  local na, nb = a.crl:number(), b.crl:number()
  if na and nb and crlfile.cmp_number(na, nb) ~= 0 then return crlfile.cmp_number(na, nb) > 0 end
  return a.crl:this_update() > b.crl:this_update()
end

-- usable(cands, cert, issuer, depth, notes) -> the freshest usable complete CRL and its signer,
-- the freshest usable CRL of each partial scope (onlySomeReasons), the delta CRLs
function Checker:usable(cands, cert, issuer, depth, notes)
  local best, best_signer
  local partial, deltas = {}, {}
  for _, e in ipairs(cands) do
    local c = e.crl
    local what = ("CRL %s%s"):format(e.source or "?", c:number() and (" #" .. crlfile.number_text(c:number())) or "")
    local ok, why = in_scope(c, cert)
    local crit = unknown_critical(c)
    if not ok then
      notes[#notes + 1] = what .. " " .. why
    elseif crit then
      notes[#notes + 1] = ("%s has an unknown critical extension %s"):format(what, crit)
    elseif c:this_update() > self.time + self.skew then
      notes[#notes + 1] = ("%s is not valid yet (thisUpdate %s)"):format(what, crlfile.time(c:this_update()))
    else
      local sub = {}
      local signer = self:signer(c, issuer, depth, sub)
      if not signer then
        notes[#notes + 1] = ("%s cannot be used: %s"):format(what, #sub > 0 and table.concat(sub, "; ") or "no certificate in the chain signed it")
      elseif c:is_delta() then
        deltas[#deltas + 1] = { crl = c, source = e.source, signer = signer }
      elseif why then -- some reasons only
        local key = table.concat(why, ",")
        local cur = partial[key]
        local me = { crl = c, source = e.source, signer = signer, reasons = why }
        if not cur or better(me, cur) then partial[key] = me end
      elseif not best or better(e, best) then
        best, best_signer = e, signer
      end
    end
  end
  local parts = {}
  for _, p in pairs(partial) do parts[#parts + 1] = p end
  table.sort(parts, function(x, y) return table.concat(x.reasons, ",") < table.concat(y.reasons, ",") end)
  return best, best_signer, deltas, parts
end

-- status(cert, issuer, depth) -> evidence table of one certificate
function Checker:status(cert, issuer, depth)
  local ev = { subject = name_of(cert), serial = cert:serial(), issuer = tostring(cert:issuer()), notes = {} }
  local notes = ev.notes
  local cands = self:crls_for(issuer:subject())
  local ind = indirect_issuers(cert)
  if ind then
    for _, e in ipairs(self:all_crls()) do
      if ind["DirName: " .. e.crl:issuer():text()] and not e.crl:issuer():equals(issuer:subject()) then
        cands[#cands + 1] = e
      end
    end
  end
  local best, signer, deltas, parts = self:usable(cands, cert, issuer, depth, notes)
  if not best and #parts == 0 and self.fetch then
    local got = self:fetch_for(cert, notes)
    local mine = {}
    for _, e in ipairs(got) do if e.crl:issuer():equals(issuer:subject()) then mine[#mine + 1] = e end end
    if #got > 0 and #mine == 0 then notes[#notes + 1] = "the fetched CRLs are not from the certificate's issuer" end
    local d2
    best, signer, d2, parts = self:usable(mine, cert, issuer, depth, notes)
    for _, d in ipairs(d2) do deltas[#deltas + 1] = d end
  end
  if not best and #parts == 0 then
    ev.status = "undetermined"
    ev.reason = #cands == 0 and not self.fetch
      and ("no CRL of %s was given"):format(shown(issuer))
      or ("no usable CRL of %s"):format(shown(issuer))
    return ev
  end
  -- the CRLs that decide: the complete one, else those covering some reasons each
  local used = best and { { crl = best.crl, source = best.source, signer = signer } } or parts
  ev.crl = crl_evidence(used[1], used[1].signer, self.time)
  if not best then
    ev.partial_crls = {}
    for i, u in ipairs(used) do
      ev.partial_crls[i] = crl_evidence(u, u.signer, self.time)
      ev.partial_crls[i].reasons = ui.array(u.reasons)
    end
    ev.partial_crls = ui.array(ev.partial_crls)
  end
  for _, u in ipairs(used) do
    local nu = u.crl:next_update()
    if nu and nu < self.time then
      if self.expired == "revoked" then
        ev.status = "revoked"
        ev.reason = ("the CRL of %s expired at %s: its certificates count as revoked"):format(
          shown(issuer), crlfile.time(nu))
        ev.expired_crl = true
        return ev
      elseif self.expired == "undetermined" then
        ev.status = "undetermined"
        ev.reason = ("the CRL of %s expired at %s"):format(shown(issuer), crlfile.time(nu))
        return ev
      end
      notes[#notes + 1] = ("the CRL %s expired at %s (used anyway: --expired ignore)"):format(
        u.source or "?", crlfile.time(nu))
    end
  end
  local entry
  for _, u in ipairs(used) do
    local e = u.crl:lookup(cert)
    if e and e.reason ~= "removeFromCRL" then entry = entry or e end
  end
  if best then
    -- a delta CRL newer than the base and built on it or an older base has the last word
    local delta
    local bn = best.crl:number()
    for _, d in ipairs(deltas) do
      local base, num = d.crl:delta_base(), d.crl:number()
      if base and num and bn and crlfile.cmp_number(base, bn) <= 0 and crlfile.cmp_number(num, bn) > 0
         and (not d.crl:next_update() or d.crl:next_update() >= self.time)
         and (not delta or better(d, delta)) then
        delta = d
      end
    end
    if delta then
      ev.delta = crl_evidence(delta, delta.signer, self.time)
      local de = delta.crl:lookup(cert)
      if de then entry = de.reason ~= "removeFromCRL" and de or nil end
    end
  end
  if entry then
    ev.status = "revoked"
    ev.revocation = { date = crlfile.time(entry.date), reason = entry.reason,
                      invalidity_date = crlfile.time(entry.invalidity_date) }
    ev.reason = ("revoked %s%s"):format(crlfile.time(entry.date), entry.reason and (" (" .. entry.reason .. ")") or "")
    return ev
  end
  if not best then
    local covered = {}
    for _, u in ipairs(used) do for _, r in ipairs(u.reasons) do covered[r] = true end end
    local missing = {}
    for _, r in ipairs(ALL_REASONS) do if not covered[r] then missing[#missing + 1] = r end end
    if #missing > 0 then
      ev.status = "undetermined"
      ev.reason = ("the CRLs of %s cover some revocation reasons only; none for %s"):format(
        shown(issuer), table.concat(missing, ", "))
      return ev
    end
  end
  ev.status = "good"
  return ev
end

-- run(opts) -> result (its verdict; the command maps it to the exit code)
-- ask_ocsp(ev, cert, issuer): the OCSP answer for cert, merged into its CRL evidence ev
function Checker:ask_ocsp(ev, cert, issuer)
  local ocsp = require "certbench.ocsp"
  local r, err, code = ocsp.check { cert = cert, issuer = issuer, time = self.time,
                                    timeout = self.ocsp_opts.timeout, ca_file = self.ocsp_opts.ca_file }
  if not r then
    ev.ocsp = { error = err, code = code }
    ev.notes = ev.notes or {}
    ev.notes[#ev.notes + 1] = "OCSP: " .. tostring(err)
    return
  end
  ev.ocsp = { status = r.status, url = r.url, produced_at = crlfile.time(r.produced_at),
              this_update = crlfile.time(r.this_update), next_update = crlfile.time(r.next_update),
              revocation_time = crlfile.time(r.revocation_time), reason = r.reason,
              signer = r.signer_kind }
  if r.status == "revoked" then
    if ev.status ~= "revoked" then
      ev.status = "revoked"
      ev.revocation = { date = crlfile.time(r.revocation_time), reason = r.reason }
      ev.reason = ("revoked according to the OCSP responder %s"):format(r.url)
    end
  elseif r.status == "good" and ev.status == "undetermined" then
    ev.status = "good"
    ev.reason = ("good according to the OCSP responder %s (no usable CRL: %s)"):format(r.url, tostring(ev.reason))
  end
end

function M.run(opts)
  local certs = opts.certs
  assert(certs and certs[1], "check.run: certs expected")
  local self = setmetatable({
    crls = opts.crls or {}, crl_dir = opts.crl_dir, fetch = opts.fetch, fetch_opts = opts.fetch_opts,
    time = opts.time or os.time(), skew = opts.skew or 300, expired = opts.expired or "revoked",
    pool = {}, ocsp = opts.ocsp, ocsp_opts = opts.ocsp_opts or {},
  }, Checker)
  for i = 2, #certs do self.pool[#self.pool + 1] = certs[i] end
  for _, c in ipairs(opts.chain or {}) do self.pool[#self.pool + 1] = c end

  -- the path: leaf, its issuer, ... up to a self-signed certificate or as far as it goes
  local path = { certs[1] }
  local cur = certs[1]
  local top_issuer_missing = false
  while true do
    if cur:is_self_signed() then break end
    local up = issuer_in(cur, self.pool)
    if not up then top_issuer_missing = true break end
    for _, p in ipairs(path) do
      if p == up then up = nil break end
    end
    if not up or #path > 16 then break end
    path[#path + 1] = up
    cur = up
  end

  if self.fetch then self:prefetch(path) end
  local out = {}
  local any_revoked, any_undetermined = false, false
  for i, cert in ipairs(path) do
    local ev
    local issuer = path[i + 1]
    if issuer then
      ev = self:status(cert, issuer, 0)
      if self.ocsp then self:ask_ocsp(ev, cert, issuer) end
    elseif cert:is_self_signed() then
      ev = { subject = name_of(cert), serial = cert:serial(), issuer = tostring(cert:issuer()),
             status = "trust_anchor", reason = "self-signed: a trust anchor is not checked against a CRL" }
    else
      ev = { subject = name_of(cert), serial = cert:serial(), issuer = tostring(cert:issuer()),
             status = "undetermined", notes = {},
             reason = ("its issuer %s is not in the chain: no CRL of it can be verified"):format(cert:issuer():text()) }
    end
    ev.position = i - 1
    ev.role = i == 1 and "leaf" or (ev.status == "trust_anchor" and "trust anchor" or "CA")
    if ev.notes then ev.notes = ui.array(ev.notes) end
    if ev.status == "revoked" then any_revoked = true end
    if ev.status == "undetermined" then any_undetermined = true end
    out[#out + 1] = ev
  end
  local res = { time = crlfile.time(self.time), certificates = ui.array(out), fallback = opts.fallback,
                expired_policy = self.expired, incomplete_chain = top_issuer_missing or nil }
  if any_revoked then
    res.verdict = "revoked"
  elseif any_undetermined then
    if opts.fallback == "revoked" then
      res.verdict, res.fallback_applied = "revoked", true
    elseif opts.fallback == "not-revoked" then
      res.verdict, res.fallback_applied = "good", true
    else
      res.verdict = "undetermined"
    end
  else
    res.verdict = "good"
  end
  return res
end

-- load_crl_files(paths) -> { {crl=, source=}, ... } | nil, err
function M.load_crl_files(paths)
  local out = {}
  for _, p in ipairs(paths) do
    local list, err = crlfile.from_file(p)
    if not list then return nil, err end
    for _, m in ipairs(list) do
      if m.crl then out[#out + 1] = { crl = m.crl, source = p } end
      if m.error then return nil, m.error end -- a member not understood is never dropped
    end
  end
  return out
end

-- load_certs(path) -> { x509... } | nil, err: the certificate (and what follows it) through
-- certbench.input, as every command reads (a DER file with bytes after the certificate is
-- refused, not cut short; a .p7b, a URL and "-" work)
local function load_certs(path)
  local r, err = input.read(path)
  if not r then return nil, err end
  if input.problem(r) then return nil, (input.problem(r)) end
  local certs, cerr = input.all(r, "certificate")
  if not certs then return nil, cerr end
  if #certs == 0 then return nil, ("%s: no certificate"):format(path) end
  return certs
end

-- files(opts) -> result | nil, err: `crl check` from files: opts as run's, but the certificate,
-- the chain and the CRLs as paths (cert =, chain_files = {...}, crl_files = {...}); CRLs
-- embedded in a chain file are used
function M.files(opts)
  local certs, err = load_certs(opts.cert)
  if not certs then return nil, "crl check: " .. err end
  local chain = {}
  local crls = {}
  for _, p in ipairs(opts.chain_files or {}) do
    local set, serr = trust.load(p)
    if not set then return nil, "crl check: " .. serr end
    for _, c in ipairs(set:all()) do chain[#chain + 1] = c end
    -- CRLs embedded in the CA file are used, as appliances use them
    for _, e in ipairs(set.crls) do crls[#crls + 1] = e end
  end
  local extra, cerr = M.load_crl_files(opts.crl_files or {})
  if not extra then return nil, "crl check: " .. cerr end
  for _, e in ipairs(extra) do crls[#crls + 1] = e end
  if opts.crl_dir and not fs.isdir(opts.crl_dir) then
    -- a missing folder says so (a typo, a mirror not run yet), not "not a folder"
    local _, serr = fs.stat(opts.crl_dir)
    if serr then return nil, ("crl check: --crl-dir %s"):format(tostring(serr)) end
    return nil, ("crl check: --crl-dir %s is not a folder"):format(opts.crl_dir)
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.certs, o.chain, o.crls = certs, chain, crls
  return M.run(o)
end

return M
