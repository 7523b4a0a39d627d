-- vcs/tls.lua: a TLS check of a peer as a VCS zone in "TLS verify mode" makes it: the
-- handshake (certbench.tls: BoringSSL's libssl on the event loop), the chain the peer presents,
-- its verification against the trusted CA file, the configured peer address against the
-- certificate's names, the client certificate for mutual TLS, and on request the revocation
-- of the chain (CRL files, OCSP).
--
--   tls_check.run{ target = "host[:port]" (port 5061, SIP over TLS, when left out), ca = path,
--                  peer_address = name (default: the host), cert =, key = (client certificate for
--                  mutual TLS), crls = {paths}, fetch = bool (CRLs from the distribution points),
--                  ocsp = bool, fallback = nil | "revoked" | "not-revoked" (when the status cannot be
--                  established, as `crl check --fallback` and the appliance's "Fallback behavior"),
--                  save_chain = path (the chain the peer presented, PEM, written atomically),
--                  force = bool (replace save_chain), timeout = seconds, warn_days = 30, time = epoch }
--     -> result (ok: nothing failed; `vcs tls-check` exits 0 then, 3 otherwise) | nil, err, code
--        (1: no TLS connection at all: refused, timeout, name resolution; 2: bad options)
--   result = { target =, host =, port =, peer_address =, protocol =, cipher =,
--              chain = { {subject =, issuer =, serial =, not_after =, self_signed =} ... },
--              client_cert_requested =, client_cert_sent =, verified =, ok =,
--              checks = { {id =, title =, status = "pass"|"warn"|"fail", reason =} ... }, counts = }
local tls = require "certbench.tls"
local x509 = require "certbench.x509"
local ui = require "certbench.ui"

local M = {}

M.DEFAULT_PORT = 5061

local function label(c) return c:subject():label() end

local function cert_info(c)
  return { subject = c:subject():text { exact = true }, issuer = c:issuer():text { exact = true }, serial = c:serial(),
           not_after = ui.time(c:not_after()) or "notAfter not a valid time", self_signed = c:is_self_signed() }
end

function M.run(o)
  require("certbench.options").check(o, { "target", "ca", "peer_address", "cert", "key", "crls", "ocsp",
                                          "fetch", "fallback", "save_chain", "force", "timeout",
                                          "warn_days", "time" }, "vcs.tls_check")
  local host, port = tls.split_address(o.target or "", M.DEFAULT_PORT)
  if not host then return nil, "vcs tls-check: " .. port, 2 end
  if (o.cert == nil) ~= (o.key == nil) then
    return nil, "vcs tls-check: --cert and --key go together (the client certificate and its key)", 2
  end
  local peer = o.peer_address or host
  local now = o.time or os.time()
  local res = { target = ("%s:%d"):format(host, port), host = host, port = port, peer_address = peer,
                ca = o.ca, checks = {}, counts = { pass = 0, warn = 0, fail = 0 } }
  local function add(id, title, status, reason)
    res.checks[#res.checks + 1] = { id = id, title = title, status = status, reason = reason }
    res.counts[status] = res.counts[status] + 1
  end

  local r, err, code, partial = tls.handshake { host = host, port = port, peer_name = peer, ca_file = o.ca,
                                               cert = o.cert, key = o.key, timeout = o.timeout, time = o.time }
  if not r then
    if code == "config" then return nil, "vcs tls-check: " .. err, 2 end
    if not partial or code == "connect" or code == "timeout" then
      -- the handshake's messages start with host:port already
      local about = tostring(err):sub(1, #res.target + 1) == res.target .. ":" and err or (res.target .. ": " .. err)
      return nil, "vcs tls-check: " .. about, 1
    end
    r = partial
    add("handshake", "handshake", "fail", err)
  else
    res.protocol, res.cipher = r.version, r.cipher_standard_name or r.cipher
    add("handshake", "handshake", "pass", ("%s, %s"):format(tostring(r.version), tostring(r.cipher_standard_name or r.cipher)))
  end
  res.client_cert_requested = r.client_cert_requested or false
  res.client_cert_sent = r.client_cert_sent or false
  local chain = r.chain or {}
  res.chain = {}
  for i, c in ipairs(chain) do res.chain[i] = cert_info(c) end
  res.chain = ui.array(res.chain)
  res.verified = r.verified or false

  if #chain == 0 then
    add("chain", "presented chain", "fail", "the peer presented no certificate")
  else
    local leaf = chain[1]
    local names = {}
    for _, c in ipairs(chain) do names[#names + 1] = label(c) end
    add("chain", "presented chain", "pass", ("%d certificate%s: %s"):format(#chain, #chain == 1 and "" or "s",
      table.concat(names, " <- ")))
    -- the chain on its own, apart from the name: each failure gets its own line
    local trust = tls.verify({ chain = chain }, { ca_file = o.ca, time = o.time })
    if trust.verified then
      local vnames = {}
      for _, c in ipairs(trust.verified_chain or {}) do vnames[#vnames + 1] = label(c) end
      add("verify", "trusted by the CA file", "pass", ("%s (%s)"):format(table.concat(vnames, " <- "), tostring(o.ca)))
    else
      add("verify", "trusted by the CA file", "fail", tostring(trust.verify_error or "not verified"))
    end
    r.verified_chain = r.verified_chain or trust.verified_chain
    if r.peer_name_ok then
      add("peer-address", "peer address", "pass", ("%s is a name of the certificate"):format(peer))
    else
      add("peer-address", "peer address", "fail", tostring(r.peer_name_error or ("%s does not match"):format(peer)))
    end
    -- validity: the verdict above fails an expired chain; this says how long is left
    local na, nb = leaf:not_after(), leaf:not_before()
    if not (na and nb) then
      -- a peer's certificate is taken as the handshake gave it: a validity that is no time is
      -- a failure that names the field
      add("validity", "validity", "fail", ("the peer's certificate: %s"):format(
        select(2, leaf:not_after()) or select(2, leaf:not_before())))
    else
      local status, text = require("certbench.describe").validity(leaf, now, o.warn_days or 30)
      add("validity", "validity", status, status == "fail" and ("the peer's certificate " .. text) or text)
    end
    local eku = {}
    for _, e in ipairs(leaf:eku() or {}) do eku[e] = true end
    if next(eku) == nil or (eku.serverAuth and eku.clientAuth) then
      add("eku", "extended key usage", "pass", next(eku) and "serverAuth and clientAuth" or "none (any use)")
    elseif not eku.serverAuth then
      add("eku", "extended key usage", "fail", "no serverAuth: not a TLS server certificate")
    else
      add("eku", "extended key usage", "warn", "serverAuth without clientAuth: this peer cannot authenticate "
        .. "with it when it connects out to a zone in TLS verify mode")
    end
  end

  -- the client certificate as the peer sees it: in TLS 1.3 the client finishes its handshake
  -- before the server has judged the certificate, so a handshake that passed says nothing about
  -- it; the peer checks it for clientAuth (purpose sslclient) against its CA file
  local client_problem, client_note, client_cert
  if o.cert then
    local certs = x509.load_all_file(o.cert)
    local sent = certs and certs[1]
    client_cert = sent
    if sent then
      local ekus = sent:eku() or {}
      local has = {}
      for _, e in ipairs(ekus) do has[e] = true end
      if #ekus > 0 and not has.clientAuth and not has.anyExtendedKeyUsage then
        client_problem = ("%s has no clientAuth in its extended key usage (%s): a peer in TLS verify mode refuses it "
          .. "as a client certificate; issue it with serverAuth and clientAuth (`ca issue --profile vcs-server`, "
          .. "the guide's \"Web client and server\" template)"):format(label(sent), table.concat(ekus, ", "))
      elseif o.ca then
        local v = tls.verify({ chain = certs }, { ca_file = o.ca, purpose = "sslclient", time = o.time })
        if not v.verified then
          client_note = ("as a client certificate it does not verify with %s (%s): a peer trusting only that CA file refuses it")
            :format(o.ca, tostring(v.verify_error or "not verified"))
        end
      end
    end
  end

  -- the client certificate of mutual TLS
  if r.client_cert_requested then
    if r.client_cert_sent and client_problem then
      add("client-cert", "client certificate", "fail", "requested and sent, but " .. client_problem)
    elseif r.client_cert_sent and res.checks[1].status == "pass" then
      local sent = o.cert and x509.load_file(o.cert)
      add("client-cert", "client certificate", client_note and "warn" or "pass", ("requested, and %s was sent and accepted%s"):format(
        sent and label(sent) or o.cert, client_note and ("; but " .. client_note) or ""))
    elseif r.client_cert_sent then
      add("client-cert", "client certificate", "fail", "requested and sent, but the handshake failed: see above")
    elseif res.checks[1].status == "pass" then
      add("client-cert", "client certificate", "warn", "the peer asks for a client certificate (mutual TLS) and "
        .. "accepted none; give --cert and --key to test what the peer's TLS verify mode makes of ours")
    else
      add("client-cert", "client certificate", "fail", "the peer requires a client certificate (mutual TLS, TLS "
        .. "verify mode) and none was given: --cert and --key")
    end
  elseif o.cert then
    add("client-cert", "client certificate", client_problem and "fail" or "warn", client_problem
      or "not requested: the peer does not authenticate clients (no TLS verify mode toward us)")
  end

  -- undetermined revocation: the fallback decides, as on the appliance
  local function undetermined(id, title, text)
    if o.fallback == "revoked" then
      add(id, title, "fail", text .. "; fallback: treated as revoked")
    elseif o.fallback == "not-revoked" then
      add(id, title, "pass", text .. "; fallback: treated as not revoked")
    else
      add(id, title, "warn", text .. ": the fallback behavior decides (--fallback)")
    end
  end

  -- revocation, on request
  if #chain > 0 and ((o.crls and #o.crls > 0) or o.fetch) then
    local ok_mod, checker = pcall(require, "certbench.plugins.crl.check")
    if not ok_mod then
      add("crl", "revocation (CRL)", "warn", "the crl plugin is not installed")
    else
      local crls, cerr = checker.load_crl_files(o.crls or {})
      if not crls then
        add("crl", "revocation (CRL)", "fail", cerr)
      else
        local cas = {}
        if o.ca then
          local r = require("certbench.input").read(o.ca)
          cas = r and require("certbench.input").all(r, "certificate") or {}
        end
        local cr = checker.run { certs = chain, chain = cas, crls = crls, time = o.time, fetch = o.fetch,
                                 fetch_opts = { timeout = o.timeout } }
        for _, ev in ipairs(cr.certificates) do
          if ev.role ~= "trust anchor" then
            local who = ev.role == "leaf" and "the peer's certificate" or ev.subject
            local text = ("%s: %s%s"):format(who, ev.status, ev.reason and (" (" .. ev.reason .. ")") or "")
            if ev.status == "good" then add("crl:" .. ev.position, "revocation (CRL)", "pass", text)
            elseif ev.status == "revoked" then add("crl:" .. ev.position, "revocation (CRL)", "fail", text)
            else undetermined("crl:" .. ev.position, "revocation (CRL)", text) end
          end
        end
        -- our own client certificate against the same CRLs: a peer that checks revocation (the
        -- guide's "Certificate revocation checking") refuses it although the handshake passed
        if client_cert then
          local own = checker.run { certs = { client_cert }, chain = cas, crls = crls, time = o.time }
          local ev = own.certificates and own.certificates[1]
          if ev and ev.status == "revoked" then
            add("crl:client", "revocation (CRL)", "fail", ("our client certificate %s (%s): %s: a peer that "
              .. "checks revocation refuses it; issue a new one"):format(label(client_cert), o.cert, ev.reason or "revoked"))
          end
        end
      end
    end
  end
  if #chain > 0 and o.ocsp then
    local ocsp = require "certbench.ocsp"
    local path = r.verified_chain or chain
    for i = 1, #path - 1 do
      local c, issuer = path[i], path[i + 1]
      local who = i == 1 and "the peer's certificate" or label(c)
      if #(c:ocsp_urls() or {}) == 0 then
        add("ocsp:" .. (i - 1), "revocation (OCSP)", "warn", who .. ": no OCSP responder in the certificate")
      else
        local st, oerr = ocsp.check { cert = c, issuer = issuer, timeout = o.timeout, time = o.time }
        if not st then
          undetermined("ocsp:" .. (i - 1), "revocation (OCSP)", ("%s: no answer (%s)"):format(who, oerr))
        elseif st.status == "good" then
          add("ocsp:" .. (i - 1), "revocation (OCSP)", "pass", ("%s: good (%s)"):format(who, st.url))
        elseif st.status == "revoked" then
          add("ocsp:" .. (i - 1), "revocation (OCSP)", "fail", ("%s: revoked %s%s"):format(who,
            ui.time(st.revocation_time) or "", st.reason and (" (" .. st.reason .. ")") or ""))
        else
          undetermined("ocsp:" .. (i - 1), "revocation (OCSP)", ("%s: unknown to the responder %s"):format(who, st.url))
        end
      end
    end
  end

  -- what the peer presented, as it presented it (the order and every certificate)
  if o.save_chain and #chain > 0 then
    local outputs = require "certbench.outputs"
    local pems = {}
    for _, c in ipairs(chain) do pems[#pems + 1] = c:to_pem() end
    local out = outputs.new { force = o.force }
    out:add(o.save_chain, table.concat(pems), { what = "the chain the peer presented" })
    local ok, werr = out:commit()
    if ok then
      res.saved_chain = o.save_chain
    else
      add("save-chain", "saved chain", "fail", werr)
    end
  elseif o.save_chain then
    add("save-chain", "saved chain", "fail", ("%s not written: the peer presented no certificate"):format(o.save_chain))
  end

  res.checks = ui.array(res.checks)
  res.ok = res.counts.fail == 0
  return res
end

return M
