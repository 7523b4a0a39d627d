-- The `show` plugin: `certbench show FILE` decodes whatever the file is — certificates (one or
-- a bundle), CSRs, CRLs, keys, PKCS#7 and PFX files — like `openssl x509/req/crl/pkey -text`,
-- with --json for programs. Private key material is never printed unless --private.
--
-- `show --lint FILE` lists, for each certificate, what RFC 5280 and the CA/B Forum baseline
-- requirements find wrong in it (certbench.lint: rule, severity, text), instead of its text;
-- the exit code is then 3 when a finding is an error (a MUST broken).
--
-- Lua API: require("certbench.plugins.show").show{ file =, passin =, entries =, private =, lint = }
--   -> { file =, format =, objects = { {kind=, what=, ...} } } | nil, err
--   with lint, each certificate's object has lint = { {id=, rule=, severity=, text=} ... }
--   (the certificates of a PKCS#7 too, in pkcs7.certificates[i].lint), and the result
--   lint_errors = the number of "error" findings
--   .say_lint(object, ctx) prints an object's lint findings as `show --lint` does (ctx.ui.say)
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local lazy = require("certbench").lazy
local detect = lazy "certbench.detect"
local input = lazy "certbench.input"
local archive = lazy "certbench.archive"
local x509 = lazy "certbench.x509"
local csr = lazy "certbench.csr"
local crl = lazy "certbench.crl"
local pkey = lazy "certbench.pkey"
local pkcs7 = lazy "certbench.pkcs7"
local descr = lazy "certbench.describe"
local passin_lib = lazy "certbench.passin"
local lint = lazy "certbench.lint"

local M = { name = "show", version = "1.0",
            summary = "decode any PKI file: certificates, CSRs, CRLs, keys, PKCS#7, PFX (like openssl ... -text)" }
M.default = "show"

local function cert_details(c)
  local t = descr.cert_info(c)
  t.version = c:version()
  t.signature_algorithm = c:signature_algorithm()
  local bc = c:basic_constraints()
  if bc then t.basic_constraints = bc end
  local ku, eku = c:key_usage(), c:eku()
  if ku and #ku > 0 then t.key_usage = ui.array(ku) end
  if eku and #eku > 0 then t.eku = ui.array(eku) end
  t.ski = c:ski()
  t.aki = c:aki()
  local cdp, ocsp = c:crl_distribution_points(), c:ocsp_urls()
  if cdp and #cdp > 0 then t.crl_distribution_points = ui.array(cdp) end
  if ocsp and #ocsp > 0 then t.ocsp_urls = ui.array(ocsp) end
  return t
end

local function crl_details(c, entries)
  local t = {
    issuer = c:issuer():text { exact = true }, version = c:version(), this_update = c:this_update(),
    next_update = c:next_update(), this_update_text = ui.time(c:this_update()),
    next_update_text = ui.time(c:next_update()), number = c:number(), delta_base = c:delta_base(),
    count = c:count(), signature_algorithm = c:signature_algorithm(), aki = c:aki(),
  }
  if t.next_update and t.next_update < os.time() then t.expired = true end
  if entries then
    -- Streamed, not gathered: a lazy list read from the CRL's own iterator as the JSON encoder
    -- or the text printer walks it in order (a table per entry of a 200 MB CRL took 6.2 GB);
    -- going back (t.entries[1] after [5]) starts the iterator again.
    t.entries = ui.lazy_stream(t.count, function() return c:entries() end, function(e)
      return { serial = e.serial, date = e.date, date_text = ui.time(e.date), reason = e.reason,
               invalidity_date = e.invalidity_date }
    end)
  end
  return t
end

local function crl_summary_text(t)
  local l = {
    "Certificate Revocation List (CRL):",
    ("        Version %d (0x%x)"):format(t.version, t.version - 1),
    "        Signature Algorithm: " .. tostring(t.signature_algorithm),
    "        Issuer: " .. ui.escape(t.issuer),
    "        Last Update: " .. tostring(t.this_update_text),
    "        Next Update: " .. (t.next_update_text or "NONE") .. (t.expired and " (EXPIRED)" or ""),
  }
  if t.number then l[#l + 1] = "        CRL Number: 0x" .. t.number end
  if t.delta_base then l[#l + 1] = "        Delta CRL of base number: 0x" .. t.delta_base end
  if t.aki then l[#l + 1] = "        Authority Key Identifier: " .. t.aki end
  if t.entries then l[#l + 1] = ("Revoked Certificates: %d"):format(t.count)
  else l[#l + 1] = ("Revoked Certificates: %d (--entries lists them)"):format(t.count) end
  return table.concat(l, "\n")
end

local function key_details(k)
  local t = descr.key_info(k)
  t.public_pem = k:public_pem()
  return t
end

-- one detected object -> its entry in the result (text for people in .text)
local function describe(o, opts, name)
  local e = { index = o.index, kind = o.kind, what = o.what, block = o.block, line = o.line, label = o.label,
              size = o.size, attributes = o.attributes, note = o.note }
  local where = name .. (o.block and (" (PEM block " .. o.block .. ")") or "")
  -- a loader's refusal, said of the file: "x.pem (PEM block 2): certificate 1: notAfter is ..."
  local function refused(err) e.error = where .. ": " .. tostring(err):gsub("^[%w_.]+: ", "", 1) return e end
  if o.kind == "certificate" then
    local c, err = x509.load(o.der)
    if not c then return refused(err) end
    e.certificate = cert_details(c)
    e.text = c:text()
    if opts.lint then e.lint = ui.array(lint.certificate(c)) end
  elseif o.kind == "csr" then
    local r, err = csr.load(o.der)
    if not r then return refused(err) end
    local pk = r:public_key()
    local ok, why = r:verify()
    local san = r:san() or {}
    local sl = {}
    for _, g in ipairs(san) do sl[#sl + 1] = g.type .. ":" .. tostring(g.value) end
    e.csr = { subject = r:subject():text { exact = true }, key = pk and descr.key_line(pk), signature_valid = ok and true or false,
              signature_problem = not ok and why or nil, san = #sl > 0 and ui.array(sl) or nil,
              eku = (r:eku() and #r:eku() > 0) and ui.array(r:eku()) or nil,
              signature_algorithm = r:signature_algorithm() }
    e.text = r:text()
  elseif o.kind == "crl" then
    local c, err = crl.load(o.der)
    if not c then return refused(err) end
    e.crl = crl_details(c, opts.entries)
    e.text = crl_summary_text(e.crl)
  elseif o.kind == "private_key" then
    e.private_key = { format = o.format, encrypted = o.encrypted or false, encryption = o.encryption,
                      cipher = o.cipher, algorithm = o.algorithm }
    local k, err, code
    if o.encrypted and opts.passin == nil then
      e.text = e.what .. "\n(give --passin to decrypt it and see the key)"
      return e
    end
    if o.encrypted then
      k, err, code = passin_lib.load_key(o.pem or o.der, where, opts.passin)
    else
      k, err, code = pkey.load(o.pem or o.der, { name = where })
    end
    if not k then
      e.error, e.code = err, code
      if code == "bad_password" then e.fatal = true end
      return e
    end
    e.key = key_details(k)
    local t = { e.what, "key: " .. e.key.text, "SHA-256 of the public key: " .. e.key.fingerprint, e.key.public_pem }
    if opts.private then
      e.private_pem = k:to_pem()
      t[#t + 1] = e.private_pem
    else
      t[#t + 1] = "(the private part is not shown; --private shows it)"
    end
    e.text = table.concat(t, "\n")
  elseif o.kind == "public_key" then
    local k, err = pkey.load(o.der, { format = "der", name = where })
    if not k then e.error = err return e end
    e.key = key_details(k)
    e.text = table.concat({ e.what, "key: " .. e.key.text, "SHA-256: " .. e.key.fingerprint, e.key.public_pem }, "\n")
  elseif o.kind == "pkcs7" then
    local p, err = pkcs7.load(o.der, { name = where })
    if not p then e.error = err return e end
    local certs, t = {}, { ("PKCS#7 (%s): %d certificate%s, %d CRL%s"):format(p.signed and "signed data" or "certificates only",
      #p.certs, #p.certs == 1 and "" or "s", #p.crls, #p.crls == 1 and "" or "s") }
    for i, c in ipairs(p.certs) do
      local ci = cert_details(c)
      if opts.lint then ci.lint = ui.array(lint.certificate(c)) end
      certs[i] = ci
      t[#t + 1] = ("  %d. subject %s\n     issuer  %s\n     serial  %s, valid %s to %s%s"):format(i, ui.escape(ci.subject), ui.escape(ci.issuer),
        ci.serial, ci.not_before_text, ci.not_after_text, ci.expired and " (EXPIRED)" or "")
    end
    local crls = {}
    for i, d in ipairs(p.crls) do
      local c = crl.load(d)
      if c then
        crls[i] = crl_details(c, opts.entries)
        t[#t + 1] = ("  CRL %d: issuer %s, %s, next update %s"):format(i, ui.escape(crls[i].issuer), ui.plural(crls[i].count, "entry"),
          tostring(crls[i].next_update_text))
      end
    end
    e.pkcs7 = { signed = p.signed, certificates = ui.array(certs), crls = ui.array(crls) }
    e.text = table.concat(t, "\n")
  elseif o.kind == "pkcs12" then
    local r, err, code = passin_lib.open_pfx(o.der, name, opts.passin)
    if not r then e.error, e.code, e.fatal = err, code, true return e end
    e.pkcs12 = descr.pfx_info(r, name)
    local lines = {}
    descr.print_pfx_info(e.pkcs12, function(fmt, ...) lines[#lines + 1] = fmt:format(...) end)
    e.text = table.concat(lines, "\n")
  elseif o.kind == "ocsp_response" then
    e.text = ("OCSP response, %d bytes (certbench does not decode OCSP responses)"):format(o.size)
  else
    e.text = ("%s, %d bytes: not decoded"):format(e.what, o.size or 0)
  end
  return e
end

-- show_container: every object of every member of a ZIP, tar or compressed file, each
-- headed by where it came from; members not understood are shown with the reason
local function show_container(o, data)
  local r, err = input.bytes(data, o.file, { pkcs12 = "keep" })
  if not r then return nil, err end
  local res = { file = o.file, format = r.summary, warnings = {}, objects = {} }
  for _, w in ipairs(r.warnings) do res.warnings[#res.warnings + 1] = w end
  for _, sk in ipairs(r.skipped) do res.warnings[#res.warnings + 1] = sk.from .. ": skipped: " .. sk.reason end
  for i, ob in ipairs(r.objects) do
    ob.index, ob.size = i, ob.der and #ob.der or 0
    local e = describe(ob, o, ob.from)
    if e.fatal then return nil, e.error end
    e.from = ob.from
    res.objects[#res.objects + 1] = e
  end
  for _, u in ipairs(r.unknown) do
    res.objects[#res.objects + 1] = { index = #res.objects + 1, kind = "unknown", what = "not understood",
      from = u.from, error = u.from .. ": " .. u.reason }
  end
  res.warnings, res.objects = ui.array(res.warnings), ui.array(res.objects)
  if #res.objects == 0 then return nil, ("%s: nothing certbench reads (%s)"):format(o.file, r.summary) end
  return res
end

-- lint_lines(subject, findings) -> the text of one certificate's findings
local function lint_lines(subject, findings)
  local l = { "certificate " .. subject }
  if #findings == 0 then l[#l + 1] = "  no findings" end
  for _, f in ipairs(findings) do
    l[#l + 1] = ("  %-8s %-26s %s"):format(f.severity, f.rule, f.text)
  end
  return table.concat(l, "\n")
end

function M.say_lint(e, ctx)
  if e.lint then ctx.ui.say("%s", lint_lines(ui.escape(e.certificate.subject), e.lint)) end
  for _, ci in ipairs(e.pkcs7 and e.pkcs7.certificates or {}) do
    ctx.ui.say("%s", lint_lines(ui.escape(ci.subject), ci.lint or {}))
  end
end

-- count_lint: with --lint, res.lint_errors = the "error" findings of every certificate
local function count_lint(res, o)
  if not o.lint then return end
  res.lint_errors = 0
  local function count(list)
    for _, f in ipairs(list or {}) do
      if f.severity == "error" then res.lint_errors = res.lint_errors + 1 end
    end
  end
  for _, e in ipairs(res.objects) do
    count(e.lint)
    for _, ci in ipairs(e.pkcs7 and e.pkcs7.certificates or {}) do count(ci.lint) end
  end
end

-- BIG_CRL: a DER or PEM file at least this big that is one CRL is scanned from the file, not
-- read (a gzip one, whatever its size)
local BIG_CRL = 4 << 20

-- show_big_crl(o) -> res | nil: a big CRL file, scanned (crl.scan_file): checked and counted a
-- piece at a time, its entries listed from the file as they are printed, so the memory is that
-- of a small CRL whatever its size. A PEM CRL is decoded to a temporary file a piece at a time
-- and a gzip one (several members: one stream, as gzip -d inflates them; a gzipped PEM too)
-- inflated so, under crl.GZIP_SCAN's limits, then scanned there. Their lines are those the
-- general path gives for the same file. nil: not such a file (a PEM with other blocks, a gzip
-- of something else, a CRL the scan refuses: the general path reads it and says what it is).
local function show_big_crl(o)
  if input.is_source(o.file) then return nil end
  local st = fs.stat(o.file)
  if not st or st.type ~= "file" then return nil end
  local f = io.open(o.file, "rb")
  local head = f and f:read(3)
  if f then f:close() end
  if not head or head == "" then return nil end
  -- a gzip file's size says nothing of what it inflates to: scanned whatever its size
  if st.size < BIG_CRL and head ~= "\x1f\x8b\x08" then return nil end
  local c, extra, format, encoding, from
  if head:byte(1) == 0x30 then
    c = crl.scan_file(o.file)
    format, encoding = "DER: 1 CRL", "der"
  elseif head == "\x1f\x8b\x08" then
    c, extra = crl.scan_file(o.file, { gzip = true })
    -- named as certbench.input names the member of a gzip file
    from = o.file .. ": " .. (extra or archive.strip_gz(o.file:match("[^/]*$")))
    format = "GZIP (1 member): 1 CRL"
  else
    c, extra = crl.scan_file(o.file)
    if c and extra then -- other PEM blocks: each is shown, by the general path
      c:close()
      return nil
    end
    format, encoding = "PEM: 1 CRL", "pem"
  end
  if not c then return nil end
  local e = { index = 1, kind = "crl", what = "CRL", size = encoding == "der" and st.size or nil, from = from }
  e.crl = crl_details(c, o.entries)
  e.text = crl_summary_text(e.crl)
  return { file = o.file, format = format, encoding = encoding, warnings = ui.array({}), objects = ui.array({ e }) }
end

function M.show(o)
  local big = show_big_crl(o)
  if big then
    count_lint(big, o)
    return big
  end
  -- a path, "-" or a URL (certbench.input)
  local data, rerr = input.fetch(o.file)
  if not data then return nil, rerr end
  if archive.CONTAINERS[archive.detect(data)] then
    local res, cerr = show_container(o, data)
    if res then count_lint(res, o) end
    return res, cerr
  end
  local info, err = detect.detect(data, { name = o.file })
  if not info then return nil, err end
  local res = { file = o.file, format = detect.summary(info), encoding = info.encoding, bom = info.bom,
                line_ends = info.line_ends, warnings = ui.array(info.warnings), objects = {} }
  for _, ob in ipairs(info.objects) do
    local e = describe(ob, o, o.file)
    -- a wrong password ends the command: the user asked for the contents
    if e.fatal then return nil, e.error end
    res.objects[#res.objects + 1] = e
  end
  res.objects = ui.array(res.objects)
  local bad = 0
  for _, e in ipairs(res.objects) do if e.error then bad = bad + 1 end end
  count_lint(res, o)
  if bad > 0 and bad == #res.objects then
    return nil, res.objects[1].error
  end
  return res
end

M.commands = {
  show = {
    summary = "decode a file: certificate(s), CSR, CRL, key, PKCS#7, PFX",
    options = function(p)
      p:argument("file", "any PKI file, - or a URL: DER, PEM (text around is fine), Base-64, UTF-16, PKCS#7, PFX, ZIP, tar, gzip")
      p:option("--passin", "password of an encrypted key or a PFX: pass:TEXT, env:VAR, file:PATH, fd:N, stdin")
      p:flag("--entries", "list every entry of a CRL")
      p:flag("--private", "also print private keys (unencrypted PEM)")
      p:flag("--lint", "list what RFC 5280 and the CA/B Forum rules find wrong in each certificate "
        .. "(exit 3 when a finding is an error)")
    end,
    run = function(args)
      local res, err = M.show { file = args.file, passin = args.passin, entries = args.entries,
                                private = args.private, lint = args.lint }
      if not res then return nil, err end
      return res, nil, args.lint and res.lint_errors > 0 and 3 or 0
    end,
    text = function(res, ctx)
      ctx.ui.say("%s: %s", res.file, res.format)
      local said = {}
      for _, w in ipairs(res.warnings) do
        ctx.ui.say("warning: %s", w)
        local tail = w:match("^PEM block %d+ %(line %d+%): (.*)$")
        if tail then said[tail] = true end
      end
      local n = #res.objects
      for _, e in ipairs(res.objects) do
        if n > 1 or e.attributes or e.from then
          ctx.ui.say("")
          ctx.ui.say("=== %d of %d: %s%s", e.index, n, e.what,
            e.from and (" (" .. e.from .. ")") or e.block and (" (PEM block " .. e.block .. ", line " .. e.line .. ")") or "")
        end
        if e.attributes then
          local keys = {}
          for k in pairs(e.attributes) do keys[#keys + 1] = k end
          table.sort(keys)
          for _, k in ipairs(keys) do ctx.ui.say("  (text before the block) %s: %s", k, e.attributes[k]) end
        end
        -- a note the warnings above already said (with the block and line) is not said twice
        if e.note and not said[e.note] then ctx.ui.say("note: %s", e.note) end
        if e.error then ctx.ui.say("error: %s", e.error)
        elseif e.lint or (res.lint_errors and e.pkcs7) then M.say_lint(e, ctx)
        else ctx.ui.say("%s", ui.escape(e.text, { lines = true })) end
        if not e.error and e.crl and e.crl.entries then
          -- one line at a time from the CRL: nothing of the size of the list is built
          for _, x in ipairs(e.crl.entries) do
            ctx.ui.say("    Serial Number: %s", x.serial)
            ctx.ui.say("        Revocation Date: %s", x.date_text)
            if x.reason then ctx.ui.say("        Reason: %s", x.reason) end
            if x.invalidity_date then ctx.ui.say("        Invalidity Date: %s", ui.time(x.invalidity_date)) end
          end
        end
      end
    end,
  },
}

return M
