-- An example site plugin that extends the built-in `ca` instead of replacing it, and uses every
-- part of the plugin contract (certbench doc plugins):
--   * extends = "ca": `certbench ca inventory DIR` is a command under ca, next to ca's own;
--   * profiles: `ca issue --profile acme-server` (serverAuth + clientAuth, 90 days);
--   * crl_sources: `crl mirror --plugin-sources` adds these distribution points (merged with
--     those of every other plugin);
--   * hooks: each event appends one JSON line to the file named by $ACME_LOG (an inventory feed,
--     as a site would push to its CMDB); with $ACME_HOOK_FAIL set the hooks raise, to show that a
--     failing hook is reported by name and never undoes the operation.
-- The tests run it from the command line and from a script (tests/interop/site_plugin_spec.lua).
local fs = require "certbench.fs"
local ui = require "certbench.ui"

local function log(ev)
  if os.getenv("ACME_HOOK_FAIL") then error("acme inventory is down (ACME_HOOK_FAIL)") end
  local path = os.getenv("ACME_LOG")
  if not path then return true end
  local t = {}
  for k, v in pairs(ev) do
    if type(v) ~= "table" then t[k] = v end
  end
  return fs.append(path, ui.encode_json(t) .. "\n", { sync = false })
end

return {
  name = "acme",
  version = "1.0",
  summary = "example site extension of ca: an inventory command, a profile, CRL sources, hooks",
  extends = "ca",
  commands = {
    inventory = {
      summary = "the certificates of a CA folder as an inventory (serial, subject, status, expiry)",
      options = function(p)
        p:argument("dir", "the CA folder")
        p:option("--status", "only valid, revoked or expired"):choices { "valid", "revoked", "expired" }
      end,
      run = function(args)
        local ca, err = require("certbench.plugins.ca").open(args.dir)
        if not ca then return nil, err end
        local list, lerr = ca:list { status = args.status }
        ca:close()
        if not list then return nil, lerr end
        local items = {}
        for i, e in ipairs(list) do
          items[i] = { serial = e.serial, subject = e.subject, status = e.status,
                       not_after = e.not_after and ui.time(e.not_after) or nil }
        end
        return { ca = args.dir, certificates = ui.array(items) }
      end,
      text = function(res, ctx)
        for _, e in ipairs(res.certificates) do
          ctx.ui.say("%-20s %-8s %s %s", e.serial, e.status, e.not_after or "-", e.subject)
        end
      end,
    },
  },
  profiles = {
    ["acme-server"] = { eku = { "serverAuth", "clientAuth" }, days = 90,
                        key_usage = { "digitalSignature", "keyEncipherment" } },
  },
  -- (loopback URLs: the tests contact only 127.0.0.1; a site lists its distribution points)
  crl_sources = {
    "http://127.0.0.1:9/acme-root.crl",
    { url = "http://127.0.0.1:9/acme-issuing.crl", name = "acme-issuing" },
  },
  hooks = {
    ["ca.issued"] = log,
    ["ca.revoked"] = log,
    ["crl.published"] = log,
    ["crl.mirror_done"] = log,
  },
}
