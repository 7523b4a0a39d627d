-- The `ca` plugin: a private CA in the folder layout of `openssl ca` (the "demoCA"), kept byte
-- compatible with it so a CA moves between the two tools both ways; safe under SIGKILL and
-- concurrent use (see ca.lua for the order of writes and the recovery).
--
-- Lua API:
--   local ca_plugin = require "certbench.plugins.ca"
--   local ca = assert(ca_plugin.init(dir, { subject = "/CN=Root", key = "ec:P-384", passout = "env:PW" }))
--   local ca = assert(ca_plugin.open(dir, { passin = "env:PW" }))   (also key=, ui=, wait= seconds,
--     defer = true: the lock and recovery at the first operation, not in open too; see authority.lua)
--   ca:issue{ csr = pem_or_csr, profile = "server", days = 365, san = {"DNS:x"},
--             crl_urls = {url...}, ocsp_urls = {url...} (over the profile's) } -> cert, details
--     (or public_key = pkey and subject = name instead of csr; not_before/not_after = epoch;
--     profile may also be a profile table); details = { serial=, file=, pem=, profile=, dropped= }
--   ca:issue_many{ req, req, ... } -> { cert... }, { details... }   (every request checked
--     first; then one lock, one journal record, one sync of the files, one index append). The
--     CSRs are parsed and their signatures checked, and the certificates signed, on every core
--     ($CERTBENCH_THREADS caps the threads); ca:issue (one request) does it all on the calling
--     thread (a thread costs more than the overlap). An error names the first bad request, as
--     one after the other would.
--   ca:revoke{ serial = "HEX" | cert = cert_or_pem, reason = "keyCompromise" } -> info
--   ca:gencrl{ days = 30 | hours = N } -> crl, info
--   ca:list{ status = "valid"|"revoked"|"expired" } -> { {serial=, status=, subject=, ...} }
--   ca:status(serial) -> {serial=, status=, ...} | nil, err
--   ca:renew{ serial = | cert =, days =, revoke_old = true } -> cert, details
--   ca:info(), ca.recovered (what recovery did, in sentences), ca:close() (also <close>)
-- Failures return nil, "one line naming the file and the cause"; the folder is then unchanged.
-- Commands: certbench ca init|adopt|issue|revoke|gencrl|list|status|renew (certbench help ca CMD).
--   require("certbench.plugins.ca.adopt").adopt(dir, {key=, cert=, config=, passin=, passout=}): see adopt.lua
--   ca_plugin.list_profiles() -> { name = {summary=, plugin=} }
--   ca_plugin.profiles_text() -> the profiles as `help ca issue` lists them, site ones with their plugin
local lazy = require("certbench").lazy
local fs = require "certbench.fs"
local options = require "certbench.options"
local outputs = lazy "certbench.outputs"
local core = lazy "certbench.plugins.ca.authority"
local db = lazy "certbench.plugins.ca.db"
local profiles = lazy "certbench.plugins.ca.profiles"

local M = {
  name = "ca", version = "1.0", summary = "OpenSSL-compatible private CA: init, issue, revoke, gencrl, list, status, renew",
  open = function(...) return core.open(...) end, init = function(...) return core.init(...) end,
}

function M.list_profiles()
  local out = {}
  for name, e in pairs(profiles.all()) do
    out[name] = { summary = e.value.summary, plugin = e.plugin }
  end
  return out
end

-- profiles_text() -> the profiles as `help ca issue` lists them, site ones with their plugin
function M.profiles_text()
  local lines = { "profiles:" }
  local all = profiles.all()
  for _, name in ipairs(profiles.names()) do
    local e = all[name]
    local p = e.value
    local what = p.summary or (p.eku and table.concat(p.eku, ", ")) or ""
    lines[#lines + 1] = ("  %-16s %s%s%s"):format(name, what, p.eku and #p.eku > 0 and p.summary
      and not p.summary:find(p.eku[1], 1, true) and (" [" .. table.concat(p.eku, ", ") .. "]") or "",
      e.plugin ~= "ca" and (" (plugin " .. e.plugin .. ")") or "")
  end
  return table.concat(lines, "\n")
end

local rfc3339 = require("certbench.ui").time
-- a subject as the CA database holds it (the /-form of index.txt, also the --json form) as people
-- see names in every command: name:text(), escaped
local function nm(s) return s and db.name_text(s) end

local function positive(v, what)
  if v == nil then return nil end
  local n = math.tointeger(tonumber(v))
  if not n or n <= 0 then return nil, what .. " must be a positive whole number, not '" .. tostring(v) .. "'" end
  return n
end

local function open_ca(args, ctx)
  -- every command runs one operation, which takes the lock (and recovers): not open too
  return core.open(args.dir, { passin = args.passin, ui = ctx and ctx.ui, wait = args.wait, defer = true })
end

local function recovered(ca)
  if ca and #ca.recovered > 0 then return ca.recovered end
  return nil
end

local function flatten(list)
  if list == nil then return nil end
  local out = {}
  local function add(v)
    if type(v) == "table" then for _, x in ipairs(v) do add(x) end
    else for part in tostring(v):gmatch("[^,%s]+") do out[#out + 1] = part end end
  end
  add(list)
  return out
end

-- open_out(path) -> w | nil, err: the writer of an --out copy (issue, renew, gencrl), opened
-- before the CA is changed: a target that cannot be written (its folder missing or read-only,
-- a folder or a block device in the way) fails the command with the CA untouched. Only what a
-- write tells (a full disk, /dev/full) comes after the operation, and the error says what was
-- done (finish_out).
-- The copy is written atomically, not durably (sync = "atomic": its data synced before the
-- rename, its folder not after). The help promises a copy ("also write ... here"), the hooks and
-- the README promise durability of the CA's own files (newcerts/, index.txt, crl/), and those
-- are synced by the operation. The copy's fsync stays because without it a power cut may leave
-- the name on an empty or short file (ext4's delayed allocation, xfs), which is not "the old
-- file or the new one"; the folder's fsync only makes the new name survive a power cut, which
-- nobody relies on: the CA's file is the record, and a copy lost that way leaves the old file.
-- (strace: tests/integration/ca_sync_spec.lua counts what `ca issue --out FILE` syncs.)
local function open_out(path)
  if not path then return false end
  return fs.writer(path, { sync = "atomic" })
end

-- finish_out(w, path, data) -> true | nil, err: the copy written and published
local function finish_out(w, path, data)
  local ok, err = w:write(data)
  if ok then ok, err = w:commit() end
  if not ok then return nil, err end
  require("certbench.ui").wrote(path)
  return true
end

local function cert_summary(cert, details)
  return {
    serial = cert:serial(), subject = cert:subject():oneline(), not_before = rfc3339(cert:not_before()),
    not_after = rfc3339(cert:not_after()), file = details and details.file, profile = details and details.profile,
  }
end

-- cert_file(path) -> x509 | nil, err: the one certificate of a file, "-" or URL for revoke and
-- renew, read as ca issue reads its request (certbench.input); the error names the file
local function cert_file(path)
  local input = require "certbench.input"
  local r, err = input.read(path, { max_size = 1 << 20 })
  if not r then return nil, err end
  if input.problem(r) then return nil, (input.problem(r)) end
  local certs = input.of(r, "certificate")
  if #certs ~= 1 then return nil, ("%s: %s, one certificate expected"):format(path, r.summary) end
  local cert, cerr = input.load(certs[1])
  if not cert then return nil, ("%s: %s"):format(path, tostring(cerr)) end
  return cert
end

local function ui_array(ctx, t)
  return ctx.ui.array and ctx.ui.array(t) or t
end

M.commands = {
  init = {
    summary = "create a CA folder (openssl ca layout): key, self-signed or sub-CA certificate, index, serial",
    description = "DIR gets private/cakey.pem (0600), cacert.pem, index.txt, serial, crlnumber and newcerts/, "
      .. "as openssl ca expects them. A sub-CA (--sub-ca --parent) also gets chain.pem: its own certificate, "
      .. "then its parent's chain up to the root; that file is the trusted CA file for the certificates it "
      .. "issues (vcs check --ca, the appliance's Trusted CA certificate).",
    options = function(p)
      p:argument("dir", "the new CA folder")
      p:option("--subject", "the CA's name, /C=NO/O=net2/CN=net2 Root CA"):count(1)
      p:option("--key", "key type: ec:P-384 (default), ec:P-256, rsa:4096, rsa:3072, ed25519")
      p:option("--days", "lifetime in days (3650; 1825 for a sub-CA)")
      p:option("--passout", "password source for the CA key: pass:, env:, file:, fd:, stdin (else a prompt)")
      p:flag("--no-encrypt", "leave the CA key unencrypted (it is still mode 0600)")
      p:flag("--sub-ca", "an intermediate CA, signed by --parent")
      p:option("--parent", "the parent CA folder of a sub-CA")
      p:option("--parent-passin", "password source for the parent CA's key")
      p:option("--path-len", "basicConstraints pathLenConstraint")
    end,
    run = function(args, ctx)
      local days, err = positive(args.days, "--days")
      if args.days and not days then return nil, err, 2 end
      local pl
      if args.path_len then
        pl = math.tointeger(tonumber(args.path_len))
        if not pl or pl < 0 then return nil, "--path-len must be a whole number >= 0", 2 end
      end
      if args.sub_ca and not args.parent then return nil, "ca init: --sub-ca needs --parent DIR", 2 end
      if args.parent and not args.sub_ca then return nil, "ca init: --parent is for --sub-ca", 2 end
      if args.no_encrypt and args.passout then return nil, "ca init: --passout and --no-encrypt exclude each other", 2 end
      local ca, ierr, icode = core.init(args.dir, {
        subject = args.subject, key = args.key, days = days, passout = args.passout,
        encrypt = not args.no_encrypt, sub_ca = args.sub_ca, parent = args.parent,
        parent_passin = args.parent_passin, path_len = pl, ui = ctx.ui,
      })
      if not ca then return nil, ierr, icode end
      local info = ca:info()
      ca:close()
      ctx.ui.wrote(args.dir .. "/cacert.pem")
      ctx.ui.wrote(args.dir .. "/private/cakey.pem")
      return {
        dir = info.dir, subject = info.subject, serial = info.serial, key = info.key,
        not_after = rfc3339(info.not_after), encrypted = not args.no_encrypt,
        parent = args.parent, cert = args.dir .. "/cacert.pem", chain = args.parent and (args.dir .. "/chain.pem") or nil,
      }
    end,
    text = function(r, ctx)
      ctx.ui.say("created CA %s", r.dir)
      ctx.ui.say("  subject   %s", nm(r.subject))
      ctx.ui.say("  key       %s%s (%s/private/cakey.pem)", r.key, r.encrypted and ", encrypted" or ", NOT encrypted", r.dir)
      ctx.ui.say("  expires   %s", r.not_after)
      if r.parent then
        ctx.ui.say("  signed by %s", r.parent)
        ctx.ui.say("  chain     %s (this CA, then its parent's chain: the trusted CA file of its certificates)", r.chain)
      end
    end,
  },

  adopt = {
    summary = "take over a CA certbench did not make: an existing key and certificate, a demoCA, an openssl.cnf",
    description = "DIR gets the openssl ca layout around --key and --cert (the guide's `openssl genrsa -aes256 "
      .. "-out ca.key 4096` and `openssl req -new -x509 -key ca.key -out ca.crt`): cacert.pem, private/cakey.pem "
      .. "(the key as given: still encrypted if it was; --passout re-encrypts it), index.txt, serial, crlnumber, "
      .. "newcerts/. What the folder has already (an existing demoCA's index and serial) is kept. With --config, "
      .. "openssl.cnf's [CA_default] (dir, database, serial, crlnumber, certificate, private_key, default_days, "
      .. "default_md, policy, x509_extensions, copy_extensions, unique_subject) becomes this CA's default "
      .. "profile (certbench-profile.json), so `ca issue` does what `openssl ca -config` did, and both tools "
      .. "keep issuing from the same folder.",
    options = function(p)
      p:argument("dir", "the CA folder (default: the config's dir)"):args("?")
      p:option("--key", "the CA private key (PEM or DER, encrypted or not)")
      p:option("--cert", "the CA certificate")
      p:option("--config", "openssl.cnf whose [CA_default] to take over")
      p:option("--passin", "password source for the CA key")
      p:option("--passout", "re-encrypt the CA key (AES-256) with this password")
    end,
    run = function(args, ctx)
      local adopt = require "certbench.plugins.ca.adopt"
      local r, err, code = adopt.adopt(args.dir, { key = args.key, cert = args.cert, config = args.config,
                                                   passin = args.passin, passout = args.passout })
      if not r then return nil, err, code end
      r.created = ui_array(ctx, r.created)
      r.kept = ui_array(ctx, r.kept)
      r.notes = ui_array(ctx, r.notes)
      if r.profile and r.profile.policy then
        local list = {}
        for i, e in ipairs(r.profile.policy) do list[i] = ui_array(ctx, { e[1], e[2] }) end
        r.profile.policy = ui_array(ctx, list)
      end
      return r
    end,
    text = function(r, ctx)
      ctx.ui.say("adopted CA %s: %s (key %s)", r.dir, nm(r.subject), r.key_encrypted and "encrypted" or "NOT encrypted")
      for _, f in ipairs(r.created) do ctx.ui.say("  made %s", f) end
      for _, f in ipairs(r.kept) do ctx.ui.say("  kept %s", f) end
      if r.profile then
        local p = r.profile
        ctx.ui.say("  default profile from openssl.cnf: %s%s%s%s", p.days and (p.days .. " days, ") or "", p.digest or "sha256",
          p.eku and (", EKU " .. table.concat(p.eku, ", ")) or "", p.policy and (", policy of " .. #p.policy .. " fields") or "")
      end
      for _, n in ipairs(r.notes) do ctx.ui.say("note: %s", n) end
    end,
  },

  issue = {
    summary = "issue a certificate from a CSR: serial from `serial`, file in newcerts/, a V line in index.txt",
    -- the profiles of every plugin: a function, so only the help loads them all
    epilog = M.profiles_text,
    options = function(p)
      p:argument("dir", "the CA folder")
      p:option("--wait", "seconds to wait while another process holds the CA's lock (default 30), then fail naming it"):convert(options.seconds("--wait", true))
      p:option("--csr", "the certificate request (PEM or DER)"):count(1)
      p:option("--profile", "the profile (listed below; default server). Without it, a request asking for an "
        .. "EKU or SAN the default profile leaves out is refused (exit 2), naming a profile that keeps it")
      p:option("--days", "lifetime in days (the profile's, else 365)")
      p:option("--san", "subjectAltName entries (DNS:x, IP:x, email:x, URI:x; bare names are DNS), replacing the CSR's"):args("+"):count("*")
      p:option("--crl-url", "a CRL distribution point URL to put in the certificate, over the profile's (repeat)"):count("*")
      p:option("--ocsp-url", "an OCSP responder URL to put in its Authority Information Access, over the profile's (repeat)"):count("*")
      p:option("--out", "also write the certificate here (" .. outputs.HELP .. ")")
      p:option("--passin", "password source for the CA key")
    end,
    run = function(args, ctx)
      local uok, uerr = profiles.check_urls("crl", args.crl_url, "--crl-url")
      if uok then uok, uerr = profiles.check_urls("ocsp", args.ocsp_url, "--ocsp-url") end
      if not uok then return nil, uerr, 2 end
      local days, derr = positive(args.days, "--days")
      if args.days and not days then return nil, derr, 2 end
      -- the request as a file, "-" or a URL, PEM or DER, in any text form (certbench.input)
      local input = require "certbench.input"
      local r, err = input.read(args.csr, { max_size = 1 << 20 })
      if not r then return nil, err end
      if input.problem(r) then return nil, (input.problem(r)) end
      local reqs = input.of(r, "csr")
      if #reqs ~= 1 then
        return nil, ("%s: %s, one certificate request expected"):format(args.csr, r.summary)
      end
      local csr = reqs[1].der
      local w <close>, werr = open_out(args.out)
      if w == nil then return nil, werr end
      local ca, oerr = open_ca(args, ctx)
      if not ca then return nil, oerr end
      local san = flatten(args.san)
      if san and #san == 0 then san = nil end
      local cert, details, code = ca:issue({ csr = csr, profile = args.profile, days = days, san = san,
        crl_urls = #args.crl_url > 0 and args.crl_url or nil, ocsp_urls = #args.ocsp_url > 0 and args.ocsp_url or nil })
      if not cert then
        ca:close()
        return nil, (details:gsub("^the CSR", args.csr)), code
      end
      ctx.ui.wrote(details.file)
      if w then
        local ok, ferr = finish_out(w, args.out, details.pem)
        if not ok then ca:close() return nil, "issued serial " .. cert:serial() .. " (" .. details.file .. "), but " .. ferr end
      end
      local r = cert_summary(cert, details)
      r.out = args.out
      r.dropped = details.dropped and #details.dropped > 0 and ui_array(ctx, details.dropped) or nil
      r.recovered = recovered(ca)
      ca:close()
      return r
    end,
    text = function(r, ctx)
      ctx.ui.say("issued serial %s: %s", r.serial, nm(r.subject))
      ctx.ui.say("  profile %s, valid until %s", r.profile, r.not_after)
      ctx.ui.say("  %s%s", r.file, r.out and (" and " .. r.out) or "")
      if r.dropped then ctx.ui.info("subject fields the policy does not allow were left out: %s", table.concat(r.dropped, ", ")) end
    end,
  },

  revoke = {
    summary = "revoke a certificate by serial or file (RFC 5280 reasons)",
    options = function(p)
      p:argument("dir", "the CA folder")
      p:option("--wait", "seconds to wait while another process holds the CA's lock (default 30), then fail naming it"):convert(options.seconds("--wait", true))
      p:option("--serial", "serial number (hex)")
      p:option("--cert", "the certificate file")
      p:option("--reason", "unspecified, keyCompromise, CACompromise, affiliationChanged, superseded, "
        .. "cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn, AACompromise")
    end,
    run = function(args, ctx)
      if (args.serial == nil) == (args.cert == nil) then return nil, "ca revoke: give --serial HEX or --cert FILE", 2 end
      local cert
      if args.cert then
        local err
        cert, err = cert_file(args.cert)
        if not cert then return nil, err end
      end
      local ca, oerr = open_ca(args, ctx)
      if not ca then return nil, oerr end
      local r, err = ca:revoke({ serial = args.serial, cert = cert, reason = args.reason })
      local rec = recovered(ca)
      ca:close()
      if not r then return nil, err end
      return { serial = r.serial, status = "revoked", reason = r.reason, revoked_at = rfc3339(r.revoked_at),
               subject = r.subject, recovered = rec }
    end,
    text = function(r, ctx)
      ctx.ui.say("revoked serial %s%s: %s", r.serial, r.reason and (" (" .. r.reason .. ")") or "", nm(r.subject))
    end,
  },

  gencrl = {
    summary = "sign a CRL of every revoked certificate (number from crlnumber); crl/NUMBER.pem and crl.pem",
    options = function(p)
      p:argument("dir", "the CA folder")
      p:option("--wait", "seconds to wait while another process holds the CA's lock (default 30), then fail naming it"):convert(options.seconds("--wait", true))
      p:option("--days", "next update in days (30)")
      p:option("--hours", "next update in hours")
      p:option("--out", "also write the CRL here (" .. outputs.HELP .. ")")
      p:flag("--der", "write --out in DER")
      p:option("--passin", "password source for the CA key")
    end,
    run = function(args, ctx)
      if args.days and args.hours then return nil, "ca gencrl: --days or --hours, not both", 2 end
      local days, err = positive(args.days, "--days")
      if args.days and not days then return nil, err, 2 end
      local hours, herr = positive(args.hours, "--hours")
      if args.hours and not hours then return nil, herr, 2 end
      if args.der and not args.out then return nil, "ca gencrl: --der is for --out", 2 end
      local w <close>, werr = open_out(args.out)
      if w == nil then return nil, werr end
      local ca, oerr = open_ca(args, ctx)
      if not ca then return nil, oerr end
      local crl, info = ca:gencrl({ days = days, hours = hours })
      local rec = recovered(ca)
      ca:close()
      if not crl then return nil, info end
      ctx.ui.wrote(info.file)
      if w then
        local ok, ferr = finish_out(w, args.out, args.der and crl:to_der() or crl:to_pem())
        if not ok then return nil, "CRL " .. tostring(info.number) .. " written to " .. info.file .. ", but " .. ferr end
      end
      return { number = info.number, file = info.file, current = info.current, out = args.out,
               revoked = info.revoked, this_update = rfc3339(info.this_update),
               next_update = rfc3339(info.next_update), recovered = rec }
    end,
    text = function(r, ctx)
      ctx.ui.say("CRL %s: %d revoked, next update %s", r.number or "(no number)", r.revoked, r.next_update)
      ctx.ui.say("  %s and %s%s", r.file, r.current, r.out and (" and " .. r.out) or "")
    end,
  },

  list = {
    summary = "list the certificates of index.txt",
    options = function(p)
      p:argument("dir", "the CA folder")
      p:option("--wait", "seconds to wait while another process holds the CA's lock (default 30), then fail naming it"):convert(options.seconds("--wait", true))
      p:option("--status", "only valid, revoked or expired ones"):choices({ "valid", "revoked", "expired" })
    end,
    run = function(args, ctx)
      local ca, oerr = open_ca(args, ctx)
      if not ca then return nil, oerr end
      local list, err = ca:list({ status = args.status })
      local rec = recovered(ca)
      ca:close()
      if not list then return nil, err end
      local out = {}
      for i, e in ipairs(list) do
        out[i] = { serial = e.serial, status = e.status, not_after = rfc3339(e.not_after),
                   revoked_at = rfc3339(e.revoked_at), reason = e.reason, subject = e.subject }
      end
      return { certificates = ui_array(ctx, out), count = #out, recovered = rec }
    end,
    text = function(r, ctx)
      for _, e in ipairs(r.certificates) do
        ctx.ui.say("%-8s %-20s %s  %s%s", e.status, e.serial, e.not_after, nm(e.subject),
          e.revoked_at and ("  (revoked " .. e.revoked_at .. (e.reason and (", " .. e.reason) or "") .. ")") or "")
      end
      ctx.ui.info("%d certificate%s", r.count, r.count == 1 and "" or "s")
    end,
  },

  status = {
    summary = "the status of one serial: valid, revoked or expired (exit 3 unless valid)",
    options = function(p)
      p:argument("dir", "the CA folder")
      p:option("--wait", "seconds to wait while another process holds the CA's lock (default 30), then fail naming it"):convert(options.seconds("--wait", true))
      p:argument("serial", "serial number (hex)")
    end,
    run = function(args, ctx)
      local ca, oerr = open_ca(args, ctx)
      if not ca then return nil, oerr end
      local e, err = ca:status(args.serial)
      ca:close()
      if not e then return nil, err end
      local r = { serial = e.serial, status = e.status, db_status = e.db_status, not_after = rfc3339(e.not_after),
                  revoked_at = rfc3339(e.revoked_at), reason = e.reason, subject = e.subject }
      return r, nil, e.status == "valid" and 0 or 3
    end,
    text = function(r, ctx)
      local extra = ""
      if r.status == "revoked" then extra = " " .. r.revoked_at .. (r.reason and (" " .. r.reason) or "")
      elseif r.status == "expired" then extra = " " .. r.not_after end
      ctx.ui.say("%s=%s%s", r.serial, r.status, extra)
    end,
  },

  renew = {
    summary = "issue a new certificate with the subject, key and extensions of an issued one",
    options = function(p)
      p:argument("dir", "the CA folder")
      p:option("--wait", "seconds to wait while another process holds the CA's lock (default 30), then fail naming it"):convert(options.seconds("--wait", true))
      p:option("--serial", "serial number (hex) of the certificate to renew")
      p:option("--cert", "the certificate file to renew")
      p:option("--days", "lifetime in days (that of the old certificate)")
      p:flag("--revoke-old", "revoke the old certificate as superseded")
      p:option("--out", "also write the new certificate here (" .. outputs.HELP .. ")")
      p:option("--passin", "password source for the CA key")
    end,
    run = function(args, ctx)
      if (args.serial == nil) == (args.cert == nil) then return nil, "ca renew: give --serial HEX or --cert FILE", 2 end
      local days, derr = positive(args.days, "--days")
      if args.days and not days then return nil, derr, 2 end
      local cert
      if args.cert then
        local err
        cert, err = cert_file(args.cert)
        if not cert then return nil, err end
      end
      local w <close>, werr = open_out(args.out)
      if w == nil then return nil, werr end
      local ca, oerr = open_ca(args, ctx)
      if not ca then return nil, oerr end
      local new, details = ca:renew({ serial = args.serial, cert = cert, days = days, revoke_old = args.revoke_old })
      if not new then ca:close() return nil, details end
      if w then
        local ok, ferr = finish_out(w, args.out, details.pem)
        if not ok then ca:close() return nil, "renewed as serial " .. new:serial() .. ", but " .. ferr end
      end
      local r = cert_summary(new, details)
      r.renewed = details.renewed
      r.revoked_old = details.revoked_old
      r.out = args.out
      r.recovered = recovered(ca)
      ca:close()
      return r
    end,
    text = function(r, ctx)
      ctx.ui.say("renewed serial %s as %s: %s", r.renewed, r.serial, nm(r.subject))
      ctx.ui.say("  valid until %s; %s%s", r.not_after, r.file, r.out and (" and " .. r.out) or "")
      if r.revoked_old then ctx.ui.say("  %s revoked (superseded)", r.revoked_old) end
    end,
  },
}

M.db = db

return M
