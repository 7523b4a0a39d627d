-- crl-mirror.lua: the daily CRL job of an appliance, as a script:
--   certbench run scripts/crl-mirror.lua CONFIG.lua [CERT.pem ...]
-- One mirror run from a config file (see scripts/crl-mirror.conf.lua), then every certificate
-- given is checked against the fresh mirror, chain included (the CA file of the config as
-- the chain), so a broken mirror shows up as a failing check before it takes services down.
-- Exit 0 when every source succeeded and no certificate is revoked or undetermined; 1 when a
-- source failed; 3 when a certificate is revoked (or undetermined: the mirror lacks a CRL).
local crlp = require "certbench.plugins.crl"
local mirror = crlp.mirror

local conf = arg[1]
if not conf then
  io.stderr:write("usage: certbench run scripts/crl-mirror.lua CONFIG.lua [CERT.pem ...]\n")
  os.exit(2)
end
-- the same configuration `crl mirror --config` runs with
local cfg = assert(mirror.configure { config = conf })
local report, ok = mirror.run(cfg)
if not report then
  io.stderr:write("crl-mirror: ", tostring(ok), "\n")
  os.exit(1)
end
for _, s in ipairs(report.sources) do
  print(("%-6s %s%s"):format(s.ok and "ok" or "FAILED", s.url, s.ok and "" or (": " .. tostring(s.error))))
end
print(("%d of %d sources ok, %d CRLs published, %d unchanged, %d rejected"):format(report.sources_ok,
  report.sources_ok + report.sources_failed, report.crls_published, report.crls_unchanged, report.crls_rejected))

local code = ok and 0 or 1
for i = 2, #arg do
  local res, err = crlp.check { cert = arg[i], chain_files = cfg.ca, crl_dir = cfg.out_dir }
  if not res then
    print(("%s: %s"):format(arg[i], tostring(err)))
    code = math.max(code, 1)
  else
    print(("%s: %s"):format(arg[i], res.verdict))
    for _, ev in ipairs(res.certificates) do
      if ev.status ~= "good" and ev.status ~= "trust_anchor" then
        print(("  %s %s: %s (%s)"):format(ev.role, ev.subject, ev.status, ev.reason or ""))
      end
    end
    if res.verdict ~= "good" then code = 3 end
  end
end
os.exit(code)
