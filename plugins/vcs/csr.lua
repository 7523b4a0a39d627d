-- vcs/csr.lua: a private key and a request for each certificate of a plan (vcs/plan.lua), as
-- the appliance wants them: the key unencrypted (it refuses a password) and mode 0600, the
-- request with the server and client authentication EKU (mutual TLS in "TLS verify mode"),
-- signed with SHA-256, in PEM and in DER (certreq on a Microsoft CA takes either).
--
--   csr.make{ plan = plan, out_dir =, key = "rsa:2048" | "rsa:4096" | "ec:P-256",
--             subject = "/C=NO/L=Oslo/O=net2/OU=ast" (the fields before CN), profile = name,
--             key_format = "pkcs1" | "pkcs8", force = bool }
--     -> { out_dir =, key =, profile =, certificates = { { cn =, san =, subject =, dir =,
--          privkey =, request_pem =, request_der =, for_peers = } } } | nil, err[, code]
--   One certificate: the files go to out_dir itself; several: to out_dir/<CN>/ each.
--   Every file is written or none (certbench.outputs); an existing file needs force.
--   csr.profile(name) -> profile table (key_usage, eku) | nil, err: from the ca plugin's list
--   (built-in and site profiles, this plugin's vcs-server among them) when it is there.
local fs = require "certbench.fs"
local pkey = require "certbench.pkey"
local name = require "certbench.name"
local csrmod = require "certbench.csr"
local outputs = require "certbench.outputs"

local M = {}

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

-- subject(prefix, cn) -> name | nil, err: the prefix's fields in order, then CN
function M.subject(prefix, cn)
  local entries = {}
  if prefix and prefix ~= "" and prefix ~= "/" then
    local n, err = name.parse(prefix)
    if not n then return nil, "--subject: " .. err:gsub("^name%.parse: ", "") end
    local last_rdn
    for _, e in ipairs(n:list()) do
      if e.name == "CN" then
        return nil, ("--subject: '%s' has a CN; the CN comes from the plan (%s)"):format(prefix, cn)
      end
      entries[#entries + 1] = { e.oid, e.value, multi = (e.rdn == last_rdn) or nil }
      last_rdn = e.rdn
    end
  end
  entries[#entries + 1] = { "CN", cn }
  local n, err = name.new(entries)
  if not n then return nil, "--subject: " .. tostring(err) end
  return n
end

function M.make(o)
  local plan = o.plan
  if not o.out_dir then return nil, "vcs csr: --out-dir is required", 2 end
  local spec = M.KEYS[o.key or "rsa:2048"]
  if not spec then
    return nil, ("vcs csr: --key '%s': use rsa:2048, rsa:4096 or ec:P-256"):format(tostring(o.key)), 2
  end
  local kf = o.key_format or "pkcs1"
  if kf ~= "pkcs1" and kf ~= "pkcs8" then return nil, "vcs csr: --key-format is pkcs1 or pkcs8", 2 end
  local profile, perr = M.profile(o.profile)
  if not profile then return nil, "vcs csr: " .. perr, 2 end
  -- every subject first: a bad --subject writes nothing and generates no key
  local subjects = {}
  for i, c in ipairs(plan.certificates) do
    local s, err = M.subject(o.subject, c.cn)
    if not s then return nil, "vcs csr: " .. err, 2 end
    subjects[i] = s
  end
  if fs.exists(o.out_dir) and not fs.isdir(o.out_dir) then
    return nil, o.out_dir .. ": exists and is not a folder"
  end
  local several = #plan.certificates > 1
  local out = outputs.new { force = o.force }
  local res = { out_dir = o.out_dir, key = spec, profile = profile.name or "vcs-server",
                model = plan.model, certificates = {} }
  local dirs = { o.out_dir }
  for i, c in ipairs(plan.certificates) do
    local dir = several and fs.join(o.out_dir, c.cn) or o.out_dir
    if several then dirs[#dirs + 1] = dir end
    local key = pkey.generate(spec)
    local san = {}
    for _, n in ipairs(c.san) do san[#san + 1] = "DNS:" .. n end
    local req, err = csrmod.new {
      subject = subjects[i], key = key, digest = "sha256",
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

return M
