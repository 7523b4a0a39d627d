-- pkey_load: the key loader (PEM scanning, DER sniffing, every decryption path) on arbitrary
-- bytes: without a password, with the seeds' password and with the empty one, as PEM, DER and
-- autodetected. A key that loads goes through every method, and must survive a round trip
-- through certbench's own writers: a mismatch raises, which the harness reports as a crash.
local pkey = require "certbench.pkey"

-- KDF work per input stays small; the seeds use 2048 iterations (scrypt N=1024)
local MAX_ITER = 4096

local function broken(what)
  error("pkey_load invariant broken: " .. what, 2)
end

local function exercise(k)
  local pub = k:public_der()
  if not pub then return end
  local again = pkey.load(pub)
  if not again or again:public_der() ~= pub then broken("public key round trip") end
  k:type(); k:bits(); k:curve(); k:fingerprint(); k:fingerprint("sha1"); k:spki_sha256()
  k:public_pem(); tostring(k)
  local p = k:public()
  if p:is_private() or not k:matches(p) then broken("public()") end
  if not k:is_private() then return end
  local enc = k:to_pem { password = "pw", iter = 1 }
  local back = pkey.load(enc, { password = "pw" })
  if not back or back:public_der() ~= pub then broken("encrypted PKCS#8 round trip") end
  if pkey.load(k:to_der()):public_der() ~= pub then broken("PKCS#8 DER round trip") end
  if k:type() ~= "ed25519" then
    local trad = k:to_pem { format = "traditional", password = "pw", cipher = "des-ede3-cbc" }
    back = pkey.load(trad, { password = "pw" })
    if not back or back:public_der() ~= pub then broken("traditional round trip") end
  end
  if k:bits() <= 4096 then
    local sig = k:sign("data")
    if sig and not p:verify("data", sig) then broken("sign/verify") end
  end
end

return function(data)
  for _, pw in ipairs { false, "password123", "" } do
    local k = pkey.load(data, { password = pw or nil, max_iter = MAX_ITER })
    if k then exercise(k) end
  end
  pkey.load(data, { format = "der", password = "password123", max_iter = MAX_ITER })
  pkey.load(data, { format = "pem", max_iter = MAX_ITER })
end
