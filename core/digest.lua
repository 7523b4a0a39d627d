-- certbench.digest: hashes and HMACs, hex text.
--   digest.hash(alg, data)           -> raw bytes; alg: "sha256", "sha384", "sha512", "sha224",
--                                       "sha1", "md5" (case and "-" ignored: "SHA-256")
--   digest.sha256(data), .sha384, .sha512, .sha224, .sha1, .md5   shortcuts of hash
--   digest.hmac(alg, key, data)      -> raw bytes; key may be a certbench.secret
--   digest.new(alg[, hmac_key])      -> d with d:update(data) (returns d), d:final() -> bytes
--                                       d:algorithm() -> its name; d:close() (also <close>)
--   digest.hex(bytes[, sep])         -> upper-case hex, "AB:CD" with sep ":"
--   digest.fingerprint(alg, data)    -> hex of the digest, colon-separated (as openssl prints)
--   digest.equals(a, b)              constant-time comparison (for MACs)
--   digest.size(alg)                 -> output size in bytes
--   An unknown alg raises.
local c = require "_certbench.digest"

local M = {}
for k, v in pairs(c) do M[k] = v end

for _, alg in ipairs { "sha256", "sha384", "sha512", "sha224", "sha1", "md5" } do
  M[alg] = function(data) return c.hash(alg, data) end
end

function M.fingerprint(alg, data)
  return c.hex(c.hash(alg, data), ":")
end

return M
