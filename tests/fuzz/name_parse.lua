-- name_parse: the -subj and RFC 4514 parsers and the text forms. A name made by name.parse
-- must read back from its oneline() and rfc4514() forms; a broken invariant raises, which the
-- harness reports as a crash.
local name = require "certbench.name"

local function invariant(ok, what, data)
  if not ok then
    error("name_parse: " .. what .. " for input " .. string.format("%q", data), 2)
  end
end

return function(data)
  local n = name.parse(data)
  if n then
    local back = name.parse(n:oneline())
    invariant(back and back == n, "oneline() does not read back", data)
    local r = name.parse_rfc4514(n:rfc4514())
    invariant(r and r == n, "rfc4514() does not read back", data)
    n:text(); n:hash()
  end
  n = name.parse_rfc4514(data)
  if n then n:text(); n:rfc4514(); n:oneline(); n:hash() end
  n = name.from_der(data)
  if n then n:text(); n:rfc4514(); n:oneline(); n:hash(); n:list() end
end
