-- certbench.ui: how certbench talks to people and to programs.
--   ui.configure{json=, quiet=, verbose=, progress=}  set once by the CLI
--   ui.say(fmt, ...)       human output on stdout (not with --json)
--   ui.info(fmt, ...)      remarks on stderr, silenced by --quiet
--   ui.warn(fmt, ...)      warnings on stderr (also under --quiet)
--   ui.error(msg)          "certbench: msg" on stderr
--   ui.json(value)         one JSON document on stdout
--   ui.progress(total, label) -> bar with :update(n), :add(k), :done(); only on a terminal
--   ui.time(epoch)         RFC 3339 text
local c = require "_certbench.ui"
local cjson = require "cjson"

-- sparse arrays (a nil in a list) encode as arrays padded with null, never as an error
if cjson.encode_sparse_array then cjson.encode_sparse_array(true) end
if cjson.encode_escape_forward_slash then cjson.encode_escape_forward_slash(false) end

local M = { options = { json = false, quiet = false, verbose = false, progress = true } }

function M.configure(opts)
  for k, v in pairs(opts or {}) do M.options[k] = v end
end

local function fmt(s, ...)
  if select("#", ...) > 0 then return string.format(s, ...) end
  return tostring(s)
end

function M.say(s, ...)
  if M.options.json then return end
  io.stdout:write(fmt(s, ...), "\n")
end

function M.info(s, ...)
  if M.options.quiet then return end
  io.stderr:write(fmt(s, ...), "\n")
end

function M.verbose(s, ...)
  if not M.options.verbose then return end
  io.stderr:write(fmt(s, ...), "\n")
end

function M.warn(s, ...)
  io.stderr:write("certbench: warning: ", fmt(s, ...), "\n")
end

function M.error(msg)
  io.stderr:write("certbench: ", tostring(msg), "\n")
end

-- JSON: cjson with arrays kept as arrays when empty (cjson encodes {} as an object otherwise)
M.array_mt = cjson.array_mt or cjson.empty_array_mt
function M.array(t)
  return setmetatable(t or {}, M.array_mt)
end

function M.encode_json(v)
  return cjson.encode(v)
end

function M.json(v)
  io.stdout:write(M.encode_json(v), "\n")
end

M.decode_json = cjson.decode

function M.time(t)
  if t == nil then return nil end
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

function M.isatty(fd) return c.isatty(fd) end

local Progress = {}
Progress.__index = Progress

function Progress:draw()
  if not self.on then return end
  local width = math.max(10, c.width(2) - #self.label - 20)
  local frac = self.total > 0 and math.min(1, self.n / self.total) or 0
  local fill = math.floor(frac * width + 0.5)
  io.stderr:write(string.format("\r%s [%s%s] %3d%% ", self.label, string.rep("#", fill),
    string.rep(" ", width - fill), math.floor(frac * 100)))
end

function Progress:update(n)
  self.n = n
  local now = os.clock()
  if now - self.last >= 0.1 or n >= self.total then
    self.last = now
    self:draw()
  end
end

function Progress:add(k) self:update(self.n + (k or 1)) end

function Progress:done()
  if self.on and not self.closed then
    self.n = self.total
    self:draw()
    io.stderr:write("\n")
  end
  self.closed = true
end

function M.progress(total, label)
  local on = M.options.progress and not M.options.quiet and not M.options.json and c.isatty(2)
  return setmetatable({ total = total or 0, n = 0, label = label or "", on = on, last = -1 }, Progress)
end

return M
