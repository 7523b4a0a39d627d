-- certbench.plugins.ca.issue: issuing certificates (issue, issue_many; methods of the CA object of
-- authority.lua, loaded the first time one of them is called): requests checked, then committed.
--
-- Issuance, for one certificate or a batch (group commit):
--   0. requests are checked (CSR signature, profile, policy) before anything is written;
--      certificates are signed in memory with the serials that follow the serial file
--   1. the new serial and serial.old contents go to temporary files (all disk space that can
--      be undone is taken before the first visible change)
--   2. the journal records the serials reserved and the size of index.txt (fdatasync): this is
--      the durable reservation
--   3. newcerts/<SERIAL>.pem are created (O_EXCL, no fsync each yet)
--   4. one O_APPEND write of all the index lines (no fdatasync of its own yet)
--   5. the files, newcerts/ and index.txt are synced, each on its own (nothing else on the disk
--      is waited for); a batch of more than SYNC_EACH_MAX, with one syncfs(2) (group commit)
--   6. serial and serial.old are renamed into place
--   7. the journal goes back to idle, naming the next serial
-- A SIGKILL anywhere leaves a state recovery completes: certificate files of the reserved
-- serials that have no index line get one (they were issued and signed), files that do not
-- parse are removed, index lines after the journal's recorded size whose file is not a whole
-- certificate are cut (after a power cut steps 3 and 4 may land in either order), a torn last
-- index line is cut, and the serial file is moved past every
-- serial reserved (it is never synced on its own: the journal is what is durable). A failure
-- that is not a crash (a full disk, an I/O error) comes at the latest at step 5 and is undone, so the folder
-- is as it was.
local A = require "certbench.plugins.ca.authority"
-- the methods this file adds to the CA object
local CA = {}
local fs = require "certbench.fs"
local options = require "certbench.options"
local db = require "certbench.plugins.ca.db"
local journal = require "certbench.plugins.ca.journal"
local profiles = require "certbench.plugins.ca.profiles"
local S = A._shared
local cert_path = S.cert_path
local stage = S.stage
local unstage = S.unstage
local oneline_of = S.oneline_of
local now = S.now
local emit_issued = S.emit_issued
local lazy = S.lazy

-- the biggest issuance synced file by file; a bigger batch syncs its file system once (CA:_commit;
-- the measurements are in core/fs.lua, shared with the mirror's commit)
local SYNC_EACH_MAX = fs.SYNC_EACH_MAX

-- requests --------------------------------------------------------------------------------------

local NON_COPY = {
  ["2.5.29.19"] = true, -- basicConstraints
  ["2.5.29.15"] = true, -- keyUsage
  ["2.5.29.37"] = true, -- extendedKeyUsage
  ["2.5.29.14"] = true, -- subjectKeyIdentifier
  ["2.5.29.35"] = true, -- authorityKeyIdentifier
}

-- normalizes --san values: "DNS:x", "IP:1.2.3.4", "email:a@b", "URI:..."; a bare name is DNS,
-- a bare address IP
local function norm_san(list, what)
  if type(list) == "string" then
    local t = {}
    for v in list:gmatch("[^,%s]+") do t[#t + 1] = v end
    list = t
  end
  if type(list) ~= "table" then error(what .. ": san must be a list of strings", 4) end
  local out = {}
  for _, v in ipairs(list) do
    if type(v) ~= "string" then error(what .. ": san must be a list of strings", 4) end
    if v:match("^%a+:") and not v:match("^%x*:%x*:") then
      local t, rest = v:match("^(%a+):(.*)$")
      local canon = ({ dns = "DNS", ip = "IP", email = "email", uri = "URI", rid = "RID", dirname = "dirName" })[t:lower()]
      if not canon then return nil, string.format("%s: unknown SAN type '%s' in '%s' (DNS, IP, email, URI)", what, t, v) end
      out[#out + 1] = canon .. ":" .. rest
    elseif v:match("^%d+%.%d+%.%d+%.%d+$") or v:find(":", 1, true) then
      out[#out + 1] = "IP:" .. v
    elseif v:find("@", 1, true) then
      out[#out + 1] = "email:" .. v
    else
      out[#out + 1] = "DNS:" .. v
    end
  end
  return out
end

-- ca_entries: the CA subject's entries, for "match" policies
function CA:_ca_entries()
  if not self._ca_entries_cache then self._ca_entries_cache = self.cert:subject():list() end
  return self._ca_entries_cache
end

local function verify_error(verr)
  return "the CSR's signature does not verify: it was altered or not signed by its key"
    .. (verr and (" (" .. tostring(verr) .. ")") or "")
end

-- prepare(req, what[, pre]) -> item | nil, err. An item holds the options of x509.new but the
-- serial and the index subject, computed before anything is locked or written. pre: a batch
-- loaded this request's CSR beforehand ({csr=} or {load_err=}) and checks its signature
-- meanwhile: prepare notes where it would have checked it (pre.checked), the batch puts the
-- result in order afterwards.
-- what_dropped(csr, profile, san_given) -> list of what the request asks for and a
-- certificate of this profile would not carry: { eku = {names}, san = bool }
local function what_dropped(csr, profile, copies, san_given)
  local asked = csr:eku()
  local out = { eku = {}, asked = asked or {} }
  if asked and #asked > 0 and not profile.ca then
    local allowed = {}
    for _, e in ipairs(profile.eku or {}) do allowed[e] = true end
    -- a profile without an EKU restricts nothing
    if profile.eku and #profile.eku > 0 and not allowed.anyExtendedKeyUsage then
      for _, e in ipairs(asked) do
        if not allowed[e] then out.eku[#out.eku + 1] = e end
      end
    end
  end
  if not san_given then
    local list = csr:san()
    if list and #list > 0 and not copies("2.5.29.17", "subjectAltName") then out.san = true end
  end
  return out
end

-- profiles_allowing(ekus, san) -> sorted names of the profiles (not CAs) that keep them all
local function profiles_allowing(ekus, san)
  local names = {}
  for name, e in pairs(profiles.all()) do
    local p = e.value
    if not p.ca then
      local has = {}
      for _, x in ipairs(p.eku or {}) do has[x] = true end
      local ok = true
      for _, x in ipairs(ekus) do if not has[x] and not has.anyExtendedKeyUsage then ok = false end end
      local ce = p.copy_extensions
      if san and ce ~= true then
        local copies = false
        for _, c in ipairs(type(ce) == "table" and ce or (ce == nil and { "subjectAltName" } or {})) do
          if c == "subjectAltName" or c == "2.5.29.17" then copies = true end
        end
        ok = ok and copies
      end
      if ok then names[#names + 1] = name end
    end
  end
  table.sort(names, function(a, b)
    -- the built-in ones first, then by name
    local ba, bb = profiles.BUILTIN[a] ~= nil, profiles.BUILTIN[b] ~= nil
    if ba ~= bb then return ba end
    return a < b
  end)
  return names
end
A._profiles_allowing = profiles_allowing


local REQUEST_KEYS = { "csr", "profile", "days", "san", "subject", "public_key", "not_before",
                       "not_after", "digest", "path_len", "crl_urls", "ocsp_urls" }
function CA:_prepare(req, what, pre)
  if type(req) ~= "table" then error(what .. ": a request is a table {csr=, profile=, days=, san=}", 3) end
  options.check(req, REQUEST_KEYS, what, 4)
  local uok, uerr = profiles.check_urls("crl", req.crl_urls, "crl_urls")
  if uok then uok, uerr = profiles.check_urls("ocsp", req.ocsp_urls, "ocsp_urls") end
  if not uok then return nil, uerr end
  local profile, perr
  if self.folder_profile and (req.profile == nil or req.profile == "openssl.cnf") then
    profile = self.folder_profile
  elseif type(req.profile) == "table" then
    profile, perr = profiles.get(req.profile)
  else
    -- resolved once per CA object: a batch names the same few profiles again and again
    local pname = req.profile or "server"
    self._profiles = self._profiles or {}
    profile = self._profiles[pname]
    if not profile then
      profile, perr = profiles.get(pname)
      self._profiles[pname] = profile
    end
  end
  if not profile then return nil, perr end
  local csr, pub, subject
  if req.csr ~= nil then
    csr = req.csr
    if pre then
      if pre.load_err then return nil, "the CSR: " .. pre.load_err end
      csr = pre.csr
      pre.checked = true
    else
      if type(csr) == "string" then
        local cerr
        csr, cerr = lazy.csr.load(csr)
        if not csr then return nil, "the CSR: " .. tostring(cerr) end
      end
      local ok, verr = csr:verify()
      if not ok then return nil, verify_error(verr) end
    end
    pub = csr:public_key()
    subject = csr:subject()
  elseif req.public_key ~= nil then
    pub = req.public_key
    if not lazy.pkey.is_key(pub) then error(what .. ": public_key must be a certbench.pkey", 3) end
    if req.subject == nil then error(what .. ": subject is required with public_key", 3) end
  else
    error(what .. ": csr (or public_key and subject) is required", 3)
  end
  if req.subject ~= nil then
    local n, nerr = lazy.name.from(req.subject, what)
    if not n then return nil, nerr end
    subject = n
  end
  local dropped
  if profile.policy then
    local entries, derr = profiles.apply_policy(profile.policy, subject:list(), self:_ca_entries(), lazy.name.oid)
    if not entries then return nil, "the subject " .. subject:oneline() .. " is not allowed by the policy of profile '" .. profile.name .. "': " .. derr end
    dropped = derr
    if dropped and #dropped > 0 then
      local list = {}
      for _, e in ipairs(entries) do list[#list + 1] = { e.name, e.value } end
      local n, nerr = lazy.name.new(list)
      if not n then return nil, nerr end
      subject = n
    end
  end
  if #subject == 0 then return nil, "the subject is empty: a certificate needs one (give --subject, or a CSR with a subject)" end
  local days = req.days or profile.days or 365
  if math.type(days) ~= "integer" or days <= 0 then error(what .. ": days must be a positive integer", 3) end
  local nb = req.not_before or now()
  local opts = {
    subject = subject, issuer = self.cert,
    not_before = nb, not_after = req.not_after or (nb + days * 86400),
    digest = req.digest or profile.digest,
  }
  if csr then
    -- the certificate takes the request's SubjectPublicKeyInfo as it is encoded there; its
    -- signature was checked above
    opts.csr, opts.verify_csr = csr, false
  else
    opts.public_key = pub
  end
  if profile.ca then
    opts.ca = true
    opts.path_len = req.path_len or profile.path_len
  else
    opts.ca = false
  end
  opts.key_usage = profiles.key_usage_for(profile, pub:type())
  if profile.eku and #profile.eku > 0 then opts.eku = profile.eku end
  -- a request's URLs win over the profile's: where this CA publishes its CRL and answers OCSP
  -- (the appliance's "Allow CRL downloads from CDPs" and "Use OCSP" read them from the certificate)
  opts.crl_distribution_points = req.crl_urls or profile.crl_distribution_points
  opts.ocsp_urls = req.ocsp_urls or profile.ocsp_urls
  opts.ca_issuers_urls = profile.ca_issuers_urls
  opts.policies = profile.policies
  -- SAN: given ones win; else copied from the CSR when the profile copies it
  local copy = profile.copy_extensions
  if copy == nil and not profile.ca then copy = { "subjectAltName" } end
  local function copies(oid, name)
    if copy == true then return not NON_COPY[oid] end
    if copy == "copy" then
      -- openssl's copy: what the profile does not set itself
      if oid == "2.5.29.15" then return opts.key_usage == nil end
      if oid == "2.5.29.37" then return opts.eku == nil end
      return not NON_COPY[oid]
    end
    if type(copy) ~= "table" then return false end
    for _, c in ipairs(copy) do
      if c == name or c == oid then return true end
    end
    return false
  end
  if req.san ~= nil then
    local san, serr = norm_san(req.san, what)
    if not san then return nil, serr end
    if #san > 0 then opts.san = san end
  end
  if csr and req.profile == nil then
    -- no profile chosen: the default one must not drop what the request asks for in silence
    -- (a VCS request asks for clientAuth too, and a certificate without it fails mutual TLS)
    local d = what_dropped(csr, profile, copies, opts.san ~= nil)
    if #d.eku > 0 or d.san then
      local lost = {}
      if #d.eku > 0 then lost[#lost + 1] = "the extended key usage " .. table.concat(d.eku, ", ") end
      if d.san then lost[#lost + 1] = "its subjectAltName" end
      local fits = profiles_allowing(d.asked, d.san)
      return nil, ("the CSR asks for %s, which the default profile '%s' (%s) leaves out: %s"):format(
        table.concat(lost, " and "), profile.name, table.concat(profile.eku or {}, ", "),
        #fits > 0 and ("give --profile " .. fits[1] .. (#fits > 1 and (" (or " .. table.concat(fits, ", ", 2) .. ")") or ""))
          or "no profile keeps it all; add a site profile that does"), 2
    end
  end
  if csr then
    local extra = {}
    local exts = csr:extensions() or {}
    for _, e in ipairs(exts) do
      if e.oid == "2.5.29.17" then
        if not opts.san and copies(e.oid, "subjectAltName") then
          -- copied as it is (every name type, the order, the criticality), once it decodes
          local list, serr = csr:san()
          if not list then return nil, "the CSR: " .. tostring(serr) end
          extra[#extra + 1] = { oid = e.oid, value_der = e.der, critical = e.critical }
        end
      elseif copies(e.oid, e.name) and (not NON_COPY[e.oid] or (copy == "copy" and (e.oid == "2.5.29.15" or e.oid == "2.5.29.37"))) then
        extra[#extra + 1] = { oid = e.oid, value_der = e.der, critical = e.critical }
      end
    end
    if #extra > 0 then opts.extensions = extra end
  end
  return { opts = opts, oneline = oneline_of(subject), dropped = dropped, profile = profile.name }
end

-- issuing ---------------------------------------------------------------------------------------

-- rollback of an issuance that failed without a crash (a full disk): the folder as it was.
-- Nothing here needs disk space.
function CA:_undo(state)
  for i = #state.files, 1, -1 do fs.remove(state.files[i]) end
  if state.appended then fs.truncate(self.p.index, state.index_size) end
  if state.staged then unstage(state.staged) end
  if state.journal then
    if self._journal_raw then fs.pwrite(journal.path(self.dir), 0, self._journal_raw)
    else fs.remove(journal.path(self.dir)) end
  end
end

-- commit(items) under the lock: serials, signing, then the writes in this order:
--   staged serial and serial.old (temporary files), journal "issue" (the durable reservation),
--   certificate files, their sync, the index append, serial and serial.old renamed into place,
--   journal "idle" naming the next serial.
-- The journal record is what reserves the serials: it is durable before the first certificate
-- file exists, and recovery moves the serial file past the reserved range, so a crash at any
-- point never hands a serial out twice. The serial file itself moves last, by renames that
-- cannot fail for lack of space, so a full disk is always caught while it can be undone.
function CA:_commit(items, key, copts)
  copts = copts or {}
  local p = self.p
  local n = #items
  local first, serial_text = self:_read_serial()
  if not first then return nil, serial_text end
  if self.attr.unique_subject then
    local c, err = self:_index()
    if not c then return nil, err end
    local seen = {}
    for _, it in ipairs(items) do
      local e = c.subjects[it.oneline]
      if e and e.key == copts.ignore_serial then e = nil end
      if e or seen[it.oneline] then
        return nil, string.format("%s has unique_subject = yes and a valid certificate with the subject %s exists already (serial %s); revoke it first or set unique_subject = no",
          p.attr, it.oneline, e and e.serial or "in this batch")
      end
      seen[it.oneline] = true
    end
  end
  -- sign in memory, on every core (x509.new_many)
  local lines, files, list = {}, {}, {}
  local s = first
  for i, it in ipairs(items) do
    it.opts.serial = s
    it.opts.issuer_key = key
    list[i] = it.opts
    files[i] = cert_path(self, s)
    lines[i] = db.format_line({ status = "V", expiry = db.asn1_time(it.opts.not_after), serial = s,
                                file = "unknown", subject = it.oneline })
    s = db.add_serial(s, 1)
  end
  local certs, errs, pems = lazy.x509.new_many(list, { pem = true })
  for _, it in ipairs(items) do it.opts.issuer_key = nil end
  if copts.verified then
    -- the request's signature was being checked meanwhile: nothing is written before it is known
    local ok, verr = copts.verified()
    if not ok then return nil, verr end
  end
  for i = 1, n do
    if not certs[i] then return nil, errs[i] end
  end
  local last = db.add_serial(first, n - 1)
  local next_serial = s
  local st = fs.stat(p.index)
  local state = { files = {}, index_size = st and st.size or 0 }
  local function fail(err)
    self:_undo(state)
    return nil, err
  end
  local staged, serr = stage({ { p.serial, db.serial_file_text(next_serial) }, { p.serial_old, serial_text } })
  if not staged then return nil, serr end
  state.staged = staged
  local ok, err = journal.begin_issue(self.dir, first, last, n, state.index_size)
  state.journal = true
  if not ok then return fail(err) end
  fs.fault("ca.issue:journal")
  local half = n // 2 + 1
  for i = 1, n do
    local code
    ok, err, code = fs.create(files[i], pems[i])
    if not ok then
      if code == 17 then -- EEXIST: never overwritten; the serial file must be behind
        err = string.format("%s exists already: the serial file (%s) is behind the certificates issued; nothing was issued",
          files[i], first)
      end
      return fail(err)
    end
    state.files[i] = files[i]
    if i == 1 then fs.fault("ca.issue:file") end
    if i == half then fs.fault("ca.issue:half") end
  end
  fs.fault("ca.issue:files")
  ok, err = fs.append(p.index, table.concat(lines), { sync = false })
  state.appended = true
  if not ok then return fail(err) end
  fs.fault("ca.issue:index")
  -- The syncs that make the issuance durable. Up to SYNC_EACH_MAX certificates (one `ca issue`,
  -- small batches), of what it wrote and nothing else; each is needed:
  --   fdatasync of each newcerts/<SERIAL>.pem: a certificate reported issued must survive a
  --     power cut (its data, size and blocks; fdatasync carries all of them for a new file)
  --   fsync of newcerts/: a new file's name is in its folder, which its own sync does not cover
  --     (POSIX; a file system without a journal would lose the entry)
  --   fdatasync of index.txt: its lines are the issuance record `openssl ca` and CRLs read
  -- fs.sync starts the write-back of all the files before the first of them, so one journal
  -- commit carries them all. A syncfs(2) of the whole file system would also wait for every
  -- other program's dirty data on the disk: measured beside a writer of 500 MB, one `ca issue`
  -- took 465-520 ms with it, 95-107 ms with these (tests/bench/ca_issue_sync.sh).
  -- Above SYNC_EACH_MAX, the group commit: one syncfs(2). Each sync of a file still costs the
  -- disk a cache flush, so per-file syncs grow with the batch (tests/bench/ca_sync_batch.lua,
  -- ext4 on a quiet disk: 16 files 17 ms against 1 ms for a syncfs, 256 files 71 against 7,
  -- 1,000 files 850 against 25 ms; synced file by file, issue_many of 1,000 fell from 76x the
  -- openssl ca loop to 7x); a batch that big is a bulk job, for which waiting once for the
  -- neighbours' data costs less than a flush per certificate.
  -- The journal's reservation was synced before any of them (its own fdatasync, needed: once
  -- any of these may be on disk, the serials must be known as taken). Between these syncs no
  -- order is needed, and none is relied on: after a power cut, recovery completes missing
  -- lines from whole files and cuts lines whose file is not whole (CA:_recover_issue in
  -- authority.lua). Nothing is reported issued before the last returns. A write error the disk
  -- reports only now (delayed allocation) fails the issuance here, while it can be undone.
  if n <= SYNC_EACH_MAX then
    local durable = table.move(files, 1, n, 1, {})
    durable[n + 1] = p.newcerts
    durable[n + 2] = p.index
    ok, err = fs.sync(durable)
  else
    ok, err = fs.syncfs(self.dir)
  end
  if not ok then return fail(err) end
  fs.fault("ca.issue:synced")
  -- from here on the certificates are issued: nothing is undone any more
  for _, x in ipairs(staged) do
    if not fs.rename(x.tmp, x.path, { sync = false }) then fs.remove(x.tmp) end
  end
  self._serial_memo = nil
  fs.fault("ca.issue:serial")
  journal.idle(self.dir, next_serial)
  self._journal_raw = journal.record_idle(next_serial)
  fs.fault("ca.issue:done")
  local out = {}
  for i, cert in ipairs(certs) do
    out[i] = { cert = cert, serial = cert:serial(), file = files[i], pem = pems[i],
               profile = items[i].profile, dropped = items[i].dropped }
  end
  return out
end

-- issue_many(list) -> { cert... } | nil, err: every request checked first, then one lock, one
-- journal record, one serial update, one append to index.txt and the syncs of step 5
function CA:issue_many(list, opts)
  self:_check_open()
  if type(list) ~= "table" then error("ca:issue_many: expected a list of requests", 2) end
  if #list == 0 then return {} end
  -- the CSRs are parsed first, those given as text on every core (csr.load_many)
  local pre, reqs, at, texts, text_at = {}, {}, {}, {}, {}
  for i, req in ipairs(list) do
    if type(req) == "table" and type(req.csr) == "string" then
      texts[#texts + 1] = req.csr
      text_at[#texts] = i
    end
  end
  if #texts > 0 then
    local loaded, lerrs = lazy.csr.load_many(texts)
    for k, i in ipairs(text_at) do
      pre[i] = loaded[k] and { csr = loaded[k] } or { load_err = tostring(lerrs[k]) }
    end
  end
  for i, req in ipairs(list) do
    if type(req) == "table" and lazy.csr.is_csr(req.csr) then pre[i] = { csr = req.csr } end
    if pre[i] and pre[i].csr then
      reqs[#reqs + 1] = pre[i].csr
      at[#reqs] = i
    end
  end
  -- the signatures are checked on copies by the other cores while this one prepares the rest
  local job <close> = #reqs > 0 and lazy.csr.verify_start(reqs) or nil
  local items, bad_at, bad_err = {}, nil, nil
  for i, req in ipairs(list) do
    local it, err = self:_prepare(req, "ca:issue_many", pre[i])
    if not it then
      bad_at, bad_err = i, err
      break
    end
    items[i] = it
  end
  local vbad = {}
  if job then
    local oks, reasons = job:wait()
    for k, i in ipairs(at) do
      if not oks[k] then vbad[i] = reasons[k] end
    end
  end
  -- the first error in request order, each request's in the order prepare meets them
  local function fail(i, err) return nil, (#list > 1 and ("request " .. i .. ": ") or "") .. err end
  for i = 1, bad_at or #list do
    if vbad[i] and (i ~= bad_at or pre[i].checked) then return fail(i, verify_error(vbad[i])) end
  end
  if bad_at then return fail(bad_at, bad_err) end
  local key, kerr = self:_key()
  if not key then return nil, kerr end
  local res, err = self:_locked(function() return self:_commit(items, key) end)
  if not res then return nil, err end
  for _, r in ipairs(res) do emit_issued(self, r) end
  if opts and opts.details then return res end
  local certs = {}
  for i, r in ipairs(res) do certs[i] = r.cert end
  return certs, res
end

-- issue{csr=, profile=, days=, san=, subject=, crl_urls=, ocsp_urls=} -> cert, details | nil, err
-- The CSR's signature is checked on another core while the request is prepared, the CA key
-- loaded and the certificate signed under the lock; its result is awaited before anything is
-- written, and a bad signature is still the error reported before any that comes after it.
function CA:issue(req)
  self:_check_open()
  if type(req) ~= "table" then error("ca:issue: expected a table {csr=, profile=, days=, san=}", 2) end
  local pre, job
  if req.csr ~= nil then
    local r, lerr = req.csr, nil
    if type(r) == "string" then r, lerr = lazy.csr.load(r) end
    if not r then
      pre = { load_err = tostring(lerr) }
    elseif lazy.csr.is_csr(r) then
      pre = { csr = r }
      job = lazy.csr.verify_start({ r })
    end
  end
  local _ <close> = job
  local verdict
  local function verified()
    if not verdict then
      verdict = { true }
      if job then
        local oks, reasons = job:wait()
        if not oks[1] then verdict = { nil, verify_error(reasons[1]) } end
      end
    end
    return verdict[1], verdict[2]
  end
  -- fail(err): the signature's error first when prepare got past the point where it is checked
  local function fail(err)
    if pre and pre.checked then
      local ok, verr = verified()
      if not ok then return nil, verr end
    end
    return nil, err
  end
  local it, err, code = self:_prepare(req, "ca:issue", pre)
  if not it then
    local r, e = fail(err)
    return r, e, e == err and code or nil
  end
  local key, kerr = self:_key()
  if not key then return fail(kerr) end
  local res, cerr = self:_locked(function() return self:_commit({ it }, key, { verified = verified }) end)
  if not res then return fail(cerr) end
  emit_issued(self, res[1])
  return res[1].cert, res[1]
end


return CA
