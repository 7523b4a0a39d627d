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
