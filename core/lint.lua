-- certbench.lint: the rules a certificate is held to beyond what BoringSSL's path validation
-- checks. One table of rules serves two uses: lint (one certificate, no path) and the profiles
-- of store:verify (the same rules on the chain BoringSSL built, each certificate in its role).
--
--   lint.certificate(cert[, {role=, tls_server=}]) -> { finding, ... } (rule order); another
--     options key raises
--     role: "leaf" | "intermediate" | "root" (default: a CA certificate that is self-signed is
--       a root, another CA certificate an intermediate, anything else a leaf)
--     tls_server: apply the CA/B Forum baseline requirements (TLS server certificates and
--       their CAs; default: unless it is a leaf whose extendedKeyUsage lacks serverAuth)
--   finding = { id = "aki-critical", rule = "RFC 5280 4.2.1.1", severity = "error"|"warning",
--               text = "authorityKeyIdentifier MUST NOT be critical" }
--     "error": a MUST or MUST NOT of RFC 5280 or the baseline requirements (the strict profile
--     refuses the path); "warning": a SHOULD (reported, never refused).
--   lint.path(chain, {profile=, purpose=, ekus=, key_usage=, crls=}) -> true | nil, err, info
--     chain: leaf first, trust anchor last (store:verify's result). profile "openssl" checks
--     what OpenSSL 3 refuses and BoringSSL lets through (a critical extension OpenSSL does not
--     know, the anchor included) and the ekus/key_usage options; "strict" first runs every
--     "error" rule on each certificate (the anchor first), a wildcard dNSName against the
--     excluded subtrees above it, and the CRL number of the CRLs given (crls) for the path.
--     info = { code, reason, text, depth, cert, rule } as store:verify returns it.
--   lint.critical_rule(cert) -> the finding naming why a critical extension is wrong | nil
--   lint.check_options(opts) normalises store:verify's ekus (to {oid=, name=}) and key_usage,
--     raising for a name that is none
--   lint.rules -> the list of rules { id=, rule=, severity=, text=, roles=, path_roles=,
--     not_anchor=, cabf= } (see the comment above the table)
local store_c = require "_certbench.store"
local options = require "certbench.options"
require "certbench.pkey" -- the methods of the keys that cert:public_key() returns

local M = {}

local OID = {
  aki = "2.5.29.35", ski = "2.5.29.14", ku = "2.5.29.15", san = "2.5.29.17", ian = "2.5.29.18",
  bc = "2.5.29.19", nc = "2.5.29.30", cdp = "2.5.29.31", cp = "2.5.29.32", pm = "2.5.29.33",
  pc = "2.5.29.36", eku = "2.5.29.37", fresh = "2.5.29.46", iap = "2.5.29.54",
  aia = "1.3.6.1.5.5.7.1.1", sia = "1.3.6.1.5.5.7.1.11", nscert = "2.16.840.1.113730.1.1",
  ocsp_nocheck = "1.3.6.1.5.5.7.48.1.5", ip_blocks = "1.3.6.1.5.5.7.1.7",
  as_ids = "1.3.6.1.5.5.7.1.8", proxy = "1.3.6.1.5.5.7.1.14",
}

-- The critical extensions OpenSSL 3 processes (X509_supported_extension, crypto/x509/v3_purp.c);
-- any other critical extension is unhandled_critical_extension there, on every certificate of
-- the path. BoringSSL's own list also holds authorityKeyIdentifier, so a critical AKI passed.
local OPENSSL_KNOWN = {}
for _, k in ipairs { "nscert", "ku", "san", "bc", "cp", "cdp", "eku", "ip_blocks", "as_ids",
                     "ocsp_nocheck", "pc", "proxy", "nc", "pm", "iap" } do
  OPENSSL_KNOWN[OID[k]] = true
end
-- The extensions RFC 5280 4.2 defines for certificates that a relying party processes (the
-- ones that MUST or SHOULD be non-critical have their own rules).
local RFC_KNOWN = {}
for _, k in ipairs { "ku", "san", "ian", "bc", "nc", "cdp", "cp", "pm", "pc", "eku", "iap" } do
  RFC_KNOWN[OID[k]] = true
end

-- facts(cert) -> what the rules look at, decoded once per certificate
local function facts(cert)
  local f = { cert = cert, ext = {}, dup = false }
  local list = cert:extensions()
  for _, e in ipairs(list) do
    if f.ext[e.oid] then f.dup = true end
    f.ext[e.oid] = e
  end
  f.list = list
  f.bc = cert:basic_constraints()
  f.is_ca = f.bc ~= nil and f.bc.ca
  f.ku, f.ku_err = cert:key_usage()
  f.ku_set = {}
  for _, u in ipairs(f.ku or {}) do f.ku_set[u] = true end
  f.eku, f.eku_err = cert:eku()
  f.san, f.san_err = cert:san()
  f.subject_empty = #cert:subject() == 0
  f.issuer_empty = #cert:issuer() == 0
  f.self_issued = cert:subject() == cert:issuer()
  f.self_signed = f.self_issued and cert:is_self_signed()
  return f
end

local function has(f, k) return f.ext[OID[k]] ~= nil end
local function critical(f, k) return f.ext[OID[k]] ~= nil and f.ext[OID[k]].critical end

-- RFC 1034 preferred name syntax as RFC 5280 4.2.1.6 requires of dNSName (letters, digits,
-- hyphens; labels of 1..63 characters), with a wildcard allowed as the whole left-most label.
local function dns_ok(name)
  if #name == 0 or #name > 253 then return false end
  local first = true
  for label in (name .. "."):gmatch("([^.]*)%.") do
    if not (first and label == "*") then
      if #label == 0 or #label > 63 or label:find("[^%w%-]") or label:find("^%-") or
        label:find("%-$") then
        return false
      end
    end
    first = false
  end
  return true
end

-- ip_text_ok(v): v is how x509's san() writes a 4- or 16-octet iPAddress (inet_ntop: dotted
-- quad, or lower-case IPv6); any other length comes as "addr/mask" (8 or 32 octets) or as an
-- upper-case hex dump
local function ip_text_ok(v)
  if v:find("^%d+%.%d+%.%d+%.%d+$") then return true end
  if v == "" or v:find("[^%x:.]") or v:find("%u") then return false end
  if v:find("::", 1, true) then return true end
  local parts = select(2, v:gsub(":", "")) + 1
  return parts == 8 or (parts == 7 and v:find(".", 1, true) ~= nil)
end

local function subject_cns(cert)
  return cert:subject():get("CN", true) or {}
end

-- The rules. `path_roles` narrows the roles a rule has in a path (store:verify's strict profile)
-- where NIST PKITS holds a path valid that breaks a rule on how CAs must issue: 4.6.4 goes
-- through an intermediate whose basicConstraints is not critical, and 4.8, 4.10 and 4.12 through
-- CAs whose policyConstraints are not; RFC 5280 6.1 processes both either way. lint reports
-- them on every certificate. `not_anchor` exempts the trust anchor of a path (RFC 5280 6.1.1 (d) takes only
-- its name and key; roots trusted for decades have serial 0, as Starfield's G2 root does);
-- lint.certificate still reports it. `roles` lists the roles a rule applies to ("leaf", "intermediate", "root");
-- `cabf` marks the CA/B Forum rules, which hold for TLS server certificates and their CAs
-- only (store:verify with purpose sslserver; lint unless the leaf's EKU excludes serverAuth);
-- check(f, role) returns true when the certificate breaks the rule (or a text that replaces
-- the rule's own, naming the value at fault).
local ALL = { leaf = true, intermediate = true, root = true }
local CA = { intermediate = true, root = true }
local LEAF = { leaf = true }
local ROOT = { root = true }

local rules = {
  { id = "unknown-critical-extension", rule = "RFC 5280 4.2", severity = "error",
    text = "a critical extension that is not processed MUST make the certificate rejected",
    roles = ALL, check = function(f)
      for _, e in ipairs(f.list) do
        if e.critical and not RFC_KNOWN[e.oid] and e.oid ~= OID.aki and e.oid ~= OID.ski and
          e.oid ~= OID.aia then
          return "critical extension " .. e.name .. " is not one RFC 5280 processes"
        end
      end
    end },
  { id = "duplicate-extension", rule = "RFC 5280 4.2", severity = "error",
    text = "a certificate MUST NOT include more than one instance of an extension",
    roles = ALL, check = function(f) return f.dup end },
  { id = "version", rule = "RFC 5280 4.1.2.1", severity = "error",
    text = "a certificate with extensions MUST be version 3",
    roles = ALL, check = function(f) return f.cert:version() ~= 3 and #f.list > 0 end },
  { id = "v3-required", rule = "CA/B Forum BR 7.1.1", severity = "error",
    text = "certificates MUST be of version 3",
    roles = ALL, cabf = true, check = function(f) return f.cert:version() ~= 3 end },
  { id = "serial-positive", rule = "RFC 5280 4.1.2.2", severity = "error",
    text = "the serial number MUST be a positive integer",
    roles = ALL, not_anchor = true, check = function(f)
      local s = f.cert:serial()
      return s:sub(1, 1) == "-" or not s:find("[1-9A-F]")
    end },
  { id = "serial-length", rule = "RFC 5280 4.1.2.2", severity = "error",
    text = "the serial number MUST NOT be longer than 20 octets",
    roles = ALL, not_anchor = true, check = function(f)
      local s = f.cert:serial():gsub("^%-", "")
      -- the DER content: a leading zero octet keeps a high first bit positive
      local octets = #s // 2 + (s:find("^[89A-F]") and 1 or 0)
      return octets > 20
    end },
  { id = "issuer-empty", rule = "RFC 5280 4.1.2.4", severity = "error",
    text = "the issuer field MUST contain a non-empty distinguished name",
    roles = ALL, check = function(f) return f.issuer_empty end },
  { id = "ca-subject-empty", rule = "RFC 5280 4.1.2.6", severity = "error",
    text = "the subject of a CA certificate MUST be a non-empty distinguished name",
    roles = CA, check = function(f) return f.subject_empty end },
  { id = "aki-critical", rule = "RFC 5280 4.2.1.1", severity = "error",
    text = "authorityKeyIdentifier MUST NOT be critical",
    roles = ALL, check = function(f) return critical(f, "aki") end },
  { id = "aki-missing", rule = "RFC 5280 4.2.1.1", severity = "error",
    text = "authorityKeyIdentifier with a keyIdentifier MUST be present in a certificate that " ..
      "is not self-signed",
    roles = ALL, check = function(f)
      if f.self_signed then return false end
      local a = f.cert:aki_info()
      return not (a and a.keyid)
    end },
  { id = "ski-critical", rule = "RFC 5280 4.2.1.2", severity = "error",
    text = "subjectKeyIdentifier MUST NOT be critical",
    roles = ALL, check = function(f) return critical(f, "ski") end },
  { id = "ski-missing-ca", rule = "RFC 5280 4.2.1.2", severity = "error",
    text = "subjectKeyIdentifier MUST appear in a CA certificate",
    roles = CA, check = function(f) return not has(f, "ski") end },
  { id = "ski-missing", rule = "RFC 5280 4.2.1.2", severity = "warning",
    text = "subjectKeyIdentifier SHOULD be included in an end-entity certificate",
    roles = LEAF, check = function(f) return not has(f, "ski") end },
  { id = "ku-keycertsign-not-ca", rule = "RFC 5280 4.2.1.3", severity = "error",
    text = "keyCertSign MUST NOT be asserted unless basicConstraints asserts cA",
    roles = ALL, check = function(f) return f.ku_set.keyCertSign and not f.is_ca end },
  { id = "ku-ca-keycertsign", rule = "RFC 5280 4.2.1.3", severity = "error",
    text = "a CA certificate's keyUsage MUST assert keyCertSign when it is present",
    roles = CA, check = function(f) return f.is_ca and f.ku and #f.ku > 0 and not f.ku_set.keyCertSign end },
  { id = "ku-empty", rule = "RFC 5280 4.2.1.3", severity = "error",
    text = "keyUsage, when present, MUST have at least one bit set",
    roles = ALL, check = function(f) return has(f, "ku") and f.ku and #f.ku == 0 end },
  { id = "ku-critical", rule = "RFC 5280 4.2.1.3", severity = "warning",
    text = "keyUsage SHOULD be marked critical",
    roles = ALL, check = function(f) return has(f, "ku") and not critical(f, "ku") end },
  { id = "san-malformed", rule = "RFC 5280 4.2.1.6", severity = "error",
    text = "subjectAltName does not decode",
    roles = ALL, check = function(f) return f.san == nil end },
  { id = "san-empty-subject", rule = "RFC 5280 4.2.1.6", severity = "error",
    text = "with an empty subject, subjectAltName MUST be present and critical",
    roles = ALL, check = function(f)
      return f.subject_empty and not critical(f, "san")
    end },
  { id = "san-dns-syntax", rule = "RFC 5280 4.2.1.6", severity = "error",
    text = "a dNSName MUST be in the preferred name syntax of RFC 1034 (letters, digits, hyphens)",
    roles = ALL, check = function(f)
      for _, n in ipairs(f.san or {}) do
        if n.type == "DNS" and not dns_ok(n.value) then return "dNSName '" .. n.value ..
          "' is not in the preferred name syntax (RFC 1034: letters, digits, hyphens)" end
      end
    end },
  { id = "san-ip-length", rule = "RFC 5280 4.2.1.6", severity = "error",
    text = "an iPAddress MUST be four octets (IPv4) or sixteen (IPv6)",
    roles = ALL, check = function(f)
      for _, n in ipairs(f.san or {}) do
        if n.type == "IP" and not ip_text_ok(n.value) then return true end
      end
    end },
  { id = "bc-missing-ca", rule = "RFC 5280 4.2.1.9", severity = "error",
    text = "basicConstraints MUST appear, with cA asserted, in a CA certificate",
    roles = CA, check = function(f) return not f.is_ca end },
  { id = "bc-critical-ca", rule = "RFC 5280 4.2.1.9", severity = "error",
    text = "basicConstraints MUST be critical in a CA certificate",
    roles = CA, path_roles = ROOT, check = function(f) return f.is_ca and not f.bc.critical end },
  { id = "nc-not-ca", rule = "RFC 5280 4.2.1.10", severity = "error",
    text = "nameConstraints MUST be used only in a CA certificate",
    roles = LEAF, check = function(f) return has(f, "nc") and not f.is_ca end },
  { id = "nc-critical", rule = "RFC 5280 4.2.1.10", severity = "error",
    text = "nameConstraints MUST be critical",
    roles = ALL, check = function(f) return has(f, "nc") and not critical(f, "nc") end },
  { id = "nc-empty", rule = "RFC 5280 4.2.1.10", severity = "error",
    text = "nameConstraints MUST hold permittedSubtrees or excludedSubtrees, not an empty sequence",
    roles = ALL, check = function(f)
      if not has(f, "nc") then return false end
      local nc = f.cert:name_constraints()
      if not nc then return true end
      return not ((nc.permitted and #nc.permitted > 0) or (nc.excluded and #nc.excluded > 0))
    end },
  { id = "nc-dns-syntax", rule = "RFC 5280 4.2.1.10", severity = "error",
    text = "a dNSName constraint MUST be a host or domain name (no leading period, no wildcard)",
    roles = ALL, check = function(f)
      if not has(f, "nc") then return false end
      local nc = f.cert:name_constraints()
      for _, list in ipairs { nc and nc.permitted or {}, nc and nc.excluded or {} } do
        for _, gn in ipairs(list) do
          if gn.type == "DNS" and (gn.value:find("*", 1, true) or not dns_ok(gn.value)) then
            return "dNSName constraint '" .. gn.value .. "' is not a host or domain name " ..
              "(a leading period is for URI and email constraints only)"
          end
        end
      end
    end },
  { id = "pc-critical", rule = "RFC 5280 4.2.1.11", severity = "error",
    text = "policyConstraints MUST be critical",
    roles = ALL, path_roles = {}, check = function(f) return has(f, "pc") and not critical(f, "pc") end },
  { id = "eku-empty", rule = "RFC 5280 4.2.1.12", severity = "error",
    text = "extendedKeyUsage MUST list at least one purpose",
    roles = ALL, check = function(f) return has(f, "eku") and (f.eku == nil or #f.eku == 0) end },
  { id = "aia-malformed", rule = "RFC 5280 4.2.2.1", severity = "error",
    text = "authorityInfoAccess does not decode (a SEQUENCE of accessMethod, accessLocation)",
    roles = ALL, check = function(f) return has(f, "aia") and f.cert:ocsp_urls() == nil end },
  { id = "aia-critical", rule = "RFC 5280 4.2.2.1", severity = "error",
    text = "authorityInfoAccess MUST NOT be critical",
    roles = ALL, check = function(f) return critical(f, "aia") end },

  -- CA/Browser Forum baseline requirements (TLS server certificates and their CAs)
  { id = "cabf-key", rule = "CA/B Forum BR 6.1.5", severity = "error",
    text = "the key MUST be RSA of at least 2048 bits (a multiple of 8) or ECDSA P-256, P-384 or P-521",
    roles = ALL, cabf = true, check = function(f)
      local alg = f.cert:key_algorithm()
      local ok, key = pcall(f.cert.public_key, f.cert)
      if not ok or not key then return "key " .. alg .. " cannot be used (unsupported or malformed)" end
      local t = key:type()
      if t == "rsa" then
        local bits = key:bits()
        if bits < 2048 or bits % 8 ~= 0 then return ("RSA key of %d bits (at least 2048, a multiple of 8)"):format(bits) end
      elseif t == "ec" then
        local curve = key:curve()
        if curve ~= "P-256" and curve ~= "P-384" and curve ~= "P-521" then
          return "EC key on " .. tostring(curve) .. " (P-256, P-384 or P-521)"
        end
      else
        return t:upper() .. " key (RSA or ECDSA only)"
      end
    end },
  { id = "cabf-root-aki", rule = "CA/B Forum BR 7.1.2.1.3", severity = "error",
    text = "a root's authorityKeyIdentifier MUST hold only a keyIdentifier, equal to its subjectKeyIdentifier",
    roles = ROOT, cabf = true, check = function(f)
      local a = f.cert:aki_info()
      if not a then return false end
      return not a.keyid or a.issuer ~= nil or a.serial ~= nil or a.keyid ~= f.cert:ski()
    end },
  { id = "cabf-root-eku", rule = "CA/B Forum BR 7.1.2.1.2", severity = "error",
    text = "a root certificate MUST NOT have extendedKeyUsage",
    roles = ROOT, cabf = true, check = function(f) return has(f, "eku") end },
  { id = "cabf-leaf-ca", rule = "CA/B Forum BR 7.1.2.7.8", severity = "error",
    text = "a subscriber certificate MUST NOT assert cA",
    roles = LEAF, cabf = true, check = function(f) return f.is_ca end },
  { id = "cabf-leaf-eku", rule = "CA/B Forum BR 7.1.2.7.10", severity = "error",
    text = "a subscriber certificate MUST have extendedKeyUsage, not critical, without anyExtendedKeyUsage",
    roles = LEAF, cabf = true, check = function(f)
      if not has(f, "eku") then return "a subscriber certificate MUST have extendedKeyUsage" end
      if critical(f, "eku") then return "a subscriber certificate's extendedKeyUsage MUST NOT be critical" end
      for _, e in ipairs(f.eku or {}) do
        if e == "anyExtendedKeyUsage" then
          return "a subscriber certificate MUST NOT list anyExtendedKeyUsage"
        end
      end
    end },
  { id = "cabf-san", rule = "CA/B Forum BR 7.1.2.7.12", severity = "error",
    text = "a subscriber certificate MUST have subjectAltName, critical only when the subject is empty",
    roles = LEAF, cabf = true, check = function(f)
      if not has(f, "san") then return "a subscriber certificate MUST have subjectAltName" end
      if critical(f, "san") and not f.subject_empty then
        return "subjectAltName MUST NOT be critical when the subject is not empty"
      end
    end },
  { id = "cabf-san-wildcard", rule = "CA/B Forum BR 7.1.2.7.12", severity = "error",
    text = "a wildcard dNSName MUST be '*' as the whole left-most label above a registrable domain",
    roles = LEAF, cabf = true, check = function(f)
      for _, n in ipairs(f.san or {}) do
        if n.type == "DNS" and n.value:find("*", 1, true) then
          local rest = n.value:match("^%*%.(.+)$")
          if not rest or rest:find("*", 1, true) or not rest:find(".", 1, true) then
            return "wildcard dNSName '" .. n.value .. "'"
          end
        end
      end
    end },
  { id = "cabf-cn-in-san", rule = "CA/B Forum BR 7.1.4.3", severity = "error",
    text = "the subject commonName MUST be one of the subjectAltName values, as written there",
    roles = LEAF, cabf = true, check = function(f)
      if not has(f, "san") then return false end -- cabf-san says it
      for _, cn in ipairs(subject_cns(f.cert)) do
        local found = false
        for _, n in ipairs(f.san or {}) do
          if (n.type == "DNS" or n.type == "IP") and n.value == cn then found = true end
        end
        if not found then return "the subject commonName '" .. cn .. "' is not among the subjectAltName values" end
      end
    end },
}
M.rules = rules

-- run(f, role, tls, out, in_path) appends the findings of the rules that apply; in_path:
-- errors only, the first one, and the anchor's exemptions when in_path == "anchor"
local function run(f, role, tls, out, in_path)
  for _, r in ipairs(rules) do
    local roles = in_path and r.path_roles or r.roles
    if roles[role] and (not r.cabf or tls) and (not in_path or r.severity == "error") and
      not (in_path == "anchor" and r.not_anchor) then
      local v = r.check(f, role)
      if v then
        out[#out + 1] = { id = r.id, rule = r.rule, severity = r.severity,
          text = type(v) == "string" and v or r.text }
        if in_path then return out end
      end
    end
  end
  return out
end

local function tls_server_leaf(f)
  if not has(f, "eku") then return true end
  for _, e in ipairs(f.eku or {}) do
    if e == "serverAuth" then return true end
  end
  return false
end

function M.certificate(cert, o)
  options.check(o, { "role", "tls_server" }, "lint.certificate")
  o = o or {}
  local f = facts(cert)
  local role = o.role
  if role == nil then
    role = f.is_ca and (f.self_signed and "root" or "intermediate") or "leaf"
  elseif not ALL[role] then
    error("lint.certificate: role must be leaf, intermediate or root, not " .. tostring(role), 2)
  end
  local tls = o.tls_server
  if tls == nil then tls = role ~= "leaf" or tls_server_leaf(f) end
  return run(f, role, tls, {}, false)
end

-- names(list, what) -> { [oid] = name } for ekus; raises for a name no one knows
local function eku_oids(list)
  local out = {}
  for i, e in ipairs(list) do
    if type(e) ~= "string" then error("store:verify: ekus[" .. i .. "] must be a string", 4) end
    local oid, sn = store_c.oid(e)
    if not oid then error("store:verify: ekus[" .. i .. "]: not an OID or a known name: " .. e, 4) end
    out[#out + 1] = { oid = oid, name = sn }
  end
  return out
end

local KU_NAMES = { digitalSignature = true, nonRepudiation = true, contentCommitment = true,
  keyEncipherment = true, dataEncipherment = true, keyAgreement = true, keyCertSign = true,
  cRLSign = true, encipherOnly = true, decipherOnly = true }

-- check_options(o) raises for an ekus or key_usage option that cannot be right
function M.check_options(o)
  if o.ekus ~= nil then
    if type(o.ekus) == "string" then o.ekus = { o.ekus } end
    o.ekus = eku_oids(o.ekus)
  end
  if o.key_usage ~= nil then
    if type(o.key_usage) == "string" then o.key_usage = { o.key_usage } end
    for i, u in ipairs(o.key_usage) do
      if not KU_NAMES[u] then
        error("store:verify: key_usage[" .. i .. "]: unknown key usage '" .. tostring(u) .. "'", 3)
      end
    end
  end
end

local function fail(chain, depth, code, reason, text, rule)
  local cert = chain[depth + 1]
  local subj = cert:subject():text()
  local info = { code = code, reason = reason, text = text, depth = depth, cert = cert, rule = rule }
  return nil, ("%s (depth %d: %s)"):format(text, depth, subj), info
end

local X509_V_ERR_INVALID_PURPOSE = 26
local X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION = 34
local X509_V_ERR_APPLICATION_VERIFICATION = 50

-- openssl_checks(chain, o): what OpenSSL 3 refuses and BoringSSL does not, and the usage options
local function openssl_checks(chain, o)
  local n = #chain
  -- what OpenSSL 3 refuses on any certificate of the path, the trust anchor too
  for i = 1, n do
    for _, e in ipairs(chain[i]:extensions()) do
      if e.critical and not OPENSSL_KNOWN[e.oid] then
        return fail(chain, i - 1, X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION,
          "unhandled_critical_extension", "unhandled critical extension " .. e.name)
      end
    end
  end
  local leaf = chain[1]
  if o.ekus then
    local have = {}
    local list, err = leaf:eku()
    if not list then
      return fail(chain, 0, X509_V_ERR_INVALID_PURPOSE, "invalid_purpose", err)
    end
    if #list > 0 then -- no extendedKeyUsage: any purpose (RFC 5280 4.2.1.12, as OpenSSL)
      for _, e in ipairs(list) do have[store_c.oid(e) or e] = true end
      for _, want in ipairs(o.ekus) do
        if not have[want.oid] then
          return fail(chain, 0, X509_V_ERR_INVALID_PURPOSE, "invalid_purpose",
            "extendedKeyUsage does not list " .. want.name)
        end
      end
    end
  end
  if o.key_usage then
    local list, err = leaf:key_usage()
    if not list then return fail(chain, 0, X509_V_ERR_INVALID_PURPOSE, "invalid_purpose", err) end
    local set = {}
    for _, u in ipairs(list) do set[u] = true end
    set.contentCommitment = set.nonRepudiation
    if #list > 0 then -- no keyUsage: any usage, as OpenSSL
      for _, want in ipairs(o.key_usage) do
        if not set[want] then
          return fail(chain, 0, X509_V_ERR_INVALID_PURPOSE, "invalid_purpose",
            "keyUsage does not assert " .. want)
        end
      end
    end
  end
  return true
end

-- strict_checks(chain, o): the "error" rules on each certificate in its role, and on the path
local function strict_checks(chain, o)
  local n = #chain

  local tls = o.purpose == "sslserver"
  -- RFC 5280 4.2.1.10 read with RFC 9525's wildcards: "*.example.com" stands for every name
  -- one label under example.com, so an excluded "bar.example.com" excludes it (BoringSSL and
  -- OpenSSL compare the text only: CVE-2025-61727)
  for j = 2, n do
    local nc = chain[j]:name_constraints()
    for _, gn in ipairs(nc and nc.excluded or {}) do
      local under = gn.type == "DNS" and gn.value:lower():gsub("^%.", ""):match("^[^.]+%.(.+)$")
      for i = 1, under and j - 1 or 0 do
        local c = chain[i]
        if i == 1 or c:subject() ~= c:issuer() then
          for _, san in ipairs(c:san() or {}) do
            local base = san.type == "DNS" and san.value:lower():match("^%*%.(.+)$")
            if base and base == under then
              return fail(chain, i - 1, X509_V_ERR_APPLICATION_VERIFICATION, "strict_profile",
                ("RFC 5280 4.2.1.10: the wildcard dNSName '%s' stands for names of the excluded " ..
                  "subtree '%s'"):format(san.value, gn.value), "RFC 5280 4.2.1.10")
            end
          end
        end
      end
    end
  end
  -- each certificate in its role, from the anchor down (a CA's flaw before its leaf's)
  for i = n, 1, -1 do
    local role = i == 1 and "leaf" or (i == n and "root" or "intermediate")
    local found = run(facts(chain[i]), role, tls, {}, i == n and "anchor" or true)[1]
    if found then
      return fail(chain, i - 1, X509_V_ERR_APPLICATION_VERIFICATION, "strict_profile",
        found.rule .. ": " .. found.text, found.rule)
    end
  end
  -- the CRLs of this verification that cover a certificate of the path
  for _, crl in ipairs(o.crls or {}) do
    for i = 2, n do
      if crl:number() == nil and crl:issuer() == chain[i]:subject() then
        return fail(chain, i - 1, X509_V_ERR_APPLICATION_VERIFICATION, "strict_profile",
          "RFC 5280 5.2.3: a CRL MUST include the CRL number (the CRL of " ..
          chain[i]:subject():text() .. " has none)", "RFC 5280 5.2.3")
      end
    end
  end
  return true
end

-- critical_rule(cert) -> the finding that says why a critical extension of cert is
-- wrong (aki-critical, ski-critical, aia-critical, unknown-critical-extension) | nil: the strict
-- profile names the rule when BoringSSL itself refuses the extension
local CRITICAL_RULES = { ["aki-critical"] = true, ["ski-critical"] = true, ["aia-critical"] = true,
  ["unknown-critical-extension"] = true }
function M.critical_rule(cert)
  for _, f in ipairs(run(facts(cert), cert:is_ca() and "intermediate" or "leaf", false, {}, false)) do
    if CRITICAL_RULES[f.id] then return f end
  end
end

function M.path(chain, o)
  if o.profile == "strict" then
    -- the rules first, so that a flaw OpenSSL also refuses (a critical AKI) is named by its rule
    local ok, err, info = strict_checks(chain, o)
    if not ok then return nil, err, info end
  end
  return openssl_checks(chain, o)
end

return M
