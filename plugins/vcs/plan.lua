-- vcs/plan.lua: the subject and subjectAltName of each certificate of a VCS-style server or
-- cluster, by the three deployment models of the Cisco VCS certificate guide (after RFC 5922):
--
--   standalone   one certificate: CN = FQDN of the server, SAN empty (the guide), or the FQDN
--                with san_fqdn = true (what browsers and RFC 6125 clients look at)
--   per-peer     one certificate per peer: CN = peer FQDN, SAN = peer FQDN, cluster FQDN
--   shared       one certificate for every peer: CN = cluster FQDN, SAN = cluster FQDN and
--                every peer FQDN
--
--   plan.fqdn(s) -> the name in lower case, without a trailing dot | nil, why
--   plan.make{ fqdn =, cluster =, peers = {...}, mode = "per-peer" | "shared",
--              san_fqdn = bool, domains = {...} } -> plan | nil, err
--     domains: SIP (and H.323) domains the servers answer for, added as DNS names to the SAN
--     of every certificate after the plan's names (RFC 5922 7.2: a peer that reaches a SIP
--     domain checks that domain against the SAN); a standalone SAN then holds the FQDN first,
--     since clients that find a SAN ignore the CN (RFC 6125).
--     fqdn: this server (standalone), or one peer of a cluster: in per-peer mode the plan is
--     then that peer's certificate only; a peer not in peers joins them. Without cluster the
--     model is standalone; with it, per-peer unless mode = "shared".
--   plan = { model =, fqdn =, cluster =, peers = {...}, domains = {...}, notes = {...},
--            certificates = { { cn =, san = {...}, subject_cn_only = bool, for_peers = {...} } } }
--   plan.for_cn(p, cn) -> the certificate of plan p whose CN is cn (case-insensitive) | nil
local M = {}

M.MODELS = { "standalone", "per-peer", "shared" }

local function is_ipv4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return a ~= nil and tonumber(a) < 256 and tonumber(b) < 256 and tonumber(c) < 256 and tonumber(d) < 256
end

-- fqdn(s): a host name as a certificate for TLS verify mode needs it (RFC 1123 labels, at
-- least two of them, no IP address, no wildcard: RFC 5922 7.2 does not accept one for a SIP
-- domain or server)
function M.fqdn(s)
  if type(s) ~= "string" or s == "" then return nil, "an empty name" end
  local q = ("'%s'"):format(s)
  if is_ipv4(s) or s:find(":", 1, true) then
    return nil, q .. " is an IP address: certificates name servers by FQDN, and TLS verify mode "
      .. "matches the zone's peer address against those names (configure zones with FQDNs)"
  end
  if s:find("*", 1, true) then
    return nil, q .. " is a wildcard: RFC 5922 does not accept wildcards in SIP server certificates; "
      .. "name each server"
  end
  local n = s:lower():gsub("%.$", "")
  if #n > 253 then return nil, q .. " is longer than 253 characters" end
  local labels = {}
  for label in (n .. "."):gmatch("([^.]*)%.") do labels[#labels + 1] = label end
  for _, l in ipairs(labels) do
    if l == "" then return nil, q .. " has an empty label (two dots in a row, or a leading dot)" end
    if #l > 63 then return nil, q .. " has a label longer than 63 characters" end
    local bad = l:find("[^a-z0-9%-]")
    if bad then
      return nil, ("%s: '%s' is not allowed in a host name (letters, digits and '-' only)"):format(q, l:sub(bad, bad))
    end
    if l:sub(1, 1) == "-" or l:sub(-1) == "-" then
      return nil, q .. ": a label may not start or end with '-'"
    end
  end
  if #labels < 2 then
    return nil, q .. " is not fully qualified: give the host name with its domain (vcs1.example.com)"
  end
  if labels[#labels]:match("^%d+$") then return nil, q .. ": the top-level domain cannot be all digits" end
  return n
end

local function copy(t)
  local o = {}
  for i, v in ipairs(t) do o[i] = v end
  return o
end

-- with_domains(p, domains): the domains appended to the SAN of each certificate of plan p
-- (a name the SAN has already is not repeated); the plan, or nil, err
local function with_domains(p, domains)
  p.domains = domains
  if #domains == 0 then return p end
  for _, c in ipairs(p.certificates) do
    local have = {}
    if #c.san == 0 then c.san[1] = c.cn end
    for _, n in ipairs(c.san) do have[n] = true end
    for _, d in ipairs(domains) do
      if not have[d] then c.san[#c.san + 1] = d have[d] = true end
    end
    c.subject_cn_only = false
  end
  if p.model == "standalone" then
    for i, n in ipairs(p.notes) do
      if n:find("^SAN left empty") then table.remove(p.notes, i) break end
    end
  end
  p.notes[#p.notes + 1] = ("SIP/H.323 domain%s %s in the SAN of every certificate: peers that reach "
    .. "the domain check it against the SAN"):format(#domains == 1 and "" or "s", table.concat(domains, ", "))
  return p
end

function M.make(o)
  o = o or {}
  local mode = o.mode
  if mode ~= nil and mode ~= "per-peer" and mode ~= "shared" then
    return nil, ("unknown mode '%s' (per-peer or shared)"):format(tostring(mode))
  end
  local function name(v, what)
    local n, why = M.fqdn(v)
    if not n then return nil, what .. ": " .. why end
    return n
  end
  local fqdn, cluster, err
  if o.fqdn ~= nil then
    fqdn, err = name(o.fqdn, "--fqdn")
    if not fqdn then return nil, err end
  end
  if o.cluster ~= nil then
    cluster, err = name(o.cluster, "--cluster")
    if not cluster then return nil, err end
  end
  local peers, seen = {}, {}
  for _, p in ipairs(o.peers or {}) do
    local n, perr = name(p, "--peer")
    if not n then return nil, perr end
    if seen[n] then return nil, ("--peer: %s is given twice"):format(n) end
    seen[n] = true
    peers[#peers + 1] = n
  end
  local domains, dseen = {}, {}
  for _, d in ipairs(o.domains or {}) do
    local n, derr = name(d, "--domain")
    if not n then return nil, derr end
    if not dseen[n] then dseen[n] = true domains[#domains + 1] = n end
  end

  if not cluster then
    if #peers > 0 then return nil, "--peer needs --cluster (the cluster's FQDN)" end
    if mode then return nil, "--mode is for clusters: give --cluster and the --peer names" end
    if not fqdn then return nil, "give --fqdn (a standalone server) or --cluster with --peer names" end
    local san = o.san_fqdn and { fqdn } or {}
    local p = {
      model = "standalone", fqdn = fqdn, peers = {}, notes = {},
      certificates = { { cn = fqdn, san = san, subject_cn_only = #san == 0, for_peers = { fqdn } } },
    }
    if #san == 0 then
      p.notes[#p.notes + 1] = "SAN left empty as the guide says for a standalone server; browsers "
        .. "and RFC 6125 clients only look at the SAN: add the FQDN with --san-fqdn for HTTPS access"
    end
    return with_domains(p, domains)
  end

  if fqdn and not seen[fqdn] then
    table.insert(peers, 1, fqdn)
    seen[fqdn] = true
  end
  if #peers == 0 then return nil, "a cluster needs its peers: --peer FQDN for each (or --fqdn for this one)" end
  if seen[cluster] then
    return nil, ("%s is both the cluster and a peer: the cluster FQDN names all peers together (its own DNS name)"):format(cluster)
  end
  mode = mode or "per-peer"
  local p = { model = mode, fqdn = fqdn, cluster = cluster, peers = peers, notes = {}, certificates = {} }
  if #peers == 1 then
    p.notes[#p.notes + 1] = "a cluster of one peer: add the others with --peer when they join"
  end
  if #peers > 6 then
    p.notes[#p.notes + 1] = ("%d peers: a VCS cluster has at most 6"):format(#peers)
  end
  if mode == "shared" then
    local san = { cluster }
    for _, n in ipairs(peers) do san[#san + 1] = n end
    p.certificates[1] = { cn = cluster, san = san, subject_cn_only = false, for_peers = copy(peers) }
    p.notes[#p.notes + 1] = "one key for every peer: the same private key is uploaded to each; "
      .. "a new peer means a new certificate"
  else
    for _, n in ipairs(peers) do
      if not fqdn or n == fqdn then
        p.certificates[#p.certificates + 1] = { cn = n, san = { n, cluster }, subject_cn_only = false, for_peers = { n } }
      end
    end
    p.notes[#p.notes + 1] = "upload each certificate to its own peer: the key of one peer does not match another's certificate"
  end
  return with_domains(p, domains)
end

function M.for_cn(p, cn)
  if not cn then return nil end
  cn = cn:lower():gsub("%.$", "")
  for _, c in ipairs(p.certificates) do
    if c.cn == cn then return c end
  end
  return nil
end

return M
