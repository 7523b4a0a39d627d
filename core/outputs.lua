-- certbench.outputs: several output files written as one step, so a failure leaves the old
-- files (or none), never some new and some missing.
--
--   local out = outputs.new{ force = false }
--   out:add(path, data[, { key = true, mode = 0644, what = "server certificate" }])
--       key = true: mode 0600 from creation (a private key, or a PFX holding one)
--   out:paths() -> { path... } in the order added
--   (another options key raises, naming the function and the key)
--   out:check() -> true | nil, err     every target is free (or --force and a regular file),
--                                      every folder exists; nothing is touched
--   out:commit() -> { {path=, size=, mode=, what=, replaced=}... } | nil, err
--       check(), then every file is written to a temporary file in its own folder (fsync'ed,
--       with its final mode; a key to an unnamed one: fs.writer{key = true}), then they are
--       published in order. A failure while writing removes the temporary files: nothing is
--       written. Without force an existing file is an error before anything is written
--       ("--force replaces it"). Paths are written as fs.write does: "-" (standard output), a
--       character device, a FIFO or a socket are written in place, before the regular files
--       are published (they need no --force: nothing is replaced; a failure there, such as
--       /dev/full, leaves the regular files as they were); a symbolic link is replaced itself,
--       its target left alone.
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local options = require "certbench.options"

local M = {}
local Out = {}

-- the words every --out option adds to its help: what a path is written as (fs.write)
M.HELP = "- is standard output, then holding the data alone: the report goes to standard error; "
  .. "a device, FIFO or socket is written in place; a symbolic link "
  .. "to a file is replaced by the new file, its target left alone"
Out.__index = Out

function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then error("outputs.new: options must be a table", 2) end
  options.check(opts, { "force" }, "outputs.new")
  return setmetatable({ force = opts and opts.force or false, files = {}, seen = {} }, Out)
end

function Out:add(path, data, opts)
  if type(path) ~= "string" or path == "" then error("outputs:add: path must be a non-empty string", 2) end
  if type(data) ~= "string" then error("outputs:add: data must be a string", 2) end
  if self.seen[path] then error("outputs:add: " .. path .. " added twice", 2) end
  options.check(opts, { "key", "mode", "what" }, "outputs:add")
  opts = opts or {}
  self.seen[path] = true
  self.files[#self.files + 1] = {
    path = path, data = data, what = opts.what, key = opts.key or false,
    mode = opts.mode or (opts.key and 384 --[[0600]] or 420 --[[0644]]),
  }
  return self
end

function Out:paths()
  local t = {}
  for i, f in ipairs(self.files) do t[i] = f.path end
  return t
end

function Out:check()
  local exists = {}
  for _, f in ipairs(self.files) do
    f.inplace = fs.target(f.path) ~= "replace"
    -- a symbolic link is replaced itself (fs.write): one whose target is missing exists too
    local st = not f.inplace and (fs.stat(f.path) or fs.stat(f.path, { follow = false }))
    if f.inplace then
      -- written in place: no folder to check, nothing replaced
    elseif st then
      if st.type ~= "file" and st.type ~= "link" then
        return nil, f.path .. ": exists and is a " .. tostring(st.type) .. ", not a file: nothing written"
      end
      if not self.force then exists[#exists + 1] = f.path end
      f.replaced = true
    end
    local dir = fs.dirname(f.path)
    if not f.inplace and not fs.isdir(dir) then return nil, dir .. ": no such folder: nothing written" end
  end
  if #exists == 1 then
    return nil, exists[1] .. ": exists: nothing written (--force replaces it)"
  elseif #exists > 1 then
    return nil, table.concat(exists, ", ") .. ": exist: nothing written (--force replaces them)"
  end
  return true
end

-- a test hook: CERTBENCH_FAULT=outputs:write-N makes the write of the Nth file fail, so specs
-- can show that nothing is left behind
local function fault(i)
  local f = os.getenv("CERTBENCH_FAULT")
  return f and f == ("outputs:write-" .. i)
end

function Out:commit()
  local ok, err = self:check()
  if not ok then return nil, err end
  local writers = {}
  local function abort(from)
    for j = from or 1, #self.files do
      if writers[j] then writers[j]:abort() end
    end
  end
  for i, f in ipairs(self.files) do
    if not f.inplace then
      local w, werr
      if fault(i) then
        werr = f.path .. ": injected failure (CERTBENCH_FAULT)"
      else
        -- exclusive unless replacing: a file that appeared since check() is not replaced
        w, werr = fs.writer(f.path, { mode = f.mode, key = f.key, exclusive = not f.replaced })
        if w then w, werr = w:write(f.data) end
      end
      if not w then
        abort()
        return nil, ("writing %s failed (%s): nothing written"):format(f.path, tostring(werr))
      end
      writers[i] = w
    end
  end
  -- every temporary file written out and synced before any is published: a full disk or an
  -- I/O error fails here, with every old file still in place and nothing new under any name
  for i, w in pairs(writers) do
    local fok, ferr = w:flush()
    if not fok then
      abort()
      return nil, ("writing %s failed (%s): nothing written"):format(self.files[i].path, tostring(ferr))
    end
  end
  -- the targets written in place first (standard output, a FIFO, a device): their failure (a
  -- full /dev/full, a reader gone) is one that only the write tells, and with them first it
  -- leaves every regular file as it was; the renames that follow were prepared and rarely fail
  local order = {}
  for i, f in ipairs(self.files) do if f.inplace then order[#order + 1] = i end end
  for i, f in ipairs(self.files) do if not f.inplace then order[#order + 1] = i end end
  local done = {}
  for k, i in ipairs(order) do
    local f = self.files[i]
    local pok, perr, code
    if f.inplace then pok, perr, code = fs.write(f.path, f.data)
    else pok, perr, code = writers[i]:commit() end
    if not pok then
      for j = k + 1, #order do
        if writers[order[j]] then writers[order[j]]:abort() end
      end
      local msg
      if code == 17 --[[EEXIST]] then msg = f.path .. ": appeared while writing: not replaced"
      else msg = ("writing %s failed (%s)"):format(f.path, tostring(perr)) end
      if #done > 0 then msg = msg .. " (written already: " .. table.concat(done, ", ") .. ")" end
      return nil, msg
    end
    done[#done + 1] = f.path
  end
  local res = {}
  for i, f in ipairs(self.files) do
    ui.wrote(f.path) -- what --quiet prints
    res[i] = { path = f.path, size = #f.data, mode = ("%04o"):format(f.mode), what = f.what,
               replaced = f.replaced or false }
  end
  return res
end

return M
