/* csr.c: `_certbench.csr`, PKCS#10 certificate requests: load, build and sign, read back every
 * field, verify the self-signature. Option shorthands are parsed in csr.lua (and extopts.lua). */
#include <stdlib.h>
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
#include "par.h"
#include "pem.h"

#define EXTS_MT "certbench.csr.extensions"
#define VJOB_MT "certbench.csr.verify_job"

static const char *const req_labels[] = {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", NULL};

static void *parse_req(const uint8_t *der, size_t len, int label) {
  const uint8_t *q = der;
  (void)label;
  return d2i_X509_REQ(NULL, &q, (long)len);
}

static void push_req(lua_State *L, void *r) { cb_push_csr(L, r); }

static const cb_loader req_loader = {req_labels, "certificate request", parse_req, push_req};

static int l_load(lua_State *L) { return cb_load(L, &req_loader, "csr.load", 0); }

/* --- loading a batch ---------------------------------------------------------------------------
 * load_many(list) -> reqs, errs: csr.load of every string of the list, parsed on every core.
 * reqs[i] = the request | false, errs[i] = csr.load's message (a failure is loaded again on this
 * thread for it: failures are rare and their messages need Lua). */
#define LJOB_MT "certbench.csr.load_job"

typedef struct {
  const char *data; /* the list's string, alive while the call runs */
  size_t len;
  X509_REQ *req; /* owned until pushed */
} litem;

typedef struct {
  litem *items;
  size_t n;
} ljob;

static int ljob_gc(lua_State *L) {
  ljob *j = luaL_checkudata(L, 1, LJOB_MT);
  for (size_t i = 0; j->items && i < j->n; i++) X509_REQ_free(j->items[i].req);
  free(j->items);
  j->items = NULL;
  j->n = 0;
  return 0;
}

static void load_item(void *ctx, size_t i) {
  litem *it = &((ljob *)ctx)->items[i];
  it->req = cb_load_first(&req_loader, it->data, it->len);
}

static int l_load_many(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  ljob *j = cb_newudata(L, sizeof *j, LJOB_MT);
  int box = lua_gettop(L);
  if (n > 0) {
    j->items = calloc((size_t)n, sizeof *j->items);
    if (!j->items) return luaL_error(L, "csr.load_many: out of memory");
    j->n = (size_t)n;
  }
  for (lua_Integer i = 0; i < n; i++) {
    if (lua_geti(L, 1, i + 1) != LUA_TSTRING)
      return luaL_error(L, "csr.load_many: item %d is not a string (%s)", (int)(i + 1), luaL_typename(L, -1));
    j->items[i].data = lua_tolstring(L, -1, &j->items[i].len); /* the list keeps it */
    lua_pop(L, 1);
  }
  cb_par_run(j->n, load_item, j);
  lua_createtable(L, (int)n, 0);
  lua_createtable(L, 0, 0);
  for (lua_Integer i = 0; i < n; i++) {
    litem *it = &j->items[i];
    if (it->req) {
      X509_REQ *req = it->req;
      it->req = NULL;
      cb_push_csr(L, req);
    } else {
      lua_pushcfunction(L, l_load);
      lua_geti(L, 1, i + 1);
      lua_call(L, 1, 2);
      lua_seti(L, box + 2, i + 1);
      lua_pop(L, 1);
      lua_pushboolean(L, 0);
    }
    lua_seti(L, box + 1, i + 1);
  }
  return 2;
}

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
  ERR_clear_error(); /* the reason given must be this check's, not a stale one */
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

/* --- verifying a batch ------------------------------------------------------------------------
 * Each request's signature is checked on whichever core is free. A worker touches only its own
 * item: in verify_many, the X509_REQ itself (the caller waits, so nothing else uses it
 * meanwhile; a request listed twice is checked once) and the public key taken from it here
 * beforehand (decoding it fills a cache inside the request); in verify_start, a copy of the
 * request parsed by the worker from its DER, so the caller may go on using the objects. */
typedef struct {
  X509_REQ *req;  /* borrowed (verify_many): the list keeps the object while the call runs */
  EVP_PKEY *key;  /* owned (verify_many) */
  uint8_t *der;   /* owned (verify_start): the request's encoding, parsed by the worker */
  size_t der_len;
  size_t same_as; /* 1-based index of the earlier item with the same request, or 0 */
  int ok;
  char reason[256];
} vitem;

typedef struct {
  cb_par par;
  vitem *items;
  size_t n;
  int waited, closed;
} vjob;

static int vjob_close(lua_State *L) {
  vjob *j = luaL_checkudata(L, 1, VJOB_MT);
  cb_par_cancel(&j->par);
  for (size_t i = 0; j->items && i < j->n; i++) {
    EVP_PKEY_free(j->items[i].key);
    OPENSSL_free(j->items[i].der);
  }
  free(j->items);
  j->items = NULL;
  j->n = 0;
  j->closed = 1;
  return 0;
}

static void verify_item(void *ctx, size_t i) {
  vitem *it = &((vjob *)ctx)->items[i];
  if (it->same_as) return;
  X509_REQ *own = NULL;
  EVP_PKEY *key = it->key;
  if (it->der) {
    const uint8_t *p = it->der;
    own = d2i_X509_REQ(NULL, &p, (long)it->der_len);
    key = own ? X509_REQ_get_pubkey(own) : NULL;
  }
  if (key) it->ok = X509_REQ_verify(own ? own : it->req, key) == 1;
  if (!it->ok && !it->reason[0]) cb_ssl_reason(it->reason, sizeof it->reason);
  if (own) EVP_PKEY_free(key);
  X509_REQ_free(own);
  ERR_clear_error();
}

/* start(L, copy): reads the list at 1 into a job left on the stack and starts its threads */
static vjob *start(lua_State *L, int copy, const char *what) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  vjob *j = cb_newudata(L, sizeof *j, VJOB_MT);
  int box = lua_gettop(L);
  if (n > 0) {
    j->items = calloc((size_t)n, sizeof *j->items);
    if (!j->items) luaL_error(L, "%s: out of memory", what);
    j->n = (size_t)n;
  }
  lua_newtable(L); /* request object -> its first index */
  int seen = lua_gettop(L);
  for (lua_Integer i = 0; i < n; i++) {
    vitem *it = &j->items[i];
    lua_geti(L, 1, i + 1);
    if (!luaL_testudata(L, -1, CB_CSR_MT))
      luaL_error(L, "%s: item %d is not a certbench.csr (%s)", what, (int)(i + 1), luaL_typename(L, -1));
    X509_REQ *req = cb_check_csr(L, -1);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, seen) != LUA_TNIL) {
      it->same_as = (size_t)lua_tointeger(L, -1);
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    lua_pushinteger(L, i + 1);
    lua_rawset(L, seen);
    if (copy) {
      int len = i2d_X509_REQ(req, &it->der); /* the cached encoding it was parsed from */
      if (len > 0) {
        it->der_len = (size_t)len;
      } else { /* the worker has nothing to check: the item fails with this reason */
        it->der = NULL;
        cb_ssl_reason(it->reason, sizeof it->reason);
        if (!it->reason[0]) snprintf(it->reason, sizeof it->reason, "cannot encode the request");
      }
    } else {
      it->req = req;
      it->key = X509_REQ_get_pubkey(req);
      if (!it->key) cb_ssl_reason(it->reason, sizeof it->reason);
    }
    ERR_clear_error();
  }
  lua_settop(L, box);
  cb_par_start(&j->par, j->n, verify_item, j, copy ? CB_PAR_ASYNC : CB_PAR_SYNC);
  cb_par_publish(&j->par, j->n);
  return j;
}

/* the results of a finished job: oks, reasons */
static int results(lua_State *L, vjob *j) {
  lua_createtable(L, (int)j->n, 0);
  lua_createtable(L, 0, 0);
  for (size_t i = 0; i < j->n; i++) {
    const vitem *it = &j->items[i];
    if (it->same_as) it = &j->items[it->same_as - 1];
    lua_pushboolean(L, it->ok);
    lua_seti(L, -3, (lua_Integer)i + 1);
    if (!it->ok) {
      lua_pushfstring(L, "csr:verify: %s", it->reason[0] ? it->reason : "bad signature");
      lua_seti(L, -2, (lua_Integer)i + 1);
    }
  }
  return 2;
}

/* verify_many(list) -> oks, reasons: oks[i] is r:verify()'s first result for list[i], reasons[i]
 * its message (nil when it verified) */
static int l_verify_many(lua_State *L) {
  vjob *j = start(L, 0, "csr.verify_many");
  cb_par_finish(&j->par);
  return results(L, j);
}

/* verify_start(list) -> job: the same checks on copies of the requests, running while the caller
 * goes on; job:wait() -> oks, reasons (the calling thread helps with what is left) */
static int l_verify_start(lua_State *L) {
  start(L, 1, "csr.verify_start");
  return 1;
}

static int m_job_wait(lua_State *L) {
  vjob *j = luaL_checkudata(L, 1, VJOB_MT);
  if (j->closed) return luaL_error(L, "attempt to use a closed verification job");
  cb_par_finish(&j->par);
  j->waited = 1;
  return results(L, j);
}

static int m_signature_algorithm(lua_State *L) {
  const X509_ALGOR *alg;
  X509_REQ_get0_signature(cb_check_csr(L, 1), NULL, &alg);
  cb_push_algorithm(L, alg);
  return 1;
}

/* r:attributes() -> { {name=, oid=, value=}... }: the request's attributes other than the
 * extensionRequest (r:extensions() has those); value is the text of a string value
 * (challengePassword, unstructuredName), nil for other types. */
static int m_attributes(lua_State *L) {
  X509_REQ *req = cb_check_csr(L, 1);
  int n = X509_REQ_get_attr_count(req);
  lua_createtable(L, n, 0);
  int k = 0;
  for (int i = 0; i < n; i++) {
    X509_ATTRIBUTE *a = X509_REQ_get_attr(req, i);
    const ASN1_OBJECT *obj = X509_ATTRIBUTE_get0_object(a);
    if (OBJ_obj2nid(obj) == NID_ext_req) continue;
    luaL_checkstack(L, 4, "csr:attributes");
    lua_createtable(L, 0, 3);
    cb_push_obj_names(L, obj);
    lua_setfield(L, -3, "oid");
    lua_setfield(L, -2, "name");
    ASN1_TYPE *t = X509_ATTRIBUTE_count(a) > 0 ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    if (t && (t->type == V_ASN1_PRINTABLESTRING || t->type == V_ASN1_UTF8STRING || t->type == V_ASN1_IA5STRING ||
              t->type == V_ASN1_T61STRING || t->type == V_ASN1_BMPSTRING || t->type == V_ASN1_UNIVERSALSTRING)) {
      unsigned char *utf8 = NULL;
      int len = ASN1_STRING_to_UTF8(&utf8, t->value.asn1_string);
      if (len >= 0) {
        lua_pushlstring(L, (const char *)utf8, (size_t)len);
        OPENSSL_free(utf8);
        lua_setfield(L, -2, "value");
      }
    }
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

/* add_attributes(L, opts, req): opts.attributes = { {name_or_oid, text}... } (csr.lua checked
 * the shape); the string type comes from the attribute's own table (a challengePassword is a
 * DirectoryString: PrintableString when it fits, else UTF8String, as openssl req writes it) */
static int add_attributes(lua_State *L, int opts, X509_REQ *req) {
  lua_getfield(L, opts, "attributes");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 1;
  }
  int n = (int)luaL_len(L, -1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    const char *nm = luaL_checkstring(L, -2);
    size_t len;
    const char *v = luaL_checklstring(L, -1, &len);
    ASN1_OBJECT *obj = OBJ_txt2obj(nm, 0);
    if (!obj) {
      cb_fail(L, "csr.new: unknown attribute '%s'", nm);
      return 0;
    }
    int nid = OBJ_obj2nid(obj);
    int type = nid == NID_pkcs9_challengePassword || nid == NID_pkcs9_unstructuredName ? MBSTRING_UTF8 : V_ASN1_UTF8STRING;
    int ok = X509_REQ_add1_attr_by_OBJ(req, obj, type, (const unsigned char *)v, (int)len);
    ASN1_OBJECT_free(obj);
    if (!ok) {
      cb_fail_ssl(L, "csr.new: attribute");
      return 0;
    }
    lua_pop(L, 3);
  }
  lua_pop(L, 1);
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
  unsigned long nm = CB_NAME_PRINT_FLAGS;
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
  /* before the extensions are built: nothing to free yet if an argument raises */
  if (!add_attributes(L, 1, req)) goto err;
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
                                     {"attributes", m_attributes},
                                     {"to_der", m_to_der},
                                     {"to_pem", m_to_pem},
                                     {"equals", m_equals},
                                     {"_text", m_text},
                                     {NULL, NULL}};
  static const luaL_Reg metas[] = {{"__eq", m_eq}, {NULL, NULL}};
  static const luaL_Reg exts_metas[] = {{"__gc", exts_gc}, {NULL, NULL}};
  static const luaL_Reg vjob_methods[] = {{"wait", m_job_wait}, {"close", vjob_close}, {NULL, NULL}};
  static const luaL_Reg vjob_metas[] = {{"__gc", vjob_close}, {"__close", vjob_close}, {NULL, NULL}};
  static const luaL_Reg ljob_metas[] = {{"__gc", ljob_gc}, {NULL, NULL}};
  static const luaL_Reg fns[] = {{"load", l_load},
                                 {"_new", l_new},
                                 {"is_csr", l_is_csr},
                                 {"verify_many", l_verify_many},
                                 {"verify_start", l_verify_start},
                                 {"load_many", l_load_many},
                                 {NULL, NULL}};
  cb_newclass(L, EXTS_MT, NULL, exts_metas);
  cb_newclass(L, VJOB_MT, vjob_methods, vjob_metas);
  cb_newclass(L, LJOB_MT, NULL, ljob_metas);
  cb_add_methods(L, CB_CSR_MT, methods, metas);
  luaL_newlib(L, fns);
  luaL_getmetatable(L, CB_CSR_MT);
  lua_setfield(L, -2, "_metatable");
  return 1;
}
