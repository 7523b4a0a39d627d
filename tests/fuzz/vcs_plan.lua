-- vcs_plan: the names of `vcs plan` and the --subject prefix of `vcs csr`, from arbitrary text.
-- Lines: --fqdn, --cluster, then --peer names; a name that plan.fqdn accepts must be a name it
-- accepts again unchanged (normalized), and a plan never names an IP address, a wildcard or a
-- peer twice. Nothing here may raise: every bad input is a `nil, why`.
require "certbench.plugins" -- installs the searcher of certbench.plugins.NAME.file
local plan = require "certbench.plugins.vcs.plan"
local csr = require "certbench.plugins.vcs.csr"

local function invariant(ok, what, data)
  if not ok then
    error("vcs_plan: " .. what .. " for input " .. string.format("%q", data), 2)
  end
end

return function(data)
  local lines = {}
  for l in (data .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  for _, l in ipairs(lines) do
    local n = plan.fqdn(l)
    if n then
      invariant(plan.fqdn(n) == n, "fqdn() is not idempotent", data)
      invariant(not n:find("[^a-z0-9.%-]"), "fqdn() let through " .. n, data)
    end
  end
  local peers = {}
  for i = 3, #lines do peers[#peers + 1] = lines[i] end
  for _, mode in ipairs { "per-peer", "shared" } do
    local p = plan.make { fqdn = lines[1] ~= "" and lines[1] or nil, cluster = lines[2] ~= "" and lines[2] or nil,
                          peers = peers, mode = lines[2] ~= "" and mode or nil }
    if p then
      local seen = {}
      for _, n in ipairs(p.peers) do
        invariant(not seen[n], "a peer twice", data)
        seen[n] = true
      end
      for _, c in ipairs(p.certificates) do
        invariant(plan.fqdn(c.cn) == c.cn, "a CN that is not an FQDN", data)
        for _, s in ipairs(c.san) do invariant(plan.fqdn(s) == s, "a SAN that is not an FQDN", data) end
      end
    end
  end
  local s = csr.subject(lines[1], "vcs.example.com")
  if s then invariant(s:get("CN") == "vcs.example.com", "--subject changed the CN", data) end
end
