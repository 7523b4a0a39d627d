-- archive_members: what a CRL mirror does with a body from the network. detect, pem_labels,
-- members (small limits, so inputs that inflate stay cheap), crls and certs on arbitrary bytes.
local archive = require "certbench.archive"

local limits = { max_members = 50, max_total = 4 << 20, max_member = 1 << 20, max_depth = 3 }

return function(data)
  archive.detect(data)
  archive.pem_labels(data)
  local ms = archive.members(data, limits)
  if ms then
    for _, m in ipairs(ms) do
      assert(type(m.name) == "string" and type(m.data) == "string")
      archive.detect(m.data)
    end
  end
  for _, list in ipairs { archive.crls(data, limits) or {}, archive.certs(data, limits) or {} } do
    for _, o in ipairs(list) do assert(#o.der > 0) end
  end
end
