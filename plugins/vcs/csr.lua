-- vcs/csr.lua: a private key and a request for each certificate of a plan (vcs/plan.lua), as
-- the appliance wants them: the key unencrypted (it refuses a password) and mode 0600, the
-- request with the server and client authentication EKU (mutual TLS in "TLS verify mode"),
-- signed with SHA-256, in PEM and in DER (certreq on a Microsoft CA takes either).
--
--   csr.make{ plan = plan, out_dir =, key = "rsa:2048" | "rsa:4096" | "ec:P-256",
--             subject = "/C=NO/L=Oslo/O=net2/OU=ast" (the fields in order; the CN is the plan's,
--             put where the subject has it, else before a trailing emailAddress), profile = name,
--             key_format = "pkcs1" | "pkcs8", digest = "sha256" | "sha384" | "sha512",
--             attrs = { "challengePassword=TEXT", "unstructuredName=TEXT" }, force = bool }
--     (/challengePassword= and /unstructuredName= in subject are request attributes too)
--     -> { out_dir =, key =, profile =, certificates = { { cn =, san =, subject =, dir =,
--          privkey =, request_pem =, request_der =, for_peers = } } } | nil, err[, code]
--   One certificate: the files go to out_dir itself; several: to out_dir/<CN>/ each.
--   Every file is written or none (certbench.outputs); an existing file needs force.
--   csr.selfsigned{ plan = plan (one certificate), out_dir =, key =, subject =, days = 365,
--                   key_format =, force = }
--     -> { out_dir =, key =, cn =, san =, subject =, privkey =, cert =, not_after = } | nil, err[, code]
--   The guide's "Creating self-signed certificates using OpenSSL" without its CA-shaped result:
--   privkey.pem (unencrypted, 0600) and server.pem, CA:FALSE, serverAuth+clientAuth, the FQDN
--   in the SAN (always: clients that find no SAN fall back to the CN, browsers do not), SHA-256.
--   `vcs check --ca server.pem` accepts it with a warning (test deployments only).
--   csr.profile(name) -> profile table (key_usage, eku) | nil, err: from the ca plugin's list
--   (built-in and site profiles, this plugin's vcs-server among them) when it is there.
local fs = require "certbench.fs"
local pkey = require "certbench.pkey"
local name = require "certbench.name"
local csrmod = require "certbench.csr"
local x509 = require "certbench.x509"
local outputs = require "certbench.outputs"

local M = {}

local DIGESTS = { sha256 = true, sha384 = true, sha512 = true }

M.KEYS = { ["rsa:2048"] = "rsa:2048", ["rsa:4096"] = "rsa:4096", ["ec:P-256"] = "ec:P-256",
           ["ec:p-256"] = "ec:P-256", rsa = "rsa:2048", ec = "ec:P-256" }

-- the profile both `vcs csr` and `ca issue --profile vcs-server` use (defined in init.lua)
M.VCS_SERVER = require("certbench.plugins.vcs").profiles["vcs-server"]

function M.profile(pname)
  pname = pname or "vcs-server"
  local ok, profiles = pcall(require, "certbench.plugins.ca.profiles")
  if ok then
    local p, err = profiles.get(pname)
    if p then return p end
    if pname ~= "vcs-server" then return nil, err end
  elseif pname ~= "vcs-server" then
    return nil, ("profile '%s': profiles other than vcs-server need the ca plugin"):format(pname)
  end
  return M.VCS_SERVER
end

-- key usage for the key type: keyEncipherment only where the key can encrypt (RSA)
local function key_usage_for(list, key_type)
  if not list then return nil end
  local out = {}
  for _, u in ipairs(list) do
    if key_type == "rsa" or (u ~= "keyEncipherment" and u ~= "dataEncipherment") then out[#out + 1] = u end
  end
  return #out > 0 and out or nil
end
M.key_usage_for = key_usage_for

-- PKCS#9 attributes of a request that openssl req asks for with the subject ("A challenge
-- password", "An optional company name") but writes into the request's attributes, not the DN
M.ATTRIBUTES = { ["1.2.840.113549.1.9.7"] = "challengePassword", ["1.2.840.113549.1.9.2"] = "unstructuredName" }
local ATTR_NAMES = { challengepassword = "challengePassword", unstructuredname = "unstructuredName" }

-- attrs(list) -> { {name, value}... } | nil, err: --attr NAME=VALUE (challengePassword, unstructuredName)
function M.attrs(list)
  local out = {}
  for _, a in ipairs(list or {}) do
    local k, v = tostring(a):match("^([^=]+)=(.*)$")
    local n = k and ATTR_NAMES[k:lower()]
    if not n then
      return nil, ("--attr '%s': use challengePassword=TEXT or unstructuredName=TEXT"):format(tostring(a))
    end
    out[#out + 1] = { n, v }
  end
  return out
end

-- subject(prefix, cn) -> name, attributes | nil, err: the prefix's fields in the order given,
-- the CN where the prefix has it (it must be the plan's), else after the other fields and
-- before a trailing emailAddress (openssl req's order); challengePassword and
-- unstructuredName written in the subject go to the attributes
function M.subject(prefix, cn)
  local entries, attrs, cn_at = {}, {}, nil
  if prefix and prefix ~= "" and prefix ~= "/" then
    if prefix:sub(1, 1) ~= "/" then
      -- name.parse's hint is for Lua (name.parse_rfc4514); the request keeps the order written,
      -- which RFC 4514 text reverses, so the command asks for the openssl -subj form
      return nil, ("--subject: '%s' is not in openssl's -subj form /TYPE=value/...: write it as '/%s'")
        :format(prefix, (prefix:gsub("%s*,%s*", "/")))
    end
    local n, err = name.parse(prefix)
    if not n then return nil, "--subject: " .. err:gsub("^name%.parse: ", "") end
    local last_rdn
    for _, e in ipairs(n:list()) do
      if M.ATTRIBUTES[e.oid] then
        attrs[#attrs + 1] = { M.ATTRIBUTES[e.oid], e.value }
      elseif e.name == "CN" then
        if e.value:lower():gsub("%.$", "") ~= cn or cn_at then
          return nil, ("--subject: '%s' has a CN (%s) other than the plan's: the CN comes from the plan (%s)"):format(prefix, e.value, cn)
        end
        entries[#entries + 1] = { "CN", cn }
        cn_at = #entries
      else
        entries[#entries + 1] = { e.oid, e.value, multi = (e.rdn == last_rdn) or nil }
      end
      last_rdn = e.rdn
    end
  end
  if not cn_at then
    local at = #entries + 1
    while at > 1 and entries[at - 1][1] == "1.2.840.113549.1.9.1" and not entries[at - 1].multi do at = at - 1 end
    table.insert(entries, at, { "CN", cn })
  end
  local n, err = name.new(entries)
  if not n then return nil, "--subject: " .. tostring(err) end
  return n, attrs
end

-- key_options(o, what) -> key spec, key format | nil, nil, err: --out-dir, --key, --key-format
-- as `vcs csr` and `vcs selfsigned` both take them
local function key_options(o, what)
  if not o.out_dir then return nil, nil, what .. ": --out-dir is required" end
  local spec = M.KEYS[o.key or "rsa:2048"]
  if not spec then
    return nil, nil, ("%s: --key '%s': use rsa:2048, rsa:4096 or ec:P-256"):format(what, tostring(o.key))
  end
  local kf = o.key_format or "pkcs1"
  if kf ~= "pkcs1" and kf ~= "pkcs8" then return nil, nil, what .. ": --key-format is pkcs1 or pkcs8" end
  return spec, kf
end

function M.make(o)
  local plan = o.plan
  local spec, kf, kerr = key_options(o, "vcs csr")
  if not spec then return nil, kerr, 2 end
  local profile, perr = M.profile(o.profile)
  if not profile then return nil, "vcs csr: " .. perr, 2 end
  local digest = o.digest or "sha256"
  if not DIGESTS[digest] then return nil, ("vcs csr: --digest '%s': use sha256, sha384 or sha512"):format(tostring(digest)), 2 end
  local given, aerr = M.attrs(o.attrs)
  if not given then return nil, "vcs csr: " .. aerr, 2 end
  -- every subject first: a bad --subject writes nothing and generates no key
  local subjects, attributes = {}, {}
  for i, c in ipairs(plan.certificates) do
    local s, err = M.subject(o.subject, c.cn)
    if not s then return nil, "vcs csr: " .. err, 2 end
    subjects[i] = s
    local list = {}
    for _, a in ipairs(err) do list[#list + 1] = a end
    for _, a in ipairs(given) do list[#list + 1] = a end
    attributes[i] = #list > 0 and list or nil
  end
  if fs.exists(o.out_dir) and not fs.isdir(o.out_dir) then
    return nil, o.out_dir .. ": exists and is not a folder"
  end
  local several = #plan.certificates > 1
  local out = outputs.new { force = o.force }
  local res = { out_dir = o.out_dir, key = spec, profile = profile.name or "vcs-server", digest = digest,
                model = plan.model, certificates = {} }
  local dirs = { o.out_dir }
  for i, c in ipairs(plan.certificates) do
    local dir = several and fs.join(o.out_dir, c.cn) or o.out_dir
    if several then dirs[#dirs + 1] = dir end
    local key = pkey.generate(spec)
    local san = {}
    for _, n in ipairs(c.san) do san[#san + 1] = "DNS:" .. n end
    local req, err = csrmod.new {
      subject = subjects[i], key = key, digest = digest, attributes = attributes[i],
      san = #san > 0 and san or nil,
      eku = profile.eku, key_usage = key_usage_for(profile.key_usage, key:type()),
    }
    if not req then return nil, "vcs csr: " .. c.cn .. ": " .. err end
    local kpem, kerr = key:to_pem { format = kf == "pkcs1" and "traditional" or "pkcs8" }
    if not kpem then return nil, "vcs csr: " .. kerr end
    local e = {
      cn = c.cn, san = c.san, subject = subjects[i]:oneline(), dir = dir, for_peers = c.for_peers,
      privkey = fs.join(dir, "privkey.pem"), request_pem = fs.join(dir, "request.pem"),
      request_der = fs.join(dir, "request.der"),
    }
    out:add(e.privkey, kpem, { key = true, what = "private key (unencrypted)" })
    out:add(e.request_pem, req:to_pem(), { what = "request (PEM)" })
    out:add(e.request_der, req:to_der(), { what = "request (DER)" })
    key:close()
    res.certificates[i] = e
  end
  for _, d in ipairs(dirs) do
    if not fs.isdir(d) then
      local ok, err = fs.mkdir(d, { parents = true })
      if not ok then return nil, err end
    end
  end
  local written, werr = out:commit()
  if not written then return nil, "vcs csr: " .. werr end
  return res
end

function M.selfsigned(o)
  local plan = o.plan
  local spec, kf, kerr = key_options(o, "vcs selfsigned")
  if not spec then return nil, kerr, 2 end
  if #plan.certificates ~= 1 then
    return nil, ("vcs selfsigned: the plan has %d certificates; make one at a time (--fqdn PEER with "
      .. "--cluster, or --mode shared)"):format(#plan.certificates), 2
  end
  local days = o.days or 365
  if math.type(days) ~= "integer" or days <= 0 then
    return nil, "vcs selfsigned: --days must be a positive whole number", 2
  end
  local c = plan.certificates[1]
  local subject, serr = M.subject(o.subject, c.cn)
  if not subject then return nil, "vcs selfsigned: " .. serr, 2 end
  if #serr > 0 then
    return nil, ("vcs selfsigned: --subject: %s is an attribute of a request; a certificate has none"):format(serr[1][1]), 2
  end
  if fs.exists(o.out_dir) and not fs.isdir(o.out_dir) then
    return nil, o.out_dir .. ": exists and is not a folder"
  end
  -- the CN always in the SAN: a self-signed certificate is also what browsers see on the
  -- appliance's web interface, and they match the SAN only (RFC 6125)
  local san, seen = {}, {}
  for _, n in ipairs({ c.cn, table.unpack(c.san) }) do
    if not seen[n] then seen[n] = true; san[#san + 1] = n end
  end
  local dns = {}
  for i, n in ipairs(san) do dns[i] = "DNS:" .. n end
  local out = outputs.new { force = o.force }
  local res = { out_dir = o.out_dir, key = spec, cn = c.cn, san = san, subject = subject:oneline(),
                privkey = fs.join(o.out_dir, "privkey.pem"), cert = fs.join(o.out_dir, "server.pem"), days = days }
  local key = pkey.generate(spec)
  local cert, err = x509.new {
    subject = subject, issuer_key = key, public_key = key, days = days, digest = "sha256",
    ca = false, eku = { "serverAuth", "clientAuth" }, key_usage = key_usage_for(M.VCS_SERVER.key_usage, key:type()),
    san = dns,
  }
  if not cert then key:close() return nil, "vcs selfsigned: " .. err end
  local kpem, kerr = key:to_pem { format = kf == "pkcs1" and "traditional" or "pkcs8" }
  key:close()
  if not kpem then return nil, "vcs selfsigned: " .. kerr end
  out:add(res.privkey, kpem, { key = true, what = "private key (unencrypted)" })
  out:add(res.cert, cert:to_pem(), { what = "self-signed server certificate" })
  res.not_after = cert:not_after()
  res.serial = cert:serial()
  if not fs.isdir(o.out_dir) then
    local mk, merr = fs.mkdir(o.out_dir, { parents = true })
    if not mk then return nil, merr end
  end
  local written, werr = out:commit()
  if not written then return nil, "vcs selfsigned: " .. werr end
  return res
end

return M
