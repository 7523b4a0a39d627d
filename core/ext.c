/* ext.c: reading and building X.509 v3 extensions (see ext.h). */
#include "ext.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/conf.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/obj.h>
#include <openssl/sha.h>

#include "objects.h"

/* --- pushers -------------------------------------------------------------------------------- */

void cb_push_hex(lua_State *L, const uint8_t *p, size_t n, char sep) {
  static const char hex[] = "0123456789ABCDEF";
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    if (sep && i > 0) luaL_addchar(&b, sep);
    luaL_addchar(&b, hex[p[i] >> 4]);
    luaL_addchar(&b, hex[p[i] & 15]);
  }
  luaL_pushresult(&b);
}

void cb_push_serial(lua_State *L, const ASN1_INTEGER *i) {
  if (!i || i->length <= 0) {
    lua_pushliteral(L, "00");
    return;
  }
  if (i->type == V_ASN1_NEG_INTEGER) {
    lua_pushliteral(L, "-");
    cb_push_hex(L, i->data, (size_t)i->length, 0);
    lua_concat(L, 2);
  } else {
    cb_push_hex(L, i->data, (size_t)i->length, 0);
  }
}

void cb_push_time(lua_State *L, const ASN1_TIME *t) {
  int days = 0, secs = 0;
  ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
  if (epoch && t && ASN1_TIME_diff(&days, &secs, epoch, t))
    lua_pushinteger(L, (lua_Integer)days * 86400 + secs);
  else
    lua_pushnil(L);
  ASN1_TIME_free(epoch);
  ERR_clear_error();
}

void cb_push_bio_text(lua_State *L, BIO *bio) {
  const uint8_t *p;
  size_t n;
  if (BIO_mem_contents(bio, &p, &n)) lua_pushlstring(L, (const char *)p, n);
  else lua_pushliteral(L, "");
  BIO_free(bio);
}

static void push_ip(lua_State *L, const ASN1_OCTET_STRING *ip) {
  char buf[INET6_ADDRSTRLEN + 1];
  const uint8_t *p = ASN1_STRING_get0_data(ip);
  int n = ASN1_STRING_length(ip);
  if (n == 4 && inet_ntop(AF_INET, p, buf, sizeof buf)) lua_pushstring(L, buf);
  else if (n == 16 && inet_ntop(AF_INET6, p, buf, sizeof buf)) lua_pushstring(L, buf);
  else if (n == 8 || n == 32) {
    /* address and mask, as in name constraints */
    int half = n / 2;
    char m[INET6_ADDRSTRLEN + 1];
    if (inet_ntop(half == 4 ? AF_INET : AF_INET6, p, buf, sizeof buf) &&
        inet_ntop(half == 4 ? AF_INET : AF_INET6, p + half, m, sizeof m))
      lua_pushfstring(L, "%s/%s", buf, m);
    else
      cb_push_hex(L, p, (size_t)n, ':');
  } else {
    cb_push_hex(L, p, (size_t)n, ':');
  }
}

void cb_push_general_name(lua_State *L, const GENERAL_NAME *gn) {
  lua_createtable(L, 0, 3);
  switch (gn->type) {
    case GEN_DNS:
    case GEN_EMAIL:
    case GEN_URI:
      lua_pushstring(L, gn->type == GEN_DNS ? "DNS" : gn->type == GEN_EMAIL ? "email" : "URI");
      lua_setfield(L, -2, "type");
      lua_pushlstring(L, (const char *)ASN1_STRING_get0_data(gn->d.ia5),
                      (size_t)ASN1_STRING_length(gn->d.ia5));
      lua_setfield(L, -2, "value");
      break;
    case GEN_IPADD:
      lua_pushliteral(L, "IP");
      lua_setfield(L, -2, "type");
      push_ip(L, gn->d.ip);
      lua_setfield(L, -2, "value");
      break;
    case GEN_DIRNAME:
      lua_pushliteral(L, "dirName");
      lua_setfield(L, -2, "type");
      cb_push_name_copy(L, gn->d.dirn);
      lua_setfield(L, -2, "name"); /* the Lua wrapper adds value = name:rfc4514() */
      break;
    case GEN_RID: {
      char oid[128];
      OBJ_obj2txt(oid, sizeof oid, gn->d.rid, 1);
      lua_pushliteral(L, "RID");
      lua_setfield(L, -2, "type");
      lua_pushstring(L, oid);
      lua_setfield(L, -2, "value");
      break;
    }
    case GEN_OTHERNAME: {
      const OTHERNAME *on = gn->d.otherName;
      lua_pushliteral(L, "otherName");
      lua_setfield(L, -2, "type");
      cb_push_obj_names(L, on->type_id);
      lua_setfield(L, -3, "oid");
      lua_setfield(L, -2, "name");
      const ASN1_TYPE *v = on->value;
      if (v && v->type != V_ASN1_BOOLEAN && v->type != V_ASN1_NULL &&
          v->type != V_ASN1_OBJECT && v->type != V_ASN1_SEQUENCE && v->type != V_ASN1_SET &&
          v->type != V_ASN1_OTHER && v->value.asn1_string) {
        cb_push_asn1_string_utf8(L, v->value.asn1_string);
      } else if (v) {
        uint8_t *der = NULL;
        int n = i2d_ASN1_TYPE(v, &der);
        if (n > 0) {
          lua_pushliteral(L, "#");
          cb_push_hex(L, der, (size_t)n, 0);
          lua_concat(L, 2);
        } else {
          lua_pushliteral(L, "");
        }
        OPENSSL_free(der);
      } else {
        lua_pushliteral(L, "");
      }
      lua_setfield(L, -2, "value");
      break;
    }
    case GEN_X400:
      lua_pushliteral(L, "x400Address");
      lua_setfield(L, -2, "type");
      break;
    case GEN_EDIPARTY:
      lua_pushliteral(L, "ediPartyName");
      lua_setfield(L, -2, "type");
      break;
    default:
      lua_pushliteral(L, "unknown");
      lua_setfield(L, -2, "type");
  }
}

/* --- readers -------------------------------------------------------------------------------- */

/* get_ext decodes extension nid. Returns the structure (caller frees) or NULL; *state is 1
 * found, 0 absent, -1 malformed or duplicated (then nil, message are pushed). */
static void *get_ext(lua_State *L, cb_exts *exts, int nid, const char *what, int *crit, int *state) {
  *crit = -1;
  *state = 0;
  if (!exts) return NULL;
  void *p = X509V3_get_d2i(exts, nid, crit, NULL);
  if (p) {
    *state = 1;
    return p;
  }
  ERR_clear_error();
  if (*crit == -1) return NULL;
  *state = -1;
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s extension %s", what, *crit == -2 ? "duplicate" : "malformed",
                  OBJ_nid2sn(nid));
  return NULL;
}

/* ends a list reader: the list is on the stack top */
static int list_result(lua_State *L, int crit) {
  if (crit >= 0) lua_pushboolean(L, crit);
  else lua_pushnil(L);
  return 2;
}

int cb_ext_san(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st;
  GENERAL_NAMES *gens = get_ext(L, exts, NID_subject_alt_name, what, &crit, &st);
  if (st < 0) return 2;
  size_t n = gens ? sk_GENERAL_NAME_num(gens) : 0;
  lua_checkstack(L, 8);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    cb_push_general_name(L, sk_GENERAL_NAME_value(gens, i));
    lua_seti(L, -2, (lua_Integer)i + 1);
  }
  GENERAL_NAMES_free(gens);
  return list_result(L, crit);
}

int cb_ext_eku(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st;
  EXTENDED_KEY_USAGE *eku = get_ext(L, exts, NID_ext_key_usage, what, &crit, &st);
  if (st < 0) return 2;
  size_t n = eku ? sk_ASN1_OBJECT_num(eku) : 0;
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    cb_push_obj_names(L, sk_ASN1_OBJECT_value(eku, i));
    lua_pop(L, 1);
    lua_seti(L, -2, (lua_Integer)i + 1);
  }
  sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  return list_result(L, crit);
}

/* RFC 5280 names, bit order */
static const char *const ku_names[] = {"digitalSignature", "nonRepudiation", "keyEncipherment",
                                       "dataEncipherment", "keyAgreement",   "keyCertSign",
                                       "cRLSign",          "encipherOnly",   "decipherOnly"};

int cb_ext_key_usage(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st;
  ASN1_BIT_STRING *ku = get_ext(L, exts, NID_key_usage, what, &crit, &st);
  if (st < 0) return 2;
  lua_createtable(L, 9, 0);
  int k = 0;
  for (int i = 0; ku && i < 9; i++) {
    if (ASN1_BIT_STRING_get_bit(ku, i)) {
      lua_pushstring(L, ku_names[i]);
      lua_seti(L, -2, ++k);
    }
  }
  ASN1_BIT_STRING_free(ku);
  return list_result(L, crit);
}

int cb_ext_policies(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st;
  CERTIFICATEPOLICIES *pol = get_ext(L, exts, NID_certificate_policies, what, &crit, &st);
  if (st < 0) return 2;
  size_t n = pol ? sk_POLICYINFO_num(pol) : 0;
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    char oid[128];
    OBJ_obj2txt(oid, sizeof oid, sk_POLICYINFO_value(pol, i)->policyid, 1);
    lua_pushstring(L, oid);
    lua_seti(L, -2, (lua_Integer)i + 1);
  }
  CERTIFICATEPOLICIES_free(pol);
  return list_result(L, crit);
}

static void add_uris(lua_State *L, const GENERAL_NAMES *gens, int *k) {
  for (size_t j = 0; gens && j < sk_GENERAL_NAME_num(gens); j++) {
    const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, j);
    if (gn->type != GEN_URI) continue;
    lua_pushlstring(L, (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                    (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier));
    lua_seti(L, -2, ++*k);
  }
}

int cb_ext_crl_dp(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st, k = 0;
  CRL_DIST_POINTS *dps = get_ext(L, exts, NID_crl_distribution_points, what, &crit, &st);
  if (st < 0) return 2;
  lua_newtable(L);
  for (size_t i = 0; dps && i < sk_DIST_POINT_num(dps); i++) {
    const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
    if (dp->distpoint && dp->distpoint->type == 0) add_uris(L, dp->distpoint->name.fullname, &k);
  }
  CRL_DIST_POINTS_free(dps);
  return list_result(L, crit);
}

int cb_ext_aia(lua_State *L, cb_exts *exts, int nid, const char *what) {
  int crit, st, k = 0;
  AUTHORITY_INFO_ACCESS *aia = get_ext(L, exts, NID_info_access, what, &crit, &st);
  if (st < 0) return 2;
  lua_newtable(L);
  for (size_t i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
    const ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    if (OBJ_obj2nid(ad->method) != nid || ad->location->type != GEN_URI) continue;
    lua_pushlstring(L, (const char *)ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier),
                    (size_t)ASN1_STRING_length(ad->location->d.uniformResourceIdentifier));
    lua_seti(L, -2, ++k);
  }
  AUTHORITY_INFO_ACCESS_free(aia);
  return list_result(L, crit);
}

int cb_ext_basic_constraints(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st;
  BASIC_CONSTRAINTS *bc = get_ext(L, exts, NID_basic_constraints, what, &crit, &st);
  if (st < 0) return 2;
  if (!bc) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 3);
  lua_pushboolean(L, bc->ca != 0);
  lua_setfield(L, -2, "ca");
  lua_pushboolean(L, crit > 0);
  lua_setfield(L, -2, "critical");
  if (bc->pathlen) {
    uint64_t v;
    if (ASN1_INTEGER_get_uint64(&v, bc->pathlen) && v < (uint64_t)LUA_MAXINTEGER)
      lua_pushinteger(L, (lua_Integer)v);
    else lua_pushinteger(L, LUA_MAXINTEGER); /* absurdly large: "unlimited" in effect */
    ERR_clear_error();
    lua_setfield(L, -2, "path_len");
  }
  BASIC_CONSTRAINTS_free(bc);
  return 1;
}

int cb_ext_ski(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st;
  ASN1_OCTET_STRING *ski = get_ext(L, exts, NID_subject_key_identifier, what, &crit, &st);
  if (st < 0) return 2;
  if (!ski) {
    lua_pushnil(L);
    return 1;
  }
  cb_push_hex(L, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), 0);
  ASN1_OCTET_STRING_free(ski);
  return 1;
}

int cb_ext_aki(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st;
  AUTHORITY_KEYID *aki = get_ext(L, exts, NID_authority_key_identifier, what, &crit, &st);
  if (st < 0) return 2;
  if (!aki) {
    lua_pushnil(L);
    return 1;
  }
  if (aki->keyid)
    cb_push_hex(L, ASN1_STRING_get0_data(aki->keyid), (size_t)ASN1_STRING_length(aki->keyid), 0);
  else
    lua_pushnil(L);
  lua_createtable(L, 0, 3);
  if (aki->keyid) {
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "keyid");
  }
  if (aki->issuer) {
    lua_newtable(L);
    for (size_t i = 0; i < sk_GENERAL_NAME_num(aki->issuer); i++) {
      cb_push_general_name(L, sk_GENERAL_NAME_value(aki->issuer, i));
      lua_seti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "issuer");
  }
  if (aki->serial) {
    cb_push_serial(L, aki->serial);
    lua_setfield(L, -2, "serial");
  }
  AUTHORITY_KEYID_free(aki);
  return 2;
}

int cb_ext_list(lua_State *L, cb_exts *exts) {
  size_t n = exts ? sk_X509_EXTENSION_num(exts) : 0;
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
    const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
    lua_createtable(L, 0, 5);
    cb_push_obj_names(L, X509_EXTENSION_get_object(ext));
    lua_setfield(L, -3, "oid");
    lua_setfield(L, -2, "name");
    lua_pushboolean(L, X509_EXTENSION_get_critical(ext));
    lua_setfield(L, -2, "critical");
    lua_pushlstring(L, (const char *)ASN1_STRING_get0_data(data), (size_t)ASN1_STRING_length(data));
    lua_setfield(L, -2, "der");
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) luaL_error(L, "out of memory");
    if (X509V3_EXT_print(bio, ext, X509V3_EXT_DUMP_UNKNOWN, 0) <= 0) {
      BIO_free(bio);
      ERR_clear_error();
      lua_pushnil(L);
    } else {
      cb_push_bio_text(L, bio);
    }
    lua_setfield(L, -2, "text");
    lua_seti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* --- builders: see the second half of this file ---------------------------------------- */

const EVP_MD *cb_md_by_name(const char *name) {
  if (!strcmp(name, "sha256")) return EVP_sha256();
  if (!strcmp(name, "sha384")) return EVP_sha384();
  if (!strcmp(name, "sha512")) return EVP_sha512();
  if (!strcmp(name, "sha224")) return EVP_sha224();
  if (!strcmp(name, "sha1")) return EVP_sha1();
  return NULL;
}

int cb_ski_of(EVP_PKEY *key, uint8_t out[20]) {
  /* the BIT STRING contents of subjectPublicKeyInfo without the unused-bits byte */
  uint8_t *spki = NULL;
  int len = i2d_PUBKEY(key, &spki);
  int ok = 0;
  if (len > 0) {
    CBS cbs, seq, alg, bits;
    CBS_init(&cbs, spki, (size_t)len);
    uint8_t unused;
    if (CBS_get_asn1(&cbs, &seq, CBS_ASN1_SEQUENCE) &&
        CBS_get_asn1(&seq, &alg, CBS_ASN1_SEQUENCE) &&
        CBS_get_asn1(&seq, &bits, CBS_ASN1_BITSTRING) && CBS_get_u8(&bits, &unused) &&
        unused == 0) {
      ok = SHA1(CBS_data(&bits), CBS_len(&bits), out) != NULL;
    }
  }
  OPENSSL_free(spki);
  return ok;
}
