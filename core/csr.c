/* csr.c: `_certbench.csr`, PKCS#10 certificate requests: load, build and sign, read back every
 * field, verify the self-signature. Option shorthands are parsed in csr.lua (and ext.lua). */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/obj.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ext.h"
#include "objects.h"
#include "pem.h"

#define EXTS_MT "certbench.csr.extensions"

static const char *const req_labels[] = {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", NULL};

static void *parse_req(const uint8_t *der, size_t len, int label) {
  const uint8_t *q = der;
  (void)label;
  return d2i_X509_REQ(NULL, &q, (long)len);
}

static void push_req(lua_State *L, void *r) { cb_push_csr(L, r); }

static const cb_loader req_loader = {req_labels, "certificate request", parse_req, push_req};

static int l_load(lua_State *L) { return cb_load(L, &req_loader, "csr.load", 0); }

/* A requested-extensions stack held by a userdata while Lua values are pushed from it, so
 * that a raise (out of memory) cannot leak it. */
typedef struct { STACK_OF(X509_EXTENSION) *p; } exts_box;

static int exts_gc(lua_State *L) {
  exts_box *b = luaL_checkudata(L, 1, EXTS_MT);
  sk_X509_EXTENSION_pop_free(b->p, X509_EXTENSION_free);
  b->p = NULL;
  return 0;
}

/* req_exts decodes the extensionRequest of the request at index 1 into a box left on the stack.
 * Returns 1 with *out (NULL when there is none), or 0 with nil, message pushed. */
static int req_exts(lua_State *L, const char *what, cb_exts **out) {
  X509_REQ *req = cb_check_csr(L, 1);
  exts_box *b = cb_newudata(L, sizeof *b, EXTS_MT);
  *out = NULL;
  b->p = X509_REQ_get_extensions(req);
  if (!b->p) {
    ERR_clear_error();
    if (X509_REQ_get_attr_by_NID(req, NID_ext_req, -1) >= 0) {
      cb_fail(L, "%s: malformed extensionRequest attribute", what);
      return 0;
    }
  }
  *out = b->p;
  return 1;
}

/* the box stays on the stack below the results until the call returns */
#define READER(fname, call, what)            \
  static int fname(lua_State *L) {           \
    cb_exts *exts;                           \
    if (!req_exts(L, what, &exts)) return 2; \
    return call;                             \
  }

READER(m_san, cb_ext_san(L, exts, "csr:san"), "csr:san")
READER(m_eku, cb_ext_eku(L, exts, "csr:eku"), "csr:eku")
READER(m_key_usage, cb_ext_key_usage(L, exts, "csr:key_usage"), "csr:key_usage")
READER(m_policies, cb_ext_policies(L, exts, "csr:policies"), "csr:policies")
READER(m_crl_dp, cb_ext_crl_dp(L, exts, "csr:crl_distribution_points"), "csr:crl_distribution_points")
READER(m_ocsp_urls, cb_ext_aia(L, exts, NID_ad_OCSP, "csr:ocsp_urls"), "csr:ocsp_urls")
READER(m_ca_issuers_urls, cb_ext_aia(L, exts, NID_ad_ca_issuers, "csr:ca_issuers_urls"), "csr:ca_issuers_urls")
READER(m_basic_constraints, cb_ext_basic_constraints(L, exts, "csr:basic_constraints"), "csr:basic_constraints")
READER(m_ski, cb_ext_ski(L, exts, "csr:ski"), "csr:ski")
READER(m_extensions, cb_ext_list(L, exts), "csr:extensions")

static int m_version(lua_State *L) {
  lua_pushinteger(L, X509_REQ_get_version(cb_check_csr(L, 1)) + 1);
  return 1;
}

static int m_subject(lua_State *L) {
  cb_push_name_copy(L, X509_REQ_get_subject_name(cb_check_csr(L, 1)));
  return 1;
}

static int m_public_key(lua_State *L) {
  EVP_PKEY *k = X509_REQ_get_pubkey(cb_check_csr(L, 1));
  if (!k) return cb_fail_ssl(L, "csr:public_key: unsupported or malformed key");
  cb_push_pkey(L, k);
  return 1;
}

/* r:verify() -> true | false, reason: the request is signed by the key it carries */
static int m_verify(lua_State *L) {
  X509_REQ *req = cb_check_csr(L, 1);
  EVP_PKEY *k = X509_REQ_get_pubkey(req);
  int r = k ? X509_REQ_verify(req, k) : 0;
  EVP_PKEY_free(k);
  if (r == 1) {
    ERR_clear_error();
    lua_pushboolean(L, 1);
    return 1;
  }
  char reason[256];
  cb_ssl_reason(reason, sizeof reason);
  lua_pushboolean(L, 0);
  lua_pushfstring(L, "csr:verify: %s", reason[0] ? reason : "bad signature");
  return 2;
}

static int m_signature_algorithm(lua_State *L) {
  const X509_ALGOR *alg;
  X509_REQ_get0_signature(cb_check_csr(L, 1), NULL, &alg);
  const ASN1_OBJECT *obj;
  X509_ALGOR_get0(&obj, NULL, NULL, alg);
  int nid = OBJ_obj2nid(obj);
  char buf[128];
  if (nid != NID_undef) lua_pushstring(L, OBJ_nid2ln(nid));
  else {
    OBJ_obj2txt(buf, sizeof buf, obj, 1);
    lua_pushstring(L, buf);
  }
  return 1;
}

static int m_to_der(lua_State *L) {
  X509_REQ *req = cb_check_csr(L, 1);
  uint8_t *der = NULL;
  int len = i2d_X509_REQ(req, &der);
  if (len < 0) return cb_fail_ssl(L, "csr:to_der");
  lua_pushlstring(L, (const char *)der, (size_t)len);
  OPENSSL_free(der);
  return 1;
}

static int m_to_pem(lua_State *L) {
  if (m_to_der(L) != 1) return 2;
  size_t n;
  const uint8_t *p = (const uint8_t *)lua_tolstring(L, -1, &n);
  cb_push_pem(L, "CERTIFICATE REQUEST", p, n);
  return 1;
}

static int m_equals(lua_State *L) {
  X509_REQ *a = cb_check_csr(L, 1), *b = cb_check_csr(L, 2);
  uint8_t *da = NULL, *db = NULL;
  int la = i2d_X509_REQ(a, &da), lb = i2d_X509_REQ(b, &db);
  lua_pushboolean(L, la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0);
  OPENSSL_free(da);
  OPENSSL_free(db);
  return 1;
}

static int m_eq(lua_State *L) {
  cb_csr *a = luaL_testudata(L, 1, CB_CSR_MT), *b = luaL_testudata(L, 2, CB_CSR_MT);
  if (!a || !b || !a->p || !b->p) {
    lua_pushboolean(L, 0);
    return 1;
  }
  return m_equals(L);
}

/* r:_text(): openssl req -text -noout, with openssl's layout of the public key */
static int m_text(lua_State *L) {
  X509_REQ *req = cb_check_csr(L, 1);
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio) return luaL_error(L, "out of memory");
  unsigned long nm = (XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  int ok = X509_REQ_print_ex(bio, req, nm, X509_FLAG_NO_PUBKEY | X509_FLAG_NO_ATTRIBUTES |
                                               X509_FLAG_NO_EXTENSIONS | X509_FLAG_NO_SIGDUMP);
  if (ok) {
    EVP_PKEY *k = X509_REQ_get_pubkey(req);
    /* the request's X509_PUBKEY is opaque in this BoringSSL: name the algorithm by the key */
    const char *algname = k ? OBJ_nid2ln(EVP_PKEY_id(k)) : NULL;
    if (!algname) algname = "unknown";
    BIO_printf(bio, "        Subject Public Key Info:\n            Public Key Algorithm: %s\n", algname);
    if (!k || !cb_print_pubkey(bio, k, 16)) BIO_printf(bio, "%16sUnable to load Public Key\n", "");
    EVP_PKEY_free(k);
    ERR_clear_error();
    ok = X509_REQ_print_ex(bio, req, nm, X509_FLAG_NO_HEADER | X509_FLAG_NO_VERSION |
                                             X509_FLAG_NO_SUBJECT | X509_FLAG_NO_PUBKEY);
  }
  if (!ok) {
    BIO_free(bio);
    return cb_fail_ssl(L, "csr:text");
  }
  cb_push_bio_text(L, bio);
  return 1;
}

/* _new(opts) -> csr | nil, err; opts normalized by csr.lua */
static int l_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "subject");
  X509_NAME *subject = cb_check_name(L, -1);
  lua_getfield(L, 1, "key");
  EVP_PKEY *key = cb_check_pkey(L, -1);
  lua_pop(L, 2); /* the options table keeps them alive */
  const char *digest = cb_optfield_string(L, 1, "digest", "sha256", NULL);
  const EVP_MD *md = NULL;
  if (EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
    md = cb_md_by_name(digest);
    if (!md) return cb_fail(L, "csr.new: digest '%s' is not allowed (sha256, sha384, sha512, sha1)", digest);
  }
  cb_push_csr(L, X509_REQ_new());
  int box = lua_gettop(L);
  X509_REQ *req = cb_check_csr(L, box);
  STACK_OF(X509_EXTENSION) *exts = NULL;
  if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, subject) ||
      !X509_REQ_set_pubkey(req, key)) {
    cb_fail_ssl(L, "csr.new");
    goto err;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
  if (!cb_ext_build(L, 1, &exts, "csr.new", NULL, 0, NULL, 0, &ctx)) goto err;
  if (exts && sk_X509_EXTENSION_num(exts) > 0 && !X509_REQ_add_extensions(req, exts)) {
    cb_fail_ssl(L, "csr.new: cannot add the extensions");
    goto err;
  }
  if (!X509_REQ_sign(req, key, md)) {
    cb_fail_ssl(L, "csr.new: signing failed (is the key private?)");
    goto err;
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  lua_settop(L, box);
  return 1;
err:
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return 2;
}

static int l_is_csr(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, CB_CSR_MT) != NULL);
  return 1;
}

int luaopen__certbench_csr(lua_State *L) {
  static const luaL_Reg methods[] = {{"version", m_version},
                                     {"subject", m_subject},
                                     {"public_key", m_public_key},
                                     {"_san", m_san},
                                     {"eku", m_eku},
                                     {"key_usage", m_key_usage},
                                     {"policies", m_policies},
                                     {"crl_distribution_points", m_crl_dp},
                                     {"ocsp_urls", m_ocsp_urls},
                                     {"ca_issuers_urls", m_ca_issuers_urls},
                                     {"basic_constraints", m_basic_constraints},
                                     {"ski", m_ski},
                                     {"extensions", m_extensions},
                                     {"verify", m_verify},
                                     {"signature_algorithm", m_signature_algorithm},
                                     {"to_der", m_to_der},
                                     {"to_pem", m_to_pem},
                                     {"equals", m_equals},
                                     {"_text", m_text},
                                     {NULL, NULL}};
  static const luaL_Reg metas[] = {{"__eq", m_eq}, {NULL, NULL}};
  static const luaL_Reg exts_metas[] = {{"__gc", exts_gc}, {NULL, NULL}};
  static const luaL_Reg fns[] = {{"load", l_load}, {"_new", l_new}, {"is_csr", l_is_csr}, {NULL, NULL}};
  cb_newclass(L, EXTS_MT, NULL, exts_metas);
  cb_add_methods(L, CB_CSR_MT, methods, metas);
  luaL_newlib(L, fns);
  luaL_getmetatable(L, CB_CSR_MT);
  lua_setfield(L, -2, "_metatable");
  return 1;
}
