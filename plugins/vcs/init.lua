-- The `vcs` plugin: certificates for a video-conferencing server or cluster (Cisco VCS-style),
-- made right the first time and checked before they are uploaded.
--
--   certbench vcs plan  --fqdn F | --cluster C --peer P... [--mode per-peer|shared] [--san-fqdn]
--   certbench vcs csr   (the plan's options) --out-dir DIR [--key rsa:2048|rsa:4096|ec:P-256]
--                       [--subject /C=NO/L=Oslo/O=net2/OU=ast] [--key-format pkcs1|pkcs8] [--force]
--   certbench vcs check --key K --cert C --ca CA.pem [plan options] [--crl FILE...] [--no-mutual-tls]
--   certbench vcs tls-check HOST[:PORT] --ca CA.pem [--peer-address NAME] [--cert C --key K]
--                       [--crl FILE...] [--ocsp] [--timeout S]
--
-- Lua API:
--   local vcs = require "certbench.plugins.vcs"
--   vcs.plan{ fqdn =, cluster =, peers = {...}, mode =, san_fqdn = } -> plan | nil, err
--   vcs.csr{ plan =, out_dir =, key =, subject =, key_format =, profile =, force = } -> result | nil, err
--   vcs.check{ key =, cert =, ca =, crls = {...}, plan =, mutual_tls =, warn_days =, time = } -> result, code
--   vcs.tls_check{ target =, ca =, peer_address =, cert =, key =, crls =, ocsp =, timeout = }
--     -> result, code | nil, err, code
--   vcs.fqdn(name) -> normalized | nil, why
-- A profile for `certbench ca issue --profile vcs-server` comes with it (vcs.profiles).
local ui = require "certbench.ui"
local planmod = require "certbench.plugins.vcs.plan"
local csrmod = require "certbench.plugins.vcs.csr"
local checkmod = require "certbench.plugins.vcs.check"
-- certbench.tls is a core module of its own; without it there is no tls-check
local has_tls, tlsmod = pcall(require, "certbench.plugins.vcs.tls")
local esc = ui.escape

local M = {
  name = "vcs", version = "1.0",
  summary = "VCS/SIP server certificates: names by deployment model, key + CSR, upload readiness check, TLS check of a peer",
  plan = planmod.make, fqdn = planmod.fqdn, csr = csrmod.make, check = checkmod.run,
  tls_check = has_tls and tlsmod.run or nil,
  profiles = { ["vcs-server"] = csrmod.VCS_SERVER },
}

local function plan_options(p)
  p:option("--fqdn", "this server's FQDN (standalone), or the one peer of a cluster to do")
  p:option("--cluster", "the cluster's FQDN (clustered models)")
  p:option("--peer", "a peer's FQDN (repeat for each peer)"):count("*")
  p:option("--mode", "a cluster's model: per-peer (a certificate per peer, the default) or shared (one for all)")
    :choices { "per-peer", "shared" }
  p:flag("--san-fqdn", "standalone: put the FQDN in the SAN too (the guide leaves it empty; browsers want it)")
end

local function plan_from(args)
  local p, err = planmod.make { fqdn = args.fqdn, cluster = args.cluster, peers = args.peer,
                                mode = args.mode, san_fqdn = args.san_fqdn }
  if not p then return nil, "vcs: " .. err, 2 end
  return p
end

local function plan_result(p)
  local certs = {}
  for i, c in ipairs(p.certificates) do
    certs[i] = { cn = c.cn, san = ui.array(c.san), for_peers = ui.array(c.for_peers) }
  end
  return { model = p.model, fqdn = p.fqdn, cluster = p.cluster, peers = ui.array(p.peers),
           certificates = ui.array(certs), notes = ui.array(p.notes) }
end

local MODEL_TEXT = {
  standalone = "standalone server: CN = its FQDN, SAN empty",
  ["per-peer"] = "cluster, a certificate per peer: CN = peer FQDN, SAN = peer FQDN and cluster FQDN",
  shared = "cluster, one certificate shared by every peer: CN = cluster FQDN, SAN = cluster and every peer FQDN",
}

local function say_plan(r, ctx)
  ctx.ui.say("model: %s", MODEL_TEXT[r.model])
  if r.cluster then ctx.ui.say("cluster %s, peers %s", r.cluster, table.concat(r.peers, ", ")) end
  for i, c in ipairs(r.certificates) do
    ctx.ui.say("certificate %d%s", i, r.model == "shared" and " (every peer)" or (" (for " .. table.concat(c.for_peers, ", ") .. ")"))
    ctx.ui.say("  CN  %s", c.cn)
    ctx.ui.say("  SAN %s", #c.san > 0 and ("DNS:" .. table.concat(c.san, ", DNS:")) or "(empty)")
  end
  for _, n in ipairs(r.notes) do ctx.ui.say("note: %s", n) end
end

local STATUS = { pass = "PASS", warn = "WARN", fail = "FAIL" }

M.commands = {
  plan = {
    summary = "the subject and SAN of each certificate, by deployment model (RFC 5922)",
    description = "standalone (--fqdn): CN = FQDN, SAN empty; per-peer (--cluster, --peer...): CN = peer, "
      .. "SAN = peer and cluster; shared (--mode shared): CN = cluster, SAN = cluster and every peer. "
      .. "IP addresses, wildcards, names that are not FQDNs and peers given twice are refused.",
    options = plan_options,
    run = function(args)
      local p, err, code = plan_from(args)
      if not p then return nil, err, code end
      return plan_result(p)
    end,
    text = say_plan,
  },

  csr = {
    summary = "a private key (unencrypted, 0600) and a request (PEM and DER) for each certificate of the plan",
    description = "Per certificate: privkey.pem (not encrypted: the appliance requires that; mode 0600), "
      .. "request.pem and request.der (certreq on a Microsoft CA), with serverAuth and clientAuth EKU, "
      .. "SHA-256. Several certificates go to OUT-DIR/<CN>/ each, one to OUT-DIR itself.",
    options = function(p)
      plan_options(p)
      p:option("--out-dir", "where to write the files"):count(1)
      p:option("--key", "rsa:2048 (default), rsa:4096 or ec:P-256"):choices { "rsa:2048", "rsa:4096", "ec:P-256" }
      p:option("--subject", "the subject before the CN, as /C=NO/L=Oslo/O=net2/OU=ast")
      p:option("--key-format", "pkcs1 (default: BEGIN RSA/EC PRIVATE KEY) or pkcs8 (BEGIN PRIVATE KEY)")
        :choices { "pkcs1", "pkcs8" }
      p:option("--profile", "the key usages of this ca profile (default vcs-server)")
      p:flag("--force", "replace existing files")
    end,
    run = function(args)
      local p, err, code = plan_from(args)
      if not p then return nil, err, code end
      local r, cerr, ccode = csrmod.make { plan = p, out_dir = args.out_dir, key = args.key, subject = args.subject,
                                           key_format = args.key_format, profile = args.profile, force = args.force }
      if not r then return nil, cerr, ccode end
      for _, c in ipairs(r.certificates) do
        c.san = ui.array(c.san)
        c.for_peers = ui.array(c.for_peers)
      end
      r.certificates = ui.array(r.certificates)
      r.notes = ui.array(p.notes)
      return r
    end,
    text = function(r, ctx)
      ctx.ui.say("%s: %d request%s, %s keys, profile %s", r.model, #r.certificates,
        #r.certificates == 1 and "" or "s", r.key, r.profile)
      for _, c in ipairs(r.certificates) do
        ctx.ui.say("  %s", c.subject)
        ctx.ui.say("    SAN %s", #c.san > 0 and ("DNS:" .. table.concat(c.san, ", DNS:")) or "(empty)")
        ctx.ui.say("    %s (0600, unencrypted), %s, %s", c.privkey, c.request_pem, c.request_der)
      end
      for _, n in ipairs(r.notes) do ctx.ui.say("note: %s", n) end
    end,
  },

  check = {
    summary = "upload readiness of a key, certificate and CA file: each check pass/warn/fail with the reason",
    description = "Exit 0 when no check fails (warnings allowed), 3 when one does. Checks: PEM format, key "
      .. "not password-protected, key matches certificate, validity (warns within 30 days of expiry), "
      .. "serverAuth+clientAuth, names by the plan, a complete chain to a self-signed root in the CA "
      .. "file with CA certificates only, RSA >= 2048 and no SHA-1 signatures, and with --crl the "
      .. "freshness of each CA's CRL and the revocation of the chain.",
    options = function(p)
      p:option("--key", "the server private key (PEM)"):count(1)
      p:option("--cert", "the server certificate (PEM)"):count(1)
      p:option("--ca", "the trusted CA file (PEM, the chain up to the root)"):count(1)
      plan_options(p)
      p:option("--crl", "a CRL file (PEM or DER) of a CA of the chain (repeat)"):count("*")
      p:option("--warn-days", "warn when the certificate expires within this many days (30)")
      p:flag("--no-mutual-tls", "no zone uses TLS verify mode: a missing clientAuth is a warning only")
    end,
    run = function(args)
      local p
      if args.fqdn or args.cluster or #args.peer > 0 or args.mode then
        local err, code
        p, err, code = plan_from(args)
        if not p then return nil, err, code end
      end
      local wd
      if args.warn_days then
        wd = math.tointeger(tonumber(args.warn_days))
        if not wd or wd < 0 then return nil, "vcs check: --warn-days must be a whole number of days", 2 end
      end
      return checkmod.run { key = args.key, cert = args.cert, ca = args.ca, crls = args.crl, plan = p,
                            mutual_tls = not args.no_mutual_tls, warn_days = wd }
    end,
    text = function(r, ctx)
      for _, c in ipairs(r.checks) do
        ctx.ui.say("%s  %-24s %s", STATUS[c.status], esc(c.title), esc(c.reason))
      end
      ctx.ui.say("%d passed, %d warning%s, %d failed: %s", r.counts.pass, r.counts.warn, r.counts.warn == 1 and "" or "s",
        r.counts.fail, r.ready and "ready to upload" or "NOT ready to upload")
    end,
  },
}

if has_tls then
  M.commands["tls-check"] = {
    summary = "a TLS handshake with a peer as TLS verify mode makes it: presented chain, CA file, peer address, client certificate",
    description = "The chain the peer presents is shown and verified against the CA file; the peer address "
      .. "(as configured on the zone: default the host) is matched against the certificate's CN/SAN; with "
      .. "--cert and --key a client certificate is offered for mutual TLS; --crl and --ocsp check the "
      .. "revocation of the chain. Exit 0 when no check fails, 3 when one does, 1 when no TLS connection "
      .. "could be made. The port defaults to 5061 (SIP over TLS).",
    options = function(p)
      p:argument("target", "HOST:PORT of the peer (an FQDN, an IPv4 address, or [IPv6]; port 5061 if left out)")
      p:option("--ca", "the trusted CA file (PEM): the CAs this side trusts"):count(1)
      p:option("--peer-address", "the zone's peer address, checked against the certificate (default: the host)")
      p:option("--cert", "a client certificate to offer (mutual TLS)")
      p:option("--key", "its private key")
      p:option("--crl", "a CRL file for the revocation of the presented chain (repeat)"):count("*")
      p:flag("--ocsp", "ask the OCSP responders named in the certificates")
      p:option("--timeout", "seconds for the connection and handshake (30)")
    end,
    run = function(args)
      local timeout
      if args.timeout then
        timeout = tonumber(args.timeout)
        if not timeout or timeout <= 0 then return nil, "vcs tls-check: --timeout must be a number of seconds", 2 end
      end
      return tlsmod.run { target = args.target, ca = args.ca, peer_address = args.peer_address, cert = args.cert,
                          key = args.key, crls = args.crl, ocsp = args.ocsp, timeout = timeout }
    end,
    text = function(r, ctx)
      ctx.ui.say("%s (peer address %s)%s", esc(r.target), esc(r.peer_address),
        r.protocol and (": " .. esc(r.protocol) .. ", " .. esc(r.cipher)) or "")
      for i, c in ipairs(r.chain) do
        ctx.ui.say("  %d %s", i - 1, esc(c.subject))
        ctx.ui.say("      issuer %s, serial %s, until %s%s", esc(c.issuer), esc(c.serial), esc(c.not_after), c.self_signed and ", self-signed" or "")
      end
      for _, c in ipairs(r.checks) do
        ctx.ui.say("%s  %-24s %s", STATUS[c.status], esc(c.title), esc(c.reason))
      end
      ctx.ui.say("%d passed, %d warning%s, %d failed: %s", r.counts.pass, r.counts.warn, r.counts.warn == 1 and "" or "s",
        r.counts.fail, r.ok and "the peer passes TLS verify mode" or "TLS verify mode would refuse this peer")
    end,
  }
end

return M
