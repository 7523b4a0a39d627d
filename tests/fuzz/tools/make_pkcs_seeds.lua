-- tests/fuzz/tools/make_pkcs_seeds.lua: makes the certbench-built seeds of tests/fuzz/corpus/pkcs12_parse
-- and pkcs7_load. Run from the source tree: build/certbench run tests/fuzz/tools/make_pkcs_seeds.lua
local p12 = require "certbench.pkcs12"
local pkcs7 = require "certbench.pkcs7"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local A = dofile("spec/support/asn1.lua")
local C = "tests/data"
local function rd(p) local f = assert(io.open(C .. "/" .. p, "rb")); local d = f:read("a"); f:close(); return d end
local function wr(p, d) local f = assert(io.open(p, "wb")); f:write(d); f:close() end
local key = pkey.generate("ec")
local ca = x509.load(rd("chains/asn1crypto/globalsign_example_keys/rootCA-der.cer"))
local k = pkey.load(rd("pfx/rustcrypto/expected/key.der"))
local c = x509.load(rd("pfx/rustcrypto/expected/cert.der"))
local D = "tests/fuzz/corpus/pkcs12_parse/"
wr(D .. "cb-modern-iter1.pfx", p12.build { key = k, cert = c, chain = { ca }, password = "password", iterations = 1, friendly_name = "seed" })
wr(D .. "cb-legacy-iter1.pfx", p12.build { key = k, cert = c, password = "password", iterations = 1, profile = "legacy", cert_pbe = "rc2-40" })
wr(D .. "cb-plain-nomac.pfx", p12.build { key = key, chain = { ca }, password = "", key_pbe = "none", cert_pbe = "none", mac = "none", friendly_name = "plain" })
wr(D .. "cb-empty-ber.pfx", A.berify(p12.build { key = k, cert = c, password = "", iterations = 1, mac = "none" }, 64, true))
local P = "tests/fuzz/corpus/pkcs7_load/"
local der = pkcs7.build { certs = { ca }, crls = { rd("crls/mock-fpki/CertiPathBridgeCA-G2.crl") } }
wr(P .. "cb-cert-crl.p7b", der)
wr(P .. "cb-ber.p7b", A.berify(der, 200))
wr(P .. "cb.pem", pkcs7.to_pem(pkcs7.build { certs = { ca } }))
