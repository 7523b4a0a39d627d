/* objects.h: the crypto objects shared between modules. Each type is a userdata box holding
 * one owned BoringSSL pointer, with one metatable named after its module. The boxes and their
 * __gc/__close live in objects.c, so any module can return a certificate or a key; each
 * module adds its methods with cb_add_methods.
 *
 * Ownership: cb_push_* take ownership of the pointer (push right after creating it: only an
 * out-of-memory raise inside the push can leak it). cb_check_* borrow. */
#ifndef CERTBENCH_OBJECTS_H
#define CERTBENCH_OBJECTS_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cb.h"

#define CB_PKEY_MT "certbench.pkey"
#define CB_X509_MT "certbench.x509"
#define CB_CSR_MT "certbench.csr"
#define CB_NAME_MT "certbench.name"
#define CB_CRL_MT "certbench.crl"

typedef struct { EVP_PKEY *p; } cb_pkey;
typedef struct { X509 *p; } cb_x509;
typedef struct { X509_REQ *p; } cb_csr;
typedef struct { X509_NAME *p; } cb_name;

/* cb_objects_init creates the metatables of all shared types (idempotent). Every luaopen of a
 * crypto module calls it first. */
void cb_objects_init(lua_State *L);

/* cb_add_methods adds functions to the __index table of metatable tname (and metamethods
 * when metas is not NULL). */
void cb_add_methods(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *metas);

void cb_push_pkey(lua_State *L, EVP_PKEY *owned);
void cb_push_x509(lua_State *L, X509 *owned);
void cb_push_csr(lua_State *L, X509_REQ *owned);
void cb_push_name(lua_State *L, X509_NAME *owned);

/* cb_check_* raise "attempt to use a closed ..." for a closed object. */
EVP_PKEY *cb_check_pkey(lua_State *L, int idx);
X509 *cb_check_x509(lua_State *L, int idx);
X509_REQ *cb_check_csr(lua_State *L, int idx);
X509_NAME *cb_check_name(lua_State *L, int idx);
/* cb_test_* return NULL when the value is not of that type. */
EVP_PKEY *cb_test_pkey(lua_State *L, int idx);
X509 *cb_test_x509(lua_State *L, int idx);
X509_REQ *cb_test_csr(lua_State *L, int idx);

/* cb_crl_x509 (in crl.c): the X509_CRL of the certbench.crl at idx (borrowed, made on first
 * use), or NULL with why filled when BoringSSL cannot parse what the CRL engine accepted (the
 * engine reads a serial INTEGER that is not minimal DER, BoringSSL refuses it: store_spec's
 * add_crl case). Raises only on a wrong argument type. */
X509_CRL *cb_crl_x509(lua_State *L, int idx, char *why, size_t len);

#endif
