-- certbench.ui: how certbench talks to people and to programs.
--   ui.configure{json=, quiet=, verbose=, progress=}  set once by the CLI (another key raises)
--   ui.say(fmt, ...)       human output on stdout (not with --json)
--   ui.report() -> the stream of the report (ui.say, ui.json, --quiet's list): stdout, or stderr
--                          once an output target of the command was standard output (`--out -`:
--                          fs.stdout_taken), so a pipe gets the data asked for and nothing else
--   ui.info(fmt, ...)      remarks on stderr, silenced by --quiet
--   ui.warn(fmt, ...)      warnings on stderr (also under --quiet), one line, escaped (ui.escape)
--   ui.error(msg[, keep_lines])  "certbench: msg" on stderr, one line, escaped (ui.escape)
--   ui.wrote(path)         a file the command wrote for the user: with --quiet the CLI prints
--                          these paths (one per line) and nothing else; ui.written() lists them
--   ui.json(value)         one JSON document on stdout
--   ui.encode_json(v[, sink]) -> text (sorted keys, ui.array(t) a list even when empty);
--                          with sink, sink(chunk) is called with chunks of about 64 KB instead
--   ui.encode_json_exact(v) -> text: strings that are not UTF-8 keep their bytes (encode_json
--                          makes them valid UTF-8 with U+FFFD): for certbench's own state files
--   ui.write_json(path, v[, fs_opts]) -> true | nil, err: atomically, in bounded memory
--   ui.decode_json(text) -> value (cjson)
--   ui.raw(text) -> JSON text made earlier, written as it is by the encoder and read like a
--     table; ui.raw_text(r) -> the text
--   ui.lazy_array(n, get) -> a list of n values made by get(i) when read or encoded
--   ui.lazy_stream(n, open, map) -> a lazy_array of map(v) for the values of the iterator open() starts
--   ui.verbose(fmt, ...)   remarks on stderr with --verbose only
--   ui.isatty(fd) -> true when fd (0, 1, 2) is a terminal
--   ui.progress(total, label) -> bar with :update(n), :add(k), :done(); only on a terminal
--   ui.time(epoch)         RFC 3339 text
--   ui.plural(n, word[, words]) -> "1 entry", "2 entries": a count for people ("1 CRL", "2 CRLs";
--                          words is the plural when adding s, or y -> ies, is not it)
--   ui.about(subject, msg) "subject: msg", or msg alone when it already starts with the subject
--                          (errors name their file or URL: a line says it once)
--   ui.escape(s[, {lines = true}])  s safe for a terminal: control characters (C0, DEL, and C1
--                          in UTF-8) as \XX (\u00XX for C1): what a certificate, a CRL or a peer
--                          says is escaped with it before it is printed as text (never in --json,
--                          where the encoder keeps it exact); lines: a text of several lines (the
--                          openssl-style dump of a certificate) keeps its line breaks
local c = require "_certbench.ui"
-- cjson (a shared library to open) only when a command writes or reads JSON
local cjson = require("certbench").lazy "cjson"
local fs = require "certbench.fs"
local options = require "certbench.options"

local M = { options = { json = false, quiet = false, verbose = false, progress = true } }

local CONFIGURE = { "json", "quiet", "verbose", "progress" }

function M.configure(opts)
  options.check(opts, CONFIGURE, "ui.configure")
  for k, v in pairs(opts or {}) do M.options[k] = v end
end

function M.escape(s, opts)
  s = tostring(s)
  if opts ~= nil then
    options.check(opts, { "lines" }, "ui.escape")
    if opts.lines then
      local out = {}
      for line in (s .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = M.escape(line) end
      return table.concat(out, "\n")
    end
  end
  -- the UTF-8 form of C1 controls (CSI is U+009B), which a UTF-8 terminal obeys too
  s = s:gsub("\194([\128-\159])", function(b) return ("\\u00%02X"):format(b:byte()) end)
  return (s:gsub("[%z\1-\31\127]", function(ch) return ("\\%02X"):format(ch:byte()) end))
end

local function fmt(s, ...)
  if select("#", ...) > 0 then return string.format(s, ...) end
  return tostring(s)
end

-- what ui.say prints holds what certificates, peers and servers say (a URL of a distribution
-- point, a server's reason phrase): controls other than the line ends and tabs of the text are
-- escaped (ui.escape), so none reaches the terminal (ESC[31m, a CSI); most lines have none
local CONTROL = "[%z\1-\8\11-\31\127\194]"
local function escape_text(s)
  if not s:find(CONTROL) then return s end
  return (s:gsub("[^\n\t]+", M.escape))
end

function M.report()
  return (M.report_to_stderr or fs.stdout_taken()) and io.stderr or io.stdout
end

function M.say(s, ...)
  if M.options.json then return end
  M.report():write(escape_text(fmt(s, ...)), "\n")
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
  -- callers that already say "warning:" must not make it "warning: warning:"
  io.stderr:write("certbench: warning: ", M.escape((fmt(s, ...):gsub("^[Ww]arning:%s*", ""))), "\n")
end

-- the files a command wrote for the user, in order (what --quiet prints)
local written = {}
function M.wrote(path)
  if type(path) == "string" then written[#written + 1] = path end
end
function M.written() return written end

-- errors and warnings name files, URLs and what certificates and peers say: escaped (a file
-- name with a newline or ESC[...m forged a second line or recoloured the terminal), so each is
-- one line. keep_lines: the lines of a traceback (--verbose), each escaped.
function M.error(msg, keep_lines)
  msg = tostring(msg)
  if keep_lines then msg = msg:gsub("[^\n]+", M.escape) else msg = M.escape(msg) end
  io.stderr:write("certbench: ", msg, "\n")
end

-- JSON. lua-cjson 2.1.0 (Debian 12) cannot tell an empty list from an empty object, so the
-- encoder is ours: a table marked with ui.array() is always a list; otherwise a table whose
-- keys are exactly 1..n (n > 0) is a list and anything else an object with sorted keys (stable
-- output for diffs and tests). cjson still escapes the strings.
M.array_mt = { __name = "certbench.ui.array" }
function M.array(t)
  return setmetatable(t or {}, M.array_mt)
end

-- ui.raw(text): JSON text made earlier (by encode_json), which the encoder writes as it is.
-- Read like a table (r.field, ipairs(r.list), pairs(r), #r), it decodes itself on each access
-- (numbers come back as floats): a result kept by the thousand as one string each, not as
-- tables, and still usable by the code that reads it. ui.raw_text(r) gives the text back.
local RAW = {}
local function decoded(t) return cjson.decode(rawget(t, RAW)) end
M.raw_mt = {
  __name = "certbench.ui.raw",
  __index = function(t, k) return decoded(t)[k] end,
  __pairs = function(t) return next, decoded(t), nil end,
  __len = function(t) return #decoded(t) end,
  __newindex = function() error("ui.raw: a JSON text cannot be changed in place", 2) end,
}
function M.raw(text)
  if type(text) ~= "string" then error("bad argument #1 to 'raw' (string expected, got " .. type(text) .. ")", 2) end
  return setmetatable({ [RAW] = text }, M.raw_mt)
end
function M.raw_text(r)
  return getmetatable(r) == M.raw_mt and rawget(r, RAW) or nil
end

-- ui.lazy_stream(n, open, map): a lazy_array read from an iterator, for lists too big to
-- gather (the entries of a 200 MB CRL as tables took 6.2 GB): open() starts a new iterator,
-- map(v) makes the item of each value it gives. Read in order (the JSON encoder, a printer's
-- ipairs) each item costs one step; going back (t[1] after t[5]) starts the iterator again.
function M.lazy_stream(n, open, map)
  if type(open) ~= "function" then error("bad argument #2 to 'lazy_stream' (function expected)", 2) end
  if type(map) ~= "function" then error("bad argument #3 to 'lazy_stream' (function expected)", 2) end
  local it, at = nil, 0
  return M.lazy_array(n, function(i)
    if not it or i <= at then it, at = open(), 0 end
    local v
    while at < i do
      v = it()
      at = at + 1
    end
    if v == nil then return nil end
    return map(v)
  end)
end

-- ui.lazy_array(n, get): a list of n values, each made by get(i) when it is read (t[i],
-- ipairs, pairs, #t) or written by the encoder, and not kept: thousands of results can stay
-- on disk until someone reads them
local LAZY_N, LAZY_GET = {}, {}
M.lazy_array_mt = {
  __name = "certbench.ui.lazy_array",
  __index = function(t, i)
    if math.type(i) == "integer" and i >= 1 and i <= rawget(t, LAZY_N) then return rawget(t, LAZY_GET)(i) end
  end,
  __len = function(t) return rawget(t, LAZY_N) end,
  __pairs = function(t)
    local n, get = rawget(t, LAZY_N), rawget(t, LAZY_GET)
    return function(_, i)
      i = i + 1
      if i <= n then return i, get(i) end
    end, t, 0
  end,
  __newindex = function() error("ui.lazy_array: read only", 2) end,
}
function M.lazy_array(n, get)
  if math.type(n) ~= "integer" or n < 0 then error("bad argument #1 to 'lazy_array' (integer >= 0 expected)", 2) end
  if type(get) ~= "function" then error("bad argument #2 to 'lazy_array' (function expected)", 2) end
  return setmetatable({ [LAZY_N] = n, [LAZY_GET] = get }, M.lazy_array_mt)
end

-- JSON is UTF-8 (RFC 8259): a string that is not (a file name of Latin-1 bytes, a certificate's
-- T61String) has each byte outside a valid UTF-8 sequence replaced by U+FFFD, so the document
-- still parses; cjson copied them raw, and a strict reader refused the whole document
local function valid_utf8(s)
  if utf8.len(s) then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local len, bad = utf8.len(s, i)
    if len then out[#out + 1] = s:sub(i) break end
    out[#out + 1] = s:sub(i, bad - 1)
    out[#out + 1] = "\u{FFFD}"
    i = bad + 1
  end
  return table.concat(out)
end
-- exact: strings go as their bytes (cjson's raw copy, which its decoder reads back the same),
-- for certbench's own files that must read back exactly (encode_json_exact)
local exact = false
local function encode_string(s)
  if exact then return cjson.encode(s) end
  return cjson.encode(valid_utf8(s))
end
local function is_list(t)
  local mt = getmetatable(t)
  if mt == M.array_mt or mt == M.lazy_array_mt then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

-- The encoder streams: pieces gather in a table that goes to the sink as one chunk (and is
-- then reused) once it holds CHUNK_BYTES bytes or CHUNK_PIECES pieces. So a document costs a
-- chunk's worth of memory, not its size (a string longer than a chunk still comes whole).
local CHUNK_BYTES, CHUNK_PIECES = 64 * 1024, 4096

-- the keys of objects as JSON, with their colon (and the comma before all but the first): the
-- same few field names come back in every entry of a long report or state, so they are made
-- once (up to KEYS_MAX short names; any other key is made each time)
local KEYS_MAX, nkeys = 2048, 0
local function key_memo(prefix)
  return setmetatable({}, { __index = function(t, k)
    local s = prefix .. encode_string(tostring(k)) .. ":"
    -- only valid UTF-8 names: theirs is the same in both forms (exact or not)
    if type(k) == "string" and #k <= 40 and nkeys < KEYS_MAX and utf8.len(k) then
      nkeys = nkeys + 1
      rawset(t, k, s)
    end
    return s
  end })
end
local key_first, key_after = key_memo(""), key_memo(",")

local function stream(v, sink)
  local out, n, size = {}, 0, 0
  local function flush()
    sink(table.concat(out, "", 1, n))
    n, size = 0, 0
  end

  local function encode(v, depth)
    local tv = type(v)
    local s
    if tv == "string" then
      s = encode_string(v)
    elseif tv == "table" and getmetatable(v) == M.raw_mt then
      s = rawget(v, RAW)
    elseif tv == "table" then
      if depth > 100 then error("ui.json: nested too deep", 0) end
      if is_list(v) then
        n = n + 1
        out[n] = "["
        for i = 1, #v do
          if i > 1 then n = n + 1 out[n] = "," end
          encode(v[i], depth + 1)
          size = size + 1
          if size >= CHUNK_BYTES or n >= CHUNK_PIECES then flush() end
        end
        n = n + 1
        out[n] = "]"
      else
        local keys, nk, strings = {}, 0, true
        for k in pairs(v) do
          local tk = type(k)
          if tk == "string" or tk == "number" then
            nk = nk + 1
            keys[nk] = k
            if tk ~= "string" then strings = false end
          end
        end
        if strings then table.sort(keys)
        else table.sort(keys, function(a, b) return tostring(a) < tostring(b) end) end
        n = n + 1
        out[n] = "{"
        for i = 1, nk do
          local k = keys[i]
          s = (i > 1 and key_after or key_first)[k]
          n = n + 1
          out[n] = s
          encode(v[k], depth + 1)
          size = size + #s
          if size >= CHUNK_BYTES or n >= CHUNK_PIECES then flush() end
        end
        n = n + 1
        out[n] = "}"
      end
      size = size + 2
      return
    elseif v == nil or v == cjson.null then s = "null"
    elseif tv == "boolean" then s = v and "true" or "false"
    elseif tv == "number" then
      if math.type(v) == "integer" then s = tostring(v)
      elseif v ~= v or v == math.huge or v == -math.huge then s = "null"
      else s = string.format("%.17g", v) end
    else
      -- userdata (a certificate, a key) has no JSON form: its text says what it is
      s = encode_string(tostring(v))
    end
    n = n + 1
    out[n] = s
    size = size + #s
  end

  encode(v, 0)
  if n > 0 then flush() end
end

-- encode_json(v) -> the JSON text of v; encode_json(v, sink) calls sink(chunk) with the text
-- in chunks of about 64 KB instead (an error, e.g. nesting too deep, may come after some).
function M.encode_json(v, sink)
  if sink ~= nil then
    if type(sink) ~= "function" then
      error("bad argument #2 to 'encode_json' (function expected, got " .. type(sink) .. ")", 2)
    end
    return stream(v, sink)
  end
  -- chunks, not pieces, wait for the final concat: a few of 64 KB instead of one per token
  local chunks, nc = {}, 0
  stream(v, function(s) nc = nc + 1 chunks[nc] = s end)
  if nc == 1 then return chunks[1] end
  return table.concat(chunks, "", 1, nc)
end

-- encode_json_exact(v) -> text: as encode_json, but a string that is not UTF-8 keeps its bytes
-- (not valid JSON for a strict reader: for certbench's own state files, whose keys, such as an
-- issuer name in T61String, must read back exactly or the state of that CA is lost)
function M.encode_json_exact(v)
  exact = true
  local ok, s = pcall(M.encode_json, v)
  exact = false
  if not ok then error(s, 0) end
  return s
end

-- json(v): v as one line on stdout (stderr after `--out -`: ui.report), written chunk by chunk
function M.json(v)
  local out = M.report()
  stream(v, function(s) out:write(s) end)
  out:write("\n")
end

-- write_json(path, v[, fs_opts]) -> true | nil, err, errno: v and a newline written to path
-- atomically (fs.writer) without the whole text in memory. On any failure, and on an error
-- the encoder raises (which goes on), nothing is left behind and an old file is untouched.
function M.write_json(path, v, fs_opts)
  local w <close>, err, code = fs.writer(path, fs_opts)
  if not w then return nil, err, code end
  -- after a failed write the writer only repeats the error, and commit returns it
  stream(v, function(s) w:write(s) end)
  w:write("\n")
  return w:commit()
end

function M.decode_json(s) return cjson.decode(s) end

-- time(t) -> "2026-11-28T00:00:00Z" (RFC 3339, UTC) | nil for nil: the one formatter of times
-- in text and JSON output
function M.plural(n, word, words)
  if n == 1 then return ("%d %s"):format(n, word) end
  if not words then
    words = word:match("[^aeiouAEIOU]y$") and (word:sub(1, -2) .. "ies") or (word .. "s")
  end
  return ("%d %s"):format(n, words)
end

function M.time(t)
  if t == nil then return nil end
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

function M.about(subject, msg)
  msg = tostring(msg)
  subject = tostring(subject)
  if msg:sub(1, #subject + 1) == subject .. ":" then return msg end
  return subject .. ": " .. msg
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
