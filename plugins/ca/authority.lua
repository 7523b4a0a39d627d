-- certbench.plugins.ca.authority: the CA object. A folder in the layout of `openssl ca`:
--   cacert.pem, private/cakey.pem, index.txt, index.txt.attr, serial, crlnumber,
--   newcerts/<SERIAL>.pem, crl/
-- plus .certbench-journal (see journal.lua). Every change runs under the folder lock (flock,
-- released by the kernel when the process dies) and starts with recovery of whatever a killed
-- process left half done.
--
-- This file holds the object: open, the key, the lock, the serial file, the index cache, recovery
-- of what a crash left, listing and status. The operations are in files of their own, loaded the
-- first time one of their methods is called (a `ca issue` process compiles none of the others):
--   issue.lua   requests, issue and issue_many (the issuance steps and their crash safety)
--   revoke.lua  revoke
--   gencrl.lua  gencrl (the CRL)
--   renew.lua   renew
--   create.lua  init (a new CA folder)
-- Helpers they share with this file are in M._shared (not an API).
local fs = require "certbench.fs"
local options = require "certbench.options"
local db = require "certbench.plugins.ca.db"
local journal = require "certbench.plugins.ca.journal"
local profiles = require "certbench.plugins.ca.profiles"

local lazy = setmetatable({}, { __index = function(t, k)
  local m = require("certbench." .. k)
  rawset(t, k, m)
  return m
end })

local M = {}
local CA = {}
M.CA = CA

local function paths(dir)
  return {
    dir = dir, cert = dir .. "/cacert.pem", key = dir .. "/private/cakey.pem",
    private = dir .. "/private", index = dir .. "/index.txt", index_old = dir .. "/index.txt.old",
    attr = dir .. "/index.txt.attr", serial = dir .. "/serial", serial_old = dir .. "/serial.old",
    crlnumber = dir .. "/crlnumber", crlnumber_old = dir .. "/crlnumber.old",
    newcerts = dir .. "/newcerts", crl = dir .. "/crl", chain = dir .. "/chain.pem",
    crl_pem = dir .. "/crl.pem",
  }
end
M.paths = paths

local function cert_path(self, serial)
  return self.p.newcerts .. "/" .. serial .. ".pem"
end

local function read_text(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local d = f:read("a")
  f:close()
  return d
end

-- read_range(path, from[, to]) -> bytes [from, to) of a file (to: its end)
local function read_range(path, from, to)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  f:seek("set", from)
  local d = f:read(to and (to - from) or "a") or ""
  f:close()
  return d
end

-- staging: new contents are written to temporary files first (".NAME.<12 hex>.tmp", which
-- recovery removes), so that everything that needs disk space is done before the first visible
-- change; renames then need none. A full disk thus fails before anything changed.
local function tmp_name(path)
  return fs.dirname(path) .. "/." .. fs.basename(path) .. "." .. lazy.rand.serial(6):lower() .. ".tmp"
end

-- stage({ {path, data, sync}... }) -> list of {tmp=, path=} | nil, err (nothing left behind)
local function stage(list)
  local out = {}
  for _, e in ipairs(list) do
    local tmp = tmp_name(e[1])
    local ok, err = fs.create(tmp, e[2], { sync = e[3] or false })
    if not ok then
      for _, x in ipairs(out) do fs.remove(x.tmp) end
      return nil, (err:gsub("^" .. tmp:gsub("%p", "%%%0"), e[1]))
    end
    out[#out + 1] = { tmp = tmp, path = e[1] }
  end
  return out
end

local function unstage(staged)
  for _, x in ipairs(staged) do fs.remove(x.tmp) end
end

local function oneline_of(name)
  return db.oneline(name:list())
end

local function now()
  return os.time()
end

-- hooks --------------------------------------------------------------------------------------

-- emit(event, ev): the site plugins' hooks, called once the operation is durable (after the
-- lock is released); what a hook does cannot undo it (certbench.plugins.emit)
local function emit(event, ev)
  local ok, plugins = pcall(require, "certbench.plugins")
  if ok then plugins.emit(event, ev) end
end

local function emit_issued(self, r)
  local c = r.cert
  emit("ca.issued", { ca = self.dir, serial = r.serial, subject = c:subject():oneline(),
    not_before = c:not_before(), not_after = c:not_after(), file = r.file, pem = r.pem,
    profile = r.profile })
end

-- opening ------------------------------------------------------------------------------------

-- open(dir[, opts]) -> ca | nil, err
--   opts.passin: the CA key password source (pass:, env:, file:, fd:, stdin, or a secret),
--     checked at once (a wrong password fails open); without it, a prompt when the key is
--     first needed (an unencrypted key needs none)
--   opts.key: the CA key as a certbench.pkey (no file read then)
--   opts.ui: where recovery reports go (certbench.ui; default: nowhere, see ca.recovered)
--   opts.wait: seconds to wait for the CA's lock while another process holds it (default 30),
--     then fail naming the lock and its holder
--   opts.defer: true to leave the lock, and recovery, to the first operation instead of taking
--     it in open too (ca.recovered fills then; a held lock fails that operation, not open): for
--     a caller that runs one operation right away, as each `certbench ca` command does
local OPEN_OPTS = { "passin", "key", "ui", "wait", "defer" }
function M.open(dir, opts)
  opts = options.check(opts, OPEN_OPTS, "ca.open") or {}
  if type(dir) ~= "string" then error("ca.open: the CA folder must be a string", 2) end
  dir = dir:gsub("(.)/+$", "%1")
  local p = paths(dir)
  local st = fs.stat(dir)
  if not st then return nil, dir .. ": no such CA folder" end
  if st.type ~= "directory" then return nil, dir .. ": not a folder" end
  local pem = fs.read(p.cert)
  if not pem then
    if fs.exists(p.index) or fs.exists(p.serial) then
      return nil, dir .. ": an openssl ca folder without cacert.pem: `certbench ca adopt " .. dir
        .. " --key ca.key --cert ca.crt [--config openssl.cnf]` takes it over with its key and certificate"
    end
    return nil, dir .. ": not a CA folder (no cacert.pem; `certbench ca init " .. dir .. "` makes one, `certbench ca adopt "
      .. dir .. " --key ca.key --cert ca.crt` takes over an existing CA)"
  end
  local cert, err = lazy.x509.load(pem)
  if not cert then return nil, p.cert .. ": " .. tostring(err) end
  for _, f in ipairs({ p.index, p.serial }) do
    if not fs.exists(f) then return nil, f .. ": missing (not a complete CA folder)" end
  end
  if not fs.isdir(p.newcerts) then return nil, p.newcerts .. ": missing (not a complete CA folder)" end
  local self = setmetatable({
    dir = dir, p = p, cert = cert, passin = opts.passin, key = opts.key, key_given = opts.key ~= nil,
    ui = opts.ui, wait = opts.wait or 30,
    attr = db.parse_attr(read_text(p.attr)), recovered = {},
  }, CA)
  -- the profile `ca adopt --config` read from openssl.cnf: this CA's default
  local ptext = read_text(dir .. "/certbench-profile.json")
  if ptext then
    local okj, doc = pcall(require("cjson").decode, ptext)
    if not okj or type(doc) ~= "table" or type(doc.profile) ~= "table" then
      return nil, dir .. "/certbench-profile.json: not a profile (" .. tostring(doc) .. ")"
    end
    -- JSON numbers come back as floats
    for _, k in ipairs { "days", "path_len" } do
      if type(doc.profile[k]) == "number" then doc.profile[k] = math.tointeger(doc.profile[k]) or doc.profile[k] end
    end
    local fp, perr = profiles.validate(doc.profile, "openssl.cnf")
    if not fp then return nil, dir .. "/certbench-profile.json: " .. perr end
    self.folder_profile = fp
  end
  if self.key ~= nil then
    if not lazy.pkey.is_key(self.key) then error("ca.open: opts.key must be a certbench.pkey", 2) end
    if not self.key:matches(cert) then return nil, "ca.open: the key given does not belong to " .. p.cert end
  end
  -- open locks only to recover at once (ca.recovered, and a held lock failing open itself).
  -- Deferring it is safe: every operation that reads or changes the CA's state (issue,
  -- issue_many, revoke, gencrl, list, status, renew) runs under _locked, which recovers first,
  -- and what open read above without the lock (cacert.pem, index.txt.attr,
  -- certbench-profile.json) is never written by recovery nor by an operation. A one-certificate
  -- `ca issue` took the lock twice (open, then issue): two private_dir + flock + pid writes and
  -- two journal reads (strace).
  if not opts.defer then
    local ok, rerr = self:_locked(function() return true end)
    if not ok then return nil, rerr end
  end
  -- a password given is checked now, not at the first signature
  if opts.passin ~= nil and self.key == nil then
    local key, kerr = self:_key()
    if not key then return nil, kerr end
  end
  return self
end

function CA:_check_open()
  if self.closed then error("attempt to use a closed CA (" .. self.dir .. ")", 3) end
end

function CA:close()
  if self.key and not self.key_given then
    pcall(function() self.key:close() end)
  end
  self.key = nil
  self.closed = true
end
CA.__close = CA.close

function CA:__tostring()
  return "certbench CA " .. self.dir .. (self.closed and " (closed)" or "")
end

function CA:subject()
  return self.cert:subject()
end

-- the CA key, loaded (and its password asked for) the first time it is needed
function CA:_key()
  if self.key then return self.key end
  local data, err = fs.read(self.p.key)
  if not data then return nil, err end
  local key, kerr, code = lazy.pkey.load(data, { name = self.p.key })
  if not key and code == "encrypted" then
    local s, serr = lazy.secret.get(self.passin, { what = "the CA key password (" .. self.p.key .. ")" })
    if not s then return nil, lazy.passin.source_error(self.p.key, "the CA key password", self.passin, serr) end
    key, kerr = lazy.pkey.load(data, { name = self.p.key, password = s })
    if s ~= self.passin and s.close then s:close() end
  end
  if not key then return nil, kerr end
  local ok = key:matches(self.cert)
  if not ok then
    key:close()
    return nil, self.p.key .. ": the key does not belong to " .. self.p.cert
  end
  self.key = key
  self.passin = nil -- the key is loaded: the password source is not needed any more
  return key
end

-- runs fn under the folder lock after recovery; fn returns results or nil, err
-- The lock is DIR/.certbench/lock: a file in a folder only the CA's owner can enter (0700,
-- never a symbolic link), so no other local user can hold it (a lock on the CA folder itself,
-- as before, could be held by anyone who can read the folder). A process waits at most
-- opts.wait seconds (30) and then fails naming the holder's process id.
M.STATE_DIR = ".certbench"

-- lock(dir[, wait]) -> lock, state_dir | nil, err: the lock of the CA folder dir (also for
-- adopt, before the folder is a CA); release with lock:unlock() and state_dir:close()
function M.lock(dir, wait)
  local sd, serr = fs.private_dir(dir .. "/" .. M.STATE_DIR)
  if not sd then return nil, serr end
  local lk, err = fs.lock(sd:path("lock"), { timeout = wait or 30, pid = true })
  if not lk then
    err = sd:shown(err)
    sd:close()
    return nil, err
  end
  return lk, sd
end

function CA:_locked(fn)
  local lk, sd = M.lock(self.dir, self.wait)
  if not lk then return nil, sd end
  local res = table.pack(pcall(function()
    local ok, rerr = self:_recover()
    if not ok then return nil, rerr end
    return fn()
  end))
  lk:unlock()
  sd:close()
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

function CA:_note(msg)
  self.recovered[#self.recovered + 1] = msg
  if self.ui then self.ui.info("%s", msg) end
end

-- serial file --------------------------------------------------------------------------------

function CA:_read_serial()
  -- read once per lock: recovery and the issuance that follows it both need it
  local m = self._serial_memo
  if m then return m[1], m[2] end
  local text = fs.read(self.p.serial, 4096)
  if not text then return nil, self.p.serial .. ": missing" end
  local v, err = db.parse_serial_file(text, self.p.serial)
  if not v then return nil, err end
  self._serial_memo = { v, text }
  return v, text
end

-- index cache ---------------------------------------------------------------------------------

-- the index, read whole once and then only the lines appended since (an issuance by another
-- process); re-read whole when the file was replaced (a revocation rewrites it)
function CA:_index()
  local c, err = self:_index_read()
  if not c then return nil, err end
  if #c.bad > 0 then
    -- openssl ca refuses such a file too; a CRL made from part of it could miss revocations
    local b = c.bad[1]
    return nil, string.format("%s line %d: %s (openssl ca would refuse this file too; fix or remove the line)",
      self.p.index, b.line, b.why)
  end
  return c
end

function CA:_index_read()
  local st = fs.stat(self.p.index)
  if not st then return nil, self.p.index .. ": missing" end
  local c = self._idx
  if c and c.ino == st.ino and c.dev == st.dev and st.size >= c.size then
    if st.size == c.size then return c end
    local tail = read_range(self.p.index, c.size, st.size)
    local entries, bad, complete, lineno = db.parse_index(tail, c.next_line)
    for _, e in ipairs(entries) do self:_index_add(c, e) end
    for _, b in ipairs(bad) do c.bad[#c.bad + 1] = b end
    c.size = c.size + complete
    c.next_line = lineno
    return c
  end
  local text, err = fs.read(self.p.index)
  if not text then return nil, err end
  local entries, bad, complete, lineno = db.parse_index(text)
  c = { ino = st.ino, dev = st.dev, size = complete, entries = {}, by_key = {}, subjects = {},
        bad = bad, next_line = lineno }
  for _, e in ipairs(entries) do self:_index_add(c, e) end
  self._idx = c
  return c
end

function CA:_index_add(c, e)
  c.entries[#c.entries + 1] = e
  c.by_key[e.key] = e
  if e.status == "V" then c.subjects[e.subject] = e end
end

-- recovery ------------------------------------------------------------------------------------

-- temporary files of fs.write that a crash left (".serial.0123456789ab.tmp")
local function clean_temps(self, dir)
  for _, name in ipairs(fs.list(dir) or {}) do
    if name:match("^%..+%.%x%x%x%x%x%x%x%x%x%x%x%x%.tmp$") then
      fs.remove(dir .. "/" .. name)
      self:_note(string.format("recovery: removed %s/%s, a temporary file of an interrupted write", dir, name))
    end
  end
end

-- cut_torn_tail: the index ends with a partial line only if an append was cut short
function CA:_cut_torn_tail()
  local st = fs.stat(self.p.index)
  if not st or st.size == 0 then return true end
  local last = read_range(self.p.index, st.size - 1, st.size)
  if last == "\n" then return true end
  local pos, chunk = st.size, 65536
  local cut = 0
  while pos > 0 do
    local from = math.max(0, pos - chunk)
    local d = read_range(self.p.index, from, pos)
    local i = d:match(".*()\n")
    if i then cut = from + i break end
    pos = from
  end
  local ok, err = fs.truncate(self.p.index, cut)
  if not ok then return nil, err end
  fs.sync(self.p.index)
  self._idx = nil
  self:_note(string.format("recovery: cut a torn last line of %s (%d bytes of an interrupted append)",
    self.p.index, st.size - cut))
  return true
end

-- check_cert_file(serial) -> cert | nil, why: a certificate file this CA issued, whole
function CA:_check_cert_file(path, serial)
  local data = fs.read(path, 1 << 20)
  if not data then return nil, "unreadable" end
  local cert = lazy.x509.load(data)
  if not cert then return nil, "not a certificate (incomplete)" end
  if db.norm_serial(cert:serial()) ~= db.norm_serial(serial) then
    return nil, "its serial is " .. cert:serial()
  end
  if not cert:issuer():equals(self.cert:subject()) then return nil, "not issued by this CA" end
  if cert.verify_signature then
    local ok = cert:verify_signature(self.cert)
    if not ok then return nil, "its signature does not verify with the CA key" end
  end
  return cert
end

local function index_line_of(cert)
  return db.format_line({ status = "V", expiry = db.asn1_time(cert:not_after()), serial = db.norm_serial(cert:serial()),
                          file = "unknown", subject = oneline_of(cert:subject()) })
end

-- complete(serials, present, keep): for each serial (normalized hex) whose file exists and has
-- no index line, add the line from the certificate, or remove the file when it is not a whole
-- certificate of this CA. present: set of serials known to have lines. keep: leave such files
-- alone (the full scan, where a file may not be certbench's) and only list them.
function CA:_complete(serials, present, keep)
  local lines, added, removed, kept, highest = {}, {}, {}, {}, nil
  for _, s in ipairs(serials) do
    local path = cert_path(self, s)
    if fs.exists(path) then
      if not highest or db.cmp_serial(s, highest) > 0 then highest = s end
      if not present[s] then
        local cert, why = self:_check_cert_file(path, s)
        if cert then
          lines[#lines + 1] = index_line_of(cert)
          added[#added + 1] = s
        elseif keep then
          kept[#kept + 1] = s .. " (" .. why .. ")"
        else
          local ok, err = fs.remove(path)
          if not ok then return nil, err end
          removed[#removed + 1] = s .. " (" .. why .. ")"
        end
      end
    end
  end
  if #lines > 0 then
    local ok, err = self:_append_index(table.concat(lines))
    if not ok then return nil, err end
  end
  if #removed > 0 then fs.sync(self.p.newcerts) end
  return { added = added, removed = removed, kept = kept, highest = highest }
end

-- make the serial file at least `want`
function CA:_serial_at_least(want, why)
  local cur = self:_read_serial()
  if cur and db.cmp_serial(cur, want) >= 0 then return true end
  local ok, err = fs.write(self.p.serial, db.serial_file_text(want))
  self._serial_memo = nil
  if not ok then return nil, err end
  self:_note(string.format("recovery: moved %s from %s to %s (%s)", self.p.serial, tostring(cur), want, why))
  return true
end

function CA:_recover_issue(j)
  local first = db.norm_serial(j.first)
  local last = db.norm_serial(j.last)
  if not first or not last or j.count < 1 or j.count > 10000000 then
    return self:_recover_full("the journal names a range it cannot have written")
  end
  local serials, s = {}, first
  for _ = 1, j.count do
    serials[#serials + 1] = s
    s = db.add_serial(s, 1)
  end
  -- lines of this issuance can only be after the size the journal recorded
  local present = {}
  local st = fs.stat(self.p.index)
  local tail
  if st and st.size >= j.index_size then
    local before = j.index_size > 0 and read_range(self.p.index, j.index_size - 1, j.index_size) or "\n"
    if before == "\n" then tail = read_range(self.p.index, j.index_size) end
  end
  local function mark(entries)
    for _, e in ipairs(entries) do present[e.key] = true end
  end
  if tail then
    local entries = db.parse_index(tail)
    -- a line of this issuance whose certificate file is not whole (the power went before the
    -- files reached the disk, the index line did): the certificate was never handed out, so
    -- the tail goes and the lines are made again from the files that are whole
    local reserved = {}
    for _, x in ipairs(serials) do reserved[x] = true end
    for _, e in ipairs(entries) do
      if reserved[e.key] and not self:_check_cert_file(cert_path(self, e.key), e.key) then
        local ok, err = fs.truncate(self.p.index, j.index_size)
        if not ok then return nil, err end
        fs.sync(self.p.index)
        self._idx = nil
        self:_note(string.format("recovery: cut the index lines of an interrupted issuance from %s: the certificate file of serial %s is not whole",
          self.p.index, e.key))
        entries = {}
        break
      end
    end
    mark(entries)
  end
  local missing = false
  for _, x in ipairs(serials) do
    if not present[x] and fs.exists(cert_path(self, x)) then missing = true break end
  end
  if missing and (not tail or j.index_size > 0) then
    -- the index was rewritten since (openssl took over?): look through all of it
    local c, err = self:_index()
    if not c then return nil, err end
    for k in pairs(c.by_key) do present[k] = true end
  end
  local res, err = self:_complete(serials, present)
  if not res then return nil, err end
  local ok, serr = self:_serial_at_least(db.add_serial(last, 1), "past the serials an interrupted issuance reserved")
  if not ok then return nil, serr end
  if #res.added > 0 or #res.removed > 0 then
    local msg = string.format("recovery: an issuance of serials %s..%s was interrupted; ", first, last)
    local parts = {}
    if #res.added > 0 then
      parts[#parts + 1] = string.format("%d certificate%s completed in index.txt (%s)", #res.added,
        #res.added == 1 and "" or "s", #res.added <= 4 and table.concat(res.added, ", ")
        or (res.added[1] .. ".." .. res.added[#res.added]))
    end
    if #res.removed > 0 then
      parts[#parts + 1] = string.format("%d incomplete file%s removed (%s)", #res.removed,
        #res.removed == 1 and "" or "s", table.concat(res.removed, ", "))
    end
    self:_note(msg .. table.concat(parts, "; "))
  end
  return journal.idle(self.dir, db.add_serial(last, 1), true)
end

-- a journal that cannot be read: compare every file of newcerts/ with index.txt
function CA:_recover_full(why)
  local c, err = self:_index()
  if not c then return nil, err end
  local present, serials, highest = {}, {}, nil
  for k in pairs(c.by_key) do
    present[k] = true
    if not highest or db.cmp_serial(k, highest) > 0 then highest = k end
  end
  for _, name in ipairs(fs.list(self.p.newcerts) or {}) do
    local s = name:match("^(%x+)%.pem$")
    local key = s and db.norm_serial(s)
    if key and key == s then serials[#serials + 1] = key end
  end
  local res, rerr = self:_complete(serials, present, true)
  if not res then return nil, rerr end
  if res.highest and (not highest or db.cmp_serial(res.highest, highest) > 0) then highest = res.highest end
  if highest then
    local ok, serr = self:_serial_at_least(db.add_serial(highest, 1), "past the highest serial used")
    if not ok then return nil, serr end
  end
  self:_note(string.format("recovery: %s; checked every file of %s against index.txt: %d completed%s",
    why, self.p.newcerts, #res.added, #res.kept > 0 and ("; left as they are, not certificates of this CA: "
    .. table.concat(res.kept, ", ")) or ""))
  local cur = self:_read_serial()
  return journal.idle(self.dir, cur, true)
end

function CA:_recover()
  self._serial_memo = nil
  local j, raw = journal.read(self.dir)
  self._journal_raw = raw
  -- temporary files and a torn index line can only be left by a process that died: looked for
  -- when this object first takes the lock, and whenever the journal is not idle (a torn append
  -- always happens while it says "issue")
  if not self._checked or j.state ~= "idle" then
    clean_temps(self, self.dir)
    clean_temps(self, self.p.crl)
    local ok, err = self:_cut_torn_tail()
    if not ok then return nil, err end
    self._checked = true
  end
  local ok, err = true, nil
  if j.state == "issue" then
    ok, err = self:_recover_issue(j)
  elseif j.state == "unknown" then
    ok, err = self:_recover_full(j.why)
  elseif j.next then
    ok, err = self:_serial_at_least(j.next, "the journal names a later serial: the serial file had not reached the disk")
  end
  if not ok then return nil, err end
  if j.state ~= "idle" then
    self._serial_memo = nil
    self._journal_raw = read_text(journal.path(self.dir))
  end
  return true
end

-- index writes --------------------------------------------------------------------------------

-- append lines with one write + fdatasync; a failure (a full disk) cuts what part of it landed
function CA:_append_index(text)
  local st = fs.stat(self.p.index)
  local size = st and st.size or 0
  local ok, err = fs.append(self.p.index, text)
  if not ok then
    fs.truncate(self.p.index, size)
    return nil, err
  end
  return true
end

-- callers' certificates ----------------------------------------------------------------------

-- a certificate given by the caller: a cert object or PEM/DER text; it must be this CA's
function CA:_own_cert(cert)
  if type(cert) == "string" then
    local c, err = lazy.x509.load(cert)
    if not c then return nil, "the certificate: " .. tostring(err) end
    cert = c
  end
  if not lazy.x509.is_x509(cert) then error("ca: cert must be a certificate (PEM text or certbench.x509)", 3) end
  if not cert:issuer():equals(self.cert:subject()) then
    return nil, string.format("the certificate %s (serial %s) was issued by %s, not by this CA (%s)",
      cert:subject():oneline(), cert:serial(), cert:issuer():oneline(), self.cert:subject():oneline())
  end
  if cert.verify_signature and not cert:verify_signature(self.cert) then
    return nil, string.format("the certificate %s (serial %s) names this CA as its issuer but its signature does not verify with the CA key",
      cert:subject():oneline(), cert:serial())
  end
  return cert
end



-- listing ---------------------------------------------------------------------------------------

local STATUS_WORD = { V = "valid", R = "revoked", E = "expired" }

function CA:_view(e, t)
  local status = STATUS_WORD[e.status]
  if e.status == "V" and e.expires <= t then status = "expired" end
  local r = e.revocation
  return {
    serial = e.key, status = status, db_status = e.status, not_after = e.expires, expiry = e.expiry,
    revoked_at = r and r.time or nil, reason = r and r.reason or nil, subject = e.subject,
    file = cert_path(self, e.key),
  }
end

-- list{status = "valid"|"revoked"|"expired"} -> { entry... } in index order
function CA:list(o)
  self:_check_open()
  o = options.check(o, { "status", "time" }, "ca:list") or {}
  if o.status ~= nil and not ({ valid = 1, revoked = 1, expired = 1 })[o.status] then
    return nil, string.format("unknown status '%s' (valid, revoked or expired)", tostring(o.status))
  end
  return self:_locked(function()
    local c, err = self:_index()
    if not c then return nil, err end
    local t, out = o.time or now(), {}
    for _, e in ipairs(c.entries) do
      local v = self:_view(e, t)
      if o.status == nil or v.status == o.status then out[#out + 1] = v end
    end
    return out
  end)
end

-- status(serial) -> entry | nil, err
function CA:status(serial)
  self:_check_open()
  local key = db.norm_serial(serial)
  if not key then return nil, string.format("'%s' is not a serial number (hexadecimal)", tostring(serial)) end
  return self:_locked(function()
    local c, err = self:_index()
    if not c then return nil, err end
    local e = c.by_key[key]
    if not e then return nil, string.format("serial %s is not in %s", key, self.p.index) end
    return self:_view(e, now())
  end)
end



-- info() -> a summary of the CA
function CA:info()
  self:_check_open()
  local c = self.cert
  return {
    dir = self.dir, subject = c:subject():oneline(), serial = c:serial(), not_before = c:not_before(),
    not_after = c:not_after(), key = c:public_key():type(), unique_subject = self.attr.unique_subject,
  }
end


-- methods -----------------------------------------------------------------------------------

-- the file that defines each operation's methods, required on first use; it returns them and
-- they are copied into CA. (Not defined by the file on CA itself: a file required again after
-- its module was unloaded, as busted does between spec files, would put them on another CA.)
local METHOD_FILE = {
  _ca_entries = "issue", _prepare = "issue", _undo = "issue", _commit = "issue", issue_many = "issue",
  issue = "issue",
  _revoke_locked = "revoke", revoke = "revoke",
  gencrl = "gencrl",
  renew = "renew",
}
M._method_file = METHOD_FILE -- for spec/coldstart_spec.lua
CA.__index = function(_, k)
  local v = rawget(CA, k)
  if v == nil and METHOD_FILE[k] then
    for name, fn in pairs(require("certbench.plugins.ca." .. METHOD_FILE[k])) do
      if rawget(CA, name) == nil then rawset(CA, name, fn) end
    end
    v = rawget(CA, k)
  end
  return v
end

M._shared = { cert_path = cert_path, read_text = read_text, read_range = read_range, stage = stage,
  unstage = unstage, oneline_of = oneline_of, now = now, emit = emit, emit_issued = emit_issued,
  lazy = lazy }

-- init(dir, opts) -> ca | nil, err: see create.lua
function M.init(dir, o)
  return require("certbench.plugins.ca.create").init(dir, o)
end

return M
