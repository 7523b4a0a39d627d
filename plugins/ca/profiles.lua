-- certbench.plugins.ca.profiles: what a certificate of each kind contains, and openssl's
-- subject policy (match / supplied / optional).
--
-- A profile is a table:
--   key_usage = {"digitalSignature", ...}  keyUsage (critical); keyEncipherment and
--               dataEncipherment are left out for keys that cannot encrypt (EC, Ed25519)
--   eku = {"serverAuth", "clientAuth", OID...}
--   days = N                      lifetime when the request gives none (default 365)
--   ca = true, path_len = N       an intermediate CA (basicConstraints CA:TRUE critical);
--                                 otherwise CA:FALSE
--   digest = "sha256" | "sha384" | "sha512"   the signature's digest (default sha256)
--   copy_extensions = {"subjectAltName", ...} | true | false | "copy"
--                                 which extensions of the CSR to copy (names or OIDs; true: all
--                                 but basicConstraints, keyUsage, extendedKeyUsage, SKI, AKI, which
--                                 the profile decides); "copy": openssl ca's copy_extensions =
--                                 copy, every extension of the CSR the profile does not set itself
--                                 (keyUsage and extendedKeyUsage too; never basicConstraints, SKI,
--                                 AKI). Default: {"subjectAltName"}, none for a CA
--   policy = { countryName = "match", commonName = "supplied", emailAddress = "optional" } or
--            a list { {"countryName", "match"}, {"commonName", "supplied"} }
--                                 as openssl's policy sections: match = present and equal to the
--                                 CA's, supplied = present, optional = copied when present; a
--                                 field the policy does not name is dropped. A list also orders
--                                 the subject (openssl's default); a map keeps the CSR's order.
--                                 No policy: the CSR's subject is kept as it is.
--   crl_distribution_points, ocsp_urls, ca_issuers_urls = {urls}, policies = {OIDs}
--   profiles.check_urls(kind, list, name) -> true | nil, err: "crl" URLs http(s)/ldap(s),
--   "ocsp" URLs http(s); ca:issue checks crl_urls/ocsp_urls with it, the CLI its --crl-url/--ocsp-url
-- Built-in: server, client, server-client, sub-ca. Site plugins add more with a `profiles`
-- table (see README "Site plugins"); a site profile of a built-in's name replaces it.
local M = {}

M.BUILTIN = {
  server = {
    summary = "TLS server: serverAuth",
    key_usage = { "digitalSignature", "keyEncipherment" }, eku = { "serverAuth" },
    days = 365, copy_extensions = { "subjectAltName" },
  },
  client = {
    summary = "TLS client: clientAuth",
    key_usage = { "digitalSignature" }, eku = { "clientAuth" },
    days = 365, copy_extensions = { "subjectAltName" },
  },
  ["server-client"] = {
    summary = "both ends of mutual TLS (SIP/VCS): serverAuth and clientAuth",
    key_usage = { "digitalSignature", "keyEncipherment" }, eku = { "serverAuth", "clientAuth" },
    days = 365, copy_extensions = { "subjectAltName" },
  },
  ["sub-ca"] = {
    summary = "an intermediate CA: CA:TRUE, pathlen 0, keyCertSign and cRLSign",
    ca = true, path_len = 0, key_usage = { "keyCertSign", "cRLSign" },
    days = 1825, copy_extensions = false,
  },
}

local KNOWN_FIELDS = {
  summary = true, key_usage = true, eku = true, days = true, ca = true, path_len = true,
  copy_extensions = true, policy = true, crl_distribution_points = true, ocsp_urls = true,
  ca_issuers_urls = true, policies = true, digest = true,
}

local site_cache

-- all() -> { name = { value = profile, plugin = "name of the plugin" | "ca" } }
function M.all()
  if not site_cache then
    local ok, plugins = pcall(require, "certbench.plugins")
    site_cache = ok and plugins.collect("profiles") or {}
  end
  local out = {}
  for name, p in pairs(M.BUILTIN) do out[name] = { value = p, plugin = "ca" } end
  for name, e in pairs(site_cache) do
    if type(e.value) == "table" then out[name] = e end
  end
  return out
end

-- names() -> sorted list of the known profile names
function M.names()
  local t = {}
  for name in pairs(M.all()) do t[#t + 1] = name end
  table.sort(t)
  return t
end

-- reset() forgets the site profiles seen (tests change CERTBENCH_PLUGINS)
function M.reset() site_cache = nil end

local function check_list(p, field, name)
  local v = p[field]
  if v == nil then return true end
  if type(v) ~= "table" then
    return nil, string.format("profile '%s': %s must be a list", name, field)
  end
  for _, x in ipairs(v) do
    if type(x) ~= "string" then
      return nil, string.format("profile '%s': %s must be a list of strings", name, field)
    end
  end
  return true
end

-- only_builtin(): true when every plugin found is a built-in one. None of those replaces a
-- profile of BUILTIN (spec/ca_spec.lua checks it), so a built-in profile is then known without
-- loading every plugin (a one-certificate `ca issue` spent 1.3 ms of its ~15 ms on that).
local function only_builtin()
  local ok, plugins = pcall(require, "certbench.plugins")
  if not ok then return true end
  local builtin = require("certbench").root .. "/plugins/"
  for _, e in ipairs(plugins.discover()) do
    if e.dir ~= builtin .. e.name then return false end
  end
  return true
end

-- get(name) -> profile (validated) | nil, "unknown profile 'x' (known: a, b, c)"
function M.get(name)
  if name ~= nil and type(name) ~= "string" then
    if type(name) == "table" then return M.validate(name, "(table)") end
    return nil, "profile: expected a name, got " .. type(name)
  end
  name = name or "server"
  if not site_cache and M.BUILTIN[name] and only_builtin() then
    return M.validate(M.BUILTIN[name], name, "ca")
  end
  local e = M.all()[name]
  if not e then
    return nil, string.format("unknown profile '%s' (known: %s)", name, table.concat(M.names(), ", "))
  end
  return M.validate(e.value, name, e.plugin)
end

function M.validate(p, name, plugin)
  local where = plugin and plugin ~= "ca" and (" from plugin " .. plugin) or ""
  for k in pairs(p) do
    if not KNOWN_FIELDS[k] then
      return nil, string.format("profile '%s'%s: unknown field '%s'", name, where, tostring(k))
    end
  end
  for _, f in ipairs({ "key_usage", "eku", "crl_distribution_points", "ocsp_urls", "ca_issuers_urls", "policies" }) do
    local ok, err = check_list(p, f, name)
    if not ok then return nil, err .. where end
  end
  if p.days ~= nil and (math.type(p.days) ~= "integer" or p.days <= 0) then
    return nil, string.format("profile '%s'%s: days must be a positive integer", name, where)
  end
  if p.digest ~= nil and p.digest ~= "sha256" and p.digest ~= "sha384" and p.digest ~= "sha512" and p.digest ~= "sha1" then
    return nil, string.format("profile '%s'%s: digest is sha256, sha384, sha512 or sha1", name, where)
  end
  local ce = p.copy_extensions
  if ce ~= nil and type(ce) ~= "boolean" and ce ~= "copy" then
    local ok, err = check_list(p, "copy_extensions", name)
    if not ok then return nil, err .. where end
  end
  if p.policy ~= nil and type(p.policy) ~= "table" then
    return nil, string.format("profile '%s'%s: policy must be a table", name, where)
  end
  local copy = {}
  for k, v in pairs(p) do copy[k] = v end
  copy.name = name
  copy.plugin = plugin
  return copy
end

-- key usage for a public key: keyEncipherment/dataEncipherment need a key that can encrypt
function M.key_usage_for(p, key_type)
  if not p.key_usage then return nil end
  local out = {}
  for _, u in ipairs(p.key_usage) do
    if key_type == "rsa" or (u ~= "keyEncipherment" and u ~= "dataEncipherment") then
      out[#out + 1] = u
    end
  end
  if #out == 0 then return nil end
  return out
end

-- policy ------------------------------------------------------------------------------------

local POLICY_WORDS = { match = true, supplied = true, optional = true }

-- policy_list(policy) -> { {field, rule}... }, ordered (a list), or nil, err
local function policy_list(policy, oid_of)
  local list, ordered = {}, false
  if policy[1] ~= nil then
    ordered = true
    for _, pair in ipairs(policy) do
      if type(pair) ~= "table" or type(pair[1]) ~= "string" or type(pair[2]) ~= "string" then
        return nil, "policy: a list policy holds {field, rule} pairs"
      end
      list[#list + 1] = { pair[1], pair[2] }
    end
  else
    for k, v in pairs(policy) do
      if type(k) ~= "string" or type(v) ~= "string" then
        return nil, "policy: fields and rules are strings"
      end
      list[#list + 1] = { k, v }
    end
    table.sort(list, function(a, b) return a[1] < b[1] end)
  end
  for _, e in ipairs(list) do
    if not POLICY_WORDS[e[2]] then
      return nil, string.format("policy: '%s' for %s is not match, supplied or optional", e[2], e[1])
    end
    local oid = oid_of(e[1])
    if not oid then return nil, string.format("policy: unknown field '%s'", e[1]) end
    e.oid = oid
  end
  return list, ordered
end

-- apply_policy(policy, csr_entries, ca_entries, oid_of) -> entries (list of {name=, value=,
-- oid=, rdn=}) | nil, err. Entries come from name:list(); oid_of resolves field names.
function M.apply_policy(policy, req, ca, oid_of)
  local list, ordered = policy_list(policy, oid_of)
  if not list then return nil, ordered end
  local by_oid = {}
  for _, e in ipairs(list) do by_oid[e.oid] = e end
  local function values(entries, oid)
    local out = {}
    for _, x in ipairs(entries) do
      if x.oid == oid then out[#out + 1] = x end
    end
    return out
  end
  for _, rule in ipairs(list) do
    local have = values(req, rule.oid)
    if rule[2] == "supplied" and #have == 0 then
      return nil, string.format("the %s field is required by the policy and the request has none", rule[1])
    elseif rule[2] == "match" then
      local want = values(ca, rule.oid)
      if #want == 0 then
        return nil, string.format("the policy says %s must match the CA's, and the CA certificate has none (the policy is misconfigured)", rule[1])
      end
      if #have == 0 then
        return nil, string.format("the %s field must match the CA's (%s) and the request has none", rule[1], want[1].value)
      end
      for _, h in ipairs(have) do
        local ok = false
        for _, w in ipairs(want) do if w.value == h.value then ok = true end end
        if not ok then
          return nil, string.format("the %s field is different between the CA certificate (%s) and the request (%s)",
            rule[1], want[1].value, h.value)
        end
      end
    end
  end
  local out, dropped = {}, {}
  if ordered then
    for _, rule in ipairs(list) do
      for _, x in ipairs(values(req, rule.oid)) do out[#out + 1] = x end
    end
    for _, x in ipairs(req) do
      if not by_oid[x.oid] then dropped[#dropped + 1] = x.name end
    end
  else
    for _, x in ipairs(req) do
      if by_oid[x.oid] then out[#out + 1] = x else dropped[#dropped + 1] = x.name end
    end
  end
  return out, dropped
end

-- the URLs a certificate may carry for relying parties to fetch: a CRL over http(s) or ldap(s)
-- (RFC 5280 4.2.1.13), an OCSP responder over http(s) (RFC 6960 A.1); anything else (ftp://,
-- file://, a bare host) is a certificate no appliance can use
local URL_KINDS = {
  crl = { "an http(s):// or ldap(s):// URL", function(u) return u:match("^https?://[^/%s]") or u:match("^ldaps?://") end },
  ocsp = { "an http(s):// URL", function(u) return u:match("^https?://[^/%s]") end },
}
-- profiles.check_urls(kind, list, name) -> true | nil, "name: 'u' is not ...": kind "crl" or "ocsp";
-- name is what the caller calls the list (--crl-url, crl_urls)
function M.check_urls(kind, list, name)
  if list == nil then return true end
  local k = URL_KINDS[kind]
  if type(list) ~= "table" then return nil, ("%s: a list of URLs expected, got %s"):format(name, type(list)) end
  for _, u in ipairs(list) do
    -- a control character or a blank is no URL: it would go into the certificate as it is
    if type(u) ~= "string" or u:find("[%c%s]") or not k[2](u) then
      return nil, ("%s: '%s' is not %s"):format(name, require("certbench.ui").escape(tostring(u)), k[1])
    end
  end
  return true
end

return M
