-- crl_load: crl.load and crl.load_all on arbitrary bytes (PEM, DER, base64, junk), then every
-- reader of a CRL that loads: the lazy entry decoding, the index, the text and verify paths.
-- What the loader accepts every caller must be able to use: it has an issuer and times (crl
-- info, diff, check index CRLs by them), and BoringSSL's trust store takes it.
local crl = require "certbench.crl"
local pkey = require "certbench.pkey"
local store = require "certbench.store"

local key = pkey.generate("ed25519")

return function(data)
  local c = crl.load(data)
  if c then
    assert(c:issuer(), "a CRL that loads without an issuer name")
    assert(math.type(c:this_update()) == "integer", "a CRL that loads without a thisUpdate")
    -- the trust store parses with BoringSSL, stricter than the engine in one documented way
    -- (non-minimal serials, which real CRLs have): that is a nil, err naming it; anything else
    -- the engine lets through and BoringSSL refuses is a finding
    local s, serr = store.new { crls = { c } }
    if s then s:close()
    elseif not serr:find("BoringSSL cannot parse this CRL: invalid integer", 1, true) then
      error("a CRL that loads but the trust store refuses: " .. tostring(serr))
    end
    c:issuer_der()
    c:this_update()
    c:next_update()
    c:number()
    c:delta_base()
    c:is_delta()
    c:aki()
    c:issuing_distribution_point()
    c:freshest_crl()
    c:signature_algorithm()
    c:version()
    c:extensions()
    local n = 0
    for e in c:entries() do
      n = n + 1
      assert(c:lookup(e.serial), "an entry that lookup cannot find")
      if n > 64 then break end
    end
    local m = 0
    for _ in c:serials() do m = m + 1 end
    assert(m == c:count(), "serials() and count() disagree")
    c:lookup("01")
    c:verify(key)
    if c:count() < 1000 then c:text() end
    local again = assert(crl.load(c:to_pem()))
    assert(again:to_der() == c:to_der())
    assert(again:fingerprint() == c:fingerprint())
    c:close()
  end
  crl.load_all(data)
end
