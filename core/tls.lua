-- certbench.tls: a TLS client handshake (BoringSSL's libssl on the event loop) and the verdict
-- on the certificate chain the server presented, as a VCS in "TLS verify mode" gives it.
--
--   tls.handshake{host=, port=, ...} -> result | nil, err, code, partial
--     host        where to connect: a DNS name, an IPv4 or IPv6 address
--     port        1..65535
--     peer_name   the name the certificate must carry (default: host): the configured "peer
--                 address" of a VCS zone; an IP address is checked against the IP SANs
--     sni         the server name sent (default: peer_name when it is a DNS name; false: none)
--     ca_file     the trusted CAs: a path (PEM bundle, DER), or a list of certificates;
--                 store = a certbench.store instead. Without either, the chain is shown but
--                 verified = false ("no CA given")
--     cert, key   a client certificate for mutual TLS (objects, or paths; a cert file with more
--                 certificates sends them as its chain); key_password = for an encrypted key;
--                 chain = {certs} to send after cert
--     timeout     seconds for the whole connection and handshake (30)
--     alpn        "h2" or {"h2", "http/1.1"}
--     version = "TLSv1.2"|"TLSv1.3" (only that one), or min_version / max_version (TLSv1.2 to
--                 TLSv1.3 by default; TLSv1 and TLSv1.1 can be allowed)
--     settle      seconds to wait after a TLS 1.3 handshake with a certificate request for the
--                 server's verdict on the client certificate (1; 0: do not wait): in TLS 1.3 a
--                 server refuses a client certificate only after the client has finished
--     time        verification time (epoch seconds; default now), purpose ("sslserver")
--   result: {version="TLSv1.3", cipher=, cipher_standard_name=, group=, server_signature=,
--     alpn=, chain={x509...} (as presented, leaf first), peer_address=, peer_port=,
--     client_cert_requested=bool, client_cert_sent=bool, client_ca_names={name...},
--     session_ticket=bool, settled_by="ticket"|"data"|"close"|"time"|nil,
--     verified=bool, verify_error=, verify_reason= (store reason: "unable_to_get_issuer_cert_
--     locally", "cert_has_expired", "hostname_mismatch"...), verified_chain={x509...},
--     peer_name=, peer_name_ok=bool, peer_name_error=}
--   codes: "connect" (resolution, refused, reset), "timeout", "tls" (handshake failure, the
--     connection closed), "alert:<name>" (the server's TLS alert: "alert:certificate_required",
--     "alert:handshake_failure", "alert:unknown_ca"...), "config" (key and cert do not match,
--     unreadable files). partial: what was seen before the failure (the chain, whether a client
--     certificate was requested), verified as a result is.
--   tls.verify(result, opts) -> result: (re)runs the verdict on a result's chain with the
--     ca_file/store/peer_name/time/purpose options
--   An options key neither function knows raises, naming it.
--   tls.split_address("host:port" | "[v6]:port" | "host"[, default_port]) -> host, port | nil, err
--   tls.is_ip(s) -> "ipv4" | "ipv6" | nil
--   tls.alert_name(n) -> the TLS alert's name (RFC 8446 spelling) or nil
--
-- Inside a loop task the handshake yields, so many run at once (loop.all); outside any task it
-- runs the loop until done.
local c = require "_certbench.tls"
local x509 = require "certbench.x509"
local store = require "certbench.store"
local options = require "certbench.options"

local M = {}

function M.is_ip(s)
  if type(s) ~= "string" then return nil end
  local a, b, cc, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then
    for _, v in ipairs { a, b, cc, d } do if tonumber(v) > 255 then return nil end end
    return "ipv4"
  end
  if s:find(":", 1, true) and s:match("^[%x:.]+$") then return "ipv6" end
  return nil
end

function M.split_address(s, default_port)
  if type(s) ~= "string" or s == "" then return nil, "an address HOST:PORT expected" end
  local host, port = s:match("^%[([%x:.]+)%]:?(%d*)$")
  if not host then
    if select(2, s:gsub(":", "")) > 1 then
      host, port = s, "" -- a bare IPv6 address
    else
      host, port = s:match("^([^:]+):?(%d*)$")
    end
  end
  if not host or host == "" then return nil, ("'%s' is not HOST:PORT"):format(s) end
  if port == "" then
    if not default_port then return nil, ("'%s' has no port (HOST:PORT)"):format(s) end
    port = default_port
  end
  port = math.tointeger(tonumber(port))
  if not port or port < 1 or port > 65535 then return nil, ("'%s': the port must be 1 to 65535"):format(s) end
  return host, port
end

local function seconds(v, name, default)
  if v == nil then return default end
  if type(v) ~= "number" or v < 0 then error("tls.handshake: '" .. name .. "' must be seconds >= 0", 4) end
  return math.floor(v * 1000 + 0.5)
end

local function alpn_wire(v)
  if v == nil then return nil end
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then error("tls.handshake: 'alpn' must be a string or a list of strings", 4) end
  local parts = {}
  for _, p in ipairs(v) do
    if type(p) ~= "string" or #p < 1 or #p > 255 then error("tls.handshake: bad ALPN protocol name", 4) end
    parts[#parts + 1] = string.char(#p) .. p
  end
  return table.concat(parts)
end

-- the client certificate, its chain and key -> cert, key, chain | nil, err
local function client_credentials(o)
  if o.cert == nil and o.key == nil then return nil, nil, nil end
  if o.cert == nil or o.key == nil then error("tls.handshake: 'cert' and 'key' go together", 4) end
  local cert, chain = o.cert, {}
  if type(cert) == "string" then
    local certs, err = x509.load_all_file(cert)
    if not certs then return nil, "client certificate: " .. err end
    cert = certs[1]
    for i = 2, #certs do chain[#chain + 1] = certs[i] end
  elseif not x509.is_x509(cert) then
    error("tls.handshake: 'cert' must be a certificate or a path", 4)
  end
  for _, x in ipairs(o.chain or {}) do
    if not x509.is_x509(x) then error("tls.handshake: 'chain' must be a list of certificates", 4) end
    chain[#chain + 1] = x
  end
  local key = o.key
  local pkey = require "certbench.pkey"
  if type(key) == "string" then
    local fs = require "certbench.fs"
    local data, err = fs.read(key)
    if not data then return nil, "client key: " .. err end
    local k, kerr = pkey.load(data, { password = o.key_password })
    if not k then return nil, "client key: " .. key .. ": " .. kerr end
    key = k
  elseif not pkey.is_key(key) then
    error("tls.handshake: 'key' must be a key (certbench.pkey) or a path", 4)
  end
  local ok, merr = key:matches(cert)
  if not ok then
    return nil, "the client key does not match the client certificate" .. (merr and (" (" .. tostring(merr) .. ")") or "")
  end
  return cert, key, chain
end

-- trust(opts) -> store | false, why | nil, err
local function trust(o)
  if o.store ~= nil then return o.store end
  local ca = o.ca_file
  if ca == nil then return false, "no CA given (ca_file): the chain was not verified" end
  if type(ca) == "string" then
    local s, err = store.load_file(ca)
    if not s then return nil, err end
    return s
  end
  if type(ca) ~= "table" then error("tls.handshake: 'ca_file' must be a path or a list of certificates", 4) end
  return store.new { cas = ca }
end

local function list_text(t)
  if #t == 0 then return "none" end
  return table.concat(t, ", ")
end

local function time_text(t) return require("certbench.ui").time(t) end

-- a certificate's subject in a message: name:text(), the one form names are shown in
local function subject_text(cert)
  local ok, t = pcall(function() return cert:subject():text() end)
  return ok and t or "?"
end

-- name_check(leaf, name) -> ok, why: the peer address against the certificate, with the
-- explanation a VCS administrator needs
local function name_check(leaf, name)
  local kind = M.is_ip(name)
  local dns, ips = {}, {}
  for _, gn in ipairs(leaf:san() or {}) do
    if gn.type == "DNS" then dns[#dns + 1] = gn.value
    elseif gn.type == "IP" then ips[#ips + 1] = gn.value end
  end
  local cn = leaf:subject():get("CN")
  if kind then
    if leaf:check_ip(name) then return true end
    if #ips == 0 then
      return false, ("the peer address %s is an IP address, and the certificate has no IP address in its "
        .. "subjectAltName (its names: %s): in TLS verify mode the peer address must be a name the "
        .. "certificate carries, so configure the peer by its FQDN (the guide's Appendix 1; certbench "
        .. "names servers by FQDN only)")
        :format(name, list_text(#dns > 0 and dns or { cn and ("CN=" .. cn) or nil }))
    end
    return false, ("the peer address %s is not among the certificate's IP addresses (%s)"):format(name, list_text(ips))
  end
  if leaf:check_host(name) then return true end
  if #dns == 0 then
    return false, ("the peer address %s does not match the certificate's CN (%s); it has no DNS names in "
      .. "its subjectAltName"):format(name, cn or "none")
  end
  return false, ("the peer address %s matches none of the certificate's DNS names (%s)%s"):format(name,
    list_text(dns), cn and #dns > 0 and " (its CN is not used when DNS names are present)" or "")
end

-- explain(info, err, chain) -> a message for a failed store verification
local function explain(err, info, chain)
  local reason = info and info.reason
  local cert = info and info.cert or chain[1]
  local who = info and info.depth == 0 and "the server certificate" or
    ("the certificate at depth %d"):format(info and info.depth or 0)
  local subj = cert and subject_text(cert) or "?"
  if reason == "unable_to_get_issuer_cert_locally" or reason == "unable_to_get_issuer_cert" then
    return ("the chain does not lead to a CA of the CA file: %s (%s) is issued by %s, which is neither in "
      .. "the CA file nor sent by the server (unknown CA; %s)"):format(who, subj,
        cert and cert:issuer():text() or "?", reason)
  elseif reason == "depth_zero_self_signed_cert" then
    return ("the server certificate %s is self-signed and not in the CA file (unknown CA; %s)"):format(subj, reason)
  elseif reason == "self_signed_cert_in_chain" then
    return ("the chain ends at the root %s, which is not in the CA file (unknown CA; %s)"):format(subj, reason)
  elseif reason == "cert_has_expired" then
    return ("%s %s expired on %s (%s)"):format(who, subj, cert and time_text(cert:not_after()) or "?", reason)
  elseif reason == "cert_not_yet_valid" then
    return ("%s %s is not valid before %s (%s)"):format(who, subj, cert and time_text(cert:not_before()) or "?", reason)
  elseif reason == "invalid_purpose" then
    return ("%s %s may not be used for a TLS server (its extended key usage lacks serverAuth; %s)"):format(who, subj, reason)
  end
  return err
end

-- the options tls.verify and tls.handshake know; any other key raises, naming it
local VERIFY_KEYS = { "ca_file", "store", "peer_name", "host", "time", "purpose" }
local HANDSHAKE_KEYS = { "host", "port", "peer_name", "sni", "ca_file", "store", "cert", "key",
                         "key_password", "chain", "timeout", "alpn", "version", "min_version",
                         "max_version", "settle", "time", "purpose" }

function M.verify(r, o)
  o = options.check(o, VERIFY_KEYS, "tls.verify") or {}
  r.verified = false
  r.verify_error, r.verify_reason, r.verified_chain = nil, nil, nil
  local chain = r.chain or {}
  local name = o.peer_name or o.host
  r.peer_name = name
  local leaf = chain[1]
  if not leaf then
    r.verify_error = "the server sent no certificate"
    r.peer_name_ok = false
    return r
  end
  if name then
    local ok, why = name_check(leaf, name)
    r.peer_name_ok = ok
    r.peer_name_error = why
  end
  local s, why = trust(o)
  if not s then
    r.verify_error = why
    return r
  end
  local vo = { untrusted = { table.unpack(chain, 2) }, purpose = o.purpose or "sslserver", time = o.time }
  if name then
    if M.is_ip(name) then vo.ip = name else vo.host = name end
  end
  local verified, err, info = s:verify(leaf, vo)
  if verified then
    r.verified, r.verified_chain = true, verified
    return r
  end
  r.verify_reason = info and info.reason
  if r.verify_reason == "hostname_mismatch" or r.verify_reason == "ip_address_mismatch" then
    r.verify_error = r.peer_name_error or err
  else
    r.verify_error = explain(err, info, chain)
    if r.peer_name_ok == false then r.verify_error = r.verify_error .. "; also, " .. r.peer_name_error end
  end
  return r
end

local CLIENT_REFUSED = {
  unknown_ca = "it does not trust the CA that issued the client certificate (add that CA to the server's trusted CAs)",
  bad_certificate = "it found the client certificate unacceptable (check its chain and that its extended key usage includes clientAuth)",
  unsupported_certificate = "it cannot use this kind of client certificate (check its extended key usage includes clientAuth)",
  certificate_unknown = "it could not validate the client certificate (check its chain and clientAuth usage)",
  certificate_expired = "it says the client certificate has expired",
  certificate_revoked = "it says the client certificate is revoked",
  access_denied = "it does not allow this client certificate",
  decrypt_error = "the client certificate's signature did not verify",
}

-- explain_failure(err, code, partial, o) -> a clearer message
local function explain_failure(err, code, p, o, sent_cert)
  local alert = code and code:match("^alert:(.+)$")
  if not alert then return err end
  if p.client_cert_requested and not p.client_cert_sent and
    (alert == "certificate_required" or alert == "handshake_failure" or alert == "bad_certificate"
      or alert == "certificate_unknown" or alert == "unexpected_message") then
    return err .. ": the server requires a client certificate (mutual TLS) and none was sent; "
      .. "give a certificate and its key (with clientAuth in its extended key usage)"
  end
  if p.client_cert_requested and sent_cert and CLIENT_REFUSED[alert] then
    return ("%s: the server refused the client certificate %s: %s"):format(err, subject_text(sent_cert), CLIENT_REFUSED[alert])
  end
  if alert == "protocol_version" then
    return err .. ": no TLS version in common (this client allowed " ..
      (o.version or ((o.min_version or "TLSv1.2") .. " to " .. (o.max_version or "TLSv1.3"))) .. ")"
  end
  if alert == "handshake_failure" then
    return err .. ": no cipher suite, group or signature algorithm in common, or the server needs something this client did not send"
  end
  if alert == "unrecognized_name" then
    return err .. ": the server does not know the name sent as SNI (" .. tostring(p.sni) .. ")"
  end
  if alert == "no_application_protocol" then
    return err .. ": the server supports none of the ALPN protocols offered"
  end
  return err
end

function M.handshake(o)
  if type(o) ~= "table" then error("tls.handshake: a table of options expected", 2) end
  options.check(o, HANDSHAKE_KEYS, "tls.handshake")
  if type(o.host) ~= "string" or o.host == "" then error("tls.handshake: 'host' is required", 2) end
  local port = math.tointeger(o.port)
  if not port or port < 1 or port > 65535 then error("tls.handshake: 'port' must be an integer 1 to 65535", 2) end
  if o.peer_name ~= nil and type(o.peer_name) ~= "string" then error("tls.handshake: 'peer_name' must be a string", 2) end
  if o.ca_file ~= nil and type(o.ca_file) ~= "string" and type(o.ca_file) ~= "table" then
    error("tls.handshake: 'ca_file' must be a path or a list of certificates", 2)
  end
  local host = o.host:match("^%[(.*)%]$") or o.host
  local name = o.peer_name or host
  local sni = o.sni
  if sni == nil then
    sni = not M.is_ip(name) and name or nil
  elseif sni == false then
    sni = nil
  elseif type(sni) ~= "string" then
    error("tls.handshake: 'sni' must be a string or false", 2)
  end
  local minv, maxv = o.min_version, o.max_version
  if o.version then minv, maxv = o.version, o.version end
  local cert, key, chain = client_credentials(o)
  if cert == nil and key ~= nil then return nil, "tls.handshake: " .. key, "config" end
  local req = {
    host = host, port = port, sni = sni, alpn = alpn_wire(o.alpn),
    timeout_ms = seconds(o.timeout, "timeout", 30000), settle_ms = seconds(o.settle, "settle", 1000),
    min_version = minv, max_version = maxv, cert = cert, key = key, chain = chain,
  }
  local vopts = {
    host = host, peer_name = name, ca_file = o.ca_file, store = o.store, time = o.time,
    purpose = o.purpose,
  }
  local r, err, code, partial = c.handshake(req)
  if not r then
    if partial then
      partial.sni = sni
      if partial.chain and #partial.chain > 0 then M.verify(partial, vopts) end
      err = explain_failure(err, code, partial, o, cert)
    end
    return nil, err, code, partial
  end
  r.sni = sni
  return M.verify(r, vopts)
end

M.alert_name = c.alert_name

return M
