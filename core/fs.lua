-- certbench.fs: files and folders, the way keys and CA databases need them.
--   fs.read(path[, max_bytes])                        -> data | nil, err, errno
--       max_bytes defaults to fs.FILE_MAX
--   fs.FILE_MAX                                       256 MiB: the one cap on a local file certbench
--       reads whole (CB_FILE_MAX in core/lib/cb.h); over it, "path: file too large (N bytes, over
--       certbench's limit of 256 MiB for a file it reads whole)"
--   fs.write(path, data[, {mode, exclusive, sync, key}])  the one way out, by what path names:
--       "-": standard output; a character device, FIFO or socket (also through a symbolic
--       link: /dev/stdout): written in place; a block device or folder: refused; else atomic:
--       temp file, fsync, rename, fsync dir, a symbolic link being replaced itself (its target
--       is left alone). key: the file has a name only once whole (O_TMPFILE + linkat; where
--       the file system lacks it, a locked ".<name>.certbench-key.<hex>.tmp" that the next key
--       written in that folder removes if a crash left it)
--       sync: true (default) the file and its folder synced: durable on return; "atomic" the
--       file only, before the rename: old or new after a power cut, the new name maybe lost;
--       false: none (atomic for readers, not across a power cut)
--   fs.writer(path[, {mode, exclusive, sync, key}])   -> w: fs.write in pieces: w:write(s, ...),
--                                                     w:flush() (written and synced, not yet
--                                                     published: files that go together flush all
--                                                     before committing any), w:commit();
--                                                     w:abort()/<close>/gc leave no trace
--   fs.target(path) -> "replace" | "inplace" | "stdout"  how fs.write would write path
--   fs.stdout_taken() -> true once a write or writer of this process had standard output as its
--                                                     target ("-", /dev/stdout, the FIFO stdout is)
--   fs.write_key(path, data[, {force}])               0600 from creation, key = true; refuses to overwrite
--   fs.write_new(path, data[, {mode, force}])        like write, but an existing file is an
--                                                     error unless force
--   fs.append(path, data[, {mode, sync}])             one O_APPEND write, fdatasync
--   fs.create(path, data[, {mode, sync=false, async}]) a new file (O_EXCL) written in place
--                                                     (async: on the thread pool in a task)
--   fs.pwrite(path, offset, data[, {mode, sync}])     overwrite in place, fdatasync
--       append, create, pwrite and a lock file never follow a symbolic link (O_NOFOLLOW)
--   fs.syncfs(path)                                   make the whole file system durable
--   fs.SYNC_EACH_MAX                                  16: up to this many new files, a writer
--                                                     syncs each (fs.sync{}); above, syncfs once
--   fs.sync({path, ...})                              fdatasync each file, fsync each folder
--                                                     (write-back of all started first)
--   fs.link(target, path[, {replace, sync}])          a hard link (replace: atomically)
--   fs.symlink(target, path[, {replace, sync}])       a symbolic link (replace: atomically)
--   fs.readlink(path)                                 the text of a symbolic link
--   fs.mkdir(path[, {mode, parents}]), fs.list(dir), fs.stat(path[, {follow}]) (type size mode mtime ctime_ns uid gid ino dev), fs.exists(path)
--   fs.isdir(path) -> true when path is a folder
--   fs.remove(path), fs.rename(a, b[, {sync}]), fs.sync(path), fs.truncate(path, n), fs.realpath(p)
--   fs.lock(dir_or_file[, {shared, wait, timeout, pid}])  `local lk <close> = assert(fs.lock(dir))`;
--                                                     pid: the holder's process id in the lock file,
--                                                     named by "locked by process N"
--   fs.private_dir(path) -> d | nil, err              a state folder: made 0700 if missing, refused
--       when a symbolic link or another user's, made 0700 when wider; then reached only through
--       its descriptor: d:path([name]) -> "/proc/self/fd/N[/name]" (plain names only),
--       d:sub(name) -> the same for a folder in it, d:name(), d:shown(text) (the /proc names in
--       a message turned back into the path), d:close() (also <close> and gc)
--   fs.with_lock(path[, opts], fn, ...)               fn(...) under the lock, released whatever
--                                                     happens; fn's results
--   fs.fault(point)                                   a crash point for tests: CERTBENCH_FAULT=point
--                                                     kills the process there (see core/lib/cb.h)
--   fs.join(...), fs.dirname(p), fs.basename(p), fs.tmpdir([prefix])
--   fs.spool([dir]) -> s with s:put(data) -> slot, s:read(slot), s:close()   bytes kept on disk
-- An options key a function does not know raises, naming it (cb_checkoptions in C).
local c = require "_certbench.fs"
local options = require "certbench.options"

local M = {}
for k, v in pairs(c) do M[k] = v end

-- SYNC_EACH_MAX: the most new files a writer (a `ca issue` batch, a mirror run's commit) makes
-- durable one by one with fs.sync{...}; above it, one fs.syncfs. A file's sync waits for that
-- file alone, a syncfs for every dirty page of the file system, other programs' too: beside a
-- writer of 500 MB one `ca issue` took 465-520 ms with syncfs, 95-107 ms with its own files'
-- syncs (tests/bench/ca_issue_sync.sh). But each file's sync costs the disk a cache flush, so on
-- a quiet disk per-file syncs grow with the count (tests/bench/ca_sync_batch.lua, ext4: 16 files
-- 17 ms against 1 ms for a syncfs, 256 files 71 against 7, 1,000 files 850 against 25): a bulk
-- job waits once for the neighbours' data rather than flush per file.
M.SYNC_EACH_MAX = 16

function M.exists(path)
  return c.stat(path) ~= nil
end

function M.isdir(path)
  local st = c.stat(path)
  return st ~= nil and st.type == "directory"
end

function M.join(...)
  local parts = { ... }
  local out = {}
  for i, p in ipairs(parts) do
    if p ~= "" then
      if i > 1 then p = p:gsub("^/+", "") end
      if i < #parts then p = p:gsub("/+$", "") end
      out[#out + 1] = p
    end
  end
  return table.concat(out, "/")
end

function M.dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

function M.basename(path)
  return (path:match("([^/]*)/*$"))
end

-- write_key: private material. Mode 0600 is set when the file is opened, never afterwards;
-- an existing file is an error unless opts.force.
function M.write_key(path, data, opts)
  opts = options.check(opts, { "force", "mode" }, "fs.write_key") or {}
  return c.write(path, data, { mode = opts.mode or 384 --[[0600]], exclusive = not opts.force, key = true })
end

-- write_new: like write, but an existing file is an error unless opts.force.
function M.write_new(path, data, opts)
  opts = options.check(opts, { "mode", "force" }, "fs.write_new") or {}
  return c.write(path, data, { mode = opts.mode or 420 --[[0644]], exclusive = not opts.force })
end

-- spool([dir]) -> s: byte strings kept on disk instead of in memory, in an unnamed temporary
-- file (made in dir and removed at once, or tmpfile(3); closed when s is collected):
-- s:put(data) -> slot, s:read(slot) -> data, s:close(). A slot is an integer (where the data
-- is) or, when the spool cannot take the data (a failed write, 16 MiB or more), the data
-- itself. For what a run keeps by the thousand and reads back once or twice.
local SPOOL_LEN_BITS = 24
local Spool = {}
Spool.__index = Spool

function M.spool(dir)
  return setmetatable({ dir = dir, size = 0 }, Spool)
end

function Spool:put(data)
  if #data >= (1 << SPOOL_LEN_BITS) then return data end
  if not self.f then
    if self.dir then
      local path = M.join(self.dir, ("spool-%s.tmp"):format(require("certbench.rand").serial(8)))
      self.f = io.open(path, "w+b")
      if self.f then os.remove(path) end
    end
    self.f = self.f or io.tmpfile()
    if not self.f then return data end
    -- unbuffered: a write the disk refuses (full) fails here, and the data stays in memory,
    -- rather than failing later in a flush nobody checks
    self.f:setvbuf("no")
  end
  local off = self.size
  if not self.f:seek("set", off) or not self.f:write(data) then return data end
  self.size = off + #data
  return (off << SPOOL_LEN_BITS) | #data
end

function Spool:read(slot)
  if type(slot) ~= "number" then return slot end
  self.f:seek("set", slot >> SPOOL_LEN_BITS)
  return self.f:read(slot & ((1 << SPOOL_LEN_BITS) - 1)) or ""
end

function Spool:close()
  if self.f then self.f:close() self.f = nil end
end

-- with_lock(path, fn, ...) runs fn under the lock and releases it whatever happens.
function M.with_lock(path, opts, fn, ...)
  if type(opts) == "function" then return M.with_lock(path, nil, opts, fn, ...) end
  local lk, err = c.lock(path, opts)
  if not lk then return nil, err end
  local res = table.pack(pcall(fn, ...))
  lk:unlock()
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

return M
