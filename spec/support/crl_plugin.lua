-- spec/support/crl_plugin.lua: CAs, certificates and CRLs made in-process with certbench (fast:
-- the mirror tests need a dozen CAs), and the CRL test server, for the specs of the crl plugin.
-- `local F = require "support.crl_plugin"`.
--   F.ca(dir, name[, {parent = ca, days = 30}]) -> ca {name=, cert=, key=, pem=path, dir=}
--   F.impostor(ca) -> {cert=, key=}: the same subject and key identifier, another key (what
--                     signs "a CRL signed by the wrong key")
--   F.crl(ca, {number=, this_update=, next_update=, days=, entries=, delta_base=, signer=})
--       -> crl (signer: an impostor or another {cert=, key=} signs instead of ca)
--   F.leaf(ca, dir, serial[, {ca = bool, cdp = {urls}}]) -> cert, path of its PEM
--   F.server(dir) -> server {url=, port=, pid=}: spec/support/servers/crl_server.py serving dir
--   F.routes(dir, t): write dir/routes.json (what /s/<name> does)
--   F.stats(server) -> { [path] = { [status] = n } }
--   F.peak(server)  -> the most requests of the delay mode the server had in flight at once
--   F.json(text) -> table
local h = require "support.helper"
local servers = require "support.servers"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local crl = require "certbench.crl"
local fs = require "certbench.fs"
local http = require "certbench.http"
local cjson = require "cjson"

local F = {}

local function hexbytes(hex)
  return (hex:gsub("%x%x", function(b) return string.char(tonumber(b, 16)) end))
end

function F.ca(dir, name, opts)
  opts = opts or {}
  local key = pkey.generate { type = "ec", curve = "P-256" }
  local parent = opts.parent
  local cert = assert(x509.new {
    subject = "/O=certbench tests/CN=" .. name, issuer = parent and parent.cert or nil,
    issuer_key = parent and parent.key or key, public_key = key, ca = true,
    days = opts.days or 30, not_before = os.time() - 86400,
    crl_distribution_points = opts.cdp,
  })
  local ca = { name = name, cert = cert, key = key, dir = dir }
  ca.pem = fs.join(dir, (name:gsub("%W", "_")) .. ".pem")
  assert(fs.write(ca.pem, cert:to_pem()))
  ca.keyfile = fs.join(dir, (name:gsub("%W", "_")) .. ".key")
  assert(fs.write(ca.keyfile, key:to_pem()))
  return ca
end

function F.impostor(ca)
  local key = pkey.generate { type = "ec", curve = "P-256" }
  local ski = ca.cert:ski()
  local cert = assert(x509.new {
    subject = ca.cert:subject(), issuer_key = key, ca = true, days = 30, ski = false, aki = false,
    extensions = { { oid = "2.5.29.14", value_der = "\4" .. string.char(#ski // 2) .. hexbytes(ski) } },
  })
  assert(cert:ski() == ski, "the impostor has the CA's key identifier")
  return { cert = cert, key = key }
end

function F.crl(ca, o)
  o = o or {}
  local signer = o.signer or ca
  local now = os.time()
  return assert(crl.new {
    issuer = signer.cert, key = signer.key, number = o.number,
    this_update = o.this_update or (now - 60),
    next_update = o.next_update, days = (o.next_update == nil) and (o.days or 7) or nil,
    entries = o.entries, delta_base = o.delta_base, idp = o.idp,
  })
end

function F.leaf(ca, dir, serial, o)
  o = o or {}
  local key = pkey.generate { type = "ec", curve = "P-256" }
  local cert = assert(x509.new {
    subject = "/CN=leaf " .. serial .. " of " .. ca.name, issuer = ca.cert, issuer_key = ca.key,
    public_key = key, serial = serial, days = 10, not_before = os.time() - 3600,
    ca = o.ca or false, crl_distribution_points = o.cdp,
  })
  local path = fs.join(dir, ("leaf-%s-%s.pem"):format((ca.name:gsub("%W", "_")), serial))
  assert(fs.write(path, cert:to_pem()))
  return cert, path
end

function F.server(dir)
  local log = os.tmpname()
  local s = servers.start(("exec python3 %s/spec/support/servers/crl_server.py --lifetime 900 --dir %s")
    :format(h.q(h.root), h.q(dir)), nil, log)
  for _ = 1, 200 do
    local port = tonumber((h.read(log):match("^(%d+)\n")))
    if port then
      s.port = port
      assert(servers.wait_port(port), "crl_server.py is not answering")
      s.url = "http://127.0.0.1:" .. port
      return s
    end
    h.run("sleep 0.05")
  end
  servers.stop(s)
  error("crl_server.py did not start: " .. h.read(log))
end

function F.routes(dir, t)
  assert(fs.write(fs.join(dir, "routes.json"), cjson.encode(t)))
end

function F.peak(server)
  local r = assert(http.get(server.url .. "/peak"))
  return cjson.decode(r.body).delay
end

function F.stats(server)
  local r = assert(http.get(server.url .. "/stats"))
  return cjson.decode(r.body)
end

function F.json(text)
  local ok, t = pcall(cjson.decode, text)
  if not ok then error("not JSON: " .. tostring(text), 2) end
  return t
end

return F
