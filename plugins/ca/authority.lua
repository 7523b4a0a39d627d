-- certbench.plugins.ca.authority: the CA object. A folder in the layout of `openssl ca`:
--   cacert.pem, private/cakey.pem, index.txt, index.txt.attr, serial, crlnumber,
--   newcerts/<SERIAL>.pem, crl/
-- plus .certbench-journal (see journal.lua). Every change runs under the folder lock (flock,
-- released by the kernel when the process dies) and starts with recovery of whatever a killed
-- process left half done.
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
local fs = require "certbench.fs"
local options = require "certbench.options"
local db = require "certbench.plugins.ca.db"
local journal = require "certbench.plugins.ca.journal"
local profiles = require "certbench.plugins.ca.profiles"

-- the biggest issuance synced file by file; a bigger batch syncs its file system once (CA:_commit)
local SYNC_EACH_MAX = 16

local lazy = setmetatable({}, { __index = function(t, k)
  local m = require("certbench." .. k)
  rawset(t, k, m)
  return m
end })

local M = {}
local CA = {}
CA.__index = CA
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
    if not s then return nil, serr end
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
M._profiles_allowing = profiles_allowing


local REQUEST_KEYS = { "csr", "profile", "days", "san", "subject", "public_key", "not_before",
                       "not_after", "digest", "path_len" }
function CA:_prepare(req, what, pre)
  if type(req) ~= "table" then error(what .. ": a request is a table {csr=, profile=, days=, san=}", 3) end
  options.check(req, REQUEST_KEYS, what, 4)
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
  opts.crl_distribution_points = profile.crl_distribution_points
  opts.ocsp_urls = profile.ocsp_urls
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
  -- took 465 ms with it, 95 ms with these (tests/bench/ca_issue_sync.sh).
  -- Above SYNC_EACH_MAX, the group commit: one syncfs(2). Each sync of a file still costs the
  -- disk a cache flush, so per-file syncs grow with the batch (tests/bench/ca_sync_batch.lua,
  -- ext4 on a quiet disk: 16 files 17 ms against 1 ms for a syncfs, 256 files 71 against 7,
  -- 1,000 files 850 against 25 ms; synced file by file, issue_many of 1,000 fell from 76x the
  -- openssl ca loop to 7x); a batch that big is a bulk job, for which waiting once for the
  -- neighbours' data costs less than a flush per certificate.
  -- The journal's reservation was synced before any of them (its own fdatasync, needed: once
  -- any of these may be on disk, the serials must be known as taken). Between these syncs no
  -- order is needed, and none is relied on: after a power cut, recovery completes missing
  -- lines from whole files and cuts lines whose file is not whole (recover_issue). Nothing is
  -- reported issued before the last returns. A write error the disk reports only now (delayed
  -- allocation) fails the issuance here, while it can be undone.
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

-- issue{csr=, profile=, days=, san=, subject=} -> cert, details | nil, err
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

-- revoking ----------------------------------------------------------------------------------

local function reason_error(r)
  return nil, string.format("unknown revocation reason '%s' (one of: %s)", tostring(r), table.concat(db.reason_list(), ", "))
end

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

-- revoke_locked(key, reason, t, extra) under the lock: one line changes, the file is rewritten
-- atomically (index.txt.old keeps the previous one, as openssl does)
function CA:_revoke_locked(key, reason, t)
  local p = self.p
  local text, err = fs.read(p.index)
  if not text then return nil, err end
  local entries, bad = db.parse_index(text)
  if #bad > 0 then
    return nil, string.format("%s line %d: %s (openssl ca would refuse this file too; fix or remove the line)",
      p.index, bad[1].line, bad[1].why)
  end
  local found
  for _, e in ipairs(entries) do
    if e.key == key then found = e end
  end
  if not found then return nil, string.format("serial %s is not in %s: this CA did not issue it", key, p.index) end
  if found.status == "R" then
    local r = found.revocation
    return nil, string.format("serial %s is already revoked (%s%s)", key, require("certbench.ui").time(r.time),
      r.reason and (", " .. r.reason) or "")
  end
  found.status = "R"
  found.revoked = db.revoked_field(t, reason)
  local new = db.replace_line(text, found.line, db.format_line(found))
  if not new then return nil, p.index .. ": could not find line " .. found.line end
  fs.fault("ca.revoke:before")
  local ok, werr = fs.write(p.index, new)
  if not ok then return nil, werr end
  self._idx = nil
  fs.fault("ca.revoke:written")
  fs.write(p.index_old, text, { sync = false }) -- a convenience copy, as openssl leaves it
  return { serial = key, status = "revoked", reason = reason, revoked_at = t, subject = found.subject }
end

-- revoke{serial= | cert=, reason=, time=} -> info | nil, err
function CA:revoke(o)
  self:_check_open()
  if type(o) ~= "table" then error("ca:revoke: expected a table {serial= | cert=, reason=}", 2) end
  options.check(o, { "serial", "cert", "reason", "time" }, "ca:revoke")
  local key
  if o.cert ~= nil then
    local cert, err = self:_own_cert(o.cert)
    if not cert then return nil, err end
    key = db.norm_serial(cert:serial())
  elseif o.serial ~= nil then
    key = db.norm_serial(o.serial)
    if not key then return nil, string.format("'%s' is not a serial number (hexadecimal)", tostring(o.serial)) end
  else
    error("ca:revoke: serial or cert is required", 2)
  end
  local reason
  if o.reason ~= nil then
    reason = db.reason_word(o.reason)
    if not reason then return reason_error(o.reason) end
  end
  local t = o.time or now()
  local info, err = self:_locked(function() return self:_revoke_locked(key, reason, t) end)
  if not info then return nil, err end
  emit("ca.revoked", { ca = self.dir, serial = info.serial, subject = info.subject,
                       reason = info.reason, revoked_at = info.revoked_at })
  return info
end

-- CRLs ----------------------------------------------------------------------------------------

-- gencrl{days= | hours=} -> crl, info | nil, err. The number comes from crlnumber, which moves
-- on before the CRL is written, so a crash never gives two CRLs the same number.
function CA:gencrl(o)
  self:_check_open()
  o = options.check(o, { "days", "hours", "time", "digest" }, "ca:gencrl") or {}
  if o.days ~= nil and o.hours ~= nil then error("ca:gencrl: days or hours, not both", 2) end
  local days, hours = o.days, o.hours
  if days == nil and hours == nil then days = 30 end
  for _, v in ipairs({ days or 1, hours or 1 }) do
    if math.type(v) ~= "integer" or v <= 0 then error("ca:gencrl: days/hours must be a positive integer", 2) end
  end
  local key, kerr = self:_key()
  if not key then return nil, kerr end
  local crl, info = self:_locked(function()
    local p = self.p
    local c, err = self:_index()
    if not c then return nil, err end
    local entries = {}
    for _, e in ipairs(c.entries) do
      if e.status == "R" then
        local r = e.revocation
        entries[#entries + 1] = { serial = e.key, date = r.time, reason = r.reason,
                                  invalidity_date = r.compromise_time }
      end
    end
    local numtext = fs.read(p.crlnumber, 4096)
    local number
    if numtext then
      local nerr
      number, nerr = db.parse_serial_file(numtext, p.crlnumber)
      if not number then return nil, nerr end
    end
    local t = o.time or now()
    local crl, cerr = lazy.crl.new({ issuer = self.cert, key = key, entries = entries, number = number,
      this_update = t, days = days, hours = hours, digest = o.digest })
    if not crl then return nil, cerr end
    local pem = crl:to_pem()
    local file = p.crl .. "/" .. (number or "crl") .. ".pem"
    if not fs.isdir(p.crl) then
      local ok, merr = fs.mkdir(p.crl)
      if not ok then return nil, merr end
    end
    -- everything that needs space first (temporary files), then renames: crlnumber moves on
    -- before the CRL appears, so a crash never gives two CRLs the same number
    local list = {}
    if number then
      list[#list + 1] = { p.crlnumber, db.serial_file_text(db.add_serial(number, 1)), true }
      list[#list + 1] = { p.crlnumber_old, numtext }
    end
    list[#list + 1] = { file, pem, true }
    list[#list + 1] = { p.crl_pem, pem, true }
    local staged, serr = stage(list)
    if not staged then return nil, serr end
    for i, x in ipairs(staged) do
      local ok, rerr = fs.rename(x.tmp, x.path)
      if not ok then
        for j = i, #staged do fs.remove(staged[j].tmp) end
        return nil, rerr
      end
      if i == 1 and number then fs.fault("ca.gencrl:number") end
    end
    return crl, { number = number, file = file, current = p.crl_pem, revoked = #entries,
                  this_update = t, next_update = t + (days and days * 86400 or hours * 3600) }
  end)
  if not crl then return nil, info end
  emit("crl.published", { ca = self.dir, file = info.file, current = info.current, number = info.number,
                          this_update = info.this_update, next_update = info.next_update,
                          revoked = info.revoked })
  return crl, info
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

-- renewing --------------------------------------------------------------------------------------

-- renew{serial= | cert=, days=, revoke_old=} -> cert, details | nil, err: a new certificate with
-- the subject, public key and extensions of an old one (SKI/AKI made anew), a new serial and a
-- new validity; revoke_old revokes the old one as superseded, under the same lock.
function CA:renew(o)
  self:_check_open()
  if type(o) ~= "table" then error("ca:renew: expected a table {serial= | cert=, days=}", 2) end
  options.check(o, { "serial", "cert", "days", "revoke_old", "not_before" }, "ca:renew")
  local old
  if o.cert ~= nil then
    local err
    old, err = self:_own_cert(o.cert)
    if not old then return nil, err end
  elseif o.serial ~= nil then
    local key = db.norm_serial(o.serial)
    if not key then return nil, string.format("'%s' is not a serial number (hexadecimal)", tostring(o.serial)) end
    local data, err = fs.read(cert_path(self, key))
    if not data then return nil, "serial " .. key .. ": " .. err end
    old, err = self:_own_cert(data)
    if not old then return nil, err end
  else
    error("ca:renew: serial or cert is required", 2)
  end
  local key = db.norm_serial(old:serial())
  local days = o.days
  if days == nil then
    days = math.max(1, (old:not_after() - old:not_before() + 43200) // 86400)
  elseif math.type(days) ~= "integer" or days <= 0 then
    error("ca:renew: days must be a positive integer", 2)
  end
  local exts = {}
  for _, e in ipairs(old:extensions() or {}) do
    if e.oid ~= "2.5.29.14" and e.oid ~= "2.5.29.35" then
      exts[#exts + 1] = { oid = e.oid, value_der = e.der, critical = e.critical }
    end
  end
  local subject = old:subject()
  local nb = o.not_before or now()
  local item = {
    opts = { subject = subject, issuer = self.cert, public_key = old:public_key(), not_before = nb,
             not_after = nb + days * 86400, extensions = #exts > 0 and exts or nil },
    oneline = oneline_of(subject), profile = "renewal of " .. key,
  }
  local ckey, kerr = self:_key()
  if not ckey then return nil, kerr end
  local res, err = self:_locked(function()
    local c, ierr = self:_index()
    if not c then return nil, ierr end
    local e = c.by_key[key]
    if not e then return nil, string.format("serial %s is not in %s: this CA did not issue it", key, self.p.index) end
    if e.status == "R" then return nil, string.format("serial %s is revoked: issue a new certificate from a new CSR instead", key) end
    local out, cerr = self:_commit({ item }, ckey, { ignore_serial = o.revoke_old and key or nil })
    if not out then return nil, cerr end
    if o.revoke_old then
      local r, rerr = self:_revoke_locked(key, "superseded", now())
      if not r then return nil, "renewed as " .. out[1].serial .. ", but revoking " .. key .. " failed: " .. rerr end
      out[1].revoked_old = key
    end
    return out
  end)
  if not res then return nil, err end
  res[1].renewed = key
  emit_issued(self, res[1])
  if res[1].revoked_old then
    emit("ca.revoked", { ca = self.dir, serial = key, subject = subject:oneline(), reason = "superseded" })
  end
  return res[1].cert, res[1]
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

-- creating a CA -------------------------------------------------------------------------------

local function first_serial()
  local s = lazy.rand.serial(8)
  -- a random start (serials of different CAs do not collide), then one by one; a non-zero
  -- first digit keeps them all the same length for a long while
  if s:sub(1, 1) == "0" then s = "1" .. s:sub(2) end
  return s
end

local function remove_tree(path)
  local st = fs.stat(path, { follow = false })
  if not st then return end
  if st.type == "directory" then
    for _, name in ipairs(fs.list(path) or {}) do remove_tree(path .. "/" .. name) end
  end
  fs.remove(path)
end

-- init(dir, opts) -> ca | nil, err
--   subject (required), key = "ec:P-384" (default) | "rsa:4096" | "ed25519" | a pkey,
--   days = 3650 (1825 for a sub-CA), encrypt = true, passout = password source or secret
--   (prompted twice without one), sub_ca = true with parent = a CA folder or object
--   (parent_passin for its key), path_len, ui
-- The folder is built under a temporary name next to dir and renamed into place, so a crash
-- leaves no half CA; an existing CA (or any non-empty folder) is never touched.
local INIT_OPTS = { "subject", "key", "days", "encrypt", "passout", "sub_ca", "parent",
                    "parent_passin", "path_len", "ui" }
function M.init(dir, o)
  if type(dir) ~= "string" then error("ca.init: the CA folder must be a string", 2) end
  if type(o) ~= "table" then error("ca.init: expected a table of options {subject=, ...}", 2) end
  options.check(o, INIT_OPTS, "ca.init")
  dir = dir:gsub("(.)/+$", "%1")
  local p = paths(dir)
  local st = fs.stat(dir)
  if st then
    if st.type ~= "directory" then return nil, dir .. ": exists and is not a folder" end
    if fs.exists(p.cert) or fs.exists(p.key) or fs.exists(p.index) then
      return nil, dir .. ": a CA exists there already (certbench ca init never overwrites one)"
    end
    if #(fs.list(dir) or {}) > 0 then return nil, dir .. ": exists and is not empty" end
  end
  if o.subject == nil then error("ca.init: subject is required", 2) end
  local subject, serr = lazy.name.from(o.subject, "ca init")
  if not subject then return nil, serr end
  if #subject == 0 then return nil, "ca init: the subject is empty" end
  local parent
  if o.sub_ca or o.parent ~= nil then
    if o.parent == nil then return nil, "ca init: a sub-CA needs its parent CA folder (--parent DIR)" end
    if type(o.parent) == "string" then
      local perr
      parent, perr = M.open(o.parent, { passin = o.parent_passin, ui = o.ui })
      if not parent then return nil, perr end
    else
      parent = o.parent
    end
  end
  local days = o.days or (parent and 1825 or 3650)
  if math.type(days) ~= "integer" or days <= 0 then error("ca.init: days must be a positive integer", 2) end
  local key = o.key
  if type(key) == "string" and fs.exists(key) then
    return nil, ("ca init: %s is a key file: `certbench ca adopt %s --key %s --cert CA-CERT` takes over an existing "
      .. "key and certificate; ca init makes a new key (--key ec:P-384, rsa:4096, ...)"):format(key, dir, key), 2
  end
  if key == nil or type(key) == "string" then
    local ok, k = pcall(lazy.pkey.generate, key or "ec:P-384")
    if not ok then return nil, "ca init: " .. tostring(k):gsub("^.-pkey%.generate: ", "") end
    key = k
  elseif not lazy.pkey.is_key(key) then
    error("ca.init: key must be a key spec (rsa:4096, ec:P-384, ed25519) or a certbench.pkey", 2)
  end
  -- the parent's key is checked before anything is made: a wrong password changes nothing
  if parent then
    local pk, perr = parent:_key()
    if not pk then return nil, perr end
  end
  local key_pem, kerr
  if o.encrypt == false then
    key_pem, kerr = key:to_pem()
  else
    local secret, gerr = lazy.secret.get(o.passout, { what = "a password for the new CA key", confirm = true })
    if not secret then return nil, gerr end
    local empty = (lazy.secret.is_secret(secret) and #secret:reveal() == 0) or secret == ""
    if empty then
      if secret ~= o.passout and secret.close then secret:close() end
      return nil, "ca init: the CA key password is empty (give one, or --no-encrypt for an unencrypted key)"
    end
    key_pem, kerr = key:to_pem({ password = secret, cipher = "aes-256-cbc" })
    if secret ~= o.passout and secret.close then secret:close() end
  end
  if not key_pem then return nil, kerr end

  local parent_dir = fs.dirname(dir)
  if not fs.isdir(parent_dir) then
    local ok, merr = fs.mkdir(parent_dir)
    if not ok then return nil, merr end
  end
  local tmp = string.format("%s/.%s.init-%s", parent_dir, fs.basename(dir), lazy.rand.serial(6))
  local t = paths(tmp)
  local function fail(err)
    remove_tree(tmp)
    return nil, err
  end
  local ok, err = fs.mkdir(tmp, { mode = 493 --[[0755]] })
  if not ok then return nil, err end
  for _, step in ipairs({
    function() return fs.mkdir(t.private, { mode = 448 --[[0700]] }) end,
    function() return fs.mkdir(t.newcerts) end,
    function() return fs.mkdir(t.crl) end,
    function() return fs.write_key(t.key, key_pem) end,
    function() return fs.write(t.index, "") end,
    function() return fs.write(t.attr, db.attr_text({ unique_subject = false })) end,
    function() return fs.write(t.serial, db.serial_file_text(first_serial())) end,
    function() return fs.write(t.crlnumber, db.serial_file_text("01")) end,
  }) do
    ok, err = step()
    if not ok then return fail(err) end
  end
  local cert, chain
  if parent then
    local details
    cert, details = parent:issue({ public_key = key, subject = subject, profile = "sub-ca", days = days,
                                   path_len = o.path_len })
    if not cert then return fail(details) end
    local pchain = fs.read(parent.p.chain) or parent.cert:to_pem()
    chain = cert:to_pem() .. pchain
  else
    local cerr
    cert, cerr = lazy.x509.new({ subject = subject, issuer_key = key, public_key = key, ca = true,
                                 path_len = o.path_len, days = days })
    if not cert then return fail(cerr) end
  end
  ok, err = fs.write(t.cert, cert:to_pem())
  if not ok then return fail(err) end
  if chain then
    ok, err = fs.write(t.chain, chain)
    if not ok then return fail(err) end
  end
  fs.fault("ca.init:before-rename")
  if st then fs.remove(dir) end -- the empty folder the user made; rename needs the name free
  ok, err = fs.rename(tmp, dir)
  if not ok then return fail(err) end
  local ca, oerr = M.open(dir, { key = key, ui = o.ui })
  if not ca then return nil, oerr end
  ca.key_given = false
  ca.parent_serial = parent and cert:serial() or nil
  if parent and type(o.parent) == "string" then parent:close() end
  return ca
end

return M
