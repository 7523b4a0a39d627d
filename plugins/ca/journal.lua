-- certbench.plugins.ca.journal: the crash-recovery record of a CA folder.
--
-- One fixed-size record in DIR/.certbench-journal, rewritten in place (fs.pwrite + fdatasync:
-- one sync, no rename): before an issuance writes anything it records the serials it reserves
-- and the size of index.txt; after the index lines are durable it goes back to "idle". The next
-- process that takes the folder lock and finds "issue" completes or undoes that issuance (see
-- recover in init.lua). A record that does not check out (torn by a power cut mid-write) is
-- "unknown": recovery then compares every file in newcerts/ with index.txt.
-- openssl ignores the file; it is hidden so that `ls` of the folder looks as openssl's does.
local fs = require "certbench.fs"

local M = {}

M.NAME = ".certbench-journal"
local SIZE = 256
local MAGIC = "certbench-ca-journal 1"

-- adler32 of a string: enough to tell a whole record from a torn one
local function adler32(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return string.format("%08x", b * 65536 + a)
end

local function encode(fields)
  local body = MAGIC .. " " .. table.concat(fields, " ")
  local rec = body .. " " .. adler32(body)
  assert(#rec < SIZE)
  return rec .. string.rep(" ", SIZE - 1 - #rec) .. "\n"
end

function M.path(dir)
  return dir .. "/" .. M.NAME
end

-- read(dir) -> { state = "idle", next = hex | nil } | { state = "issue", first=, last=, count=,
--              index_size= }
--              | { state = "unknown", why= }
-- The second result is the record as read (nil when there is no journal yet).
function M.read(dir)
  local data = fs.read(M.path(dir), 4096)
  if data == nil then return { state = "idle", missing = true } end
  return M.parse(data), data
end

function M.parse(data)
  local line = data:match("^([^\n]*)")
  line = line:gsub("%s+$", "")
  local body, sum = line:match("^(.*) (%x+)$")
  if not body or adler32(body) ~= sum or body:sub(1, #MAGIC + 1) ~= MAGIC .. " " then
    return { state = "unknown", why = "the journal record is damaged" }
  end
  local words = {}
  for w in body:sub(#MAGIC + 2):gmatch("%S+") do words[#words + 1] = w end
  if words[1] == "idle" and #words <= 2 then return { state = "idle", next = words[2] } end
  if words[1] == "issue" and #words == 5 then
    local count, size = math.tointeger(tonumber(words[4])), math.tointeger(tonumber(words[5]))
    if count and size then
      return { state = "issue", first = words[2], last = words[3], count = count, index_size = size }
    end
  end
  return { state = "unknown", why = "the journal record is not understood" }
end

-- begin_issue(dir, first, last, count, index_size): durable before any file of the issuance
function M.begin_issue(dir, first, last, count, index_size)
  return fs.pwrite(M.path(dir), 0, encode({ "issue", first, last, tostring(count), tostring(index_size) }))
end

-- idle(dir, next[, sync]): the issuance is complete and the serial file holds `next`. Not
-- synced by default: if this write is lost, the "issue" record is still there and recovery
-- finds every index line in place. The serial file is never synced on its own: after a power
-- cut recovery moves it to the journal's `next` if it went back.
function M.idle(dir, next, sync)
  return fs.pwrite(M.path(dir), 0, M.record_idle(next), { sync = sync or false })
end

function M.record_idle(next)
  return encode(next and { "idle", next } or { "idle" })
end

return M
