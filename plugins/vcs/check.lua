-- vcs/check.lua: the checks to run on a private key, a server certificate and a CA file before
-- they are uploaded to a VCS-style appliance, each with a verdict and the reason:
--
--   check.run{ key =, cert =, ca = (paths), crls = {paths}, plan = plan | nil,
--              mutual_tls = true, warn_days = 30, time = epoch } -> result
--   result = { ready = bool, checks = { { id =, title =, status = "pass"|"warn"|"fail",
--              reason = } ... }, counts = { pass =, warn =, fail = }, key =, cert =, ca =,
--              subject =, serial =, not_after = }
--   ready: no check fails (warnings allowed); `vcs check` exits 0 then, 3 otherwise.
--
-- What the appliance wants (Cisco VCS certificate deployment guide): PEM files; a server
-- private key without a password; a certificate that serves both ends of mutual TLS
-- (serverAuth and clientAuth); CN/SAN as the deployment model says (RFC 5922); a CA file with
-- the full chain up to the root, CA certificates only; and when CRL checking is on, a current
-- CRL for every CA of the chain (an expired one makes all of its CA's certificates revoked).
local fs = require "certbench.fs"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local store = require "certbench.store"
local detect = require "certbench.detect"
local ui = require "certbench.ui"
local planmod = require "certbench.plugins.vcs.plan"

local M = {}

local WEAK_DIGESTS = { md5 = "MD5", md2 = "MD2", md4 = "MD4", sha1 = "SHA-1" }


local function cn_of(c) return c:subject():get("CN") end

local function label(c)
  return c:subject():label()
end

-- the weak digest in a signature algorithm's name, if any ("sha1WithRSAEncryption")
local function weak_digest(alg)
  local a = (alg or ""):lower()
  for k, v in pairs(WEAK_DIGESTS) do
    if a:find("^" .. k .. "with") or a:find("with%-?" .. k .. "$") or a:find("%-with%-" .. k .. "$")
       or a == "sha1withrsa" or a:find("^" .. k .. "rsa") then
      return v
    end
  end
  return nil
end
M.weak_digest = weak_digest

-- read(path, what) -> data, info | nil, reason
local function read_detect(path, what)
  -- a path, "-" or a URL (certbench.input); the appliance wants PEM, so the form is checked here
  local data, err = require("certbench.input").fetch(path)
  if not data then return nil, err end
  local info, derr = detect.detect(data, { name = path })
  if not info then return nil, derr end
  return data, info
end

local function kinds(info, kind)
  local out = {}
  for _, o in ipairs(info.objects) do if o.kind == kind then out[#out + 1] = o end end
  return out
end

-- how to get PEM out of what a file is
local function conversion_hint(path, info)
  for _, o in ipairs(info.objects) do
    if o.kind == "pkcs12" then
      return ("it is a PFX (PKCS#12): split it into key, certificate and CA file with `certbench pfx split %s --out-dir DIR`"):format(path)
    elseif o.kind == "pkcs7" then
      return ("it is PKCS#7 (.p7b): `certbench convert file %s --to pem`"):format(path)
    end
  end
  if info.encoding == "der" then
    return ("it is DER (binary): `certbench convert file %s --to pem` writes %s"):format(path, (path:gsub("%.[%w]+$", "")) .. ".pem")
  end
  if info.encoding == "base64" then
    return ("it is Base-64 without the -----BEGIN----- lines: `certbench convert file %s --to pem`"):format(path)
  end
  return nil
end

local function format_notes(info)
  local notes = {}
  if info.bom then notes[#notes + 1] = "a " .. info.bom .. " byte-order mark" end
  if info.text_around then notes[#notes + 1] = "text around the PEM blocks (Bag Attributes, subject= lines)" end
  return notes
end

-------------------------------------------------------------------------------------------------

local Run = {}
Run.__index = Run

function Run:add(id, title, status, reason)
  self.checks[#self.checks + 1] = { id = id, title = title, status = status, reason = reason }
  self.counts[status] = self.counts[status] + 1
end

function Run:check_key()
  local path = self.o.key
  local data, info = read_detect(path, "key")
  if not data then
    self:add("key-format", "key file", "fail", info)
    self.key_why = "the key file cannot be read"
    return
  end
  local keys = kinds(info, "private_key")
  local k = keys[1]
  if #keys == 0 then
    local hint = conversion_hint(path, info)
    self:add("key-format", "key file", "fail", ("%s holds no private key (%s)%s"):format(path, detect.summary(info),
      hint and ("; " .. hint) or ""))
    self.key_why = "no private key"
    return
  elseif info.encoding ~= "pem" then
    self:add("key-format", "key file", "fail", ("%s is not PEM: %s"):format(path, conversion_hint(path, info) or detect.summary(info)))
  else
    local notes = format_notes(info)
    if #keys > 1 then notes[#notes + 1] = #keys .. " private keys (the first is used)" end
    if #kinds(info, "certificate") > 0 then notes[#notes + 1] = "certificates too: upload the key alone" end
    if #notes > 0 then
      self:add("key-format", "key file", "warn", ("PEM, %s; but %s: the appliance wants the key block alone"):format(
        k.what, table.concat(notes, "; ")))
    else
      self:add("key-format", "key file", "pass", "PEM, " .. k.what)
    end
  end
  if k.encrypted then
    self:add("key-password", "key password", "fail", ("%s is password-protected (%s): the appliance refuses it; write it without "
      .. "the password with `certbench pfx decrypt-key %s --out privkey.pem` and keep that file safe"):format(path, k.what, path))
    self.key_why = "the key is password-protected"
    return
  end
  local key, err = pkey.load(k.pem or k.der, { name = path })
  if not key then
    self:add("key-password", "key password", "fail", err)
    self.key_why = "the key does not load"
    return
  end
  self:add("key-password", "key password", "pass", "not password-protected, as the appliance requires")
  local st = fs.stat(path)
  if st and st.mode & 0x3F ~= 0 then
    self:add("key-mode", "key file mode", "warn", ("%s is mode %o: others on this machine can read the key (chmod 600)"):format(path, st.mode & 0x1FF))
  end
  self.key = key
end

function Run:check_cert()
  local path = self.o.cert
  local data, info = read_detect(path, "certificate")
  if not data then
    self:add("cert-format", "certificate file", "fail", info)
    return
  end
  local certs = kinds(info, "certificate")
  if #certs == 0 then
    local hint = conversion_hint(path, info)
    self:add("cert-format", "certificate file", "fail", ("%s holds no certificate (%s)%s"):format(path, detect.summary(info),
      hint and ("; " .. hint) or ""))
    return
  end
  local cert, err = x509.load(certs[1].der)
  if not cert then
    self:add("cert-format", "certificate file", "fail", path .. ": " .. tostring(err):gsub("^[%w_.]+: ", "", 1))
    return
  end
  if info.encoding ~= "pem" then
    self:add("cert-format", "certificate file", "fail", ("%s is not PEM: %s"):format(path, conversion_hint(path, info) or detect.summary(info)))
  else
    local notes = format_notes(info)
    if #certs > 1 then
      notes[#notes + 1] = ("%d certificates: the server certificate file holds the server certificate only, the CA certificates go in the CA file"):format(#certs)
    end
    if #kinds(info, "private_key") > 0 then notes[#notes + 1] = "a private key too: upload it as the key file, not with the certificate" end
    if #notes > 0 then
      self:add("cert-format", "certificate file", "warn", ("PEM; but %s"):format(table.concat(notes, "; ")))
    else
      self:add("cert-format", "certificate file", "pass", "PEM, one certificate: " .. cert:subject():text())
    end
  end
  self.cert = cert
end

function Run:check_match()
  if not self.cert then return end
  if not self.key then
    if self.key_why then
      self:add("key-match", "key matches certificate", "warn", "not checked: " .. self.key_why)
    end
    return
  end
  local ok, why = self.key:matches(self.cert)
  if ok then
    self:add("key-match", "key matches certificate", "pass", "the certificate's public key is the key's")
  else
    self:add("key-match", "key matches certificate", "fail", ("%s does not go with %s (%s): a certificate "
      .. "issued for another request or another peer"):format(self.o.cert, self.o.key, tostring(why)))
  end
end

function Run:check_validity()
  local c = self.cert
  if not c then return end
  self:add("validity", "validity", require("certbench.describe").validity(c, self.now, self.warn_days))
end

function Run:check_eku()
  local c = self.cert
  if not c then return end
  local list, err = c:eku()
  if not list then
    self:add("eku", "extended key usage", "fail", err)
    return
  end
  local has = {}
  for _, e in ipairs(list) do has[e] = true end
  if #list == 0 then
    self:add("eku", "extended key usage", "warn", "no extended key usage extension: any use is allowed, "
      .. "but peers that insist on serverAuth/clientAuth are happier with both named")
  elseif has.serverAuth and has.clientAuth then
    self:add("eku", "extended key usage", "pass", "serverAuth and clientAuth: serves both ends of mutual TLS")
  elseif not has.serverAuth and not has.anyExtendedKeyUsage then
    self:add("eku", "extended key usage", "fail", ("no serverAuth (%s): not a TLS server certificate"):format(table.concat(list, ", ")))
  elseif not has.clientAuth and not has.anyExtendedKeyUsage then
    local why = "no clientAuth: neighbor and traversal zones with TLS verify mode (mutual TLS) refuse it when "
      .. "this server connects out; issue it from a \"client and server\" template (the guide's Appendix 7) or "
      .. "with `certbench ca issue --profile vcs-server`"
    self:add("eku", "extended key usage", self.mutual_tls and "fail" or "warn", why)
  else
    self:add("eku", "extended key usage", "pass", table.concat(list, ", "))
  end
  local ku = c:key_usage()
  if ku and #ku > 0 then
    local h = {}
    for _, u in ipairs(ku) do h[u] = true end
    local missing = {}
    if not h.digitalSignature then missing[#missing + 1] = "digitalSignature" end
    if self.key_type == "rsa" and not h.keyEncipherment then missing[#missing + 1] = "keyEncipherment" end
    if #missing > 0 then
      self:add("key-usage", "key usage", self.key_type == "rsa" and h.digitalSignature and "warn" or "fail",
        ("key usage %s lacks %s"):format(table.concat(ku, ", "), table.concat(missing, ", ")))
    else
      self:add("key-usage", "key usage", "pass", table.concat(ku, ", "))
    end
  end
end

local function list_text(t)
  if #t == 0 then return "(none)" end
  return table.concat(t, ", ")
end

function Run:check_names()
  local c = self.cert
  if not c then return end
  local cn = cn_of(c)
  cn = cn and cn:lower() or nil
  local dns, others = {}, {}
  local sans, serr = c:san()
  if not sans then
    self:add("names", "names", "fail", serr)
    return
  end
  local have = {}
  for _, s in ipairs(sans) do
    if s.type == "DNS" then
      local v = s.value:lower()
      dns[#dns + 1] = v
      have[v] = true
    else
      others[#others + 1] = s.type .. ":" .. s.value
    end
  end
  local shown = ("CN %s, SAN %s"):format(cn or "(none)", list_text(dns))
  local p = self.o.plan
  if not p then
    self:add("names", "names", "warn", shown .. ": not checked (give --fqdn, or --cluster and --peer, to check them against the plan)")
    return
  end
  local want
  if p.model == "per-peer" and not p.fqdn then
    want = planmod.for_cn(p, cn)
    if not want then
      local names = {}
      for _, e in ipairs(p.certificates) do names[#names + 1] = e.cn end
      self:add("names", "names", "fail", ("CN %s is none of the peers (%s)"):format(cn or "(none)", table.concat(names, ", ")))
      return
    end
  else
    want = p.certificates[1]
  end
  local problems, warnings = {}, {}
  if cn ~= want.cn then
    problems[#problems + 1] = ("CN is %s, the %s model wants %s"):format(cn or "(none)", p.model, want.cn)
  end
  for _, n in ipairs(dns) do
    if n:find("*", 1, true) then warnings[#warnings + 1] = ("wildcard %s: RFC 5922 does not accept it for SIP servers"):format(n) end
  end
  if #dns == 0 and #want.san > 0 then
    problems[#problems + 1] = ("no SAN: the %s model wants %s"):format(p.model, list_text(want.san))
  elseif #dns > 0 then
    local missing = {}
    -- standalone with an empty SAN planned: a SAN is fine, but then it must hold the FQDN,
    -- since clients that find a SAN ignore the CN (RFC 6125)
    local need = #want.san > 0 and want.san or { want.cn }
    for _, n in ipairs(need) do if not have[n] then missing[#missing + 1] = n end end
    if #missing > 0 then
      problems[#problems + 1] = ("the SAN lacks %s"):format(table.concat(missing, ", "))
    end
    local wanted = {}
    for _, n in ipairs(need) do wanted[n] = true end
    local extra = {}
    for _, n in ipairs(dns) do if not wanted[n] then extra[#extra + 1] = n end end
    if #extra > 0 then warnings[#warnings + 1] = ("names the plan does not have: %s"):format(table.concat(extra, ", ")) end
  end
  if #others > 0 then
    warnings[#warnings + 1] = ("SAN entries other than DNS names (%s): TLS verify mode matches FQDNs; zones should use them"):format(table.concat(others, ", "))
  end
  if #problems > 0 then
    self:add("names", "names", "fail", shown .. ": " .. table.concat(problems, "; "))
  elseif #warnings > 0 then
    self:add("names", "names", "warn", shown .. ": " .. table.concat(warnings, "; "))
  else
    self:add("names", "names", "pass", shown .. (" (%s model)"):format(p.model))
  end
end

function Run:check_ca_file()
  local path = self.o.ca
  local data, info = read_detect(path, "CA file")
  if not data then
    self:add("ca-format", "CA file", "fail", info)
    return
  end
  local certs = kinds(info, "certificate")
  if info.encoding ~= "pem" or #certs == 0 then
    local hint = conversion_hint(path, info)
    self:add("ca-format", "CA file", "fail", ("%s is not a PEM file of CA certificates: %s"):format(path, hint or detect.summary(info)))
    return
  end
  local list, not_ca, self_signed_leaf = {}, {}, nil
  for _, o in ipairs(certs) do
    local c, err = x509.load(o.der)
    if not c then
      -- a certificate the loader refuses (a validity that is no time) fails the file, by name
      self:add("ca-format", "CA file", "fail", ("%s (PEM block %d): %s"):format(path, o.block or o.index,
        tostring(err):gsub("^[%w_.]+: ", "", 1)))
      return
    end
    list[#list + 1] = c
    if not c:is_ca() and self.cert and c:equals(self.cert) and c:is_self_signed() then
      -- `vcs selfsigned`: the peers trust the server certificate itself
      self_signed_leaf = c
    elseif not c:is_ca() then
      local why = (self.cert and c:equals(self.cert)) and " (the server certificate itself)" or ""
      not_ca[#not_ca + 1] = label(c) .. why
    end
  end
  local others = {}
  if #kinds(info, "private_key") > 0 then others[#others + 1] = "a private key" end
  -- the appliance uses CRLs embedded in the CA file (for LDAP connections): check_crls does too
  if #kinds(info, "crl") > 0 then self.ca_crls = true end
  if #kinds(info, "crl") > 0 then others[#others + 1] = "CRLs (the appliance reads them, but only for LDAP connections; upload CRLs apart)" end
  if #not_ca > 0 then
    self:add("ca-format", "CA file", "fail", ("%s holds certificates that are not CAs: %s; the trusted CA file takes CA certificates only"):format(
      path, table.concat(not_ca, ", ")))
  elseif #others > 0 then
    self:add("ca-format", "CA file", others[1] == "a private key" and "fail" or "warn",
      ("%s: %d CA certificate%s, and %s"):format(path, #list, #list == 1 and "" or "s", table.concat(others, ", ")))
  elseif self_signed_leaf then
    self:add("ca-format", "CA file", "warn", ("%s holds the self-signed server certificate itself%s: self-signed: for test "
      .. "deployments (peers trust this very certificate; use a CA for production)"):format(path,
      #list > 1 and (" and %d CA certificate%s"):format(#list - 1, #list == 2 and "" or "s") or ""))
  else
    local notes = format_notes(info)
    self:add("ca-format", "CA file", #notes > 0 and "warn" or "pass", ("PEM, %d CA certificate%s%s"):format(
      #list, #list == 1 and "" or "s", #notes > 0 and ("; " .. table.concat(notes, "; ")) or ""))
  end
  self.cas = list
end

function Run:check_chain()
  local c, cas = self.cert, self.cas
  if not (c and cas) then return end
  -- the path from the certificate up through the CA file
  local path, cur = { c }, c
  local missing
  self.partial = path
  while not cur:is_self_signed() do
    local up = store.find_issuer(cur, cas)
    if not up then missing = cur break end
    for _, p in ipairs(path) do if p:equals(up) then up = nil break end end
    if not up or #path > 10 then missing = cur break end
    path[#path + 1] = up
    cur = up
  end
  if missing then
    local what = missing == c and "the issuer of the certificate" or ("the issuer of " .. label(missing))
    self:add("chain", "chain to a root", "fail", ("%s (%s) is not in %s: the CA file must hold the whole chain up to the self-signed root"):format(
      what, missing:issuer():text(), self.o.ca))
    return
  end
  if #path == 1 then
    self.path = path
    self:add("chain", "chain to a root", "warn", "the certificate is self-signed: peers must trust it as is; fine for tests, not for production")
    return
  end
  local anchors, untrusted = {}, {}
  for _, x in ipairs(cas) do
    if x:is_self_signed() then anchors[#anchors + 1] = x else untrusted[#untrusted + 1] = x end
  end
  local s = assert(store.new { cas = anchors })
  local when = self.now
  local note = ""
  if self.now < c:not_before() or self.now > c:not_after() then
    when = c:not_before() + (c:not_after() - c:not_before()) // 2
    note = " (verified at the middle of the certificate's validity, as it is not valid now)"
  end
  self.path = path
  local chain, err, detail = s:verify(c, { untrusted = untrusted, time = when })
  s:close()
  local names = {}
  for _, x in ipairs(path) do names[#names + 1] = label(x) end
  if not chain then
    self:add("chain", "chain to a root", "fail", ("%s does not verify: %s%s"):format(table.concat(names, " <- "),
      tostring(detail and detail.text or err), detail and detail.cert and (" at " .. label(detail.cert)) or ""))
    return
  end
  local unused = 0
  for _, x in ipairs(cas) do
    local on = false
    for _, y in ipairs(path) do if x:equals(y) then on = true end end
    if x:is_ca() and not on then unused = unused + 1 end
  end
  self:add("chain", "chain to a root", "pass", ("%s%s%s"):format(table.concat(names, " <- "), note,
    unused > 0 and ("; %d other CA certificate%s in the file"):format(unused, unused == 1 and "" or "s") or ""))
end

function Run:check_algorithms()
  local c = self.cert
  if not c then return end
  local problems, notes = {}, {}
  local function key_problem(k, who)
    local t = k:type()
    if t == "rsa" and k:bits() < 2048 then
      problems[#problems + 1] = ("%s has a %d-bit RSA key (2048 at least)"):format(who, k:bits())
    elseif t ~= "rsa" and t ~= "ec" then
      problems[#problems + 1] = ("%s has a %s key, which appliances do not take (RSA or EC)"):format(who, t)
    end
  end
  key_problem(self.key or c:public_key(), "the server certificate")
  local alg = c:signature_algorithm()
  local w = weak_digest(alg)
  if w then
    problems[#problems + 1] = ("the server certificate is signed with %s (%s), which current TLS peers refuse: "
      .. "reissue it with SHA-256 (`openssl ca -md sha256` instead of the guide's -md sha1, `certbench ca issue`, "
      .. "or a Microsoft CA whose hash algorithm is SHA256)"):format(w, alg)
  end
  for i = 2, #(self.partial or {}) do
    local ca = self.partial[i]
    key_problem(ca:public_key(), label(ca))
    local cw = weak_digest(ca:signature_algorithm())
    if cw then
      if ca:is_self_signed() then
        notes[#notes + 1] = ("the root %s signs itself with %s (harmless: a root is trusted as it is)"):format(label(ca), cw)
      else
        problems[#problems + 1] = ("%s is signed with %s: its CA must reissue it with SHA-256"):format(label(ca), cw)
      end
    end
  end
  local kt = (self.key or c:public_key())
  local desc = kt:type() == "rsa" and ("RSA " .. kt:bits()) or (kt:type():upper() .. (kt:curve() and (" " .. kt:curve()) or ""))
  if #problems > 0 then
    for _, n in ipairs(notes) do problems[#problems + 1] = n end
    self:add("algorithms", "key size and signatures", "fail", table.concat(problems, "; "))
  else
    self:add("algorithms", "key size and signatures", #notes > 0 and "warn" or "pass",
      ("%s key, %s%s"):format(desc, alg, #notes > 0 and ("; " .. table.concat(notes, "; ")) or ""))
  end
end

function Run:check_crls()
  local paths = {}
  for _, p in ipairs(self.o.crls or {}) do paths[#paths + 1] = p end
  if self.ca_crls then paths[#paths + 1] = self.o.ca end
  if #paths == 0 then return end
  local ok_mod, checker = pcall(require, "certbench.plugins.crl.check")
  if not ok_mod then
    self:add("crl", "CRLs", "warn", "the crl plugin is not installed: CRLs not checked")
    return
  end
  local crls, err = checker.load_crl_files(paths)
  if not crls then
    self:add("crl", "CRLs", "fail", err)
    return
  end
  if not self.cert or not self.path then
    self:add("crl", "CRLs", "warn", "not checked: no complete chain to check them against")
    return
  end
  local res = checker.run { certs = { self.cert }, chain = self.cas or {}, crls = crls, time = self.now, expired = "revoked" }
  local used = {}
  for i, ev in ipairs(res.certificates) do
    local issuer = self.path[i + 1]
    if ev.role ~= "trust anchor" and issuer then
      local id = "crl:" .. label(issuer)
      local title = "CRL of " .. label(issuer)
      local cr = ev.crl
      if cr then used[cr.source or ""] = true end
      if ev.expired_crl then
        self:add(id, title, "fail", ev.reason .. ": the appliance treats every certificate of that CA as revoked; publish a new CRL")
      elseif not cr then
        self:add(id, title, "warn", (ev.reason or "no CRL") .. ": with revocation checking on, the fallback behavior decides")
      else
        -- cr.next_update is RFC 3339 text; the seconds left come from the CRL object
        local left
        for _, e in ipairs(crls) do
          if e.source == cr.source and e.crl:issuer():equals(issuer:subject()) and e.crl:next_update() then
            left = e.crl:next_update() - self.now
          end
        end
        local text = ("CRL%s from %s, next update %s"):format(cr.number and (" #" .. cr.number) or "",
          cr.source or "?", tostring(cr.next_update or "none"))
        if left and left < 86400 then
          self:add(id, title, "warn", text .. (": it expires in %d hours; the next one must be there before"):format(left // 3600))
        else
          self:add(id, title, "pass", text)
        end
      end
      if ev.status == "revoked" and not ev.expired_crl then
        self:add("revocation", "revocation", "fail", ("%s (serial %s) is revoked: %s, by the CRL of %s in %s; peers that "
          .. "check revocation refuse it: issue a new certificate%s"):format(label(self.path[i]), ev.serial, ev.reason,
          label(issuer), cr and cr.source or "?", i == 1 and " (from a new key if the old one may be compromised)" or " for this CA"))
      end
    end
  end
  local foreign = {}
  for _, e in ipairs(crls) do
    local mine = false
    for i = 2, #self.path do if e.crl:issuer():equals(self.path[i]:subject()) then mine = true end end
    if not mine then foreign[#foreign + 1] = ("%s (%s)"):format(e.source, e.crl:issuer():text()) end
  end
  if #foreign > 0 then
    self:add("crl-other", "other CRLs", "warn", "CRLs of CAs not on the chain: " .. table.concat(foreign, ", "))
  end
  if res.verdict == "good" then
    self:add("revocation", "revocation", "pass", "no certificate of the chain is revoked")
  end
end

function M.run(o)
  require("certbench.options").check(o, { "key", "cert", "ca", "crls", "plan", "mutual_tls", "warn_days", "time" }, "vcs.check")
  local self = setmetatable({
    o = o, now = o.time or os.time(), warn_days = o.warn_days or 30, mutual_tls = o.mutual_tls ~= false,
    checks = {}, counts = { pass = 0, warn = 0, fail = 0 },
  }, Run)
  self:check_key()
  self:check_cert()
  if self.key then self.key_type = self.key:type()
  elseif self.cert then self.key_type = self.cert:public_key():type() end
  self:check_match()
  self:check_validity()
  self:check_eku()
  self:check_names()
  self:check_ca_file()
  self:check_chain()
  self:check_algorithms()
  self:check_crls()
  require("certbench.plugins.vcs.lint").add_warnings(self) -- what a strict peer refuses: warnings
  local res = {
    key = o.key, cert = o.cert, ca = o.ca, crls = o.crls and #o.crls > 0 and ui.array(o.crls) or nil,
    checks = ui.array(self.checks), counts = self.counts, ready = self.counts.fail == 0,
    model = o.plan and o.plan.model or nil,
  }
  if self.cert then
    res.subject = self.cert:subject():text { exact = true }
    res.serial = self.cert:serial()
    res.not_after = ui.time(self.cert:not_after())
  end
  if self.key then self.key:close() end
  return res
end

return M
