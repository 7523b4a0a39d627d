-- crl/mirror_publish.lua: how a mirror run puts files into its folder: CRLs staged under
-- temporary names while the sources run, then committed together (below); the trusted CA
-- certificates as <subject-hash>.N; the pre-1.0 OpenSSL names (hash_names "old").
--   publish(ctx, c, id, src, now) -> files, action, sg[, staged]   stage a validated CRL
--                                    (raises {publish = err} when a file cannot be written)
--   staged_source(sg, i, j)          sg came from item j of source i's result
--   commit(ctx) -> true | nil, err   the staged files take their published names
--   publish_cas(ctx)                 the CA certificates (raises {publish = err})
--   old_names(ctx)                   the old-style hash names, after the commit
--   names(ctx)                       the names sources ask for (src.names: fetch-crl's pem and
--                                    der formats), after the commit
-- ctx: the run's context (crl/mirror.lua: run): cfg, state, trust, tmp (the private tmp/ of the
-- state folder), written (files written, counted), staged, pending, owner, seq, results,
-- rstore, counts, prev_success, state_ignored.
local crl = require "certbench.crl"
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local digest = require "certbench.digest"
local pkey = require "certbench.pkey"
local reconcile = require "certbench.plugins.crl.mirror_reconcile"

local M = {}

-- the <hash>.N of a CA certificate, as the state names them (ca_links)
local function ca_link_name(s) return type(s) == "string" and s:match("^%x%x%x%x%x%x%x%x%.%d+$") ~= nil end

-- r_index(ctx, key, hash): the n of the <hash>.rN entry of a CRL: its own, or the first free
-- one of its issuer hash (the indexes in use, by hash, are gathered once per run)
local function r_index(ctx, key, hash)
  local e = ctx.state.crls:peek(key)
  if e and e.r_index then return e.r_index end
  if not ctx.r_used then
    -- once a run, and only when a CRL is new to the folder
    ctx.r_used = {}
    for _, o in ctx.state.crls:each() do
      if o.hash and o.r_index then
        local u = ctx.r_used[o.hash] or {}
        u[o.r_index] = true
        ctx.r_used[o.hash] = u
      end
    end
  end
  local used = ctx.r_used[hash] or {}
  ctx.r_used[hash] = used
  local i = 0
  while used[i] do i = i + 1 end
  used[i] = true
  return i
end

-- publish_cas writes its few files at once (atomically, durable at the run's sync: commit()
-- syncs them with the CRLs, ctx.unsynced)
local function write(ctx, path, data)
  local ok, err = fs.write(path, data, { sync = false, mode = 420 })
  if not ok then error({ publish = err }) end
  ctx.unsynced = ctx.unsynced or {}
  ctx.unsynced[#ctx.unsynced + 1] = path
end

-- A CRL is published in two steps. While the sources run, each file that must change is
-- written under a temporary name (tmp/pub-N, on the thread pool: creating files costs the
-- file system time the loop need not wait for) and the change is staged. When every source is
-- done, commit() makes the new files durable (each with its own sync up to fs.SYNC_EACH_MAX
-- files, else one syncfs(2): see commit), gives each its published name with rename(2), and
-- makes the names durable with an fsync of the folder. A crash at any
-- moment thus leaves each published name with its old file or its new and complete one,
-- whatever the file system does with data not yet synced; and no inode is freed while the run
-- still creates files (ext4 without a journal makes each creation skip, one by one, the inodes
-- freed in the last minutes: a quadratic cost in a run that frees as it goes).

-- a CRL of this many entries or more is written on the thread pool (smaller ones cost less
-- than the hand-over)
local ASYNC_MIN = 1000

-- The staged record of a CRL (sg) is small, as a run of thousands of sources holds one for
-- each of them until the commit: an array of the CRL's key, a snapshot of its state entry
-- before (to put back), its base name, its hash entry name (<hash>.rN), its files as
-- tmp/pub-N (der, pem; false: not written), the link to make ("symlink" or "hardlink", or
-- false) and, once its source is done, the index of its source's result and of its item there.
-- The paths are made again from these at the commit.
-- ctx.pending: what is staged, by base (PENDING_DER | PENDING_PEM) and by hash name;
-- ctx.owner[key]: the last record staged for a key (a CRL may come twice in a run).
local PENDING_DER, PENDING_PEM = 1, 2
-- the fields of a staged record (an array: a third of the memory of a table with names)
local SG_KEY, SG_PREV, SG_BASE, SG_HASH, SG_DER, SG_PEM, SG_LINK, SG_SRC, SG_ITEM = 1, 2, 3, 4, 5, 6, 7, 8, 9

-- staged_source(sg, i, j): the staged record sg came from item j of source i's result (known
-- once the source is done), which the commit turns into a failure if the CRL cannot be published
function M.staged_source(sg, i, j) sg[SG_SRC], sg[SG_ITEM] = i, j end

local function tmp_path(ctx, n) return fs.join(ctx.tmp, ("pub-%d"):format(n)) end

local function staged_paths(ctx, sg)
  local dir = ctx.cfg.out_dir
  return fs.join(dir, sg[SG_BASE] .. ".der"), fs.join(dir, sg[SG_BASE] .. ".pem"), fs.join(dir, sg[SG_HASH])
end

-- there(ctx, base, bit, path): the file is published, or staged to be
local function there(ctx, base, bit, path)
  return (ctx.pending[base] or 0) & bit ~= 0 or fs.exists(path)
end

-- stage_link(ctx, sg, files, pem_name, pem_new): the <hash>.rN entry names the published PEM. A
-- symbolic link is made once and follows every later replacement of the PEM; a hard link names
-- one version of it, so it is made again after each. Whatever else stands there (a copy an older
-- version wrote, a stale link) is replaced atomically.
local function stage_link(ctx, sg, files, pem_name, pem_new)
  if ctx.cfg.hash_links == "hardlink" then
    if not pem_new then
      local a, b = fs.stat(files.pem), fs.stat(files.hash, { follow = false })
      if a and b and a.ino == b.ino and a.dev == b.dev then return end
    end
    sg[SG_LINK] = "hardlink"
  elseif not ctx.pending[sg[SG_HASH]] and fs.readlink(files.hash) ~= pem_name then
    sg[SG_LINK] = "symlink"
  end
end

-- publish(ctx, c, id, src, now) -> files, action, sg, staged: stages what is not on disk already.
-- A CRL whose bytes are those published (same digest, files in place) costs no write. The
-- files are written from the CRL object (c:write: no Lua string of a big CRL, on the thread
-- pool). staged: the record waits for the commit, which may still turn it into a failure.
function M.publish(ctx, c, id, src, now)
  local st, dir = ctx.state, ctx.cfg.out_dir
  local sha = reconcile.sha256(c)
  local prev = st.crls:snapshot(id.key)
  local e = st.crls:get(id.key)
  local idx = r_index(ctx, id.key, id.hash)
  local pem_name = id.base .. ".pem"
  local hash_name = ("%s.r%d"):format(id.hash, idx)
  local files = {
    der = fs.join(dir, id.base .. ".der"), pem = fs.join(dir, pem_name), hash = fs.join(dir, hash_name),
  }
  local sg = { id.key, prev or false, id.base, hash_name, false, false, false, 0, 0 }
  local same = e ~= nil and e.sha256 == sha and e.base == id.base and e.repair ~= "all"
  local der_new = not (same and there(ctx, id.base, PENDING_DER, files.der))
  local pem_new = der_new or (e ~= nil and e.repair ~= nil) or not there(ctx, id.base, PENDING_PEM, files.pem)
  if der_new then ctx.seq = ctx.seq + 1 sg[SG_DER] = ctx.seq end
  if pem_new then ctx.seq = ctx.seq + 1 sg[SG_PEM] = ctx.seq end
  stage_link(ctx, sg, files, pem_name, pem_new)
  local nops = (sg[SG_DER] and 1 or 0) + (sg[SG_PEM] and 1 or 0) + (sg[SG_LINK] and 1 or 0)
  local action = der_new and "published" or "unchanged"
  -- the state and the staged names first, before the files are written (the task yields
  -- then): a second copy of this CRL in the run, or another CRL of the same issuer hash,
  -- sees them
  e = e or {}
  e.issuer, e.hash, e.aki, e.delta, e.base, e.r_index = tostring(c:issuer()), id.hash, id.aki, id.delta, id.base, idx
  e.number, e.this_update_epoch, e.next_update_epoch = c:number(), c:this_update(), c:next_update()
  e.entries, e.sha256, e.repair = c:count(), sha, nil
  e.source, e.last_success = src.url, now
  if action == "published" then e.published_at = now end
  st.crls:set(id.key, e)
  if nops == 0 then
    if not e.pem_size or not e.ino then
      -- a state from before these were kept: remember the files as they are
      local sd, sp = fs.stat(files.der), fs.stat(files.pem)
      if sd then e.size, e.mtime, e.ino = sd.size, sd.mtime, sd.ino end
      if sp then e.pem_size, e.pem_mtime, e.pem_ino = sp.size, sp.mtime, sp.ino end
    end
    return files, action, sg
  end
  local bits = (sg[SG_DER] and PENDING_DER or 0) | (sg[SG_PEM] and PENDING_PEM or 0)
  ctx.pending[id.base] = (ctx.pending[id.base] or 0) | bits
  if sg[SG_LINK] then ctx.pending[hash_name] = true end
  local written, err = {}, nil
  for _, f in ipairs { { sg[SG_DER], "der" }, { sg[SG_PEM], "pem" } } do
    if f[1] and not err then
      local path = tmp_path(ctx, f[1])
      local ok, werr = c:write(path, { format = f[2], mode = 420, async = c:count() >= ASYNC_MIN })
      if ok then written[#written + 1] = path else err = werr end
    end
  end
  if err then
    for _, p in ipairs(written) do fs.remove(p) end
    ctx.pending[id.base] = (ctx.pending[id.base] or 0) & ~bits
    if sg[SG_LINK] then ctx.pending[hash_name] = nil end
    st.crls:restore(id.key, prev)
    error({ publish = err })
  end
  ctx.owner[id.key] = sg
  ctx.staged[#ctx.staged + 1] = sg
  ctx.written = ctx.written + nops
  return files, action, sg, true
end

-- source_failed(ctx, res, err, code): the result and the state of a source say it failed,
-- also after the fact (its CRL could not take its published name)
local function source_failed(ctx, res, err, code)
  local sst = ctx.state.sources:get(res.url)
  if res.ok then
    sst.errors_total = (sst.errors_total or 0) + 1
    sst.last_success = ctx.prev_success[res.url]
  end
  res.ok, res.error, res.code = false, err, code
  sst.ok = false
  sst.etag, sst.last_modified = nil, nil
  sst.last_error, sst.last_error_code = err, code
  ctx.state.sources:cool(res.url)
end

-- commit(ctx) -> true | nil, err: the staged files take their published names (see above)
function M.commit(ctx)
  if ctx.written == 0 then return true end
  local dir, st = ctx.cfg.out_dir, ctx.state
  local function undo(sg, why)
    if sg[SG_DER] then fs.remove(tmp_path(ctx, sg[SG_DER])) end
    if sg[SG_PEM] then fs.remove(tmp_path(ctx, sg[SG_PEM])) end
    if ctx.owner[sg[SG_KEY]] == sg then st.crls:restore(sg[SG_KEY], sg[SG_PREV] or nil) end
    -- the result of its source, decoded, changed and kept again (a rare path)
    local n = ctx.counts
    local res = ui.decode_json(ctx.rstore:read(ctx.results[sg[SG_SRC]]))
    local item = res.crls[sg[SG_ITEM]]
    local a = item.action == "published" and "published" or "unchanged"
    n[a], n.rejected = n[a] - 1, n.rejected + 1
    item.action, item.error, item.code = "rejected", "cannot publish: " .. tostring(why), "io"
    if res.ok then n.ok, n.failed = n.ok - 1, n.failed + 1 end
    source_failed(ctx, res, ("%s: the CRL of %s: %s"):format(res.url, item.issuer, item.error), "io")
    res.crls = ui.array(res.crls)
    ctx.results[sg[SG_SRC]] = ctx.rstore:put(ui.encode_json(res))
  end
  -- the data of every new file on disk before any of them takes a published name. A daily run
  -- mostly changes a few CRLs (most sources answer 304): their own files are synced, as `ca
  -- issue` syncs its own, so the run does not wait for every other program's dirty data on the
  -- file system (syncfs(2) does: a mirror beside a database or a log writer paid for their
  -- writes). A run that changes more than fs.SYNC_EACH_MAX files (a first run, a day when
  -- every CA re-issued) syncs the file system once: one flush of the disk's cache instead of
  -- one per file, measured in core/fs.lua.
  local files = {}
  for _, sg in ipairs(ctx.staged) do
    if sg[SG_DER] then files[#files + 1] = tmp_path(ctx, sg[SG_DER]) end
    if sg[SG_PEM] then files[#files + 1] = tmp_path(ctx, sg[SG_PEM]) end
  end
  for _, p in ipairs(ctx.unsynced or {}) do files[#files + 1] = p end
  local ok, err
  if #files <= fs.SYNC_EACH_MAX then ok, err = fs.sync(files)
  else ok, err = fs.syncfs(dir) end
  ctx.unsynced = nil
  if not ok then
    for _, sg in ipairs(ctx.staged) do undo(sg, err) end
    return nil, err
  end
  fs.fault("crl.mirror:synced")
  for _, sg in ipairs(ctx.staged) do
    local der, pem, hash = staged_paths(ctx, sg)
    local r, failed = true, nil
    if sg[SG_DER] then
      r, failed = fs.rename(tmp_path(ctx, sg[SG_DER]), der, { sync = false })
      if r then sg[SG_DER] = false end
    end
    if r and sg[SG_PEM] then
      r, failed = fs.rename(tmp_path(ctx, sg[SG_PEM]), pem, { sync = false })
      if r then sg[SG_PEM] = false end
    end
    if r and sg[SG_LINK] == "symlink" then
      r, failed = fs.symlink(sg[SG_BASE] .. ".pem", hash, { replace = true, sync = false })
    elseif r and sg[SG_LINK] == "hardlink" then
      r, failed = fs.link(pem, hash, { replace = true, sync = false })
    end
    if not r then
      undo(sg, failed)
    elseif ctx.owner[sg[SG_KEY]] == sg then
      local e = st.crls:get(sg[SG_KEY])
      local sd, sp = fs.stat(der), fs.stat(pem)
      if sd then e.size, e.mtime, e.ino = sd.size, sd.mtime, sd.ino end
      if sp then e.pem_size, e.pem_mtime, e.pem_ino = sp.size, sp.mtime, sp.ino end
    end
    st.crls:cool(sg[SG_KEY])
  end
  -- the names: one fsync of each folder (on a journaled file system, one commit)
  fs.sync(dir)
  fs.sync(ctx.tmp)
  return true
end

-- trusted CA certificates as <subject-hash>.<n>, so the folder works as an OpenSSL CApath
function M.publish_cas(ctx)
  local st, dir = ctx.state, ctx.cfg.out_dir
  local wanted = {}
  local per_hash = {}
  local list = {}
  -- from the DER the trust set keeps: no CA is parsed for this (the order by digest is the
  -- one the certificates' fingerprints give, so the <hash>.N of each CA stays what it was)
  for der, hash in ctx.trust:each() do
    list[#list + 1] = { der = der, hash = hash, fp = digest.sha256(der) }
  end
  table.sort(list, function(a, b) if a.hash ~= b.hash then return a.hash < b.hash end return a.fp < b.fp end)
  for _, it in ipairs(list) do
    local n = per_hash[it.hash] or 0
    per_hash[it.hash] = n + 1
    local name = ("%s.%d"):format(it.hash, n)
    local pem = pkey.pem_encode("CERTIFICATE", it.der)
    wanted[name] = true
    local cur = fs.read(fs.join(dir, name), 1 << 20)
    if cur ~= pem then
      local c = cur and require("certbench.x509").load(cur)
      if c and c:to_der() == it.der then
        -- the same CA in another encoding or through a symbolic link (a trust folder's own
        -- <hash>.0, as the IGTF packages make it): left as it is, and not the mirror's to remove
        if not st.meta.ca_links[name] then wanted[name] = nil end
      else
        write(ctx, fs.join(dir, name), pem)
        ctx.written = ctx.written + 1
      end
    end
  end
  for name in pairs(st.meta.ca_links) do
    if not ca_link_name(name) then
      ctx.state_ignored[#ctx.state_ignored + 1] = ("ca_links: %q is not a plain <hash>.N name"):format(tostring(name))
    elseif not wanted[name] then
      fs.remove(fs.join(dir, name))
    end
  end
  st.meta.ca_links = wanted
end

-- old_names(ctx): with hash_names "old", the pre-1.0 OpenSSL names as symbolic links beside the
-- new ones: <old-hash>.rN to each published PEM (N counted per old hash, kept in the state) and
-- <old-hash>.N to each CA link <hash>.N. Made after the commit, from what is published.
function M.old_names(ctx)
  local st, dir = ctx.state, ctx.cfg.out_dir
  local used, unnamed = {}, {}
  for k, e in st.crls:each() do
    if e.hash_old and e.r_old then
      local u = used[e.hash_old] or {}
      u[e.r_old] = true
      used[e.hash_old] = u
    elseif e.base and e.issuer then
      unnamed[#unnamed + 1] = k
    end
  end
  for _, k in ipairs(unnamed) do
    local e = st.crls:get(k)
    local c = crl.scan_file(fs.join(dir, e.base .. ".der"))
    if c then
      e.hash_old = c:issuer():hash_old()
      c:close()
      local u = used[e.hash_old] or {}
      local i = 0
      while u[i] do i = i + 1 end
      u[i] = true
      used[e.hash_old] = u
      e.r_old = i
    end
    st.crls:cool(k)
  end
  for _, e in st.crls:each() do
    if e.hash_old and e.r_old and e.base and fs.exists(fs.join(dir, e.base .. ".pem")) then
      local name = ("%s.r%d"):format(e.hash_old, e.r_old)
      if fs.readlink(fs.join(dir, name)) ~= e.base .. ".pem" then
        fs.symlink(e.base .. ".pem", fs.join(dir, name), { replace = true, sync = false })
        ctx.written = ctx.written + 1
      end
    end
  end
  if ctx.cfg.publish_cas then
    -- the CA links are read back from the folder (their certificates parsed: only with this
    -- option); the old names a previous run made and no CA wants any more are removed
    local per_old, wanted = {}, {}
    local names = {}
    for name in pairs(st.meta.ca_links) do if ca_link_name(name) then names[#names + 1] = name end end
    table.sort(names)
    for _, name in ipairs(names) do
      local data = fs.read(fs.join(dir, name), 1 << 20)
      local cert = data and require("certbench.x509").load(data)
      if cert then
        local old = cert:subject():hash_old()
        local n = per_old[old] or 0
        per_old[old] = n + 1
        local oname = ("%s.%d"):format(old, n)
        wanted[oname] = true
        if fs.readlink(fs.join(dir, oname)) ~= name then
          fs.symlink(name, fs.join(dir, oname), { replace = true, sync = false })
        end
      end
    end
    for name in pairs(st.meta.ca_links_old or {}) do
      if ca_link_name(name) and not wanted[name] and not st.meta.ca_links[name] then fs.remove(fs.join(dir, name)) end
    end
    st.meta.ca_links_old = wanted
  end
  fs.sync(dir)
end

-- names(ctx): a source's names = { pem = NAME, der = NAME } (fetch-crl's nametemplate_pem and
-- _der) become symbolic links to the <base>.pem / <base>.der of the CRL it published (its full
-- CRL, not a delta), made once and following every later replacement of the file; a name that
-- is an absolute path (output_pem, output_der) links there to the file's absolute path
function M.names(ctx)
  local st, dir = ctx.state, ctx.cfg.out_dir
  local want = {}
  for _, s in ipairs(ctx.cfg.sources) do if s.names then want[s.url] = s.names end end
  if not next(want) then return end
  local folders, failed = { [dir] = true }, {}
  for _, e in st.crls:each() do
    local names = e.source and not e.delta and e.base and want[e.source]
    for f, name in pairs(names or {}) do
      local target, path = e.base .. "." .. f, fs.join(dir, name)
      if name:sub(1, 1) == "/" then target, path = fs.join(dir, target), name end
      if fs.exists(fs.join(dir, e.base .. "." .. f)) and fs.readlink(path) ~= target then
        -- what stands there is replaced only when it is a CRL (fetch-crl's file of that name): a
        -- template that names a CA or metadata file of a trust folder leaves it alone
        local c = fs.exists(path) and not fs.readlink(path) and crl.scan_file(path)
        if c then c:close() end
        if fs.exists(path) and not fs.readlink(path) and not c then
          ctx.state_ignored[#ctx.state_ignored + 1] = ("%s: not replaced by a link to %s: it is not a CRL"):format(name, target)
        else
          local ok, err = fs.symlink(target, path, { replace = true, sync = false })
          if ok then
            ctx.written = ctx.written + 1
            folders[fs.dirname(path)] = true
          else
            failed[#failed + 1] = tostring(err)
          end
        end
      end
    end
  end
  for d in pairs(folders) do fs.sync(d) end
  -- a folder of output_pem missing or not writable: the run's warning (the CRLs are published)
  if #failed > 0 then error(failed[1] .. (#failed > 1 and (" (and %d more)"):format(#failed - 1) or ""), 0) end
end

return M
