-- certbench: the root module. `require "certbench"` gives the version, the installation root
-- and, lazily, every module of the core: cb.x509 is require("certbench.x509") on first use.
local root = ...
local info = require "_certbench.info"

local M = {
  version = info.version,
  root = root,
}

function M.versions()
  return info.versions()
end

-- lazy(name) -> a stand-in for module name that requires it on the first field read, so a
-- plugin names what it uses at the top but a command loads only what it runs:
--   local x509 = cb.lazy "certbench.x509"   -- nothing loaded yet; x509.load(...) loads it
-- Only field reads are forwarded (not pairs, not assignment).
function M.lazy(name)
  local mod
  return setmetatable({}, { __index = function(_, k)
    mod = mod or require(name)
    return mod[k]
  end })
end

return setmetatable(M, {
  __index = function(t, k)
    if type(k) ~= "string" or not k:match("^[%w_]+$") then return nil end
    local ok, mod = pcall(require, "certbench." .. k)
    if not ok then
      if tostring(mod):find("module 'certbench." .. k .. "' not found", 1, true) then return nil end
      error(mod, 2)
    end
    rawset(t, k, mod)
    return mod
  end,
})
