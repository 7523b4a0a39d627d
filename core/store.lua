-- certbench.store: a trust store (CA certificates, CRLs, untrusted intermediates) and chain
-- verification, on BoringSSL's X509_STORE.
--
--   store.new{ cas = {cert,...}, crls = {crl,...}, untrusted = {cert,...} } -> store | nil, err
--   store.load_file(path[, opts]) -> store | nil, err
--       every certificate of the file is a trust anchor, every CRL is added (path: a file, "-"
--       or a URL, in any form certbench.input reads: PEM, DER, PKCS#7 .p7b, ZIP, tar...);
--       opts are new's (cas, crls, untrusted) to add more
--   s:add_ca(cert), s:add_crl(crl), s:add_untrusted(cert)     -> true | nil, err
--   s:add_file(path)       -> ncerts, ncrls | nil, err  (certificates become trust anchors)
--   s:count()              -> { cas = n, crls = n, untrusted = n };  s:close() (also <close>)
--   s:verify(cert[, opts]) -> chain (leaf first) | nil, err, { code, reason, text, depth, cert }
--     opts: untrusted = {cert,...}  intermediates for this call (added to the store's own)
--           crls = {crl,...}        CRLs for this call
--           purpose = "sslserver"|"sslclient"|"any"|"smimesign"|... (store.purposes())
--           host = "vcs.example.com", ip = "192.0.2.1", email = "a@example.com"
--           time = epoch seconds (default: now)
--           crl_check = false|"leaf"|"all"   a missing CRL is then an error (unable_to_get_crl)
--           policies = {oid or name,...}, policy_check, explicit_policy,
--           inhibit_policy_mapping, inhibit_any_policy (booleans: RFC 5280 initial inputs)
--           partial_chain (an untrusted chain ending at any certificate of the store is enough)
--           max_depth = n (intermediates allowed between leaf and anchor, as openssl's
--             -verify_depth; a longer chain is cert_chain_too_long)
--           extended_crl, use_deltas (default true: indirect CRLs, CRLs partitioned by reason,
--             delta CRLs; PKITS 4.14/4.15 need them), check_ss_signature (default false)
--           profile = "openssl" (default) | "strict": "openssl" accepts what OpenSSL 3 accepts
--             (what appliances do), with RFC 5280's validity (notAfter's own second is valid)
--             and iPAddress name constraints; "strict" also refuses what RFC 5280's MUSTs and
--             the CA/B Forum baseline requirements forbid (certbench.lint's "error" rules, on
--             each certificate of the path in its role; the CA/B Forum rules only with
--             purpose = "sslserver")
--           ekus = {"serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.17", ...}: names or OIDs,
--             every one listed in the leaf's extendedKeyUsage (a leaf without one allows all)
--           key_usage = {"digitalSignature", ...}: every one asserted in the leaf's keyUsage
--             (a leaf without one allows all)
--   store.reasons[code] -> short reason name; store.error_text(code) -> BoringSSL's text
--   store.find_issuer(obj, pool[, opts]) -> cert | nil, why, code
--     the certificate of pool (a list) that issued obj (a certificate or a CRL): its subject is
--     obj's issuer, its SKI is obj's AKI (when both have one), its key verifies obj's
--     signature, and for a CRL it may sign CRLs (keyUsage with cRLSign, or none). A CA
--     certificate is preferred to another that also fits; a certificate is never its own issuer
--     (a copy of it in the pool is skipped). opts.noun ("trusted CA"), opts.among ("the
--     trusted CAs") word the reasons; code = "untrusted" (no certificate of that name or key
--     identifier) | "signature" (none verifies).
--   store.can_sign_crls(cert) -> boolean (keyUsage cRLSign, or no keyUsage)
--   An options key a function does not know raises, naming it (store.new, load_file,
--   find_issuer, s:verify).
--
-- A failure of a profile rule has the same shape: info.rule names the rule ("RFC 5280 4.2.1.1"),
-- info.text is the rule and what it says ("RFC 5280 4.2.1.1: authorityKeyIdentifier MUST NOT be
-- critical"), code 50 (X509_V_ERR_APPLICATION_VERIFICATION) and reason "strict_profile"; an
-- ekus/key_usage failure is invalid_purpose, an unknown critical extension OpenSSL refuses
-- (the trust anchor's too) unhandled_critical_extension. When BoringSSL itself refuses a
-- critical extension, the strict profile keeps its code and reason and names the rule in
-- info.rule and info.text ("RFC 5280 4.2.1.1: authorityKeyIdentifier MUST NOT be critical").
--
-- err.reason is the X509_V_ERR_* name in lower case ("cert_has_expired",
-- "unable_to_get_issuer_cert_locally", "hostname_mismatch", "unable_to_get_crl"), except that
-- a revoked certificate is "certificate_revoked".
local c = require "_certbench.store"
local options = require "certbench.options"
local fs = require "certbench.fs"
local lint = require "certbench.lint"

local M = {}

local methods = c.methods

M.reasons = {
  [1] = "unspecified",
  [2] = "unable_to_get_issuer_cert",
  [3] = "unable_to_get_crl",
  [4] = "unable_to_decrypt_cert_signature",
  [5] = "unable_to_decrypt_crl_signature",
  [6] = "unable_to_decode_issuer_public_key",
  [7] = "cert_signature_failure",
  [8] = "crl_signature_failure",
  [9] = "cert_not_yet_valid",
  [10] = "cert_has_expired",
  [11] = "crl_not_yet_valid",
  [12] = "crl_has_expired",
  [13] = "error_in_cert_not_before_field",
  [14] = "error_in_cert_not_after_field",
  [15] = "error_in_crl_last_update_field",
  [16] = "error_in_crl_next_update_field",
  [17] = "out_of_mem",
  [18] = "depth_zero_self_signed_cert",
  [19] = "self_signed_cert_in_chain",
  [20] = "unable_to_get_issuer_cert_locally",
  [21] = "unable_to_verify_leaf_signature",
  [22] = "cert_chain_too_long",
  [23] = "certificate_revoked",
  [24] = "invalid_ca",
  [25] = "path_length_exceeded",
  [26] = "invalid_purpose",
  [27] = "cert_untrusted",
  [28] = "cert_rejected",
  [29] = "subject_issuer_mismatch",
  [30] = "akid_skid_mismatch",
  [31] = "akid_issuer_serial_mismatch",
  [32] = "keyusage_no_certsign",
  [33] = "unable_to_get_crl_issuer",
  [34] = "unhandled_critical_extension",
  [35] = "keyusage_no_crl_sign",
  [36] = "unhandled_critical_crl_extension",
  [37] = "invalid_non_ca",
  [38] = "proxy_path_length_exceeded",
  [39] = "keyusage_no_digital_signature",
  [40] = "proxy_certificates_not_allowed",
  [41] = "invalid_extension",
  [42] = "invalid_policy_extension",
  [43] = "no_explicit_policy",
  [44] = "different_crl_scope",
  [45] = "unsupported_extension_feature",
  [46] = "unnested_resource",
  [47] = "permitted_violation",
  [48] = "excluded_violation",
  [49] = "subtree_minmax",
  [50] = "application_verification",
  [51] = "unsupported_constraint_type",
  [52] = "unsupported_constraint_syntax",
  [53] = "unsupported_name_syntax",
  [54] = "crl_path_validation_error",
  [56] = "suite_b_invalid_version",
  [57] = "suite_b_invalid_algorithm",
  [58] = "suite_b_invalid_curve",
  [59] = "suite_b_invalid_signature_algorithm",
  [60] = "suite_b_los_not_allowed",
  [61] = "suite_b_cannot_sign_p_384_with_p_256",
  [62] = "hostname_mismatch",
  [63] = "email_mismatch",
  [64] = "ip_address_mismatch",
  [65] = "invalid_call",
  [66] = "store_lookup",
  [67] = "name_constraints_without_sans",
}

M.error_text = c.error_text

-- store.purposes() -> { sname = description }
M.purposes = c.purposes
local purposes = c.purposes()

local function each(list, what, fn)
  if list == nil then return true end
  if type(list) ~= "table" then error(what .. " must be a list, not " .. type(list), 3) end
  for i = 1, #list do
    local ok, err = fn(list[i])
    if not ok then return nil, err end
  end
  return true
end

local function add_all(s, o, fn)
  if o == nil then return true end
  if type(o) ~= "table" then error("store options must be a table, not " .. type(o), 3) end
  options.check(o, { "cas", "crls", "untrusted" }, fn, 4)
  local ok, err = each(o.cas, "cas", function(x) return s:add_ca(x) end)
  if ok then ok, err = each(o.crls, "crls", function(x) return s:add_crl(x) end) end
  if ok then ok, err = each(o.untrusted, "untrusted", function(x) return s:add_untrusted(x) end) end
  return ok, err
end

function M.new(o)
  local s = c.new()
  local ok, err = add_all(s, o, "store.new")
  if not ok then
    s:close()
    return nil, err
  end
  return s
end

-- certs_crls(r, what) -> { certs }, { crls } | nil, err: the certificates and CRLs of what
-- certbench.input read; a member it does not understand fails the whole
local function certs_crls(r, what)
  local input = require "certbench.input"
  if #r.unknown > 0 then
    local u = r.unknown[1]
    if #r.objects == 0 and (u.code == "empty" or u.code == "not_pki") then
      return nil, ("%s: no certificate or CRL found (%s)"):format(what, u.reason)
    end
    return nil, (input.problem(r))
  end
  local certs, cerr = input.all(r, "certificate")
  if not certs then return nil, cerr end
  local crls, lerr = input.all(r, "crl")
  if not crls then return nil, lerr end
  if #certs == 0 and #crls == 0 then
    return nil, ("%s: no certificate or CRL found (%s)"):format(what, r.summary)
  end
  return certs, crls
end

-- parse_bundle(data, what) -> { certs }, { crls } | nil, err: every certificate and CRL the
-- data holds (PEM bundles with keys and text between the blocks, DER, PKCS#7, ZIP, tar...)
local function parse_bundle(data, what)
  local r, err = require("certbench.input").bytes(data, what)
  if not r then return nil, err end
  return certs_crls(r, what)
end
M._parse_bundle = parse_bundle

function M.can_sign_crls(cert)
  local ku = cert:key_usage()
  if not ku or #ku == 0 then return true end
  for _, u in ipairs(ku) do if u == "cRLSign" then return true end end
  return false
end

function M.find_issuer(obj, pool, opts)
  options.check(opts, { "noun", "among" }, "store.find_issuer")
  local noun = opts and opts.noun or "certificate"
  local among = opts and opts.among or "the certificates given"
  local mt = getmetatable(obj)
  local is_crl = mt ~= nil and mt.__name == "certbench.crl"
  local name, aki = obj:issuer(), obj:aki()
  local named, keyed = 0, 0
  local best, why
  for _, ca in ipairs(pool) do
    if (is_crl or not ca:equals(obj)) and ca:subject():equals(name) then
      named = named + 1
      local ski = ca:ski()
      if aki == nil or ski == nil or ski == aki then
        keyed = keyed + 1
        if is_crl and not M.can_sign_crls(ca) then
          why = why or ("the %s %s may not sign CRLs (keyUsage without cRLSign)"):format(noun, name:text())
        else
          local ok, reason
          if is_crl then ok, reason = obj:verify(ca) else ok, reason = obj:verify_signature(ca) end
          if ok then
            if is_crl or ca:is_ca() then return ca end
            best = best or ca
          else
            why = ("the signature does not verify with the %s %s (%s)"):format(noun, name:text(), tostring(reason))
          end
        end
      end
    end
  end
  if best then return best end
  if named == 0 then
    return nil, ("issuer %s is not among %s"):format(name:text(), among), "untrusted"
  end
  if keyed == 0 then
    return nil, ("no %s %s has the key %s the %s names (authority key identifier)")
      :format(noun, name:text(), aki, is_crl and "CRL" or "certificate"), "untrusted"
  end
  return nil, why, "signature"
end

function methods:add_file(path)
  if type(path) ~= "string" then error("store:add_file: path must be a string", 2) end
  -- a path, "-" or a URL, read by certbench.input, whole. A trust store needs every anchor in
  -- memory anyway: BoringSSL's X509_STORE holds each certificate parsed (about 6 KB; 4,320 CAs,
  -- a 6.6 MB bundle, took 69 MB of peak RSS, 38 MB of it the parsed certificates), and a chain
  -- is built from all of them. The mirror's CAs, which are looked at one CRL at a time, are not
  -- held so (plugins/crl/trust.lua: spooled to disk as the bundle is read a piece at a time).
  local r, err = require("certbench.input").read(path)
  if not r then return nil, err end
  local certs, crls = certs_crls(r, path)
  if not certs then return nil, crls end
  for _, x in ipairs(certs) do
    local ok, e = self:add_ca(x)
    if not ok then return nil, path .. ": " .. e end
  end
  for _, x in ipairs(crls) do
    local ok, e = self:add_crl(x)
    if not ok then return nil, path .. ": " .. e end
  end
  return #certs, #crls
end

function M.load_file(path, o)
  options.check(o, { "cas", "crls", "untrusted" }, "store.load_file")
  local s, err = M.new(o)
  if not s then return nil, err end
  local n, e = s:add_file(path)
  if not n then
    s:close()
    return nil, e
  end
  return s
end

local known = {
  untrusted = "table", crls = "table", purpose = "string", host = "string", ip = "string",
  email = "string", time = "number", crl_check = true, policies = true,
  policy_check = "boolean", explicit_policy = "boolean", inhibit_policy_mapping = "boolean",
  inhibit_any_policy = "boolean", partial_chain = "boolean", max_depth = "number",
  extended_crl = "boolean", use_deltas = "boolean", check_ss_signature = "boolean",
  profile = "string", ekus = true, key_usage = true,
}
local profiles = { openssl = true, strict = true }

local cverify = methods.verify

function methods:verify(cert, opts)
  local o = {}
  if opts ~= nil then
    if type(opts) ~= "table" then
      error("store:verify: options must be a table, not " .. type(opts), 2)
    end
    options.check(opts, known, "store:verify")
    for k, v in pairs(opts) do
      local t = known[k]
      if t ~= true and type(v) ~= t then
        error("store:verify: option '" .. k .. "' must be a " .. t .. ", not " .. type(v), 2)
      end
      o[k] = v
    end
  end
  if o.crl_check == false then
    o.crl_check = nil
  elseif o.crl_check ~= nil and o.crl_check ~= "leaf" and o.crl_check ~= "all" then
    error("store:verify: crl_check must be false, \"leaf\" or \"all\", not " ..
      tostring(o.crl_check), 2)
  end
  if type(o.policies) == "string" then
    o.policies = { o.policies }
  elseif o.policies ~= nil and type(o.policies) ~= "table" then
    error("store:verify: option 'policies' must be a list of OIDs, not " .. type(o.policies), 2)
  end
  if o.purpose and not purposes[o.purpose] then
    local names = {}
    for k in pairs(purposes) do names[#names + 1] = k end
    table.sort(names)
    error("store:verify: unknown purpose '" .. o.purpose .. "' (one of " ..
      table.concat(names, ", ") .. ")", 2)
  end
  if o.time ~= nil and math.type(o.time) ~= "integer" then
    error("store:verify: option 'time' must be an integer (epoch seconds)", 2)
  end
  if o.max_depth ~= nil and (math.type(o.max_depth) ~= "integer" or o.max_depth < 0) then
    error("store:verify: option 'max_depth' must be a non-negative integer", 2)
  end
  local profile = o.profile or "openssl"
  if not profiles[profile] then
    error("store:verify: profile must be \"openssl\" or \"strict\", not \"" .. profile .. "\"", 2)
  end
  for _, k in ipairs { "ekus", "key_usage" } do
    if o[k] ~= nil and type(o[k]) ~= "table" and type(o[k]) ~= "string" then
      error("store:verify: option '" .. k .. "' must be a list of names, not " .. type(o[k]), 2)
    end
  end
  lint.check_options(o)
  local policy = { profile = profile, purpose = o.purpose, ekus = o.ekus, key_usage = o.key_usage,
    crls = o.crls }
  o.profile, o.ekus, o.key_usage = nil, nil, nil
  local chain, err, info = cverify(self, cert, o)
  if chain then
    local ok, perr, pinfo = lint.path(chain, policy)
    if ok then return chain end
    return nil, perr, pinfo
  end
  if info then
    info.reason = M.reasons[info.code] or ("error_" .. info.code)
    -- the certificate at fault named as every command shows a name (name:text(), escaped)
    if info.cert then err = ("%s (depth %d: %s)"):format(info.text, info.depth, info.cert:subject():text()) end
  end
  if profile == "strict" and info and info.code == 34 and info.cert then
    -- BoringSSL refused a critical extension: say which rule it breaks
    local f = lint.critical_rule(info.cert)
    if f then
      info.rule, info.text = f.rule, f.rule .. ": " .. f.text
      err = err:gsub("^[^(]*", info.text .. " ", 1)
    end
  end
  return nil, err, info
end

return M
