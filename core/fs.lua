-- certbench.fs: files and folders, the way keys and CA databases need them.
--   fs.read(path[, max_bytes])                        -> data | nil, err, errno
--   fs.write(path, data[, {mode, exclusive, sync}])   atomic: temp file, fsync, rename, fsync dir
--   fs.writer(path[, {mode, exclusive, sync}])        -> w: fs.write in pieces: w:write(s, ...),
--                                                     w:commit(); w:abort()/<close>/gc leave no trace
--   fs.write_key(path, data[, {force}])               0600 from creation; refuses to overwrite
--   fs.append(path, data[, {mode, sync}])             one O_APPEND write, fdatasync
--   fs.create(path, data[, {mode, sync=false, async}]) a new file (O_EXCL) written in place
--                                                     (async: on the thread pool in a task)
--   fs.pwrite(path, offset, data[, {mode, sync}])     overwrite in place, fdatasync
--   fs.syncfs(path)                                   make the whole file system durable
--   fs.link(target, path[, {replace, sync}])          a hard link (replace: atomically)
--   fs.symlink(target, path[, {replace, sync}])       a symbolic link (replace: atomically)
--   fs.readlink(path)                                 the text of a symbolic link
--   fs.mkdir(path[, {mode, parents}]), fs.list(dir), fs.stat(path) (type size mode mtime uid gid ino dev), fs.exists(path)
--   fs.remove(path), fs.rename(a, b), fs.sync(path), fs.truncate(path, n), fs.realpath(p)
--   fs.lock(dir_or_file[, {shared, wait, timeout}])   `local lk <close> = assert(fs.lock(dir))`
--   fs.join(...), fs.dirname(p), fs.basename(p), fs.tmpdir([prefix])
local c = require "_certbench.fs"

local M = {}
for k, v in pairs(c) do M[k] = v end

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
  opts = opts or {}
  return c.write(path, data, { mode = opts.mode or 384 --[[0600]], exclusive = not opts.force })
end

-- write_new: like write, but an existing file is an error unless opts.force.
function M.write_new(path, data, opts)
  opts = opts or {}
  return c.write(path, data, { mode = opts.mode or 420 --[[0644]], exclusive = not opts.force })
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
