-- crl-mirror.lua: a CRL mirror job with several sources, the way a site keeps the CRLs of its
-- CAs fresh for appliances that validate TLS peers ("automatic CRL updates", with the
-- validation the appliance does not do: a CRL is published only when a trusted CA signed it,
-- it is current and not older than the one there already).
--
-- The same file serves two ways:
--   certbench crl mirror --config scripts/crl-mirror.lua [--once]
--       a configuration: without --once it runs every day at daily_at (UTC) until SIGTERM,
--       the job to put under systemd or cron
--   certbench run scripts/crl-mirror.lua
--       one run now, a line per source, exit 1 when a source failed
--
-- Settings come from the environment so one file fits every site; the defaults show the
-- shape of a real configuration:
--   CRL_MIRROR_DIR      the mirror folder (default /var/lib/certbench/crl)
--   CRL_MIRROR_CA       files of the CA certificates that sign the CRLs, space-separated
--   CRL_MIRROR_SOURCES  distribution point URLs, space-separated (replace the list below)
--   CRL_MIRROR_TLS_CA   CA file for the HTTPS sources (default: the system store)
--   CRL_MIRROR_METRICS  a Prometheus textfile (node_exporter's textfile collector)
local env = os.getenv

local function words(s)
  if s == nil or s == "" then return nil end
  local t = {}
  for w in s:gmatch("%S+") do t[#t + 1] = w end
  return t
end

local sources = {
  -- a private root's CRL, published once a month
  { url = "http://pki.example.com/crl/root.crl", name = "root", timeout = 30 },
  -- the issuing CA of a Microsoft PKI: a DER .crl in CertEnroll, over HTTPS with its own CA
  { url = "https://certsrv.example.com/CertEnroll/corp-issuing-CA.crl", name = "corp-issuing" },
  -- a bundle of CRLs in a ZIP archive, as some vendors publish them
  { url = "http://crl.example.net/all-crls.zip", name = "vendor-bundle", max_size = 64 << 20 },
  -- an LDAP distribution point (Active Directory's CDP)
  "ldap://dc1.example.com/CN=corp-issuing-CA,CN=dc1,CN=CDP,CN=Public%20Key%20Services,CN=Services,"
    .. "CN=Configuration,DC=example,DC=com?certificateRevocationList?base?objectClass=cRLDistributionPoint",
}

local config = {
  out_dir = env("CRL_MIRROR_DIR") or "/var/lib/certbench/crl",
  ca = words(env("CRL_MIRROR_CA")) or { "/etc/certbench/crl-signers.pem" },
  sources = words(env("CRL_MIRROR_SOURCES")) or sources,
  tls_ca = env("CRL_MIRROR_TLS_CA"),
  metrics = env("CRL_MIRROR_METRICS"),
  concurrency = 4,
  daily_at = "03:30", random_delay = 600, -- a daily run, spread over ten minutes
  grace = "6h",                           -- a CRL a little past nextUpdate is still better than none
  timeout = 60,
}

-- as a configuration file (crl mirror --config) there is no `require`: hand the table over
if not require then return config end

local crl_plugin = require "certbench.plugins.crl"
local cfg, err = crl_plugin.mirror.config(config)
if not cfg then error("crl-mirror: " .. err, 0) end
local report, rerr = crl_plugin.mirror.run(cfg)
if not report then error("crl-mirror: " .. rerr, 0) end
for _, s in ipairs(report.sources) do
  local line = ("%-6s %s"):format(s.ok and "ok" or "FAILED", s.url)
  if s.error then line = line .. "\n       " .. tostring(s.error) end
  for _, c in ipairs(s.crls or {}) do
    line = line .. ("\n       %-12s %s%s"):format(tostring(c.action), tostring(c.issuer or c.member or "?"),
      c.number and (" #" .. tostring(c.number)) or "")
  end
  print(line)
end
print(("%d of %d sources ok, %d CRLs published, %d unchanged, %d rejected; mirror in %s"):format(
  report.sources_ok, report.sources_ok + report.sources_failed, report.crls_published or 0,
  report.crls_unchanged or 0, report.crls_rejected or 0, cfg.out_dir))
if not report.ok then os.exit(1, true) end
return report
