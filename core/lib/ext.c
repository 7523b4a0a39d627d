/* ext.c: reading and building X.509 v3 extensions (see ext.h). */
#include "ext.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/conf.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/obj.h>
#include <openssl/sha.h>

#include "crlengine.h"
#include "digest.h"
#include "objects.h"

/* --- pushers -------------------------------------------------------------------------------- */

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

int cb_time_of(const ASN1_TIME *t, int64_t *out) {
  if (!t) return 0;
  int type = ASN1_STRING_type(t);
  if (type != V_ASN1_UTCTIME && type != V_ASN1_GENERALIZEDTIME) return 0;
  return cb_der_time((unsigned)type, ASN1_STRING_get0_data(t), (size_t)ASN1_STRING_length(t), out);
}

void cb_push_time(lua_State *L, const ASN1_TIME *t) {
  int64_t v;
  if (cb_time_of(t, &v)) lua_pushinteger(L, (lua_Integer)v);
  else lua_pushnil(L);
}

void cb_bio_time(BIO *bio, int64_t t) {
  static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm)) {
    BIO_printf(bio, "%lld", (long long)t);
    return;
  }
  BIO_printf(bio, "%s %2d %02d:%02d:%02d %d GMT", mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, tm.tm_year + 1900);
}

int cb_describe_bad_time(const char *field, const ASN1_TIME *t, char *why, size_t len) {
  int64_t v;
  if (cb_time_of(t, &v)) return 0;
  if (!t) {
    snprintf(why, len, "%s is missing", field);
    return 1;
  }
  int type = ASN1_STRING_type(t), n = ASN1_STRING_length(t);
  const uint8_t *p = ASN1_STRING_get0_data(t);
  char text[48];
  size_t k = 0;
  /* the bytes as they are, printable ones only: they come from the file */
  for (int i = 0; i < n && k + 5 < sizeof text; i++)
    k += (size_t)snprintf(text + k, sizeof text - k, p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' ? "%c" : "\\x%02x", p[i]);
  if (n > 0 && k + 5 >= sizeof text) snprintf(text + k, sizeof text - k, "...");
  snprintf(why, len, "%s is not a valid time (%s \"%s\")", field,
           type == V_ASN1_UTCTIME ? "UTCTime" : type == V_ASN1_GENERALIZEDTIME ? "GeneralizedTime" : "not a time type",
           text);
  return 1;
}

int cb_x509_check_times(const X509 *x, char *why, size_t len) {
  return !cb_describe_bad_time("notBefore", X509_get0_notBefore(x), why, len) &&
         !cb_describe_bad_time("notAfter", X509_get0_notAfter(x), why, len);
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

/* hexlines writes p as openssl does in -text: "aa:bb:", 15 bytes a line */
static void hexlines(BIO *bio, const uint8_t *p, size_t n, int indent) {
  for (size_t i = 0; i < n; i++) {
    if (i % 15 == 0) BIO_printf(bio, "%s%*s", i ? "\n" : "", indent, "");
    BIO_printf(bio, "%02x%s", p[i], i + 1 < n ? ":" : "");
  }
  BIO_printf(bio, "\n");
}

int cb_print_pubkey(BIO *bio, EVP_PKEY *key, int indent) {
  int type = EVP_PKEY_id(key);
  if (type == EVP_PKEY_EC) {
    /* BoringSSL prints EC keys as a hex dump; this is openssl's layout */
    const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(key);
    const EC_GROUP *g = ec ? EC_KEY_get0_group(ec) : NULL;
    const EC_POINT *pt = ec ? EC_KEY_get0_public_key(ec) : NULL;
    uint8_t buf[200];
    size_t n = g && pt ? EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, buf, sizeof buf, NULL) : 0;
    if (!n) return 0;
    int nid = EC_GROUP_get_curve_name(g);
    const char *nist = EC_curve_nid2nist(nid);
    BIO_printf(bio, "%*sPublic-Key: (%d bit)\n%*spub:\n", indent, "", EVP_PKEY_bits(key), indent, "");
    hexlines(bio, buf, n, indent + 4);
    BIO_printf(bio, "%*sASN1 OID: %s\n", indent, "", OBJ_nid2sn(nid));
    if (nist) BIO_printf(bio, "%*sNIST CURVE: %s\n", indent, "", nist);
    return 1;
  }
  if (type == EVP_PKEY_ED25519) {
    uint8_t raw[32];
    size_t n = sizeof raw;
    if (!EVP_PKEY_get_raw_public_key(key, raw, &n)) return 0;
    BIO_printf(bio, "%*sED25519 Public-Key:\n%*spub:\n", indent, "", indent, "");
    hexlines(bio, raw, n, indent + 4);
    return 1;
  }
  return EVP_PKEY_print_public(bio, key, indent, NULL) > 0;
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
  lua_pushfstring(L, "%s: %s %s extension", what, *crit == -2 ? "duplicate" : "malformed",
                  OBJ_nid2sn(nid));
  return NULL;
}

/* ends a list reader: the list is on the stack top. Only the list is returned, so that
 * table.concat(c:ocsp_urls()) works; criticality is in c:extensions(). */
static int list_result(lua_State *L, int crit) {
  (void)crit;
  return 1;
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

int cb_ext_aki(lua_State *L, cb_exts *exts, const char *what, int full) {
  int crit, st;
  AUTHORITY_KEYID *aki = get_ext(L, exts, NID_authority_key_identifier, what, &crit, &st);
  if (st < 0) return 2;
  if (!aki || (!full && !aki->keyid)) {
    AUTHORITY_KEYID_free(aki);
    lua_pushnil(L);
    return 1;
  }
  if (!full) {
    cb_push_hex(L, ASN1_STRING_get0_data(aki->keyid), (size_t)ASN1_STRING_length(aki->keyid), 0);
    AUTHORITY_KEYID_free(aki);
    return 1;
  }
  lua_createtable(L, 0, 4);
  if (aki->keyid) {
    cb_push_hex(L, ASN1_STRING_get0_data(aki->keyid), (size_t)ASN1_STRING_length(aki->keyid), 0);
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
  lua_pushboolean(L, crit > 0);
  lua_setfield(L, -2, "critical");
  AUTHORITY_KEYID_free(aki);
  return 1;
}

/* push_subtrees pushes the bases of a GeneralSubtrees list as general names, or nothing (returns
 * 0) when the list is absent. The minimum and maximum fields are not given: RFC 5280 4.2.1.10
 * fixes them at 0 and absent, and BoringSSL refuses a subtree that has others. */
static int push_subtrees(lua_State *L, const STACK_OF(GENERAL_SUBTREE) *subs) {
  if (!subs) return 0;
  size_t n = sk_GENERAL_SUBTREE_num(subs);
  lua_checkstack(L, 8);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    cb_push_general_name(L, sk_GENERAL_SUBTREE_value(subs, i)->base);
    lua_seti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

int cb_ext_name_constraints(lua_State *L, cb_exts *exts, const char *what) {
  int crit, st;
  NAME_CONSTRAINTS *nc = get_ext(L, exts, NID_name_constraints, what, &crit, &st);
  if (st < 0) return 2;
  if (!nc) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 3);
  if (push_subtrees(L, nc->permittedSubtrees)) lua_setfield(L, -2, "permitted");
  if (push_subtrees(L, nc->excludedSubtrees)) lua_setfield(L, -2, "excluded");
  lua_pushboolean(L, crit > 0);
  lua_setfield(L, -2, "critical");
  NAME_CONSTRAINTS_free(nc);
  return 1;
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

/* --- builders ---------------------------------------------------------------------------------
 * The Lua wrappers hand over plain tables of checked types; a value of an unexpected type is
 * still reported (as nil, err), never raised, so the half-built stack is always freed. Every
 * helper returns 1, or 0 with nil, message pushed. */

static int bfail(lua_State *L, const char *what, const char *fmt, const char *arg) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: ", what);
  lua_pushfstring(L, fmt, arg);
  lua_concat(L, 2);
  return 0;
}

static int bfail_ssl(lua_State *L, const char *what, const char *msg) {
  char reason[256];
  cb_ssl_reason(reason, sizeof reason);
  lua_pushnil(L);
  if (reason[0]) lua_pushfstring(L, "%s: %s: %s", what, msg, reason);
  else lua_pushfstring(L, "%s: %s", what, msg);
  return 0;
}

/* add_ext appends ext (owned) to *exts, replacing an extension of the same OID */
int cb_ext_set(STACK_OF(X509_EXTENSION) **exts, X509_EXTENSION *ext) {
  if (!*exts && !(*exts = sk_X509_EXTENSION_new_null())) return 0;
  const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
  for (size_t i = 0; i < sk_X509_EXTENSION_num(*exts); i++) {
    X509_EXTENSION *old = sk_X509_EXTENSION_value(*exts, i);
    if (OBJ_cmp(X509_EXTENSION_get_object(old), obj) == 0) {
      sk_X509_EXTENSION_set(*exts, i, ext);
      X509_EXTENSION_free(old);
      return 1;
    }
  }
  return sk_X509_EXTENSION_push(*exts, ext) != 0;
}

/* put encodes the structure of extension nid and adds it; frees the structure */
static int put(lua_State *L, const char *what, STACK_OF(X509_EXTENSION) **exts, int nid,
               int crit, void *st, void (*freefn)(void *)) {
  X509_EXTENSION *ext = st ? X509V3_EXT_i2d(nid, crit, st) : NULL;
  if (st) freefn(st);
  if (!ext) return bfail_ssl(L, what, "cannot encode the extension");
  if (!cb_ext_set(exts, ext)) {
    X509_EXTENSION_free(ext);
    return bfail(L, what, "%s", "out of memory");
  }
  return 1;
}

static void free_bc(void *p) { BASIC_CONSTRAINTS_free(p); }
static void free_bits(void *p) { ASN1_BIT_STRING_free(p); }
static void free_eku(void *p) { sk_ASN1_OBJECT_pop_free(p, ASN1_OBJECT_free); }
static void free_gens(void *p) { GENERAL_NAMES_free(p); }
static void free_octets(void *p) { ASN1_OCTET_STRING_free(p); }
static void free_akid(void *p) { AUTHORITY_KEYID_free(p); }
static void free_cdp(void *p) { CRL_DIST_POINTS_free(p); }
static void free_aia(void *p) { AUTHORITY_INFO_ACCESS_free(p); }
static void free_pol(void *p) { CERTIFICATEPOLICIES_free(p); }

/* field pushes opts[k]; returns its type (LUA_TNIL when absent) */
static int field(lua_State *L, int idx, const char *k) {
  return lua_getfield(L, idx, k);
}

static int crit_of(lua_State *L, int idx, const char *k, int def) {
  int t = lua_getfield(L, idx, k);
  int v = t == LUA_TNIL ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* list_string gets the i-th string of the list on the stack top, or NULL */
static const char *list_string(lua_State *L, lua_Integer i, size_t *len) {
  lua_geti(L, -1, i);
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, len) : NULL;
  lua_pop(L, 1); /* the list keeps the string alive */
  return s;
}

static ASN1_IA5STRING *ia5(const char *s, size_t len) {
  if (len > 65535) return NULL;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] > 0x7f) return NULL;
  ASN1_IA5STRING *a = ASN1_IA5STRING_new();
  if (a && !ASN1_STRING_set(a, s, (int)len)) {
    ASN1_IA5STRING_free(a);
    return NULL;
  }
  return a;
}

static GENERAL_NAME *uri_name(const char *s, size_t len) {
  ASN1_IA5STRING *v = ia5(s, len);
  GENERAL_NAME *gn = v ? GENERAL_NAME_new() : NULL;
  if (!gn) {
    ASN1_IA5STRING_free(v);
    return NULL;
  }
  GENERAL_NAME_set0_value(gn, GEN_URI, v);
  return gn;
}

static int build_bc(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what) {
  if (field(L, idx, "basic_constraints") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  int t = lua_gettop(L);
  BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
  if (!bc) return bfail(L, what, "%s", "out of memory");
  bc->ca = crit_of(L, t, "ca", 0) ? 0xff : 0;
  int crit = crit_of(L, t, "critical", 1);
  lua_getfield(L, t, "path_len");
  if (!lua_isnil(L, -1)) {
    int isnum;
    lua_Integer n = lua_tointegerx(L, -1, &isnum);
    if (!isnum || n < 0) {
      BASIC_CONSTRAINTS_free(bc);
      return bfail(L, what, "%s", "path_len must be a non-negative integer");
    }
    if (!bc->ca) {
      BASIC_CONSTRAINTS_free(bc);
      return bfail(L, what, "%s", "path_len needs ca = true (RFC 5280 4.2.1.9)");
    }
    bc->pathlen = ASN1_INTEGER_new();
    if (!bc->pathlen || !ASN1_INTEGER_set_uint64(bc->pathlen, (uint64_t)n)) {
      BASIC_CONSTRAINTS_free(bc);
      return bfail(L, what, "%s", "out of memory");
    }
  }
  lua_settop(L, t - 1);
  return put(L, what, exts, NID_basic_constraints, crit, bc, free_bc);
}

static int build_ku(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what) {
  if (field(L, idx, "key_usage") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();
  if (!bits) return bfail(L, what, "%s", "out of memory");
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    const char *s = list_string(L, i, &len);
    int bit = -1;
    for (int k = 0; s && k < 9; k++)
      if (!strcmp(s, ku_names[k])) bit = k;
    if (s && !strcmp(s, "contentCommitment")) bit = 1;
    if (bit < 0) {
      ASN1_BIT_STRING_free(bits);
      return bfail(L, what,
                   "unknown key usage '%s' (digitalSignature, nonRepudiation, keyEncipherment, "
                   "dataEncipherment, keyAgreement, keyCertSign, cRLSign, encipherOnly, "
                   "decipherOnly)",
                   s ? s : "?");
    }
    if (!ASN1_BIT_STRING_set_bit(bits, bit, 1)) {
      ASN1_BIT_STRING_free(bits);
      return bfail(L, what, "%s", "out of memory");
    }
  }
  lua_pop(L, 1);
  if (n == 0) {
    ASN1_BIT_STRING_free(bits);
    return bfail(L, what, "%s", "key_usage is an empty list");
  }
  return put(L, what, exts, NID_key_usage, crit_of(L, idx, "key_usage_critical", 1), bits,
             free_bits);
}

static int build_eku(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what) {
  if (field(L, idx, "eku") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
  if (!eku) return bfail(L, what, "%s", "out of memory");
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    const char *s = list_string(L, i, &len);
    ASN1_OBJECT *obj = s ? OBJ_txt2obj(s, 0) : NULL;
    if (!obj || !sk_ASN1_OBJECT_push(eku, obj)) {
      ERR_clear_error();
      ASN1_OBJECT_free(obj);
      free_eku(eku);
      return bfail(L, what, "unknown extended key usage '%s' (serverAuth, clientAuth, "
                   "codeSigning, emailProtection, timeStamping, OCSPSigning, or an OID)",
                   s ? s : "?");
    }
  }
  lua_pop(L, 1);
  if (n == 0) {
    free_eku(eku);
    return bfail(L, what, "%s", "eku is an empty list");
  }
  return put(L, what, exts, NID_ext_key_usage, crit_of(L, idx, "eku_critical", 0), eku, free_eku);
}

/* general_name builds one name from {type=, value=[, oid=][, name=]} on the stack top */
static GENERAL_NAME *general_name(lua_State *L, const char *what, int *failed) {
  int t = lua_gettop(L);
  size_t len;
  GENERAL_NAME *gn = NULL;
  *failed = 1;
  lua_getfield(L, t, "type");
  lua_getfield(L, t, "value");
  const char *type = lua_tostring(L, -2);
  const char *value = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
  if (!type) {
    bfail(L, what, "%s", "a subject alternative name needs a type");
    return NULL;
  }
  if (!strcmp(type, "DNS") || !strcmp(type, "email") || !strcmp(type, "URI")) {
    if (!value || len == 0) {
      bfail(L, what, "empty %s name", type);
      return NULL;
    }
    ASN1_IA5STRING *v = ia5(value, len);
    if (!v) {
      bfail(L, what, "%s name is not ASCII (use punycode for internationalized names)", type);
      return NULL;
    }
    if (!(gn = GENERAL_NAME_new())) {
      ASN1_IA5STRING_free(v);
      bfail(L, what, "%s", "out of memory");
      return NULL;
    }
    GENERAL_NAME_set0_value(gn, !strcmp(type, "DNS") ? GEN_DNS : !strcmp(type, "email") ? GEN_EMAIL : GEN_URI, v);
  } else if (!strcmp(type, "IP")) {
    ASN1_OCTET_STRING *ip = value ? a2i_IPADDRESS(value) : NULL;
    if (!ip) {
      ERR_clear_error();
      bfail(L, what, "'%s' is not an IPv4 or IPv6 address", value ? value : "?");
      return NULL;
    }
    if (!(gn = GENERAL_NAME_new())) {
      ASN1_OCTET_STRING_free(ip);
      bfail(L, what, "%s", "out of memory");
      return NULL;
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
  } else if (!strcmp(type, "RID")) {
    ASN1_OBJECT *obj = value ? OBJ_txt2obj(value, 0) : NULL;
    if (!obj || !(gn = GENERAL_NAME_new())) {
      ERR_clear_error();
      ASN1_OBJECT_free(obj);
      bfail(L, what, "'%s' is not an OID", value ? value : "?");
      return NULL;
    }
    GENERAL_NAME_set0_value(gn, GEN_RID, obj);
  } else if (!strcmp(type, "dirName")) {
    lua_getfield(L, t, "name");
    cb_name *box = luaL_testudata(L, -1, CB_NAME_MT);
    X509_NAME *n = box && box->p ? X509_NAME_dup(box->p) : NULL;
    if (!n || !(gn = GENERAL_NAME_new())) {
      X509_NAME_free(n);
      bfail(L, what, "%s", "a dirName needs a name");
      return NULL;
    }
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, n);
  } else if (!strcmp(type, "otherName")) {
    /* a UTF8String value, as the Microsoft UPN (1.3.6.1.4.1.311.20.2.3) has */
    lua_getfield(L, t, "oid");
    const char *oid = lua_tostring(L, -1);
    ASN1_OBJECT *obj = oid ? OBJ_txt2obj(oid, 0) : NULL;
    ASN1_UTF8STRING *s = value ? ASN1_UTF8STRING_new() : NULL;
    ASN1_TYPE *v = ASN1_TYPE_new();
    if (!obj || !s || !v || len > 65535 || !ASN1_STRING_set(s, value, (int)len) ||
        !(gn = GENERAL_NAME_new())) {
      ERR_clear_error();
      ASN1_OBJECT_free(obj);
      ASN1_UTF8STRING_free(s);
      ASN1_TYPE_free(v);
      bfail(L, what, "%s", "an otherName needs oid= and a string value=");
      return NULL;
    }
    ASN1_TYPE_set(v, V_ASN1_UTF8STRING, s);
    if (!GENERAL_NAME_set0_othername(gn, obj, v)) {
      GENERAL_NAME_free(gn);
      ASN1_OBJECT_free(obj);
      ASN1_TYPE_free(v);
      bfail(L, what, "%s", "out of memory");
      return NULL;
    }
  } else {
    bfail(L, what, "unknown subject alternative name type '%s' (DNS, IP, email, URI, RID, dirName, otherName)", type);
    return NULL;
  }
  lua_settop(L, t);
  *failed = 0;
  return gn;
}

static int build_san(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what) {
  if (field(L, idx, "san") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
  if (!gens) return bfail(L, what, "%s", "out of memory");
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, -1, i);
    if (!lua_istable(L, -1)) {
      free_gens(gens);
      return bfail(L, what, "%s", "san entries must be {type=, value=} tables");
    }
    int failed;
    GENERAL_NAME *gn = general_name(L, what, &failed);
    if (failed) {
      free_gens(gens);
      return 0;
    }
    if (!sk_GENERAL_NAME_push(gens, gn)) {
      GENERAL_NAME_free(gn);
      free_gens(gens);
      return bfail(L, what, "%s", "out of memory");
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (n == 0) {
    free_gens(gens);
    return 1; /* an empty list: no extension (RFC 5280 forbids an empty one) */
  }
  return put(L, what, exts, NID_subject_alt_name, crit_of(L, idx, "san_critical", 0), gens,
             free_gens);
}

/* put_keyid adds a subject or authority key identifier holding id[0..len) */
static int put_keyid(lua_State *L, STACK_OF(X509_EXTENSION) **exts, const char *what, int nid,
                     const uint8_t *id, size_t len) {
  ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
  if (!os || !ASN1_OCTET_STRING_set(os, id, (int)len)) {
    ASN1_OCTET_STRING_free(os);
    return bfail(L, what, "%s", "out of memory");
  }
  if (nid == NID_subject_key_identifier)
    return put(L, what, exts, nid, 0, os, free_octets);
  AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
  if (!akid) {
    ASN1_OCTET_STRING_free(os);
    return bfail(L, what, "%s", "out of memory");
  }
  akid->keyid = os;
  return put(L, what, exts, nid, 0, akid, free_akid);
}

static int build_cdp(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what) {
  if (field(L, idx, "crl_distribution_points") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  lua_Integer n = luaL_len(L, -1);
  if (n == 0) {
    lua_pop(L, 1);
    return 1;
  }
  CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
  if (!dps) return bfail(L, what, "%s", "out of memory");
  /* one distribution point per URL: each is a place to fetch the same CRL from */
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    const char *url = list_string(L, i, &len);
    DIST_POINT *dp = DIST_POINT_new();
    GENERAL_NAME *gn = url ? uri_name(url, len) : NULL;
    if (dp) dp->distpoint = DIST_POINT_NAME_new();
    if (dp && dp->distpoint) dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
    if (!url || !gn || !dp || !dp->distpoint || !dp->distpoint->name.fullname ||
        !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
      GENERAL_NAME_free(gn);
      DIST_POINT_free(dp);
      free_cdp(dps);
      return bfail(L, what, "bad CRL distribution point URL '%s' (a non-empty ASCII string)",
                   url ? url : "?");
    }
    dp->distpoint->type = 0;
    if (!sk_DIST_POINT_push(dps, dp)) {
      DIST_POINT_free(dp);
      free_cdp(dps);
      return bfail(L, what, "%s", "out of memory");
    }
  }
  lua_pop(L, 1);
  return put(L, what, exts, NID_crl_distribution_points, 0, dps, free_cdp);
}

static int add_access(lua_State *L, int idx, const char *k, int nid, AUTHORITY_INFO_ACCESS *aia,
                      const char *what) {
  if (field(L, idx, k) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    const char *url = list_string(L, i, &len);
    ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
    GENERAL_NAME *gn = url && len ? uri_name(url, len) : NULL;
    if (!ad || !gn) {
      ACCESS_DESCRIPTION_free(ad);
      GENERAL_NAME_free(gn);
      return bfail(L, what, "bad AIA URL '%s' (a non-empty ASCII string)", url ? url : "?");
    }
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(nid);
    GENERAL_NAME_free(ad->location);
    ad->location = gn;
    if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
      ACCESS_DESCRIPTION_free(ad);
      return bfail(L, what, "%s", "out of memory");
    }
  }
  lua_pop(L, 1);
  return 1;
}

static int build_aia(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what) {
  AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
  if (!aia) return bfail(L, what, "%s", "out of memory");
  if (!add_access(L, idx, "ocsp_urls", NID_ad_OCSP, aia, what) ||
      !add_access(L, idx, "ca_issuers_urls", NID_ad_ca_issuers, aia, what)) {
    free_aia(aia);
    return 0;
  }
  if (sk_ACCESS_DESCRIPTION_num(aia) == 0) {
    free_aia(aia);
    return 1;
  }
  return put(L, what, exts, NID_info_access, 0, aia, free_aia);
}

static int build_policies(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what) {
  if (field(L, idx, "policies") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  lua_Integer n = luaL_len(L, -1);
  CERTIFICATEPOLICIES *pol = sk_POLICYINFO_new_null();
  if (!pol) return bfail(L, what, "%s", "out of memory");
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    const char *oid = list_string(L, i, &len);
    ASN1_OBJECT *obj = oid ? OBJ_txt2obj(oid, 0) : NULL;
    POLICYINFO *pi = obj ? POLICYINFO_new() : NULL;
    if (!pi) {
      ERR_clear_error();
      ASN1_OBJECT_free(obj);
      free_pol(pol);
      return bfail(L, what, "bad policy OID '%s'", oid ? oid : "?");
    }
    ASN1_OBJECT_free(pi->policyid);
    pi->policyid = obj;
    if (!sk_POLICYINFO_push(pol, pi)) {
      POLICYINFO_free(pi);
      free_pol(pol);
      return bfail(L, what, "%s", "out of memory");
    }
  }
  lua_pop(L, 1);
  if (n == 0) {
    free_pol(pol);
    return 1;
  }
  return put(L, what, exts, NID_certificate_policies, crit_of(L, idx, "policies_critical", 0), pol,
             free_pol);
}

/* extensions = { {oid=, value_der=, critical=} | {name=, value=, critical=} } */
static int build_custom(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what,
                        X509V3_CTX *ctx) {
  if (field(L, idx, "extensions") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, -1, i);
    int t = lua_gettop(L);
    if (!lua_istable(L, t)) return bfail(L, what, "%s", "extensions entries must be tables");
    int crit = crit_of(L, t, "critical", 0);
    X509_EXTENSION *ext = NULL;
    lua_getfield(L, t, "oid");
    lua_getfield(L, t, "value_der");
    lua_getfield(L, t, "name");
    lua_getfield(L, t, "value");
    if (lua_type(L, t + 1) == LUA_TSTRING && lua_type(L, t + 2) == LUA_TSTRING) {
      size_t dlen;
      const char *der = lua_tolstring(L, t + 2, &dlen);
      const char *oid = lua_tostring(L, t + 1);
      ASN1_OBJECT *obj = OBJ_txt2obj(oid, 0);
      ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
      if (!obj || !os || dlen > 1000000 || !ASN1_OCTET_STRING_set(os, (const uint8_t *)der, (int)dlen)) {
        ERR_clear_error();
        ASN1_OBJECT_free(obj);
        ASN1_OCTET_STRING_free(os);
        return bfail(L, what, "bad extension OID '%s'", oid);
      }
      /* the value must be one DER element, or the certificate is unreadable */
      CBS cbs, elem;
      CBS_init(&cbs, (const uint8_t *)der, dlen);
      if (!CBS_get_any_asn1_element(&cbs, &elem, NULL, NULL) || CBS_len(&cbs) != 0) {
        ASN1_OBJECT_free(obj);
        ASN1_OCTET_STRING_free(os);
        return bfail(L, what, "the value_der of extension %s is not one DER element", oid);
      }
      ext = X509_EXTENSION_create_by_OBJ(NULL, obj, crit, os);
      ASN1_OBJECT_free(obj);
      ASN1_OCTET_STRING_free(os);
      if (!ext) return bfail_ssl(L, what, "cannot make the extension");
    } else if (lua_type(L, t + 3) == LUA_TSTRING && lua_type(L, t + 4) == LUA_TSTRING) {
      const char *name = lua_tostring(L, t + 3);
      lua_pushstring(L, crit ? "critical," : "");
      lua_pushvalue(L, t + 4);
      lua_concat(L, 2);
      const char *value = lua_tostring(L, -1);
      X509V3_CTX local;
      if (!ctx) {
        X509V3_set_ctx(&local, NULL, NULL, NULL, NULL, 0);
        ctx = &local;
      }
      ext = X509V3_EXT_nconf(NULL, ctx, name, value);
      if (!ext) {
        char msg[200];
        snprintf(msg, sizeof msg, "bad extension %s = %s", name, lua_tostring(L, t + 4));
        return bfail_ssl(L, what, msg);
      }
    } else {
      return bfail(L, what, "%s", "each of extensions needs oid= and value_der=, or name= and value=");
    }
    if (!cb_ext_set(exts, ext)) {
      X509_EXTENSION_free(ext);
      return bfail(L, what, "%s", "out of memory");
    }
    lua_settop(L, t - 1);
  }
  lua_pop(L, 1);
  return 1;
}

int cb_ext_build(lua_State *L, int idx, STACK_OF(X509_EXTENSION) **exts, const char *what,
                 const uint8_t *ski, size_t ski_len, const uint8_t *aki, size_t aki_len,
                 X509V3_CTX *ctx) {
  int top = lua_gettop(L);
  idx = lua_absindex(L, idx);
  lua_checkstack(L, 20);
  if (!build_bc(L, idx, exts, what) || !build_ku(L, idx, exts, what) ||
      !build_eku(L, idx, exts, what) || !build_san(L, idx, exts, what) ||
      (ski && !put_keyid(L, exts, what, NID_subject_key_identifier, ski, ski_len)) ||
      (aki && !put_keyid(L, exts, what, NID_authority_key_identifier, aki, aki_len)) ||
      !build_cdp(L, idx, exts, what) || !build_aia(L, idx, exts, what) ||
      !build_policies(L, idx, exts, what) || !build_custom(L, idx, exts, what, ctx)) {
    /* keep only nil, message */
    int n = lua_gettop(L);
    lua_rotate(L, top + 1, 2);
    lua_settop(L, top + 2);
    (void)n;
    return 0;
  }
  lua_settop(L, top);
  return 1;
}

void cb_push_algorithm(lua_State *L, const X509_ALGOR *alg) {
  const ASN1_OBJECT *obj;
  X509_ALGOR_get0(&obj, NULL, NULL, alg);
  int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) {
    lua_pushstring(L, OBJ_nid2ln(nid));
  } else {
    char buf[128];
    OBJ_obj2txt(buf, sizeof buf, obj, 1);
    lua_pushstring(L, buf);
  }
}
