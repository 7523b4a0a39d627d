-- vcs-cluster.lua: certificates for a VCS-style cluster from a private CA, end to end.
--
--   certbench run scripts/vcs-cluster.lua [OUT-DIR] [--cluster FQDN] [--peer FQDN]...
--       [--domain SIP-DOMAIN]... [--subject /C=NO/O=net2] [--ca-key rsa:4096|ec:P-384|...]
--       [--crl-url URL]... [--ocsp-url URL]...
--
-- Defaults: OUT-DIR vcs-cluster-out, cluster cluster.example.com, peers vcs1/vcs2/vcs3.example.com.
-- What it makes in OUT-DIR (a new folder, or an empty one):
--   ca/                   the private CA (openssl ca layout; `certbench ca ...` and `openssl ca` use it)
--   secrets/ca.pass       the CA key's password, secrets/pfx.pass the PFX files' (0600 both)
--   ca.pem                the trusted CA file to upload to every peer (the root)
--   ca.crl                the CA's CRL (PEM), the one to publish at --crl-url
--   <peer>/privkey.pem    the peer's key: unencrypted (the appliance requires it), 0600
--   <peer>/request.pem|der  its request (CN = peer, SAN = peer, cluster and each --domain (the
--                         SIP/H.323 domains, as `vcs plan --domain`), both EKUs)
--   <peer>/server.pem     its certificate, from the CA with the vcs-server profile; --crl-url and
--                         --ocsp-url put the distribution point and the OCSP responder in it
--                         (as `ca issue --crl-url/--ocsp-url`)
--   <peer>/<peer>.pfx     key + certificate + CA in one PKCS#12, for tools that want one
-- and runs `vcs check` on each peer's three upload files with the CRL. Exit 1 when a check fails.
--
-- From Lua (scripts/demo.lua does this): loadfile("scripts/vcs-cluster.lua")(OUT-DIR, ...)
-- returns { out =, ca_dir =, ca_pem =, crl =, plan =, peers = { {fqdn=, dir=, key=, cert=,
-- pfx=, serial=, check=} } }; a failure raises an error naming the step.
local fs = require "certbench.fs"
local rand = require "certbench.rand"
local digest = require "certbench.digest"
local ca_plugin = require "certbench.plugins.ca"
local vcs = require "certbench.plugins.vcs"
local pfx = require "certbench.plugins.pfx"

local argv = { ... }
local opts = { peers = {}, domains = {}, crl_urls = {}, ocsp_urls = {} }
do
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local function value()
      i = i + 1
      if argv[i] == nil then error("vcs-cluster: " .. a .. " needs a value", 0) end
      return argv[i]
    end
    if a == "--cluster" then opts.cluster = value()
    elseif a == "--peer" then opts.peers[#opts.peers + 1] = value()
    elseif a == "--subject" then opts.subject = value()
    elseif a == "--ca-key" then opts.ca_key = value()
    elseif a == "--domain" then opts.domains[#opts.domains + 1] = value()
    elseif a == "--crl-url" then opts.crl_urls[#opts.crl_urls + 1] = value()
    elseif a == "--ocsp-url" then opts.ocsp_urls[#opts.ocsp_urls + 1] = value()
    elseif a:sub(1, 2) == "--" then error("vcs-cluster: unknown option " .. a, 0)
    elseif not opts.out then opts.out = a
    else error("vcs-cluster: one output folder only (" .. opts.out .. ", " .. a .. ")", 0) end
    i = i + 1
  end
end
local out = opts.out or "vcs-cluster-out"
local cluster = opts.cluster or "cluster.example.com"
local peers = #opts.peers > 0 and opts.peers or { "vcs1.example.com", "vcs2.example.com", "vcs3.example.com" }
local subject = opts.subject or "/C=NO/L=Oslo/O=net2/OU=video"

local function step(what, ok, err, ...)
  if not ok then error(("vcs-cluster: %s: %s"):format(what, tostring(err)), 0) end
  return ok, err, ...
end

local function say(fmt, ...) io.stdout:write(fmt:format(...), "\n") end

-- 1. the plan: a certificate per peer (CN = peer, SAN = peer and cluster), checked names
local plan = step("plan", vcs.plan { cluster = cluster, peers = peers, domains = opts.domains })
if fs.exists(out) and #(fs.list(out) or {}) > 0 then
  error(("vcs-cluster: %s is not empty: give a new folder"):format(out), 0)
end
step("create " .. out, fs.mkdir(out, { parents = true }))

-- 2. secrets: random passwords, kept in files only this user reads
local secrets = fs.join(out, "secrets")
step("create " .. secrets, fs.mkdir(secrets, { mode = 448 --[[0700]] }))
local function new_secret(name)
  local path = fs.join(secrets, name)
  step("write " .. path, fs.write_key(path, digest.hex(rand.bytes(18)):lower() .. "\n"))
  return "file:" .. path
end
local ca_pass, pfx_pass = new_secret("ca.pass"), new_secret("pfx.pass")

-- 3. the private CA
local ca_dir = fs.join(out, "ca")
local ca = step("ca init", ca_plugin.init(ca_dir, {
  subject = subject .. "/CN=" .. cluster .. " Root CA", key = opts.ca_key or "rsa:4096", passout = ca_pass,
}))
ca:close()
ca = step("ca open", ca_plugin.open(ca_dir, { passin = ca_pass }))
local ca_pem = fs.join(out, "ca.pem")
step("write " .. ca_pem, fs.write(ca_pem, ca.cert:to_pem()))
say("CA        %s (%s, key encrypted with secrets/ca.pass)", ca.cert:subject():text(), ca_dir)

-- 4. a key and a request per peer, then its certificate; the profile is the vcs-server one,
-- with the CRL distribution points and OCSP responders there are to publish
local function urls(list) return #list > 0 and list or nil end
local made = step("vcs csr", vcs.csr { plan = plan, out_dir = out, subject = subject })
local result = { out = out, ca_dir = ca_dir, ca_pem = ca_pem, plan = plan, peers = {} }
for _, c in ipairs(made.certificates) do
  local req = step("read " .. c.request_pem, fs.read(c.request_pem))
  local cert, details = ca:issue { csr = req, profile = "vcs-server", crl_urls = urls(opts.crl_urls),
                                   ocsp_urls = urls(opts.ocsp_urls) }
  step("ca issue for " .. c.cn, cert, details)
  local server = fs.join(c.dir, "server.pem")
  step("write " .. server, fs.write(server, cert:to_pem()))
  local pfx_file = fs.join(c.dir, c.cn .. ".pfx")
  step("pfx build for " .. c.cn, pfx.build { key = c.privkey, cert = server, chain = ca_pem, out = pfx_file,
                                             passout = pfx_pass, friendly_name = c.cn })
  result.peers[#result.peers + 1] = { fqdn = c.cn, dir = c.dir, key = c.privkey, cert = server, pfx = pfx_file,
                                      request = c.request_pem, serial = cert:serial() }
  say("peer      %s: serial %s, %s", c.cn, cert:serial(), c.dir)
end

-- 5. the CRL (none revoked yet), published with the CA's certificates as the appliance reads it
local crl, info = ca:gencrl { days = 30 }
step("ca gencrl", crl, info)
result.crl = fs.join(out, "ca.crl")
step("write " .. result.crl, fs.write(result.crl, crl:to_pem()))
ca:close()
say("CRL       #%s, %d revoked, next update %s: %s", tostring(info.number), info.revoked,
  require("certbench.ui").time(info.next_update), result.crl)

-- 6. every peer's upload files checked as the appliance will take them
local failed = 0
for _, p in ipairs(result.peers) do
  local res = vcs.check { key = p.key, cert = p.cert, ca = ca_pem, crls = { result.crl },
                          plan = step("plan", vcs.plan { fqdn = p.fqdn, cluster = cluster, peers = peers,
                                                                domains = opts.domains }) }
  p.check = res
  say("check     %s: %d passed, %d warnings, %d failed", p.fqdn, res.counts.pass, res.counts.warn, res.counts.fail)
  for _, c in ipairs(res.checks) do
    if c.status ~= "pass" then say("          %s %s: %s", c.status:upper(), c.title, c.reason) end
  end
  if not res.ready then failed = failed + 1 end
end
if failed > 0 then error(("vcs-cluster: %d peer%s not ready to upload"):format(failed, failed == 1 and "" or "s"), 0) end
say("ready     upload <peer>/privkey.pem, <peer>/server.pem and ca.pem to each peer (or <peer>/<peer>.pfx where a PFX is wanted)")
return result
