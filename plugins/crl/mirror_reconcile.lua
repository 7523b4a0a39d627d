-- crl/mirror_reconcile.lua: before a mirror run publishes anything, the state
-- (.certbench-mirror/state.json) is made to agree with the files of the folder, which are the
-- truth about what is published (a run that ended early, a state lost, a file changed by hand).
--   reconcile(cfg, st, ignored, set)   st: the state (crl/state.lua), set: the trust set;
--                                      ignored: a list the files and entries not used are added to
--   sha256(crl) -> the digest of a CRL's DER, as the state keeps it (lower-case hex)
local crl = require "certbench.crl"
local fs = require "certbench.fs"
local crlfile = require "certbench.plugins.crl.crlfile"

local M = {}

-- a name of the folder that the state may hold for a CRL: a base name the mirror makes
-- (crlfile.identity)
local function plain_base(s) return type(s) == "string" and s:match("^[%w][%w._-]*$") ~= nil and not s:find("..", 1, true) end

-- sha256(c): the digest of a CRL's DER, as the state keeps it
local function sha256(c)
  return (c:fingerprint("sha256"):gsub(":", ""):lower())
end
M.sha256 = sha256

-- take(st, c, path): remember a CRL found published (by a run whose state was lost, or that
-- ended before it saved its state), so that nothing older replaces it
local function take(st, c, path, ca)
  local id = crlfile.identity(c, ca)
  local e = st.crls:get(id.key)
  local newer = not e or not e.number or (c:number() and crlfile.cmp_number(c:number(), e.number) > 0)
    or (not c:number() and c:this_update() > (e.this_update_epoch or 0))
  if not newer then return end
  local s = crlfile.summary(c)
  e = e or {}
  e.issuer, e.hash, e.aki, e.delta, e.base = s.issuer, id.hash, id.aki, id.delta, id.base
  e.number, e.this_update_epoch, e.next_update_epoch = c:number(), c:this_update(), c:next_update()
  e.entries = c:count()
  e.sha256 = sha256(c)
  local stt = fs.stat(path)
  e.size, e.mtime, e.ino = stt and stt.size, stt and stt.mtime, stt and stt.ino
  -- it, or its PEM, may be torn: the next good download writes both again
  e.repair = "all"
  st.crls:set(id.key, e)
end

-- same_file(stat, size, mtime, ino): a file is the one the state remembers. Every write makes
-- a new file (rename), so the inode tells a rewrite in the same second with the same size.
local function same_file(s, size, mtime, ino)
  return s ~= nil and s.size == size and s.mtime == mtime and (ino == nil or s.ino == ino)
end

-- verified(set, c, path, ignored) -> the trusted CA that signed c | nil: a file in the folder
-- enters the state (its number guards against rollback) only when it verifies; else it is
-- ignored and listed, so one forged file cannot make every genuine CRL "older"
local function verified(set, c, path, ignored)
  local ca, why = set:issuer_of(c)
  if not ca then ignored[#ignored + 1] = ("%s: not used (%s)"):format(path, tostring(why)) end
  return ca
end

-- reconcile(cfg, st, ignored, set): the files are the truth about what is published. A DER file changed
-- since the state was saved (a run that ended early) or not in the state at all (a state
-- lost), or a <hash>.rN that is a file (fetch-crl's, in a folder the mirror takes over), is read, so that the number it holds is never rolled back. Such a CRL is marked for
-- repair: its next good download rewrites both files, however unchanged the bytes look (a
-- run cut short by a power loss may leave them torn); a PEM changed alone is rewritten alone.
function M.reconcile(cfg, st, ignored, set)
  local known, changed = {}, {}
  local bad = {}
  for k, e in st.crls:each() do
    if e.base ~= nil and not plain_base(e.base) then
      -- a name that would lead out of the folder (or that the mirror never makes): the entry
      -- is dropped, so nothing is read, replaced or removed under it
      bad[#bad + 1] = k
      ignored[#ignored + 1] = ("crls[%s].base: %q is not a plain name"):format(k, tostring(e.base))
    elseif e.base then
      local path = fs.join(cfg.out_dir, e.base .. ".der")
      known[e.base .. ".der"] = true
      -- its hash names (hard links with hash_links = "hardlink") are not read again each run
      if e.hash and e.r_index then known[("%s.r%d"):format(e.hash, e.r_index)] = true end
      if e.hash_old and e.r_old then known[("%s.r%d"):format(e.hash_old, e.r_old)] = true end
      local s = fs.stat(path)
      if s and not same_file(s, e.size, e.mtime, e.ino) then changed[#changed + 1] = { k, path } end
      if e.pem_size and not same_file(fs.stat(fs.join(cfg.out_dir, e.base .. ".pem")), e.pem_size, e.pem_mtime, e.pem_ino) then
        local he = st.crls:get(k)
        he.repair = he.repair or "pem"
      end
    end
  end
  for _, k in ipairs(bad) do st.crls:set(k, nil) end
  for _, ch in ipairs(changed) do
    st.crls:get(ch[1]).repair = "all"
    -- scanned, not loaded: a piece of each file in memory, whatever its size; closed at once,
    -- as each holds its file open
    local c = crl.scan_file(ch[2])
    local ca = c and verified(set, c, ch[2], ignored)
    if ca then take(st, c, ch[2], ca) end
    if c then c:close() end
  end
  for _, name in ipairs(fs.list(cfg.out_dir) or {}) do
    -- also a <hash>.rN that is a file, not the mirror's link: what fetch-crl (or a hand) published
    -- there, which a mirror taking over its folder must not roll back
    if (name:match("%.der$") and not known[name])
       or (name:match("^%x%x%x%x%x%x%x%x%.r%d+$") and not known[name] and not fs.readlink(fs.join(cfg.out_dir, name))) then
      local path = fs.join(cfg.out_dir, name)
      local c = crl.scan_file(path)
      local ca = c and verified(set, c, path, ignored)
      if ca then take(st, c, path, ca) end
      if c then c:close() end
    end
  end
  st.crls:cool_all()
end

return M
