/* ext.h: X.509 v3 extensions for certificates and requests, read and built once for both
 * (a certificate's extensions and a CSR's extensionRequest are the same STACK_OF(X509_EXTENSION)),
 * and small pushers shared by name.c, csr.c and x509.c. */
#ifndef CERTBENCH_EXT_H
#define CERTBENCH_EXT_H

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cb.h"
#include "digest.h" /* cb_push_hex */

/* --- shared pushers ---------------------------------------------------------------------- */

/* cb_push_name_copy pushes a certbench.name holding a copy of n (raises on out of memory). */
void cb_push_name_copy(lua_State *L, const X509_NAME *n);
/* cb_push_asn1_string_utf8 pushes a directory string as UTF-8, or "#hex" of its DER when it is
 * not a character string (RFC 4514). */
void cb_push_asn1_string_utf8(lua_State *L, const ASN1_STRING *s);
/* cb_push_obj_names pushes two strings: the short name (or the OID when unnamed) and the OID. */
void cb_push_obj_names(lua_State *L, const ASN1_OBJECT *obj);
/* cb_push_algorithm pushes an algorithm's long name ("ecdsa-with-SHA256"), or its OID when
 * BoringSSL has no name for it. */
void cb_push_algorithm(lua_State *L, const X509_ALGOR *alg);
/* cb_push_serial pushes an ASN1_INTEGER as upper-case hex, two digits a byte ("-" if negative). */
void cb_push_serial(lua_State *L, const ASN1_INTEGER *i);
/* cb_push_time pushes an ASN1_TIME as integer epoch seconds, UTC (nil if it is malformed). */
void cb_push_time(lua_State *L, const ASN1_TIME *t);
/* cb_time_of reads an ASN1_TIME through cb_der_time (offsets applied): 1 and *out, or 0. */
int cb_time_of(const ASN1_TIME *t, int64_t *out);
/* cb_bio_time prints epoch seconds as openssl's -text does ("Jan  1 00:00:00 2035 GMT"). */
void cb_bio_time(BIO *bio, int64_t t);
/* cb_describe_bad_time: 0 when t is a valid time; else 1 and why = "FIELD is not a valid time
 * (UTCTime \"...\")". */
int cb_describe_bad_time(const char *field, const ASN1_TIME *t, char *why, size_t len);
/* cb_x509_check_times: 1 when notBefore and notAfter are valid times; else 0 and why names the
 * field. Every loader of certificates refuses a certificate that fails it, so no caller meets
 * a nil validity. */
int cb_x509_check_times(const X509 *x, char *why, size_t len);
/* cb_push_bio_text pushes what was written to a memory BIO and frees it. */
void cb_push_bio_text(lua_State *L, BIO *bio);

/* cb_print_pubkey writes the key as `openssl x509 -text` does (RSA modulus and exponent, EC
 * point, curve OID and NIST name, Ed25519 bytes). Returns 1, or 0 for a key it cannot print. */
int cb_print_pubkey(BIO *bio, EVP_PKEY *key, int indent);

/* --- readers ------------------------------------------------------------------------------
 * Each pushes its result and returns the number of values: a list (empty when the extension
 * is absent), or nil, "what: malformed ..." for an extension that is there twice or does not
 * decode. exts may be NULL (no extensions). */
typedef const STACK_OF(X509_EXTENSION) cb_exts;

int cb_ext_san(lua_State *L, cb_exts *exts, const char *what);
int cb_ext_eku(lua_State *L, cb_exts *exts, const char *what);
int cb_ext_key_usage(lua_State *L, cb_exts *exts, const char *what);
int cb_ext_policies(lua_State *L, cb_exts *exts, const char *what);
int cb_ext_crl_dp(lua_State *L, cb_exts *exts, const char *what);
/* nid: NID_ad_OCSP or NID_ad_ca_issuers */
int cb_ext_aia(lua_State *L, cb_exts *exts, int nid, const char *what);
/* {ca=bool, path_len=n|nil, critical=bool} or nil when absent */
int cb_ext_basic_constraints(lua_State *L, cb_exts *exts, const char *what);
/* hex string or nil */
int cb_ext_ski(lua_State *L, cb_exts *exts, const char *what);
/* full = 0: the keyid as hex, or nil; full = 1: {keyid=, issuer={general names}, serial=,
 * critical=} or nil */
int cb_ext_aki(lua_State *L, cb_exts *exts, const char *what, int full);
/* {permitted={general names}|nil, excluded={...}|nil, critical=bool} or nil when absent */
int cb_ext_name_constraints(lua_State *L, cb_exts *exts, const char *what);
/* list of {oid=, name=, critical=, der=, text=} */
int cb_ext_list(lua_State *L, cb_exts *exts);
/* cb_push_general_name pushes {type=, value=[, oid=][, name=]} */
void cb_push_general_name(lua_State *L, const GENERAL_NAME *gn);

/* --- builders ------------------------------------------------------------------------------
 * cb_ext_build reads the normalized extension fields of the options table at idx (made by
 * the Lua wrappers; see x509.lua) and appends the extensions to *exts (created when NULL):
 *   basic_constraints = {ca=bool, path_len=n, critical=bool}
 *   key_usage = {names...}, key_usage_critical = bool
 *   eku = {names or OIDs...}, eku_critical = bool
 *   san = {{type=, value=}...}, san_critical = bool
 *   crl_distribution_points = {urls}, ocsp_urls = {urls}, ca_issuers_urls = {urls}
 *   policies = {OIDs}
 *   extensions = {{oid=, value_der=, critical=} | {name=, value=, critical=}...}
 * ski/aki: the key identifiers of the subject and of the issuer (NULL: no extension).
 * ctx is for {name=, value=} extensions given in openssl's config syntax (may be NULL).
 * On a failure of the input pushes nil, "what: ..." and returns 0 (the caller returns 2);
 * wrong argument types raise. The caller owns *exts in both cases. */
int cb_ext_build(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what,
                 const uint8_t *ski, size_t ski_len, const uint8_t *aki, size_t aki_len,
                 X509V3_CTX *ctx);

/* cb_ski_of computes the RFC 5280 method 1 key identifier (SHA-1 of the subjectPublicKey
 * bits) into out[20]. Returns 1 or 0. */
int cb_ski_of(EVP_PKEY *key, uint8_t out[20]);

/* cb_ext_set replaces (or adds) ext in *exts by OID. Takes ownership of ext on success. */
int cb_ext_set(STACK_OF(X509_EXTENSION) **exts, X509_EXTENSION *ext);

/* cb_md_by_name: sha256/sha384/sha512/sha1 (and sha224); NULL for anything else. */
const EVP_MD *cb_md_by_name(const char *name);

#endif
