/* store.c: `_certbench.store`, a trust store (an X509_STORE holding the trust anchors, plus lists
 * of CRLs and of untrusted intermediates) and chain verification with X509_verify_cert.
 *
 * The Lua wrapper (core/store.lua) validates and normalises the options; this file reads the
 * normalised table and maps it onto X509_VERIFY_PARAM.
 *
 * Every BoringSSL object made for one verification lives in a to-be-closed box (vbox), so an
 * error raised while the result is pushed (out of memory) cannot leak the X509_STORE_CTX or
 * the chain (luaossl #72, lua-openssl #185). */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/obj.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "objects.h"

#define STORE_MT "certbench.store"
#define VBOX_MT "certbench.store.verification"

/* The CRLs are not put in the X509_STORE: its lookup finds CRLs only by the issuer name of the
 * certificate being checked, so an indirect CRL (signed by another CA, PKITS 4.14) would never
 * be found. A list given to X509_STORE_CTX_set0_crls is searched whole and scored. */
typedef struct {
  X509_STORE *store;
  STACK_OF(X509) *untrusted; /* owned references */
  STACK_OF(X509_CRL) *crls;  /* owned references */
} cb_store;

static cb_store *check_store(lua_State *L, int idx) {
  cb_store *s = luaL_checkudata(L, idx, STORE_MT);
  if (!s->store) luaL_argerror(L, idx, "attempt to use a closed store");
  return s;
}

static int store_gc(lua_State *L) {
  cb_store *s = luaL_checkudata(L, 1, STORE_MT);
  if (s->store) {
    X509_STORE_free(s->store);
    s->store = NULL;
  }
  if (s->untrusted) {
    sk_X509_pop_free(s->untrusted, X509_free);
    s->untrusted = NULL;
  }
  if (s->crls) {
    sk_X509_CRL_pop_free(s->crls, X509_CRL_free);
    s->crls = NULL;
  }
  return 0;
}

static int store_tostring(lua_State *L) {
  cb_store *s = luaL_checkudata(L, 1, STORE_MT);
  if (s->store) lua_pushfstring(L, "certbench.store: %p", (void *)s);
  else lua_pushliteral(L, "certbench.store (closed)");
  return 1;
}

/* store.new() -> an empty store */
static int l_new(lua_State *L) {
  cb_store *s = cb_newudata(L, sizeof *s, STORE_MT);
  s->store = X509_STORE_new();
  s->untrusted = sk_X509_new_null();
  s->crls = sk_X509_CRL_new_null();
  if (!s->store || !s->untrusted || !s->crls) {
    store_gc(L);
    return luaL_error(L, "store.new: out of memory");
  }
  return 1;
}

/* s:add_ca(cert) -> true | nil, err. Adding the same certificate twice is not an error. */
static int l_add_ca(lua_State *L) {
  cb_store *s = check_store(L, 1);
  X509 *x = cb_check_x509(L, 2);
  if (!X509_STORE_add_cert(s->store, x)) return cb_fail_ssl(L, "store:add_ca");
  ERR_clear_error();
  lua_pushboolean(L, 1);
  return 1;
}

/* s:add_crl(crl) -> true | nil, err. Adding the same CRL twice is not an error. */
static int l_add_crl(lua_State *L) {
  cb_store *s = check_store(L, 1);
  char why[256];
  X509_CRL *crl = cb_crl_x509(L, 2, why, sizeof why);
  if (!crl) return cb_fail(L, "store:add_crl: %s", why);
  for (size_t i = 0; i < sk_X509_CRL_num(s->crls); i++)
    if (X509_CRL_match(sk_X509_CRL_value(s->crls, i), crl) == 0) {
      lua_pushboolean(L, 1);
      return 1;
    }
  if (!sk_X509_CRL_push(s->crls, crl)) return luaL_error(L, "store:add_crl: out of memory");
  X509_CRL_up_ref(crl);
  lua_pushboolean(L, 1);
  return 1;
}

/* s:add_untrusted(cert) -> true: an intermediate offered to every verification, not trusted */
static int l_add_untrusted(lua_State *L) {
  cb_store *s = check_store(L, 1);
  X509 *x = cb_check_x509(L, 2);
  for (size_t i = 0; i < sk_X509_num(s->untrusted); i++)
    if (X509_cmp(sk_X509_value(s->untrusted, i), x) == 0) {
      lua_pushboolean(L, 1);
      return 1;
    }
  if (!sk_X509_push(s->untrusted, x)) return luaL_error(L, "store:add_untrusted: out of memory");
  X509_up_ref(x);
  lua_pushboolean(L, 1);
  return 1;
}

/* s:count() -> { cas = n, crls = n, untrusted = n } */
static int l_count(lua_State *L) {
  cb_store *s = check_store(L, 1);
  STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(s->store);
  lua_Integer ncert = 0, ncrl = (lua_Integer)sk_X509_CRL_num(s->crls);
  for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++)
    if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509) ncert++;
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, ncert);
  lua_setfield(L, -2, "cas");
  lua_pushinteger(L, ncrl);
  lua_setfield(L, -2, "crls");
  lua_pushinteger(L, (lua_Integer)sk_X509_num(s->untrusted));
  lua_setfield(L, -2, "untrusted");
  return 1;
}

/* The resources of one verification. */
typedef struct {
  X509_STORE_CTX *ctx;
  STACK_OF(X509) *untrusted;       /* borrowed certificates: the stack only is ours */
  STACK_OF(X509_CRL) *crls;        /* the store's and this call's CRLs, borrowed likewise */
  STACK_OF(ASN1_OBJECT) *policies; /* owned */
  STACK_OF(X509) *chain;           /* owned (get1) */
  int64_t time;                    /* the verification time */
  int ip_nc;                       /* an iPAddress name constraint was let through: recheck */
} vbox;

static int vbox_close(lua_State *L) {
  vbox *v = luaL_checkudata(L, 1, VBOX_MT);
  if (v->ctx) X509_STORE_CTX_free(v->ctx);
  if (v->untrusted) sk_X509_free(v->untrusted);
  if (v->crls) sk_X509_CRL_free(v->crls);
  if (v->policies) sk_ASN1_OBJECT_pop_free(v->policies, ASN1_OBJECT_free);
  if (v->chain) sk_X509_pop_free(v->chain, X509_free);
  memset(v, 0, sizeof *v);
  return 0;
}

/* push_cert pushes a new certificate object sharing x (one more reference). The box is made
 * before the reference is taken, so a raise cannot leak it. */
static void push_cert(lua_State *L, X509 *x) {
  cb_push_x509(L, NULL);
  cb_x509 *b = lua_touserdata(L, -1);
  X509_up_ref(x);
  b->p = x;
}

/* opt_list pushes field k of the options table at idx when it is a table (returns 1), or
 * pushes nothing (returns 0). */
static int opt_list(lua_State *L, int idx, const char *k) {
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  if (lua_getfield(L, idx, k) == LUA_TTABLE) return 1;
  if (!lua_isnil(L, -1))
    luaL_error(L, "option '%s' must be a list, not %s", k, luaL_typename(L, -1));
  lua_pop(L, 1);
  return 0;
}

/* The boolean options and their flags. extended_crl and use_deltas are on by default: without
 * them a valid certificate whose CRL is indirect or partitioned by reasons has no CRL
 * (unable_to_get_crl), and a revocation listed only in a delta CRL is missed. */
static const struct bool_flag {
  const char *name;
  unsigned long flags;
  int def;
} bool_flags[] = {
    {"policy_check", X509_V_FLAG_POLICY_CHECK, 0},
    {"explicit_policy", X509_V_FLAG_POLICY_CHECK | X509_V_FLAG_EXPLICIT_POLICY, 0},
    {"inhibit_policy_mapping", X509_V_FLAG_POLICY_CHECK | X509_V_FLAG_INHIBIT_MAP, 0},
    {"inhibit_any_policy", X509_V_FLAG_POLICY_CHECK | X509_V_FLAG_INHIBIT_ANY, 0},
    {"partial_chain", X509_V_FLAG_PARTIAL_CHAIN, 0},
    {"extended_crl", X509_V_FLAG_EXTENDED_CRL_SUPPORT, 1},
    {"use_deltas", X509_V_FLAG_USE_DELTAS, 1},
    {"check_ss_signature", X509_V_FLAG_CHECK_SS_SIGNATURE, 0},
    {NULL, 0, 0},
};

/* --- what BoringSSL's X509_verify_cert gets wrong, set right ------------------------------
 * verify_cb sees each error before X509_verify_cert acts on it, and lets three through:
 *
 * - CERT_HAS_EXPIRED when the time is notAfter itself: RFC 5280 4.1.2.5 makes the validity
 *   period include its last second; BoringSSL (and OpenSSL 3) count that second as expired
 *   (x509-limbo rfc5280::validity::notafter-exact).
 * - UNSUPPORTED_CONSTRAINT_TYPE raised for an iPAddress name: Debian's BoringSSL (Android 13)
 *   has no iPAddress case in its name-constraint matcher, so every certificate with an
 *   address under a CA constrained to address ranges failed. The verification is marked,
 *   and once the chain is built nc_recheck does the name-constraint check again in full.
 * - UNHANDLED_CRITICAL_EXTENSION for a critical crlDistributionPoints or OCSP no-check, which
 *   OpenSSL 3 accepts (below). */

/* ip_subtrees_only(nc, out) copies into out the subtrees of nc that are not iPAddress ones
 * (borrowed pointers: free the two stacks only). Returns 1 when nc has an iPAddress subtree. */
static int split_nc(const NAME_CONSTRAINTS *nc, NAME_CONSTRAINTS *out) {
  int has_ip = 0;
  STACK_OF(GENERAL_SUBTREE) *const in[2] = {nc->permittedSubtrees, nc->excludedSubtrees};
  STACK_OF(GENERAL_SUBTREE) **dst[2] = {&out->permittedSubtrees, &out->excludedSubtrees};
  for (int k = 0; k < 2; k++) {
    *dst[k] = NULL;
    if (!in[k]) continue;
    *dst[k] = sk_GENERAL_SUBTREE_new_null();
    if (!*dst[k]) return -1;
    for (size_t i = 0; i < sk_GENERAL_SUBTREE_num(in[k]); i++) {
      GENERAL_SUBTREE *sub = sk_GENERAL_SUBTREE_value(in[k], i);
      if (sub->base->type == GEN_IPADD) has_ip = 1;
      else if (!sk_GENERAL_SUBTREE_push(*dst[k], sub)) return -1;
    }
  }
  return has_ip;
}

/* ip_in_subtree: addr (4 or 16 bytes) within base (address and mask, 8 or 32 bytes).
 * An address of the other family is outside, as in OpenSSL's nc_ip. */
static int ip_in_subtree(const ASN1_OCTET_STRING *addr, const ASN1_OCTET_STRING *base) {
  int n = ASN1_STRING_length(addr);
  if (ASN1_STRING_length(base) != 2 * n) return 0;
  const uint8_t *a = ASN1_STRING_get0_data(addr), *b = ASN1_STRING_get0_data(base);
  for (int i = 0; i < n; i++)
    if ((a[i] & b[n + i]) != (b[i] & b[n + i])) return 0;
  return 1;
}

/* ip_subtree_ok: a constraint is an address and a CIDR mask of the same family (8 or 32
 * bytes, the mask's ones contiguous), RFC 5280 4.2.1.10 */
static int ip_subtree_ok(const ASN1_OCTET_STRING *base) {
  int n = ASN1_STRING_length(base);
  if (n != 8 && n != 32) return 0;
  const uint8_t *m = ASN1_STRING_get0_data(base) + n / 2;
  int zero = 0;
  for (int i = 0; i < n / 2; i++)
    for (int bit = 7; bit >= 0; bit--) {
      int one = (m[i] >> bit) & 1;
      if (one && zero) return 0;
      if (!one) zero = 1;
    }
  return 1;
}

/* check_ips: the iPAddress names of x against the iPAddress subtrees of nc. Returns an
 * X509_V_ERR_* code (X509_V_OK when they pass). */
static int check_ips(X509 *x, const NAME_CONSTRAINTS *nc) {
  STACK_OF(GENERAL_SUBTREE) *const lists[2] = {nc->permittedSubtrees, nc->excludedSubtrees};
  int has_permitted = 0;
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < sk_GENERAL_SUBTREE_num(lists[k]); i++) {
      GENERAL_SUBTREE *sub = sk_GENERAL_SUBTREE_value(lists[k], i);
      if (sub->base->type != GEN_IPADD) continue;
      if (!ip_subtree_ok(sub->base->d.iPAddress)) return X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX;
      if (k == 0) has_permitted = 1;
    }
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  ERR_clear_error();
  int rv = X509_V_OK;
  for (size_t j = 0; rv == X509_V_OK && j < sk_GENERAL_NAME_num(gens); j++) {
    GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, j);
    if (gn->type != GEN_IPADD) continue;
    int len = ASN1_STRING_length(gn->d.iPAddress);
    if (len != 4 && len != 16) {
      rv = X509_V_ERR_UNSUPPORTED_NAME_SYNTAX;
      break;
    }
    int permitted = !has_permitted;
    for (size_t i = 0; !permitted && i < sk_GENERAL_SUBTREE_num(lists[0]); i++) {
      GENERAL_SUBTREE *sub = sk_GENERAL_SUBTREE_value(lists[0], i);
      if (sub->base->type == GEN_IPADD && ip_in_subtree(gn->d.iPAddress, sub->base->d.iPAddress))
        permitted = 1;
    }
    if (!permitted) rv = X509_V_ERR_PERMITTED_VIOLATION;
    for (size_t i = 0; rv == X509_V_OK && i < sk_GENERAL_SUBTREE_num(lists[1]); i++) {
      GENERAL_SUBTREE *sub = sk_GENERAL_SUBTREE_value(lists[1], i);
      if (sub->base->type == GEN_IPADD && ip_in_subtree(gn->d.iPAddress, sub->base->d.iPAddress))
        rv = X509_V_ERR_EXCLUDED_VIOLATION;
    }
  }
  GENERAL_NAMES_free(gens);
  return rv;
}

/* nc_recheck runs the name-constraint check of RFC 5280 6.1.3 (b)-(c) on the built chain as
 * X509_verify_cert does (each certificate under each CA above it, self-issued intermediates
 * exempt), with the iPAddress subtrees matched here and the rest by BoringSSL. Returns an
 * X509_V_ERR_* code and sets *depth to the certificate that fails. */
static int nc_recheck(STACK_OF(X509) *chain, int *depth) {
  int n = (int)sk_X509_num(chain);
  for (int i = n - 1; i >= 0; i--) {
    X509 *x = sk_X509_value(chain, i);
    if (i > 0 && X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0) continue;
    for (int j = n - 1; j > i; j--) {
      NAME_CONSTRAINTS *nc =
          X509_get_ext_d2i(sk_X509_value(chain, j), NID_name_constraints, NULL, NULL);
      ERR_clear_error();
      if (!nc) continue;
      NAME_CONSTRAINTS rest = {NULL, NULL};
      int has_ip = split_nc(nc, &rest);
      int rv = X509_V_OK;
      if (has_ip < 0) rv = X509_V_ERR_OUT_OF_MEM;
      else if (has_ip) {
        rv = NAME_CONSTRAINTS_check(x, &rest);
        if (rv == X509_V_OK) rv = check_ips(x, nc);
      }
      sk_GENERAL_SUBTREE_free(rest.permittedSubtrees);
      sk_GENERAL_SUBTREE_free(rest.excludedSubtrees);
      NAME_CONSTRAINTS_free(nc);
      ERR_clear_error();
      if (rv != X509_V_OK) {
        *depth = i;
        return rv;
      }
    }
  }
  return X509_V_OK;
}

static int verify_cb(int ok, X509_STORE_CTX *ctx) {
  if (ok) return ok;
  vbox *v = X509_STORE_CTX_get_app_data(ctx);
  X509 *x = X509_STORE_CTX_get_current_cert(ctx);
  switch (X509_STORE_CTX_get_error(ctx)) {
    case X509_V_ERR_CERT_HAS_EXPIRED: {
      ASN1_TIME *t = x ? ASN1_TIME_set(NULL, (time_t)v->time) : NULL;
      int days = 1, secs = 1;
      int last_second = t && ASN1_TIME_diff(&days, &secs, X509_get0_notAfter(x), t) &&
                        days == 0 && secs == 0;
      ASN1_TIME_free(t);
      ERR_clear_error();
      if (last_second) {
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
      }
      return 0;
    }
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION: {
      /* BoringSSL's list of the extensions it processes lacks two that OpenSSL 3 accepts
       * critical (crypto/x509/v3_purp.c): crlDistributionPoints (certbench reads it, and
       * crl_check does revocation) and id-pkix-ocsp-nocheck (meaningless for a path). Refused
       * otherwise: OpenSSL's RFC 3779 and proxy-certificate extensions too, which nothing here
       * would check. */
      const STACK_OF(X509_EXTENSION) *exts = x ? X509_get0_extensions(x) : NULL;
      int other = 0;
      for (size_t i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        if (!X509_EXTENSION_get_critical(e)) continue;
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        if (X509_supported_extension(e) || nid == NID_crl_distribution_points ||
            nid == NID_id_pkix_OCSP_noCheck)
          continue;
        other = 1;
      }
      if (other || !exts) return 0;
      X509_STORE_CTX_set_error(ctx, X509_V_OK);
      return 1;
    }
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE: {
      /* only when the certificate has an address: then the cause may be an iPAddress
       * subtree, and nc_recheck decides; any other unsupported type fails there again */
      GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
      ERR_clear_error();
      int has_ip = 0;
      for (size_t i = 0; i < sk_GENERAL_NAME_num(gens); i++)
        if (sk_GENERAL_NAME_value(gens, i)->type == GEN_IPADD) has_ip = 1;
      GENERAL_NAMES_free(gens);
      if (!has_ip) return 0;
      v->ip_nc = 1;
      X509_STORE_CTX_set_error(ctx, X509_V_OK);
      return 1;
    }
    default:
      return 0;
  }
}

/* s:verify(cert, opts) -> chain | nil, err, { code, depth, cert, text }
 * opts (normalised by store.lua): untrusted, crls, purpose (short name), host, ip, email,
 * time, crl_check ("leaf"|"all"|nil), policies (OID or name strings), policy_check,
 * explicit_policy, inhibit_policy_mapping, inhibit_any_policy, partial_chain, max_depth,
 * extended_crl, use_deltas, check_ss_signature. */
static int l_verify(lua_State *L) {
  cb_store *s = check_store(L, 1);
  X509 *leaf = cb_check_x509(L, 2);
  int opts = 3;
  if (!lua_isnoneornil(L, opts)) luaL_checktype(L, opts, LUA_TTABLE);
  lua_settop(L, 3);

  vbox *v = cb_newudata(L, sizeof *v, VBOX_MT); /* index 4 */
  lua_toclose(L, 4);

  v->untrusted = sk_X509_new_null();
  if (!v->untrusted) return luaL_error(L, "store:verify: out of memory");
  for (size_t i = 0; i < sk_X509_num(s->untrusted); i++)
    if (!sk_X509_push(v->untrusted, sk_X509_value(s->untrusted, i)))
      return luaL_error(L, "store:verify: out of memory");
  if (opt_list(L, opts, "untrusted")) {
    int n = (int)luaL_len(L, -1);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      X509 *x = cb_test_x509(L, -1);
      if (!x) {
        if (luaL_testudata(L, -1, CB_X509_MT))
          return luaL_error(L, "store:verify: untrusted[%d]: attempt to use a closed certificate",
                            i);
        return luaL_error(L, "store:verify: untrusted[%d] must be a certificate, not %s", i,
                          luaL_typename(L, -1));
      }
      if (!sk_X509_push(v->untrusted, x)) return luaL_error(L, "store:verify: out of memory");
      lua_pop(L, 1); /* the options table keeps the object alive */
    }
    lua_pop(L, 1);
  }

  v->crls = sk_X509_CRL_dup(s->crls);
  if (!v->crls) return luaL_error(L, "store:verify: out of memory");
  if (opt_list(L, opts, "crls")) {
    int n = (int)luaL_len(L, -1);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      char why[256];
      X509_CRL *crl = cb_crl_x509(L, lua_gettop(L), why, sizeof why);
      if (!crl) return cb_fail(L, "store:verify: CRL %d: %s", i, why);
      if (!sk_X509_CRL_push(v->crls, crl)) return luaL_error(L, "store:verify: out of memory");
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }

  if (opt_list(L, opts, "policies")) {
    int n = (int)luaL_len(L, -1);
    v->policies = sk_ASN1_OBJECT_new_null();
    if (!v->policies) return luaL_error(L, "store:verify: out of memory");
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      const char *txt = lua_tostring(L, -1);
      if (!txt) return luaL_error(L, "store:verify: policies[%d] must be a string", i);
      ASN1_OBJECT *o = OBJ_txt2obj(txt, 0);
      if (!o) {
        ERR_clear_error();
        return luaL_error(L, "store:verify: policies[%d]: not an OID or a known name: %s", i,
                          txt);
      }
      if (!sk_ASN1_OBJECT_push(v->policies, o)) {
        ASN1_OBJECT_free(o);
        return luaL_error(L, "store:verify: out of memory");
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }

  v->ctx = X509_STORE_CTX_new();
  if (!v->ctx || !X509_STORE_CTX_init(v->ctx, s->store, leaf, v->untrusted))
    return luaL_error(L, "store:verify: out of memory");
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(v->ctx);
  X509_STORE_CTX_set0_crls(v->ctx, v->crls); /* borrowed: the box frees it after the ctx */
  X509_STORE_CTX_set_app_data(v->ctx, v);
  X509_STORE_CTX_set_verify_cb(v->ctx, verify_cb);
  v->time = (int64_t)time(NULL);

  unsigned long flags = 0;
  const char *crl_check = cb_optfield_string(L, opts, "crl_check", NULL, NULL);
  if (crl_check) {
    if (strcmp(crl_check, "leaf") == 0) flags |= X509_V_FLAG_CRL_CHECK;
    else if (strcmp(crl_check, "all") == 0)
      flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    else
      return luaL_error(L, "store:verify: crl_check must be \"leaf\" or \"all\", not \"%s\"",
                        crl_check);
  }
  for (const struct bool_flag *f = bool_flags; f->name; f++)
    if (cb_optfield_boolean(L, opts, f->name, f->def)) flags |= f->flags;
  if (v->policies) {
    /* set1_policies copies the list and turns policy checking on */
    if (!X509_VERIFY_PARAM_set1_policies(param, v->policies))
      return luaL_error(L, "store:verify: out of memory");
  }
  X509_VERIFY_PARAM_set_flags(param, flags);

  /* max_depth counts intermediates, as OpenSSL 3's -verify_depth does; BoringSSL's depth
   * counts every certificate above the leaf, the trust anchor too. */
  lua_Integer max_depth = cb_optfield_integer(L, opts, "max_depth", -1);
  if (max_depth > 1000) max_depth = 1000;
  if (max_depth >= 0) X509_VERIFY_PARAM_set_depth(param, (int)max_depth + 1);

  if (lua_type(L, opts) == LUA_TTABLE) {
    lua_getfield(L, opts, "time");
    if (!lua_isnil(L, -1)) {
      int isint;
      lua_Integer t = lua_tointegerx(L, -1, &isint);
      if (!isint)
        return luaL_error(L, "option 'time' must be an integer, not %s", luaL_typename(L, -1));
      X509_VERIFY_PARAM_set_time(param, (time_t)t);
      v->time = (int64_t)t;
    }
    lua_pop(L, 1);
  }

  const char *purpose = cb_optfield_string(L, opts, "purpose", NULL, NULL);
  if (purpose) {
    int idx = X509_PURPOSE_get_by_sname((char *)purpose);
    if (idx < 0) return luaL_error(L, "store:verify: unknown purpose \"%s\"", purpose);
    int id = X509_PURPOSE_get_id(X509_PURPOSE_get0(idx));
    /* X509_STORE_CTX_set_purpose also picks the purpose's trust setting; "any" has none, which
     * BoringSSL's purpose_inherit rejects (unknown trust id 0), so set only the purpose. */
    int set = id == X509_PURPOSE_ANY ? X509_VERIFY_PARAM_set_purpose(param, id)
                                     : X509_STORE_CTX_set_purpose(v->ctx, id);
    if (!set) {
      ERR_clear_error();
      return luaL_error(L, "store:verify: cannot set purpose \"%s\"", purpose);
    }
  }

  size_t len;
  const char *host = cb_optfield_string(L, opts, "host", NULL, &len);
  if (host && !X509_VERIFY_PARAM_set1_host(param, host, len)) {
    ERR_clear_error();
    return luaL_error(L, "store:verify: invalid host name \"%s\"", host);
  }
  const char *ip = cb_optfield_string(L, opts, "ip", NULL, NULL);
  if (ip && !X509_VERIFY_PARAM_set1_ip_asc(param, ip)) {
    ERR_clear_error();
    return luaL_error(L, "store:verify: invalid IP address \"%s\"", ip);
  }
  const char *email = cb_optfield_string(L, opts, "email", NULL, &len);
  if (email && !X509_VERIFY_PARAM_set1_email(param, email, len)) {
    ERR_clear_error();
    return luaL_error(L, "store:verify: invalid email address \"%s\"", email);
  }

  int ok = X509_verify_cert(v->ctx);
  int code, depth_at;
  X509 *bad;
  if (ok == 1 && v->ip_nc) {
    /* the chain was built past an iPAddress constraint: check the constraints in full */
    code = nc_recheck(X509_STORE_CTX_get0_chain(v->ctx), &depth_at);
    if (code != X509_V_OK) {
      bad = sk_X509_value(X509_STORE_CTX_get0_chain(v->ctx), depth_at);
      goto failed;
    }
  }
  if (ok == 1) {
    ERR_clear_error();
    v->chain = X509_STORE_CTX_get1_chain(v->ctx);
    if (!v->chain) return luaL_error(L, "store:verify: out of memory");
    size_t n = sk_X509_num(v->chain);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
      push_cert(L, sk_X509_value(v->chain, i));
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1; /* the to-be-closed box frees the rest on return */
  }

  code = X509_STORE_CTX_get_error(v->ctx);
  if (code == X509_V_OK) return cb_fail_ssl(L, "store:verify"); /* an internal failure */
  ERR_clear_error();
  depth_at = X509_STORE_CTX_get_error_depth(v->ctx);
  bad = X509_STORE_CTX_get_current_cert(v->ctx);
failed:;
  /* BoringSSL stops building at the depth limit and then reports the missing issuer of the
   * last certificate; say what happened instead, as OpenSSL does (error 22 at that depth). */
  if (max_depth >= 0 && depth_at == max_depth + 1 &&
      (code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
       code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT))
    code = X509_V_ERR_CERT_CHAIN_TOO_LONG;
  const char *text = X509_verify_cert_error_string(code);

  lua_pushnil(L);
  /* the certificate's subject is added by store.lua (name:text(), the one form names are shown in) */
  lua_pushfstring(L, "%s (depth %d)", text, depth_at);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, code);
  lua_setfield(L, -2, "code");
  lua_pushinteger(L, depth_at);
  lua_setfield(L, -2, "depth");
  lua_pushstring(L, text);
  lua_setfield(L, -2, "text");
  if (bad) {
    push_cert(L, bad);
    lua_setfield(L, -2, "cert");
  }
  return 3;
}

/* error_text(code) -> X509_verify_cert_error_string(code) */
static int l_error_text(lua_State *L) {
  lua_pushstring(L, X509_verify_cert_error_string((long)luaL_checkinteger(L, 1)));
  return 1;
}

/* oid(name or dotted OID) -> dotted OID, short name (the OID again when unnamed) | nil */
static int l_oid(lua_State *L) {
  ASN1_OBJECT *o = OBJ_txt2obj(luaL_checkstring(L, 1), 0);
  if (!o) {
    ERR_clear_error();
    lua_pushnil(L);
    return 1;
  }
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, o, 1);
  lua_pushstring(L, buf);
  int nid = OBJ_obj2nid(o);
  lua_pushstring(L, nid != NID_undef ? OBJ_nid2sn(nid) : buf);
  ASN1_OBJECT_free(o);
  return 2;
}

/* purposes() -> { short name = long name } of the purposes BoringSSL knows */
static int l_purposes(lua_State *L) {
  int n = X509_PURPOSE_get_count();
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    X509_PURPOSE *p = X509_PURPOSE_get0(i);
    lua_pushstring(L, X509_PURPOSE_get0_name(p));
    lua_setfield(L, -2, X509_PURPOSE_get0_sname(p));
  }
  return 1;
}

int luaopen__certbench_store(lua_State *L) {
  cb_objects_init(L);
  static const luaL_Reg methods[] = {
      {"add_ca", l_add_ca}, {"add_crl", l_add_crl}, {"add_untrusted", l_add_untrusted},
      {"count", l_count},   {"verify", l_verify},   {"close", store_gc},
      {NULL, NULL}};
  static const luaL_Reg metas[] = {
      {"__gc", store_gc}, {"__close", store_gc}, {"__tostring", store_tostring}, {NULL, NULL}};
  cb_newclass(L, STORE_MT, methods, metas);
  static const luaL_Reg vmetas[] = {{"__gc", vbox_close}, {"__close", vbox_close}, {NULL, NULL}};
  cb_newclass(L, VBOX_MT, NULL, vmetas);
  static const luaL_Reg fns[] = {
      {"new", l_new}, {"error_text", l_error_text}, {"purposes", l_purposes},
      {"oid", l_oid}, {NULL, NULL}};
  luaL_newlib(L, fns);
  /* the method table, so store.lua can add the Lua-side methods (add_file, verify's checks) */
  luaL_getmetatable(L, STORE_MT);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -3, "methods");
  lua_pop(L, 1);
  return 1;
}
