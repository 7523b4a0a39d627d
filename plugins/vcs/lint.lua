-- vcs/lint.lua: what a stricter peer than the appliance would refuse in the server certificate
-- and the CA file: certbench.lint's "error" findings (RFC 5280's MUSTs, the CA/B Forum
-- baseline requirements), one `vcs check` warning per certificate that has any. The appliance
-- validates as OpenSSL does and accepts these, so they are never failures.
--
--   require("certbench.plugins.vcs.lint").add_warnings(run)
--     run: the check run (run.cert, run.cas, run:add(id, title, status, reason))
local lint = require "certbench.lint"

local M = {}

local function label(c) return c:subject():label() end

local function warn(run, id, title, cert, opts)
  local list = {}
  for _, f in ipairs(lint.certificate(cert, opts)) do
    if f.severity == "error" then list[#list + 1] = f.rule .. ": " .. f.text end
  end
  if #list > 0 then
    run:add(id, title, "warn", "a strict peer (RFC 5280, CA/B Forum) would refuse it: " ..
      table.concat(list, "; "))
  end
end

function M.add_warnings(run)
  if run.cert then
    -- the server certificate is a TLS server's, whatever its EKU says (check_eku judges that)
    warn(run, "strict:cert", "strict: certificate", run.cert,
      { role = "leaf", tls_server = true })
  end
  for _, ca in ipairs(run.cas or {}) do
    if ca:is_ca() then
      warn(run, "strict:" .. label(ca), "strict: " .. label(ca), ca,
        { role = ca:is_self_signed() and "root" or "intermediate", tls_server = true })
    end
  end
end

return M
