-- The `vcs` plugin: certificates for a video-conferencing server or cluster (Cisco VCS-style),
-- made right the first time and checked before they are uploaded.
--
--   certbench vcs plan  --fqdn F | --cluster C --peer P... [--mode per-peer|shared] [--san-fqdn]
--                       [--domain SIP-DOMAIN]...
--   certbench vcs csr   (the plan's options) --out-dir DIR [--key rsa:2048|rsa:4096|ec:P-256]
--                       [--subject /C=NO/L=Oslo/O=net2/OU=ast] [--key-format pkcs1|pkcs8] [--force]
--                       [--digest sha256|sha384|sha512] [--attr challengePassword=X|unstructuredName=X]...
--   certbench vcs selfsigned --fqdn F [--san-fqdn] [--key rsa:2048|rsa:4096|ec:P-256] [--days N]
--                       [--subject /C=NO/O=net2] --out-dir DIR [--force]
--   certbench vcs cafile INPUT... --out ca.pem [--fetch-aia] [--passin P] [--allow-incomplete] [--force]
--   certbench vcs check --key K --cert C --ca CA.pem [plan options] [--crl FILE...] [--no-mutual-tls]
--   certbench vcs tls-check HOST[:PORT] --ca CA.pem [--peer-address NAME] [--cert C --key K]
--                       [--crl FILE...] [--fetch] [--ocsp] [--fallback revoked|not-revoked]
--                       [--save-chain FILE] [--timeout S]
--
-- Lua API:
--   local vcs = require "certbench.plugins.vcs"
--   vcs.plan{ fqdn =, cluster =, peers = {...}, mode =, san_fqdn =, domains = {...} } -> plan | nil, err
--   vcs.csr{ plan =, out_dir =, key =, subject =, key_format =, profile =, force = } -> result | nil, err
--   vcs.selfsigned{ plan =, out_dir =, key =, subject =, days =, key_format =, force = } -> result | nil, err
--   vcs.cafile{ inputs = {...}, out =, passin =, fetch_aia =, allow_incomplete =, force = } -> result | nil, err, code
--   vcs.check{ key =, cert =, ca =, crls = {...}, plan =, mutual_tls =, warn_days =, time = } -> result
--     (result.ready: no check failed; `vcs check` exits 0 then, 3 otherwise)
--   vcs.tls_check{ target =, ca =, peer_address =, cert =, key =, crls =, ocsp =, timeout = }
--     -> result (result.ok: no check failed) | nil, err, code (1: no connection, 2: bad options)
--   vcs.fqdn(name) -> normalized | nil, why
-- A profile for `certbench ca issue --profile vcs-server` comes with it (vcs.profiles).
local lazy = require("certbench").lazy
local ui = require "certbench.ui"
local options = require "certbench.options"
local planmod = lazy "certbench.plugins.vcs.plan"
local csrmod = lazy "certbench.plugins.vcs.csr"
local checkmod = lazy "certbench.plugins.vcs.check"
local cafilemod = lazy "certbench.plugins.vcs.cafile"
-- certbench.tls is a core module of its own (its C part in package.preload); without it
-- there is no tls-check
local has_tls = package.preload["_certbench.tls"] ~= nil
local tlsmod = lazy "certbench.plugins.vcs.tls"
local esc = ui.escape
-- a name a result holds in the /-form (the subject of a request it wrote) as people see names
local function name_text(s) return require("certbench.name").text_of(s) end

local function forward(mod, fn) return function(...) return mod[fn](...) end end

-- the profile both `vcs csr` and `ca issue --profile vcs-server` use (here, not in vcs/csr.lua,
-- so that collecting profiles loads no more than this file)
local VCS_SERVER = {
  summary = "VCS/SIP server and client (mutual TLS): serverAuth, clientAuth, digitalSignature, keyEncipherment",
  key_usage = { "digitalSignature", "keyEncipherment" },
  eku = { "serverAuth", "clientAuth" },
  days = 730,
  copy_extensions = { "subjectAltName" },
}

local M = {
  name = "vcs", version = "1.0",
  summary = "VCS/SIP server certificates: names by deployment model, key + CSR, upload readiness check, TLS check of a peer",
  plan = forward(planmod, "make"), fqdn = forward(planmod, "fqdn"), csr = forward(csrmod, "make"),
  selfsigned = forward(csrmod, "selfsigned"), cafile = forward(cafilemod, "build"),
  check = forward(checkmod, "run"), tls_check = has_tls and forward(tlsmod, "run") or nil,
  profiles = { ["vcs-server"] = VCS_SERVER },
}

local function plan_options(p)
  p:option("--fqdn", "this server's FQDN (standalone), or the one peer of a cluster to do")
  p:option("--cluster", "the cluster's FQDN (clustered models)")
  p:option("--peer", "a peer's FQDN (repeat for each peer)"):count("*")
  p:option("--mode", "a cluster's model: per-peer (a certificate per peer, the default) or shared (one for all)")
    :choices { "per-peer", "shared" }
  p:flag("--san-fqdn", "standalone: put the FQDN in the SAN too (the guide leaves it empty; browsers want it)")
  p:option("--domain", "a SIP or H.323 domain the server answers for, added to the SAN of every certificate (repeat)")
    :count("*")
end

local function plan_from(args)
  local p, err = planmod.make { fqdn = args.fqdn, cluster = args.cluster, peers = args.peer,
                                mode = args.mode, san_fqdn = args.san_fqdn, domains = args.domain }
  if not p then return nil, "vcs: " .. err, 2 end
  return p
end

local function plan_result(p)
  local certs = {}
  for i, c in ipairs(p.certificates) do
    certs[i] = { cn = c.cn, san = ui.array(c.san), for_peers = ui.array(c.for_peers) }
  end
  return { model = p.model, fqdn = p.fqdn, cluster = p.cluster, peers = ui.array(p.peers), domains = ui.array(p.domains or {}),
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

-- say_check: one check as "STATUS  title  reason", the titles in a column of 24; a longer title
-- (a CRL's "CRL of <issuer>") keeps two spaces before its reason, so it never reads as part of
-- it, and the width counts characters, not bytes (an issuer named in UTF-8)
-- the one line --quiet keeps of a failed verdict: the first failed check, and how many more
local function first_failure(r)
  local n, first = 0, nil
  for _, c in ipairs(r.checks or {}) do
    if c.status == "fail" then
      n = n + 1
      first = first or (tostring(c.title) .. ": " .. tostring(c.reason))
    end
  end
  if not first then return nil end
  return first .. (n > 1 and (" (and %d more failed)"):format(n - 1) or "")
end

local function say_check(ctx, c)
  local title = esc(c.title)
  local width = utf8.len(title) or #title
  ctx.ui.say("%s  %s%s%s", STATUS[c.status], title, (" "):rep(math.max(0, 24 - width)), (width >= 24 and "  " or " ") .. esc(c.reason))
end

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
      p:option("--subject", "the subject in order, as /C=NO/L=Oslo/O=net2/OU=ast/CN=<the plan's>/emailAddress=x@y "
        .. "(without CN: it goes after the other fields, before a trailing emailAddress)")
      p:option("--key-format", "pkcs1 (default: BEGIN RSA/EC PRIVATE KEY) or pkcs8 (BEGIN PRIVATE KEY)")
        :choices { "pkcs1", "pkcs8" }
      p:option("--profile", "the key usages of this ca profile (default vcs-server)")
      p:option("--digest", "the request's signature digest: sha256 (default), sha384, sha512")
        :choices { "sha256", "sha384", "sha512" }
      p:option("--attr", "a request attribute: challengePassword=TEXT (Microsoft CAs), unstructuredName=TEXT (repeat)")
        :count("*")
      p:flag("--force", "replace existing files")
    end,
    run = function(args)
      local p, err, code = plan_from(args)
      if not p then return nil, err, code end
      local r, cerr, ccode = csrmod.make { plan = p, out_dir = args.out_dir, key = args.key, subject = args.subject,
                                           key_format = args.key_format, profile = args.profile, force = args.force,
                                           digest = args.digest, attrs = args.attr }
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
        ctx.ui.say("  %s", name_text(c.subject))
        ctx.ui.say("    SAN %s", #c.san > 0 and ("DNS:" .. table.concat(c.san, ", DNS:")) or "(empty)")
        ctx.ui.say("    %s (0600, unencrypted), %s, %s", c.privkey, c.request_pem, c.request_der)
      end
      for _, n in ipairs(r.notes) do ctx.ui.say("note: %s", n) end
    end,
  },

  selfsigned = {
    summary = "a self-signed server certificate for a test deployment: privkey.pem (0600) and server.pem",
    description = "The guide's \"Creating self-signed certificates using OpenSSL\" (genrsa 2048, req -x509), "
      .. "made for the appliance: privkey.pem unencrypted (mode 0600) and server.pem with CA:FALSE, "
      .. "serverAuth and clientAuth, the FQDN (and the plan's names) in the SAN, SHA-256. Upload "
      .. "server.pem as the server certificate and also as the trusted CA file of the peers that must "
      .. "trust it; `vcs check --ca server.pem` accepts it with a warning. Not for production.",
    options = function(p)
      plan_options(p)
      p:option("--out-dir", "where to write privkey.pem and server.pem"):count(1)
      p:option("--key", "rsa:2048 (default, as the guide), rsa:4096 or ec:P-256"):choices { "rsa:2048", "rsa:4096", "ec:P-256" }
      p:option("--days", "validity in days (365)")
      p:option("--subject", "the subject before the CN, as /C=NO/L=Oslo/O=net2/OU=ast")
      p:option("--key-format", "pkcs1 (default: BEGIN RSA/EC PRIVATE KEY) or pkcs8 (BEGIN PRIVATE KEY)")
        :choices { "pkcs1", "pkcs8" }
      p:flag("--force", "replace existing files")
    end,
    run = function(args)
      local p, err, code = plan_from(args)
      if not p then return nil, err, code end
      local days
      if args.days then
        days = math.tointeger(tonumber(args.days))
        if not days or days <= 0 then return nil, "vcs selfsigned: --days must be a positive whole number", 2 end
      end
      local r, serr, scode = csrmod.selfsigned { plan = p, out_dir = args.out_dir, key = args.key, subject = args.subject,
                                                 days = days, key_format = args.key_format, force = args.force }
      if not r then return nil, serr, scode end
      r.san = ui.array(r.san)
      r.not_after = ui.time(r.not_after)
      return r
    end,
    text = function(r, ctx)
      ctx.ui.say("self-signed %s, %s key, until %s", name_text(r.subject), r.key, r.not_after)
      ctx.ui.say("  SAN DNS:%s", table.concat(r.san, ", DNS:"))
      ctx.ui.say("  %s (0600, unencrypted), %s", r.privkey, r.cert)
      ctx.ui.say("note: self-signed: for test deployments; the peers trust it by taking %s as their CA file", r.cert)
    end,
  },

  cafile = {
    summary = "the trusted CA file: CA certificates only, ordered up to the root, from PFX, p7b, PEM, DER or URLs",
    description = "The guide's \"Loading a trusted CA certificate\": one PEM file with the chain from the "
      .. "server certificate's issuer up to the self-signed root. Inputs are files (PFX, .p7b/.p7c, PEM bundles, "
      .. "DER .cer) or http(s) URLs; a server certificate among them is left out (its chain starts there), "
      .. "each CA is written once (an expired copy of a CA that is there valid is left out), issuer after "
      .. "subject up to the root. An issuer in no input is downloaded from the caIssuers URL of the "
      .. "certificate's AIA with --fetch-aia; a chain that still ends short of a root is an error naming the "
      .. "missing issuer (nothing written) unless --allow-incomplete.",
    options = function(p)
      p:argument("inputs", "files or http(s) URLs holding the certificates"):args("+")
      p:option("--out", "the CA file to write"):count(1)
      p:flag("--fetch-aia", "download missing issuers from the AIA caIssuers URLs of the certificates")
      p:option("--passin", "the password of a PFX input: pass:, env:, file:, fd:, stdin")
      p:flag("--allow-incomplete", "write the file even when a chain does not reach a self-signed root")
      p:option("--timeout", ("seconds for each download (default %d)"):format(require("certbench.downloads").check_timeout)):convert(options.seconds("--timeout"))
      p:flag("--force", "replace an existing file")
    end,
    run = function(args)
      local timeout = args.timeout
      local r, err, code = cafilemod.build { inputs = args.inputs, out = args.out, passin = args.passin,
        fetch_aia = args.fetch_aia, allow_incomplete = args.allow_incomplete, force = args.force, timeout = timeout }
      if not r then return nil, err, code end
      r.certificates = ui.array(r.certificates)
      r.removed = ui.array(r.removed)
      r.fetched = ui.array(r.fetched)
      r.missing = ui.array(r.missing)
      r.warnings = ui.array(r.warnings)
      return r
    end,
    text = function(r, ctx)
      ctx.ui.say("%s: %d CA certificate%s, issuer after subject", r.out, #r.certificates, #r.certificates == 1 and "" or "s")
      for i, c in ipairs(r.certificates) do
        ctx.ui.say("  %d %s%s", i, esc(c.subject), c.self_signed and " (root)" or "")
        ctx.ui.say("      serial %s, until %s, from %s", esc(c.serial), esc(c.not_after), esc(c.from or "?"))
      end
      for _, f in ipairs(r.fetched) do ctx.ui.say("fetched %s from %s", esc(f.subject), esc(f.url)) end
      for _, x in ipairs(r.removed) do ctx.ui.say("left out %s (%s): %s", esc(x.subject), esc(x.from), esc(x.why)) end
      for _, m in ipairs(r.missing) do ctx.ui.say("missing: the issuer of %s (%s)", m.of, esc(m.issuer)) end
      for _, w in ipairs(r.warnings) do ctx.ui.warn("%s", w) end
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
      local r, e, c = checkmod.run { key = args.key, cert = args.cert, ca = args.ca, crls = args.crl, plan = p,
                                     mutual_tls = not args.no_mutual_tls, warn_days = wd }
      if not r then return nil, e, c end
      return r, nil, r.ready and 0 or 3

    end,
    text = function(r, ctx)
      for _, c in ipairs(r.checks) do
        say_check(ctx, c)
      end
      ctx.ui.say("%d passed, %d warning%s, %d failed: %s", r.counts.pass, r.counts.warn, r.counts.warn == 1 and "" or "s",
        r.counts.fail, r.ready and "ready to upload" or "NOT ready to upload")
    end,
    reason = first_failure,
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
      p:flag("--fetch", "download the CRLs from the certificates' distribution points (as crl check --fetch)")
      p:flag("--ocsp", "ask the OCSP responders named in the certificates")
      p:option("--fallback", "when the revocation status cannot be established: revoked or not-revoked "
        .. "(the appliance's Fallback behavior; default: a warning)"):choices { "revoked", "not-revoked" }
      p:option("--save-chain", "write the chain the peer presented to this file (PEM, in the peer's order)")
      p:flag("--force", "replace the --save-chain file")
      p:option("--timeout", "seconds for the connection and handshake (30)"):convert(options.seconds("--timeout"))
    end,
    run = function(args)
      local timeout = args.timeout
      local r, e, c = tlsmod.run { target = args.target, ca = args.ca, peer_address = args.peer_address, cert = args.cert,
                                   key = args.key, crls = args.crl, ocsp = args.ocsp, timeout = timeout, fetch = args.fetch,
                                   fallback = args.fallback, save_chain = args.save_chain, force = args.force }
      if not r then return nil, e, c end
      return r, nil, r.ok and 0 or 3
    end,
    text = function(r, ctx)
      ctx.ui.say("%s (peer address %s)%s", esc(r.target), esc(r.peer_address),
        r.protocol and (": " .. esc(r.protocol) .. ", " .. esc(r.cipher)) or "")
      for i, c in ipairs(r.chain) do
        ctx.ui.say("  %d %s", i - 1, esc(c.subject))
        ctx.ui.say("      issuer %s, serial %s, until %s%s", esc(c.issuer), esc(c.serial), esc(c.not_after), c.self_signed and ", self-signed" or "")
      end
      for _, c in ipairs(r.checks) do
        say_check(ctx, c)
      end
      if r.saved_chain then ctx.ui.say("the presented chain: %s", r.saved_chain) end
      ctx.ui.say("%d passed, %d warning%s, %d failed: %s", r.counts.pass, r.counts.warn, r.counts.warn == 1 and "" or "s",
        r.counts.fail, r.ok and "the peer passes TLS verify mode" or "TLS verify mode would refuse this peer")
    end,
    reason = first_failure,
  }
end

return M
