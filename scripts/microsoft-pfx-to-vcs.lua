-- microsoft-pfx-to-vcs.lua: a PFX as a Microsoft CA (or OCS/Lync, or the Windows certificate
-- export wizard) hands it out -> the three files a VCS-style appliance uploads:
--   privkey.pem  the server private key, unencrypted (the appliance refuses a password), 0600
--   server.pem   the server certificate: the one whose public key matches the key
--   ca.pem       the CA chain from the server certificate's issuer up to the root
-- and checks each of them as read back from disk: the key is unencrypted and matches the
-- certificate, the chain in ca.pem verifies the certificate, the certificate can serve TLS in
-- both directions (serverAuth and clientAuth, which "TLS verify mode" needs).
--
--   certbench run scripts/microsoft-pfx-to-vcs.lua FILE.pfx OUT-DIR [PASSWORD-SOURCE] [--key N] [--force]
--   PASSWORD-SOURCE: pass:TEXT, env:VAR, file:PATH, fd:N or stdin (default: asked on the terminal)
--   --key N: which private key, when the PFX holds several (they are listed when it is left out)
-- RSA and EC keys are written in the traditional form (BEGIN RSA/EC PRIVATE KEY) older
-- appliances expect, Ed25519 ones as PKCS#8 (they have no other). A self-signed server
-- certificate needs no ca.pem: the peers take server.pem itself as their CA file.
-- Exit status 0 when all checks pass, 1 (with the reason) otherwise.
local fs = require "certbench.fs"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local store = require "certbench.store"
local ui = require "certbench.ui"
local pfx = require "certbench.plugins.pfx"

local USAGE = "usage: certbench run scripts/microsoft-pfx-to-vcs.lua FILE.pfx OUT-DIR [PASSWORD-SOURCE] [--key N] [--force]\n"
local args, force, keyn = {}, false, nil
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--force" then force = true
  elseif a == "--key" or a:match("^%-%-key=") then
    local v = a:match("^%-%-key=(.*)$")
    if not v then i = i + 1; v = arg[i] end
    keyn = math.tointeger(tonumber(v or ""))
    if not keyn or keyn < 1 then
      io.stderr:write("microsoft-pfx-to-vcs: --key takes a key's number (1, 2, ...)\n", USAGE)
      os.exit(2, true)
    end
  else args[#args + 1] = a end
  i = i + 1
end
local file, dir, passin = args[1], args[2], args[3]
if not file or not dir then
  io.stderr:write(USAGE)
  os.exit(2, true)
end

local function fail(msg, code)
  io.stderr:write("microsoft-pfx-to-vcs: ", msg, "\n")
  os.exit(code or 1, true)
end

-- 1. split: the key in the traditional form older appliances expect where the key type has
-- one (pfx split's default; an Ed25519 key goes as PKCS#8)
local res, err, code = pfx.split { file = file, out_dir = dir, passin = passin, key = keyn, force = force }
if not res then fail(err, code) end
for _, w in ipairs(res.written) do print(("wrote %s: %s"):format(w.path, w.what)) end

local keyfile, certfile, cafile = fs.join(dir, "privkey.pem"), fs.join(dir, "server.pem"), fs.join(dir, "ca.pem")
local self_signed = res.server and res.server.self_signed
if self_signed then
  -- no chain to download: the peers trust this very certificate
  cafile = certfile
elseif not fs.exists(cafile) then
  fail(("no ca.pem: %s holds no CA certificate for the server certificate (issued by %s); download the chain from the CA "
    .. "(certsrv: 'Download CA certificate chain') and build the CA file with `certbench vcs cafile`"):format(file, res.server.issuer))
end

-- 2. read everything back, as the appliance will
local key, kerr, kcode = pkey.load(assert(fs.read(keyfile)))
if not key then
  fail(keyfile .. ": " .. kerr .. (kcode == "encrypted" and " (the appliance needs it unencrypted)" or ""))
end
local mode = fs.stat(keyfile).mode
if mode & 0x3F ~= 0 then fail(("%s: mode %o lets others read the key"):format(keyfile, mode)) end
local cert = assert(x509.load(assert(fs.read(certfile))))
local ok, why = key:matches(cert)
if not ok then fail(certfile .. " does not go with " .. keyfile .. ": " .. tostring(why)) end
print(("check: %s matches %s (%s)"):format(keyfile, certfile, key:type() == "rsa" and ("RSA " .. key:bits())
  or (key:type():upper() .. (key:curve() and (" " .. key:curve()) or ""))))

local cas = assert(x509.load_all(assert(fs.read(cafile))))
local anchors, intermediates = {}, {}
for _, c in ipairs(cas) do
  if c:is_self_signed() then anchors[#anchors + 1] = c else intermediates[#intermediates + 1] = c end
end
if #anchors == 0 then fail(cafile .. ": no root (self-signed) certificate: the chain is incomplete") end
local s = assert(store.new { cas = anchors })
local chain, verr = s:verify(cert, { untrusted = intermediates, purpose = "sslserver" })
if not chain then fail(certfile .. " does not verify with " .. cafile .. ": " .. verr) end
local names = {}
for _, c in ipairs(chain) do names[#names + 1] = c:subject():get("CN") or c:subject():rfc4514() end
print(("check: %s verifies with %s: %s"):format(certfile, cafile, table.concat(names, " <- ")))
if self_signed then
  print(("warning: %s is self-signed: for test deployments; upload it as the server certificate here and as the "
    .. "trusted CA file on the peers"):format(certfile))
end

-- 3. what the appliance needs besides: both EKUs for mutual TLS, a name, validity left
local eku = {}
for _, e in ipairs(cert:eku() or {}) do eku[e] = true end
if #(cert:eku() or {}) > 0 and not (eku.serverAuth and eku.clientAuth) then
  print("warning: the certificate lacks " .. (eku.serverAuth and "clientAuth" or "serverAuth")
    .. " in its extended key usage: neighbor zones in TLS verify mode need both (template 'Webclientandserver')")
end
local days = (cert:not_after() - os.time()) // 86400
print(("server certificate: %s, valid until %s (%d days)"):format(cert:subject():text(), ui.time(cert:not_after()), days))
for _, w in ipairs(res.warnings) do print("warning: " .. w) end
print(("ready to upload: %s (server private key), %s (server certificate), %s (trusted CA certificate)"):format(
  keyfile, certfile, cafile))
