-- The `convert` plugin: Windows-style conversions between DER (.cer/.crt/.der), PEM / Base-64
-- .cer, and PKCS#7 (.p7b), for certificates, bundles, CSRs, CRLs, keys and PKCS#7, with the
-- input recognized from its content (certbench.detect), never from its extension.
--
--   certbench convert FILE --to pem|der|b64cer|p7b [--out FILE] [--force]
--   certbench convert dir SRC --to pem|der|b64cer|p7b --out-dir DST [--force]
--
-- pem: every object as clean PEM (LF), a PKCS#7 bundle as its certificates (and CRLs), keys in
--   the form they came in (PKCS#8, PKCS#1, SEC1, encrypted or not); b64cer: the same with CRLF,
--   as Windows' "Base-64 encoded X.509 (.CER)"; der: one object as DER (a p7b stays PKCS#7);
--   p7b: every certificate and CRL in one PKCS#7 (DER).
--
-- Lua API:
--   local convert = require "certbench.plugins.convert"
--   convert.data(bytes, name, to[, {password =}]) -> out_bytes, report | nil, err, code
--   convert.file{ file =, to =, out =, force =, passin = } -> result | nil, err
--   convert.folder{ dir =, to =, out_dir =, force = } -> result (result.failed > 0: some failed)
--   convert.out_name(path, to, report) -> the default output name: the input's with the target's extension
-- An options key a function does not know raises, naming it.
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local options = require "certbench.options"
local lazy = require("certbench").lazy
local input = lazy "certbench.input"
local pem = lazy "certbench.pem"
local outputs = lazy "certbench.outputs"
local pkcs7 = lazy "certbench.pkcs7"
local x509 = lazy "certbench.x509"

local M = { name = "convert", version = "1.0",
            summary = "DER <-> PEM / Base-64 .cer <-> PKCS#7 .p7b, detected from content (CRLF, BOM, UTF-16, no armor)" }
M.default = "file"

M.TARGETS = { pem = true, der = true, b64cer = true, p7b = true }

local KEY_LABEL = { pkcs8 = "PRIVATE KEY", pkcs1 = "RSA PRIVATE KEY", sec1 = "EC PRIVATE KEY", dsa = "DSA PRIVATE KEY" }
local PUB_LABEL = { spki = "PUBLIC KEY", pkcs1 = "RSA PUBLIC KEY" }

-- pem_label(o) -> the PEM armor for one object of certbench.input: a certificate is always
-- CERTIFICATE (OpenSSL's TRUSTED CERTIFICATE trust settings are not carried over), a key keeps
-- the form it came in
local function pem_label(o)
  if o.kind == "certificate" then return "CERTIFICATE" end
  if o.kind == "csr" then return "CERTIFICATE REQUEST" end
  if o.kind == "crl" then return "X509 CRL" end
  if o.kind == "private_key" then
    if o.format == "pkcs8" and o.encrypted then return "ENCRYPTED PRIVATE KEY" end
    return KEY_LABEL[o.format] or "PRIVATE KEY"
  end
  if o.kind == "public_key" then return PUB_LABEL[o.format] or "PUBLIC KEY" end
  return nil
end

local plural = ui.plural

local WORDS = { certificate = "certificate", csr = "certificate request", crl = "CRL",
                private_key = "private key", public_key = "public key", pkcs7 = "PKCS#7 bundle",
                ocsp_response = "OCSP response" }

local function describe_out(counts)
  local order = { "certificate", "csr", "crl", "private_key", "public_key", "pkcs7", "ocsp_response" }
  local t = {}
  for _, k in ipairs(order) do
    if counts[k] then t[#t + 1] = plural(counts[k], WORDS[k]) end
  end
  return table.concat(t, ", ")
end

-- members(list) -> { {member=, wrote=}, ... } for containers: what each member gave
local function members(list)
  local out, at = {}, {}
  for _, o in ipairs(list) do
    local m = o.member or o.from
    if not at[m] then
      at[m] = { member = m, counts = {} }
      out[#out + 1] = at[m]
    end
    at[m].counts[o.kind] = (at[m].counts[o.kind] or 0) + 1
  end
  for _, e in ipairs(out) do
    e.wrote = describe_out(e.counts)
    e.counts = nil
  end
  return out
end

-- data(bytes, name, to[, opts]) -> out, report | nil, err, code
-- opts.password opens a PKCS#12 file (or an encrypted key: only for the PKCS#12 contents,
-- a key stays encrypted as it came). The input is read by certbench.input: PEM in any text
-- form, DER, PKCS#7, PKCS#12, ZIP, tar, gzip, bzip2, xz.
-- report = { input = summary, output = "...", counts = {kind = n}, has_key = bool,
--            members = { {member=, wrote=}, ... } (archives), warnings = { ... } }
function M.data(bytes, name, to, opts)
  if not M.TARGETS[to] then error("convert.data: to must be pem, der, b64cer or p7b, not " .. tostring(to), 2) end
  opts = options.check(opts, { "password" }, "convert.data") or {}
  local r, err, code = input.bytes(bytes, name, { password = opts.password })
  if not r then return nil, err, code end
  return M.result(r, to)
end

-- result(r, to) -> out, report | nil, err, code: the same, from what certbench.input read
function M.result(r, to)
  local name = r.name
  local problem, pcode = input.problem(r)
  if problem then return nil, problem, pcode end
  local list = r.objects
  local report = { input = r.summary, warnings = {}, counts = {} }
  for _, w in ipairs(r.warnings or {}) do report.warnings[#report.warnings + 1] = w end
  for _, sk in ipairs(r.skipped) do report.warnings[#report.warnings + 1] = ("%s: skipped: %s"):format(sk.from, sk.reason) end
  if #list == 0 then return nil, ("%s: nothing to convert (%s)"):format(name, r.summary), "empty" end
  local archived = false
  for _, o in ipairs(list) do
    if o.member then archived = true end
    if o.kind == "private_key" then report.has_key = true end
  end
  if archived then report.members = members(list) end
  local counts = report.counts
  local function count(kind) counts[kind] = (counts[kind] or 0) + 1 end
  if to == "pem" or to == "b64cer" then
    local parts = {}
    for _, o in ipairs(list) do
      if o.legacy then
        parts[#parts + 1] = o.pem -- its Proc-Type/DEK-Info headers are part of the key
      elseif o.der then
        parts[#parts + 1] = pem.encode(pem_label(o) or "CERTIFICATE", o.der)
      elseif o.kind == "private_key" then -- from a PKCS#12 file: PKCS#8, as pfx split writes it
        parts[#parts + 1] = o.object:to_pem()
      end
      count(o.kind)
    end
    local out = table.concat(parts)
    if to == "b64cer" then out = out:gsub("\n", "\r\n") end
    report.output = (to == "pem" and "PEM" or "Base-64 .cer (PEM, CRLF)") .. ": " .. describe_out(counts)
    return out, report
  end
  -- one PKCS#7 and nothing else: its DER, byte for byte, for --to der and --to p7b
  local p7 = list[1].pkcs7
  for _, o in ipairs(list) do if o.pkcs7 ~= p7 or o.member then p7 = nil end end
  if p7 then
    local nc, nl = #input.of(r, "certificate"), #input.of(r, "crl")
    counts.certificate, counts.crl = nc > 0 and nc or nil, nl > 0 and nl or nil
    report.output = "PKCS#7 (DER): " .. describe_out(counts)
    if to == "der" then report.counts = { pkcs7 = 1 } end
    return p7, report
  end
  if to == "der" then
    if #list ~= 1 then
      return nil, ("%s: %s: a DER file holds one object (--to p7b puts several certificates in one file)"):format(
        name, (r.summary:match(": (.*)$") or r.summary)), "several"
    end
    local o = list[1]
    if o.legacy then
      return nil, ("%s: a legacy-encrypted PEM key (Proc-Type/DEK-Info) has no DER form: certbench pfx decrypt-key or pfx encrypt-key (PKCS#8) first"):format(name), "unsupported"
    end
    count(o.kind)
    report.output = "DER: " .. (o.what or WORDS[o.kind] or o.kind)
    return o.der or o.object:to_der(), report
  else -- p7b
    local certs, crls = {}, {}
    for _, o in ipairs(list) do
      if o.kind == "certificate" then
        local c, cerr = input.load(o)
        if not c then return nil, ("%s: %s"):format(o.from, cerr), "bad_cert" end
        certs[#certs + 1] = c
      elseif o.kind == "crl" then
        crls[#crls + 1] = o.der
      else
        return nil, ("%s: holds a %s, but a p7b carries certificates and CRLs only: nothing converted"):format(
          o.from, o.what or WORDS[o.kind] or o.kind), "unsupported"
      end
    end
    counts.certificate, counts.crl = (#certs > 0) and #certs or nil, (#crls > 0) and #crls or nil
    report.output = "PKCS#7 (DER): " .. describe_out(counts)
    local der, berr = pkcs7.build { certs = certs, crls = crls }
    if not der then return nil, name .. ": " .. berr end
    return der, report
  end
end

local EXT = { pem = ".pem", b64cer = ".cer", p7b = ".p7b" }

-- out_name(path, to, report) -> the default output name: the input's with the target's extension
function M.out_name(path, to, report)
  local ext = EXT[to]
  if to == "der" then
    local k = next(report.counts)
    ext = ({ certificate = ".cer", crl = ".crl", csr = ".csr", pkcs7 = ".p7b" })[k] or ".der"
  end
  local base = path:gsub("%.[%w_%-]+$", "")
  if base == "" or base:sub(-1) == "/" then base = path end
  return base .. ext
end

-- password(spec) -> secret | nil, err: a --passin source, or nil without one
local function password(spec)
  if spec == nil then return nil end
  return require("certbench.secret").get(spec, { what = "PFX" })
end

function M.file(o)
  options.check(o, { "file", "to", "out", "force", "passin" }, "convert.file")
  if not M.TARGETS[o.to or ""] then return nil, "convert: --to must be pem, der, b64cer or p7b", 2 end
  local pw, perr = password(o.passin)
  if o.passin and not pw then return nil, require("certbench.passin").source_error(o.file, "--passin", o.passin, perr) end
  -- a path, "-" or a URL (the certsrv page's certnew.cer), read by certbench.input
  local r, rerr, rcode = input.read(o.file, { password = pw })
  if not r then return nil, rerr, rcode == "io" and nil or nil end
  local out, report = M.result(r, o.to)
  if not out then return nil, report end
  if not o.out and input.is_source(o.file) then
    if o.file == "-" then return nil, "convert: reading standard input, --out is required", 2 end
  end
  local src = o.file
  if input.is_source(src) then src = (src:match("([^/?#]+)[?#]?[^/]*$") or "download"):gsub("%?.*$", "") end
  local path = o.out or M.out_name(src, o.to, report)
  if fs.realpath(path) and fs.realpath(path) == fs.realpath(o.file) then
    return nil, ("convert: %s is the input file: give another name with --out"):format(path), 2
  end
  local w = outputs.new { force = o.force }
  w:add(path, out, { key = report.has_key })
  local written, werr = w:commit()
  if not written then return nil, werr end
  return {
    file = o.file, to = o.to, out = path, size = #out, mode = written[1].mode, replaced = written[1].replaced,
    input = report.input, output = report.output, warnings = ui.array(report.warnings or {}),
    members = report.members and ui.array(report.members) or nil,
  }
end

function M.folder(o)
  options.check(o, { "dir", "to", "out_dir", "force" }, "convert.folder")
  if not M.TARGETS[o.to or ""] then return nil, "convert dir: --to must be pem, der, b64cer or p7b", 2 end
  if not o.out_dir then return nil, "convert dir: --out-dir is required", 2 end
  if not fs.isdir(o.dir) then return nil, o.dir .. ": not a folder" end
  local names, lerr = fs.list(o.dir)
  if not names then return nil, lerr end
  table.sort(names)
  if not fs.isdir(o.out_dir) then
    local ok, merr = fs.mkdir(o.out_dir, { parents = true })
    if not ok then return nil, merr end
  end
  local res = { dir = o.dir, out_dir = o.out_dir, to = o.to, files = {}, converted = 0, failed = 0, skipped = 0 }
  local taken = {}
  local same = fs.realpath(o.dir) == fs.realpath(o.out_dir)
  for _, n in ipairs(names) do
    local path = fs.join(o.dir, n)
    local st = fs.stat(path)
    local e = { file = path }
    if not st or st.type ~= "file" then
      e.status, e.reason = "skipped", st and ("a " .. st.type) or "gone"
      res.skipped = res.skipped + 1
    else
      local data, rerr = fs.read(path) -- fs.FILE_MAX, the one cap on a local file
      local out, report, code
      if data then out, report, code = M.data(data, path, o.to) else report, code = rerr, "io" end
      if out then
        local target = fs.join(o.out_dir, fs.basename(M.out_name(n, o.to, report)))
        if taken[target] then
          out, report = nil, ("%s: would be written to %s too, as %s was: not converted"):format(path, target, taken[target])
        elseif same and target == path then
          out, report = nil, ("%s: the output name is the input's: convert into another folder"):format(path)
        else
          local w = outputs.new { force = o.force }
          w:add(target, out, { key = report.has_key })
          local written, werr = w:commit()
          if written then
            taken[target] = path
            e.status, e.out, e.input, e.output, e.mode = "ok", target, report.input, report.output, written[1].mode
            res.converted = res.converted + 1
          else
            out, report = nil, werr
          end
        end
      end
      if not out then
        e.status, e.error, e.code = "failed", report, code
        res.failed = res.failed + 1
      end
    end
    res.files[#res.files + 1] = e
  end
  res.files = ui.array(res.files)
  return res
end

local TO_HELP = "pem (clean PEM, LF), der (one object), b64cer (PEM with CRLF, Windows' Base-64 .cer), p7b (PKCS#7 bundle)"

M.commands = {
  file = {
    summary = "convert one file (certificates, bundles, CSRs, CRLs, keys, PKCS#7) between DER, PEM, Base-64 .cer and p7b",
    options = function(p)
      p:argument("file", "the input: a file, - (standard input) or an http(s)/ldap(s) URL; its content decides what it is, not its name (PEM, DER, PKCS#7, PKCS#12, ZIP, tar, gzip)")
      p:option("--passin", "the password of a PKCS#12 (PFX) input: pass:TEXT, env:VAR, file:PATH, fd:N, stdin")
      p:option("--to", TO_HELP):choices { "pem", "der", "b64cer", "p7b" }:count(1)
      p:option("--out", "the output file (default: the input's name with .pem, .cer, .crl, .csr, .p7b or .der; " .. outputs.HELP .. ")")
      p:flag("--force", "replace an existing output file")
    end,
    run = function(args)
      return M.file { file = args.file, to = args.to, out = args.out, force = args.force, passin = args.passin }
    end,
    text = function(res, ctx)
      ctx.ui.say("%s (%s) -> %s (%s, %d bytes%s)", res.file, res.input, res.out, res.output, res.size,
        res.mode == "0600" and ", mode 0600: it holds a private key" or "")
      for _, m in ipairs(res.members or {}) do ctx.ui.say("  %s: %s", m.member, m.wrote) end
      for _, w in ipairs(res.warnings) do ctx.ui.say("warning: %s", w) end
    end,
  },
  dir = {
    summary = "convert every file of a folder; one report line per file, the rest converted when one fails",
    options = function(p)
      p:argument("dir", "the folder of mixed files (.cer, .crt, .der, .pem, .p7b, ...)")
      p:option("--to", TO_HELP):choices { "pem", "der", "b64cer", "p7b" }:count(1)
      p:option("--out-dir", "where to write the converted files (created if missing)"):count(1)
      p:flag("--force", "replace existing output files")
    end,
    run = function(args)
      local res, err, code = M.folder { dir = args.dir, to = args.to, out_dir = args.out_dir, force = args.force }
      if not res then return nil, err, code end
      return res, nil, res.failed > 0 and 1 or 0
    end,
    text = function(res, ctx)
      for _, e in ipairs(res.files) do
        if e.status == "ok" then
          ctx.ui.say("ok       %s (%s) -> %s", e.file, e.input, e.out)
        elseif e.status == "skipped" then
          ctx.ui.say("skipped  %s (%s)", e.file, e.reason)
        else
          ctx.ui.say("FAILED   %s", e.error)
        end
      end
      ctx.ui.say("%d converted, %d failed, %d skipped", res.converted, res.failed, res.skipped)
    end,
  },
}

return M
