-- certbench.x509: certificates.
--   x509.load(data) -> cert | nil, err        the first certificate of PEM (text between blocks,
--                                             CRLF, BOM are fine), DER, or armorless base64
--   x509.load_all(data) -> {certs} | nil, err every certificate of a PEM bundle (other blocks such
--                                             as keys are skipped), or of a DER file
--   x509.is_x509(v)
-- Methods (c = a certificate):
--   c:version(), c:serial() (upper-case hex), c:subject(), c:issuer() (certbench.name),
--   c:not_before(), c:not_after() (epoch seconds), c:public_key() (certbench.pkey),
--   c:key_algorithm(), c:signature_algorithm() (openssl's long names),
--   c:san() -> { {type="DNS"|"IP"|"email"|"URI"|"dirName"|"RID"|"otherName", value=}... }, critical
--   c:eku(), c:key_usage(), c:policies(), c:crl_distribution_points(), c:ocsp_urls(),
--   c:ca_issuers_urls() -> list (empty when the extension is absent), critical (nil then)
--   c:basic_constraints() -> {ca=, path_len=, critical=} | nil
--   c:ski(), c:aki() -> upper-case hex | nil (aki also returns {keyid=, issuer=, serial=})
--   c:extensions() -> { {oid=, name=, critical=, der=, text=}... }
--   c:fingerprint([alg="sha256"]) -> "AB:CD:..."; c:text() (like openssl x509 -text -noout)
--   c:to_pem(), c:to_der(), c:equals(other), c == other
-- A malformed extension makes its accessor return nil, "x509:san: malformed subjectAltName".
local c = require "_certbench.x509"
require "certbench.name" -- the methods of the name objects that subject() and issuer() return

local M = { load = c.load, load_all = c.load_all, is_x509 = c.is_x509 }
local methods = c._metatable.__index
local mt = c._metatable

-- dirName entries come from C as name objects; give them a text value too
local function finish_names(list, crit)
  if not list then return list, crit end
  for _, gn in ipairs(list) do
    if gn.type == "dirName" and gn.name then gn.value = gn.name:rfc4514() end
  end
  return list, crit
end
M._finish_names = finish_names

function methods.san(cert)
  return finish_names(cert:_san())
end

mt.__tostring = function(cert)
  local ok, s = pcall(function() return "certbench.x509: " .. cert:subject():rfc4514() .. " (serial " .. cert:serial() .. ")" end)
  return ok and s or "certbench.x509 (closed)"
end

return M
