-- ocsp_response: OCSP responses (DER, or base64 text through ocsp.load) and requests on
-- arbitrary bytes. What parses is verified against each certificate it carries as the issuer,
-- at its own thisUpdate, which walks the signer search, the signature check, the CertID hashes
-- and the time checks; find() and the request parser run on the same bytes.
local ocsp = require "certbench.ocsp"
return function(data)
  ocsp.parse_request(data)
  local r = ocsp.load(data)
  if not r then return end
  r:responder_text()
  local t = r.responses and r.responses[1] and r.responses[1].this_update or 0
  for _, issuer in ipairs(r.certs or {}) do
    r:verify { issuer = issuer, time = t, trusted = r.certs, nonce = r.nonce }
    for _, s in ipairs(r.responses or {}) do r:find(issuer, s.serial) end
  end
end
