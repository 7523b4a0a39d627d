/* digest.h: digest names and hex text, shared by the modules that hash or sign
 * (pkey, csr, x509, crl). Implemented in digest.c. */
#ifndef CERTBENCH_DIGEST_H
#define CERTBENCH_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/digest.h>

#include "cb.h"

/* cb_digest_byname returns the digest for a name as certbench spells them ("sha256",
 * "SHA-256", "sha384", "sha512", "sha224", "sha1", "md5"; case and a dash are ignored), or
 * NULL for an unknown name. */
const EVP_MD *cb_digest_byname(const char *name);

/* cb_digest_name returns certbench's name of md ("sha256"...), or "unknown". */
const char *cb_digest_name(const EVP_MD *md);

/* cb_check_digest reads the digest name at idx (def when nil/none; def may be NULL, then the
 * argument is required) and raises "unknown digest 'x' (use sha256, ...)" for other names. */
const EVP_MD *cb_check_digest(lua_State *L, int idx, const char *def);

/* cb_push_hex pushes the upper-case hex of p[0..n), bytes separated by sep when sep is not
 * '\0' ("AB:CD:EF"). */
void cb_push_hex(lua_State *L, const uint8_t *p, size_t n, char sep);

#endif
