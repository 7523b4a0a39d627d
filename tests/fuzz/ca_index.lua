-- ca_index: the parsers of the ca plugin's folder files on arbitrary bytes: index.txt (every
-- entry parsed must format back to a line that parses to the same entry), the serial file, the
-- journal record, index.txt.attr. They read files other tools (openssl, editors) wrote.
require "certbench.plugins" -- installs the searcher of certbench.plugins.NAME.file
local db = require "certbench.plugins.ca.db"
local journal = require "certbench.plugins.ca.journal"

local FIELDS = { "status", "expiry", "expires", "revoked", "serial", "key", "file", "subject" }

return function(data)
  local entries = db.parse_index(data)
  for _, e in ipairs(entries) do
    local line = db.format_line(e)
    local back = assert(db.parse_line(line:sub(1, -2)))
    for _, f in ipairs(FIELDS) do
      if back[f] ~= e[f] then error("round trip changed " .. f .. ": " .. tostring(e[f]) .. " -> " .. tostring(back[f])) end
    end
    local t = e.expires
    if t >= -631152000 and t < 253402300800 then assert(db.parse_asn1_time(db.asn1_time(t)) == t) end
  end
  db.parse_serial_file(data, "serial")
  db.parse_attr(data)
  journal.parse(data)
  local s = db.norm_serial(data:sub(1, 48))
  if s then assert(db.norm_serial(db.add_serial(s, 1)) == db.add_serial(s, 1)) end
end
