-- x509_load: the certificate loader (PEM bundles, DER, armorless base64) and, on whatever
-- loads, every accessor and text(): the extension decoders and printers see hostile DER.
local x509 = require "certbench.x509"

local function each(c)
  c:version(); c:serial(); c:not_before(); c:not_after()
  local s, i = c:subject(), c:issuer()
  s:text(); s:rfc4514(); s:oneline(); s:hash(); s:der(); i:text()
  for _ in s:entries() do end
  c:public_key(); c:key_algorithm(); c:signature_algorithm()
  c:san(); c:eku(); c:key_usage(); c:policies(); c:crl_distribution_points()
  c:ocsp_urls(); c:ca_issuers_urls(); c:basic_constraints(); c:ski(); c:aki()
  c:extensions(); c:text(); c:fingerprint(); c:fingerprint("sha1")
  c:is_ca(); c:is_self_signed(); c:verify_signature(c); c:issued_by(c)
  c:check_host("a.example.com"); c:check_ip("192.0.2.1"); c:check_email("a@example.com")
  local again = x509.load(c:to_der())
  if not (again and again == c) then
    error("x509_load: a loaded certificate does not load back from to_der()")
  end
  c:to_pem()
end

return function(data)
  local list = x509.load_all(data)
  if list then
    for k = 1, math.min(#list, 4) do each(list[k]) end
  end
  local c = x509.load(data)
  if c then each(c) end
end
