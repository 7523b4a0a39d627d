-- The `pfx` plugin: PKCS#12 files as Microsoft CAs, OCS/Lync, Windows, Java and OpenSSL write
-- them, and the PEM bundles `openssl pkcs12 -in` makes of them.
--
-- Lua API (each returns a result table, or nil, err[, exit code]):
--   local pfx = require "certbench.plugins.pfx"
--   pfx.info{ file =, passin = }
--   pfx.split{ file =, out_dir =, passin =, key_format = "pkcs1"|"pkcs8", key_passout =, key = N,
--              force = }         -> { written = { {path=, what=, why=}... }, server =, chain =, ... }
--   pfx.build{ key =, cert =, chain =, out =, passin =, passout =, friendly_name =,
--              profile = "modern"|"legacy"|"windows2016", force = }
--   pfx.decrypt_key{ file =, out =, passin =, key_format =, force = }
--   pfx.encrypt_key{ file =, out =, passin =, passout =, key_format =, cipher =, force = }
-- passin/passout/key_passout are password sources (pass:, env:, file:, fd:, stdin) or
-- certbench.secret objects; without one, certbench asks on the terminal (and fails without one).
-- A key a function does not know raises, naming it.
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local options = require "certbench.options"
local lazy = require("certbench").lazy
local detect = lazy "certbench.detect"
local input = lazy "certbench.input"
local outputs = lazy "certbench.outputs"
local pkcs12 = lazy "certbench.pkcs12"
local describe = lazy "certbench.describe"
local passin_lib = lazy "certbench.passin"
local gather = lazy "certbench.gather"

local M = { name = "pfx", version = "1.0",
            summary = "PKCS#12 (.pfx/.p12): info, split into key/server/CA files, build, key (de|en)cryption" }

local plural = ui.plural

local KEY_FORMATS = { pkcs8 = "pkcs8", pkcs1 = "traditional", traditional = "traditional" }

-- key_pem(key, fmt, password) -> pem, description | nil, err
local function key_pem(key, fmt, password, explicit, cipher)
  local f = KEY_FORMATS[fmt or "pkcs1"]
  if not f then return nil, ("unknown key format '%s' (pkcs8 or pkcs1)"):format(tostring(fmt)) end
  local ty = key:type()
  if ty ~= "rsa" and ty ~= "ec" and ty ~= "ed25519" then
    return nil, ("the private key is %s, which certbench does not write (RSA, EC and Ed25519 keys only)"):format(describe.key_line(key))
  end
  local note
  if f == "traditional" and ty ~= "rsa" and ty ~= "ec" then
    if explicit then
      return nil, ("a %s key has no PKCS#1/traditional form: use --key-format pkcs8"):format(describe.key_line(key))
    end
    f, note = "pkcs8", "PKCS#8, as " .. key:type() .. " keys have no traditional form"
  end
  local pem, err = key:to_pem { format = f, password = password, cipher = password and (cipher or "aes-256-cbc") or nil }
  if not pem then return nil, err end
  local label = pem:match("%-%-%-%-%-BEGIN ([^%-]+)%-%-%-%-%-")
  local desc = (f == "pkcs8" and "PKCS#8" or (key:type() == "ec" and "SEC1" or "PKCS#1")) .. " (BEGIN " .. label .. ")"
  if note then desc = desc .. "; " .. note end
  return pem, desc
end

local function ensure_dir(dir)
  if fs.isdir(dir) then return true end
  if fs.exists(dir) then return nil, dir .. ": exists and is not a folder" end
  local ok, err = fs.mkdir(dir, { parents = true })
  if not ok then return nil, err end
  return true
end

local function certs_pem(list)
  local t = {}
  for _, c in ipairs(list) do t[#t + 1] = c:to_pem() end
  return table.concat(t)
end

local function labels(list)
  local t = {}
  for _, c in ipairs(list) do t[#t + 1] = describe.cert_label(c) end
  return table.concat(t, ", ")
end

---------------------------------------------------------------------------------------------

function M.info(o)
  options.check(o, { "file", "passin" }, "pfx.info")
  -- a path, "-" or a URL, through certbench.input (a PFX in a ZIP too)
  local r, err = input.read(o.file, { pkcs12 = "keep" })
  if not r then return nil, err end
  local p12 = input.of(r, "pkcs12")
  if input.problem(r) then return nil, (input.problem(r)) end
  if #p12 ~= 1 or #r.objects ~= 1 then
    return nil, ("%s: not a PFX but %s (certbench show %s describes it)"):format(o.file, r.summary, o.file)
  end
  local res, perr = passin_lib.open_pfx(p12[1].der, o.file, o.passin)
  if not res then return nil, perr end
  local out = describe.pfx_info(res, o.file)
  local enc = r.summary:match("^[^:]*")
  if enc ~= "DER" then
    out.warnings[#out.warnings + 1] = "the PFX is " .. enc .. ", not binary DER"
  end
  return out
end

function M.split(o)
  options.check(o, { "file", "out_dir", "passin", "key_format", "key_passout", "key", "force" }, "pfx.split")
  local file, dir = o.file, o.out_dir
  if not dir then return nil, "pfx split: --out-dir is required", 2 end
  if o.key_format and not KEY_FORMATS[o.key_format] then
    return nil, "pfx split: --key-format must be pkcs8 or pkcs1", 2
  end
  local g, err = gather.gather(file, o.passin)
  if not g then return nil, err end
  local res = { file = file, input = g.kind, written = {}, warnings = {}, notes = g.notes }
  local W = res.warnings
  -- the key
  if #g.keys == 0 then
    -- a PFX (or bundle) of certificates only: write them, leaf first, as split would
    if #g.certs == 0 then return nil, ("%s: no private key and no certificate in it (%s)"):format(file, g.summary) end
    local ok, derr = ensure_dir(dir)
    if not ok then return nil, derr end
    local certs = {}
    for _, c in ipairs(g.certs) do certs[#certs + 1] = c.cert end
    local out = outputs.new { force = o.force }
    local path = fs.join(dir, "certs.pem")
    out:add(path, certs_pem(certs))
    local written, werr = out:commit()
    if not written then return nil, werr end
    res.written = ui.array { { path = path, what = ("%s: %s"):format(plural(#certs, "certificate"), labels(certs)),
      why = "no private key in " .. file .. ": its certificates, in file order", mode = written[1].mode,
      size = written[1].size, replaced = written[1].replaced } }
    W[#W + 1] = "no private key in the file: only the certificates were written (certs.pem)"
    res.certificates_only = true
    return res
  end
  local ki = o.key and math.tointeger(tonumber(o.key))
  if o.key and (not ki or ki < 1 or ki > #g.keys) then
    return nil, ("pfx split: --key must be 1 to %d"):format(#g.keys), 2
  end
  if #g.keys > 1 and not ki then
    local t = {}
    for i, k in ipairs(g.keys) do
      local partner
      for _, c in ipairs(g.certs) do if k.key:matches(c.cert) then partner = c break end end
      local fname = partner and partner.friendly_name or k.friendly_name
      t[#t + 1] = ("%d: %s (%s)%s"):format(i, describe.key_line(k.key), k.from, partner
        and (" for serial %s, %s%s"):format(partner.cert:serial(), partner.cert:subject():text(),
          fname and (', friendlyName "' .. fname .. '"') or "")
        or " matching no certificate of the file")
    end
    return nil, ("%s: %d private keys: choose one with --key N: %s"):format(file, #g.keys, table.concat(t, "; ")), 2
  end
  local kentry = g.keys[ki or 1]
  local key = kentry.key
  -- the server certificate: chosen by key
  if #g.certs == 0 then
    return nil, ("%s: a private key (%s) but no certificate: nothing to split"):format(file, describe.key_line(key))
  end
  local matching = {}
  for _, c in ipairs(g.certs) do
    if key:matches(c.cert) then matching[#matching + 1] = c end
  end
  if #matching == 0 then
    -- the bags left out say why the key's certificate may be missing
    local left = #g.notes > 0 and ("; " .. table.concat(g.notes, "; ")) or ""
    return nil, ("%s: the private key (%s, %s) matches none of the %s (%s): nothing written%s"):format(
      file, describe.key_line(key), kentry.from, plural(#g.certs, "certificate"),
      labels((function() local t = {} for _, c in ipairs(g.certs) do t[#t + 1] = c.cert end return t end)()), left)
  end
  table.sort(matching, function(a, b) return a.cert:not_after() > b.cert:not_after() end)
  local server = matching[1]
  if #matching > 1 then
    W[#W + 1] = ("%d certificates match the key: server.pem has the one valid longest (until %s)"):format(
      #matching, ui.time(server.cert:not_after()))
  end
  local others = {}
  for _, c in ipairs(g.certs) do if c ~= server then others[#others + 1] = c.cert end end
  local ch = describe.build_chain(server.cert, others)
  local verify = describe.verify_chain(server.cert, ch.chain)
  -- the files
  local keypw
  if o.key_passout then
    local perr
    keypw, perr = passin_lib.new_password(o.key_passout, "the password for privkey.pem", { confirm = true })
    if not keypw then return nil, "pfx split: --key-passout: " .. perr end
  end
  local kpem, kdesc = key_pem(key, o.key_format, keypw, o.key_format ~= nil)
  passin_lib.close(keypw)
  if not kpem then return nil, "pfx split: " .. kdesc end
  local ok, derr = ensure_dir(dir)
  if not ok then return nil, derr end
  local out = outputs.new { force = o.force }
  local why = {}
  local function add(name, data, opts, what, reason)
    local path = fs.join(dir, name)
    out:add(path, data, opts)
    why[path] = { what = what, why = reason }
  end
  add("privkey.pem", kpem, { key = true },
    ("%s private key, %s, %s"):format(describe.key_line(key), keypw and "encrypted (AES-256-CBC)" or "unencrypted", kdesc),
    "the private key from " .. kentry.from .. " of " .. file)
  local sc = server.cert
  add("server.pem", sc:to_pem(), nil,
    ("%s (serial %s, valid until %s)"):format(describe.cert_label(sc), sc:serial(), ui.time(sc:not_after())),
    ("the certificate whose public key matches the private key (%s)"):format(server.from))
  if #ch.chain > 0 then
    add("ca.pem", certs_pem(ch.chain), nil,
      ("%s: %s"):format(plural(#ch.chain, "certificate"), labels(ch.chain)),
      "the chain of server.pem, its issuer first" .. (ch.complete and ", up to the root" or ", incomplete"))
  end
  if #ch.extra > 0 then
    add("extra.pem", certs_pem(ch.extra), nil,
      ("%s: %s"):format(plural(#ch.extra, "certificate"), labels(ch.extra)),
      "certificates in the file that are not on the chain of server.pem")
  end
  local written, werr = out:commit()
  if not written then return nil, werr end
  for _, w in ipairs(written) do
    res.written[#res.written + 1] = { path = w.path, mode = w.mode, size = w.size, replaced = w.replaced,
                                      what = why[w.path].what, why = why[w.path].why }
  end
  res.written = ui.array(res.written)
  res.key = describe.key_info(key)
  res.key.format = kdesc
  res.key.encrypted = keypw ~= nil
  res.server = describe.cert_info(sc)
  local chain_info, extra_info = {}, {}
  for _, c in ipairs(ch.chain) do chain_info[#chain_info + 1] = describe.cert_info(c) end
  for _, c in ipairs(ch.extra) do extra_info[#extra_info + 1] = describe.cert_info(c) end
  res.chain, res.extra = ui.array(chain_info), ui.array(extra_info)
  res.chain_complete = ch.complete
  res.verify = verify
  if #ch.chain == 0 and not ch.complete then
    W[#W + 1] = ("no CA certificate for %s in %s: ca.pem not written; get the issuer (%s) from the CA"):format(
      describe.cert_label(sc), file, ch.missing)
  elseif not ch.complete then
    W[#W + 1] = ("the chain is incomplete: %s is not in %s; add it to ca.pem"):format(ch.missing, file)
  elseif ch.complete and #ch.chain == 0 then
    W[#W + 1] = "server.pem is self-signed: no CA file (ca.pem) is needed or written"
  end
  if ch.duplicates > 0 then res.notes[#res.notes + 1] = plural(ch.duplicates, "duplicate certificate") .. " left out" end
  if not verify.ok and ch.complete then W[#W + 1] = "chain check: " .. verify.text end
  if verify.expired then W[#W + 1] = "chain check: " .. verify.text end
  if sc:not_after() < os.time() then W[#W + 1] = "server.pem has expired (" .. ui.time(sc:not_after()) .. ")" end
  for _, f in ipairs { "ca.pem", "extra.pem" } do
    local p = fs.join(dir, f)
    if not why[p] and fs.exists(p) then
      W[#W + 1] = p .. " exists from an earlier run and was left as it is"
    end
  end
  res.notes = ui.array(res.notes)
  res.warnings = ui.array(W)
  return res
end

-- pick_key(path, passin) -> key, from | nil, err: the single private key of a file
local function single_key(path, passin, what)
  local g, err = gather.gather(path, passin)
  if not g then return nil, err end
  if #g.keys == 0 then
    return nil, ("%s: no private key (%s)"):format(path, g.summary)
  end
  if #g.keys > 1 then return nil, ("%s: %d private keys; %s takes a file with one"):format(path, #g.keys, what) end
  return g.keys[1].key, g
end

function M.build(o)
  options.check(o, { "key", "cert", "chain", "out", "passin", "passout", "friendly_name", "profile", "force" }, "pfx.build")
  for _, k in ipairs { "key", "cert", "out" } do
    if not o[k] then return nil, "pfx build: --" .. k .. " is required", 2 end
  end
  local profile = o.profile or "modern"
  if not pkcs12.PROFILES[profile] then
    return nil, "pfx build: --profile must be modern, legacy or windows2016", 2
  end
  local key, kg = single_key(o.key, o.passin, "pfx build --key")
  if not key then return nil, kg end
  local cg, cerr = gather.gather(o.cert, nil, { keys = false })
  if not cg then return nil, cerr end
  local candidates = {}
  for _, c in ipairs(cg.certs) do candidates[#candidates + 1] = c.cert end
  for _, c in ipairs(kg.certs) do candidates[#candidates + 1] = c.cert end
  local leaf
  for _, c in ipairs(candidates) do if key:matches(c) then leaf = c break end end
  if not leaf then
    if #cg.certs == 0 then return nil, o.cert .. ": no certificate (" .. cg.summary .. ")" end
    return nil, ("%s: the private key in %s matches none of its %s (%s)"):format(
      o.cert, o.key, plural(#cg.certs, "certificate"), labels(candidates))
  end
  local pool = {}
  for _, c in ipairs(candidates) do if not c:equals(leaf) then pool[#pool + 1] = c end end
  if o.chain then
    local chg, chgerr = gather.gather(o.chain, nil, { keys = false })
    if not chg then return nil, chgerr end
    if #chg.certs == 0 then return nil, o.chain .. ": no certificate (" .. chg.summary .. ")" end
    for _, c in ipairs(chg.certs) do pool[#pool + 1] = c.cert end
  end
  local ch = describe.build_chain(leaf, pool)
  local res = { file = o.out, profile = profile, warnings = {}, notes = {} }
  local W = res.warnings
  local given_order = {}
  for _, c in ipairs(pool) do given_order[#given_order + 1] = c end
  local reordered = false
  for i, c in ipairs(ch.chain) do if given_order[i] ~= c then reordered = true end end
  if reordered and #ch.chain > 1 then
    res.notes[#res.notes + 1] = "the chain was put in order: issuer of the certificate first, root last"
  end
  if #ch.extra > 0 then
    W[#W + 1] = ("%s not on the chain of %s, included after the chain: %s"):format(
      plural(#ch.extra, "certificate"), describe.cert_label(leaf), labels(ch.extra))
  end
  if not ch.complete then
    if #pool == 0 then
      W[#W + 1] = ("no chain: the PFX holds only %s; give the CA certificates with --chain"):format(describe.cert_label(leaf))
    else
      W[#W + 1] = ("the chain is incomplete: %s is missing"):format(ch.missing)
    end
  end
  local verify = describe.verify_chain(leaf, ch.chain)
  if ch.complete and not verify.ok then W[#W + 1] = "chain check: " .. verify.text end
  if verify.expired then W[#W + 1] = "chain check: " .. verify.text end
  local chain = {}
  for _, c in ipairs(ch.chain) do chain[#chain + 1] = c end
  for _, c in ipairs(ch.extra) do chain[#chain + 1] = c end
  local pw, perr = passin_lib.new_password(o.passout, "the password for " .. o.out, { confirm = true })
  if not pw then
    return nil, ("pfx build: --passout: %s"):format((perr:gsub(" %(an empty password is pass:%)$", ""))
      .. " (an empty password is --passout pass:)")
  end
  local der, berr = pkcs12.build { key = key, cert = leaf, chain = chain, password = pw,
                                   friendly_name = o.friendly_name, profile = profile }
  if not der then passin_lib.close(pw) return nil, "pfx build: " .. berr end
  -- read it back before it is written: what we hand over must open
  local back, rerr = pkcs12.parse(der, pw, { name = o.out })
  passin_lib.close(pw)
  if not back then return nil, "pfx build: the new PFX does not read back: " .. rerr end
  if not (back.key and back.cert and back.cert:equals(leaf) and #back.chain == #chain) then
    return nil, "pfx build: the new PFX does not read back with the same contents"
  end
  local out = outputs.new { force = o.force }
  out:add(o.out, der, { key = true })
  local written, werr = out:commit()
  if not written then return nil, werr end
  res.size = #der
  res.mode = written[1].mode
  res.key = describe.key_info(key)
  res.certificate = describe.cert_info(leaf)
  local ci = {}
  for _, c in ipairs(chain) do ci[#ci + 1] = describe.cert_info(c) end
  res.chain = ui.array(ci)
  res.chain_complete = ch.complete
  res.verify = verify
  res.algorithms = back.algorithms
  res.friendly_name = o.friendly_name
  res.warnings = ui.array(W)
  res.notes = ui.array(res.notes)
  return res
end

local function key_object(path)
  local info, err = detect.file(path)
  if not info then return nil, err end
  local keys = {}
  for _, ob in ipairs(info.objects) do if ob.kind == "private_key" then keys[#keys + 1] = ob end end
  if #keys == 0 then
    if info.counts.pkcs12 then
      return nil, path .. ": a PFX: certbench pfx split writes its key (privkey.pem)"
    end
    return nil, ("%s: no private key in the file (%s)"):format(path, detect.summary(info))
  end
  if #keys > 1 then return nil, ("%s: %d private keys; one per file, please"):format(path, #keys) end
  return keys[1], info
end

local function rewrite_key(o, encrypt)
  local cmd = encrypt and "pfx encrypt-key" or "pfx decrypt-key"
  if not o.out then return nil, cmd .. ": --out is required", 2 end
  if o.key_format and not KEY_FORMATS[o.key_format] then return nil, cmd .. ": --key-format must be pkcs8 or pkcs1", 2 end
  local ob, info = key_object(o.file)
  if not ob then return nil, info end
  local key, kerr = passin_lib.load_key(ob.pem or ob.der, o.file, o.passin)
  if not key then return nil, kerr end
  local fmt = o.key_format
  if not fmt then
    if encrypt then fmt = "pkcs8" else fmt = (ob.format == "pkcs1" or ob.format == "sec1") and "pkcs1" or "pkcs8" end
  end
  local pw
  if encrypt then
    local perr
    pw, perr = passin_lib.new_password(o.passout, "the new password for " .. o.out, { confirm = true })
    if not pw then return nil, cmd .. ": --passout: " .. perr end
  end
  local pem, desc = key_pem(key, fmt, pw, o.key_format ~= nil, o.cipher)
  passin_lib.close(pw)
  if not pem then return nil, cmd .. ": " .. desc end
  local out = outputs.new { force = o.force }
  out:add(o.out, pem, { key = true })
  local written, werr = out:commit()
  if not written then return nil, werr end
  local res = {
    file = o.file, out = o.out, mode = written[1].mode, was = ob.what, key = describe.key_info(key),
    format = desc, encrypted = encrypt, cipher = encrypt and (o.cipher or "aes-256-cbc") or nil,
  }
  if not encrypt and not ob.encrypted then
    res.note = o.file .. " was not encrypted; written in the form asked for"
  end
  return res
end

function M.decrypt_key(o)
  options.check(o, { "file", "out", "passin", "key_format", "force" }, "pfx.decrypt_key")
  return rewrite_key(o, false)
end
function M.encrypt_key(o)
  options.check(o, { "file", "out", "passin", "passout", "key_format", "cipher", "force" }, "pfx.encrypt_key")
  return rewrite_key(o, true)
end

---------------------------------------------------------------------------------------------
-- text output

local function say_list(ctx, res)
  for _, n in ipairs(res.notes or {}) do ctx.ui.say("note: %s", n) end
  for _, w in ipairs(res.warnings or {}) do ctx.ui.say("warning: %s", w) end
end

local PASS_HELP = "password source: pass:TEXT, env:VAR, file:PATH, fd:N, stdin (else a prompt)"

M.commands = {
  info = {
    summary = "every bag of a PFX: keys, certificates, attributes, algorithms, warnings",
    options = function(p)
      p:argument("file", "the .pfx/.p12 file")
      p:option("--passin", "the PFX password: " .. PASS_HELP)
    end,
    run = function(args) return M.info { file = args.file, passin = args.passin } end,
    text = function(res, ctx) describe.print_pfx_info(res, ctx.ui.say) end,
  },
  split = {
    summary = "a PFX or PEM bundle into privkey.pem, server.pem, ca.pem (and extra.pem)",
    description = "The server certificate is the one whose public key matches the private key; ca.pem "
      .. "holds its chain, issuer first, up to the root, as clean PEM: where the file has several copies "
      .. "of a CA (an expired one and its renewal, an old and a renewed root), the one valid now wins, "
      .. "then the one valid longest, file order breaking ties; the others go to extra.pem. A file with "
      .. "several keys lists them (with the serial, subject and friendlyName of the certificate each "
      .. "matches): choose one with --key N. privkey.pem is written "
      .. "unencrypted (as appliances need it) with mode 0600 unless --key-passout is given. "
      .. "Existing files are replaced only with --force; when anything fails, nothing is written.",
    options = function(p)
      p:argument("file", "a PFX, or the PEM text `openssl pkcs12 -in` writes")
      p:option("--out-dir", "the folder for the files (created if missing)"):count(1)
      p:option("--passin", "the PFX password (or the PEM key's pass phrase): " .. PASS_HELP)
      p:option("--key-format", "pkcs1 (default: BEGIN RSA/EC PRIVATE KEY) or pkcs8 (BEGIN PRIVATE KEY)")
        :choices { "pkcs1", "pkcs8" }
      p:option("--key-passout", "encrypt privkey.pem with this password (AES-256-CBC): " .. PASS_HELP)
      p:option("--key", "which private key, when the file has several (1, 2, ...)")
      p:flag("--force", "replace existing files")
    end,
    run = function(args)
      return M.split { file = args.file, out_dir = args.out_dir, passin = args.passin,
                       key_format = args.key_format, key_passout = args.key_passout, key = args.key,
                       force = args.force }
    end,
    text = function(res, ctx)
      ctx.ui.say("%s: %s", res.file, res.input == "pkcs12" and "PKCS#12 (PFX)"
        or (res.input == "pem" and "PEM bundle" or (res.input or "?")))
      for _, w in ipairs(res.written) do
        ctx.ui.say("wrote %s (%s%s): %s", w.path, w.mode, w.replaced and ", replaced" or "", w.what)
        ctx.ui.say("      %s", w.why)
      end
      if res.verify then ctx.ui.say("chain: %s", res.verify.text) end
      say_list(ctx, res)
    end,
  },
  build = {
    summary = "a PFX from a key, its certificate and the CA chain (modern, legacy or windows2016)",
    description = "modern: PBES2 AES-256-CBC, PBKDF2-SHA256, SHA-256 MAC (OpenSSL 3, Windows 10 1709+). "
      .. "legacy / windows2016: 3DES and a SHA-1 MAC, which older Windows, Java 8 and appliances "
      .. "read. The chain is put in order and checked; the file is read back before it is written.",
    options = function(p)
      p:option("--key", "the private key (PEM or DER, encrypted or not)"):count(1)
      p:option("--cert", "the certificate (a bundle is fine: the one matching the key is taken)"):count(1)
      p:option("--chain", "the CA certificates (PEM bundle, DER or p7b), any order")
      p:option("--out", "the .pfx to write (" .. outputs.HELP .. ")"):count(1)
      p:option("--passin", "the key's password: " .. PASS_HELP)
      p:option("--passout", "the PFX password: " .. PASS_HELP)
      p:option("--friendly-name", "the friendlyName Windows shows")
      p:option("--profile", "modern (default), legacy or windows2016"):choices { "modern", "legacy", "windows2016" }
      p:flag("--force", "replace an existing file")
    end,
    run = function(args)
      return M.build { key = args.key, cert = args.cert, chain = args.chain, out = args.out,
                       passin = args.passin, passout = args.passout, friendly_name = args.friendly_name,
                       profile = args.profile, force = args.force }
    end,
    text = function(res, ctx)
      local a = res.algorithms or {}
      ctx.ui.say("wrote %s (%s, %d bytes): %s profile, keys %s, certificates %s, MAC %s",
        res.file, res.mode, res.size, res.profile, tostring(a.key_encryption), tostring(a.cert_encryption), tostring(a.mac))
      ctx.ui.say("  certificate %s; key %s", ui.escape(res.certificate.subject), res.key.text)
      for i, c in ipairs(res.chain) do ctx.ui.say("  chain %d: %s", i, ui.escape(c.subject)) end
      if res.verify then ctx.ui.say("  chain: %s", res.verify.text) end
      say_list(ctx, res)
    end,
  },
  ["decrypt-key"] = {
    summary = "write a private key without its password (mode 0600), as appliances want it",
    options = function(p)
      p:argument("file", "the encrypted key (legacy PEM, PKCS#8 PEM or DER)")
      p:option("--out", "the unencrypted key to write (" .. outputs.HELP .. ")"):count(1)
      p:option("--passin", "the key's password: " .. PASS_HELP)
      p:option("--key-format", "pkcs1 (BEGIN RSA/EC PRIVATE KEY) or pkcs8 (BEGIN PRIVATE KEY); default: as the input")
        :choices { "pkcs1", "pkcs8" }
      p:flag("--force", "replace an existing file")
    end,
    run = function(args)
      return M.decrypt_key { file = args.file, out = args.out, passin = args.passin,
                             key_format = args.key_format, force = args.force }
    end,
    text = function(res, ctx)
      ctx.ui.say("wrote %s (%s): %s private key, unencrypted, %s", res.out, res.mode, res.key.text, res.format)
      ctx.ui.say("      from %s: %s", res.file, res.was)
      if res.note then ctx.ui.say("note: %s", res.note) end
    end,
  },
  ["encrypt-key"] = {
    summary = "write a private key encrypted with a password (PKCS#8 PBES2 AES-256 by default)",
    options = function(p)
      p:argument("file", "the key (any form; an encrypted one needs --passin)")
      p:option("--out", "the encrypted key to write (" .. outputs.HELP .. ")"):count(1)
      p:option("--passin", "the input key's password: " .. PASS_HELP)
      p:option("--passout", "the new password: " .. PASS_HELP)
      p:option("--key-format", "pkcs8 (default, BEGIN ENCRYPTED PRIVATE KEY) or pkcs1 (legacy Proc-Type/DEK-Info PEM)")
        :choices { "pkcs1", "pkcs8" }
      p:option("--cipher", "aes-256-cbc (default), aes-192-cbc, aes-128-cbc, des-ede3-cbc")
        :choices { "aes-256-cbc", "aes-192-cbc", "aes-128-cbc", "des-ede3-cbc" }
      p:flag("--force", "replace an existing file")
    end,
    run = function(args)
      return M.encrypt_key { file = args.file, out = args.out, passin = args.passin, passout = args.passout,
                             key_format = args.key_format, cipher = args.cipher, force = args.force }
    end,
    text = function(res, ctx)
      ctx.ui.say("wrote %s (%s): %s private key, encrypted with %s, %s", res.out, res.mode, res.key.text,
        res.cipher, res.format)
      ctx.ui.say("      from %s: %s", res.file, res.was)
    end,
  },
}

return M
