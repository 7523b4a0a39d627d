/* x509.c: `_certbench.x509`, certificates: loading from PEM (bundles with text between the
 * blocks), DER and armorless base64; every field; checks; creation and signing. Defaults and
 * the parsing of option shorthands (SAN strings, days) are in x509.lua. */
#include <string.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/obj.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ext.h"
#include "objects.h"
#include "par.h"
#include "pem.h"

/* --- loading ---------------------------------------------------------------------------------- */

static const char *const cert_labels[] = {"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE",
                                          NULL};

static void *parse_cert(const uint8_t *der, size_t len, int label) {
  const uint8_t *q = der;
  /* a TRUSTED CERTIFICATE carries openssl's trust settings after the certificate */
  X509 *x = label == 2 ? d2i_X509_AUX(NULL, &q, (long)len) : d2i_X509(NULL, &q, (long)len);
  /* BoringSSL does not check the validity's text: a certificate whose notAfter is no time
   * would reach every caller as a nil not_after() (show, pfx and vcs stopped on it) */
  if (x && !cb_x509_check_times(x, cb_load_why, sizeof cb_load_why)) {
    X509_free(x);
    return NULL;
  }
  return x;
}

static void push_cert(lua_State *L, void *x) { cb_push_x509(L, x); }

static const cb_loader cert_loader = {cert_labels, "certificate", parse_cert, push_cert};

static int l_load(lua_State *L) {
  return cb_load(L, &cert_loader, "x509.load", 0);
}

static int l_load_all(lua_State *L) {
  return cb_load(L, &cert_loader, "x509.load_all", 1);
}

/* --- fields ----------------------------------------------------------------------------------- */

static int m_version(lua_State *L) {
  lua_pushinteger(L, X509_get_version(cb_check_x509(L, 1)) + 1);
  return 1;
}

static int m_serial(lua_State *L) {
  cb_push_serial(L, X509_get0_serialNumber(cb_check_x509(L, 1)));
  return 1;
}

static int m_subject(lua_State *L) {
  cb_push_name_copy(L, X509_get_subject_name(cb_check_x509(L, 1)));
  return 1;
}

static int m_issuer(lua_State *L) {
  cb_push_name_copy(L, X509_get_issuer_name(cb_check_x509(L, 1)));
  return 1;
}

/* the loaders refuse a certificate whose validity is no time, but one from a TLS peer or an
 * OCSP response is taken as BoringSSL gives it: nil and the reason then */
static int push_validity(lua_State *L, const char *field, const ASN1_TIME *t) {
  char why[160];
  if (!cb_describe_bad_time(field, t, why, sizeof why)) {
    cb_push_time(L, t);
    return 1;
  }
  return cb_fail(L, "x509:%s: %s", field[3] == 'B' ? "not_before" : "not_after", why);
}

static int m_not_before(lua_State *L) {
  return push_validity(L, "notBefore", X509_get0_notBefore(cb_check_x509(L, 1)));
}

static int m_not_after(lua_State *L) {
  return push_validity(L, "notAfter", X509_get0_notAfter(cb_check_x509(L, 1)));
}

static int m_public_key(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  EVP_PKEY *k = X509_get_pubkey(x);
  if (!k) return cb_fail_ssl(L, "x509:public_key: unsupported or malformed key");
  cb_push_pkey(L, k);
  return 1;
}

/* the public key algorithm, as openssl names it ("rsaEncryption", "id-ecPublicKey") */
static int m_key_algorithm(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  ASN1_OBJECT *obj = NULL;
  X509_PUBKEY_get0_param(&obj, NULL, NULL, NULL, X509_get_X509_PUBKEY(x));
  char buf[128];
  int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) lua_pushstring(L, OBJ_nid2ln(nid));
  else {
    OBJ_obj2txt(buf, sizeof buf, obj, 1);
    lua_pushstring(L, buf);
  }
  return 1;
}

#define EXTS(L) X509_get0_extensions(cb_check_x509(L, 1))

static int m_san(lua_State *L) { return cb_ext_san(L, EXTS(L), "x509:san"); }
static int m_eku(lua_State *L) { return cb_ext_eku(L, EXTS(L), "x509:eku"); }
static int m_key_usage(lua_State *L) { return cb_ext_key_usage(L, EXTS(L), "x509:key_usage"); }
static int m_policies(lua_State *L) { return cb_ext_policies(L, EXTS(L), "x509:policies"); }
static int m_crl_dp(lua_State *L) {
  return cb_ext_crl_dp(L, EXTS(L), "x509:crl_distribution_points");
}
static int m_ocsp_urls(lua_State *L) {
  return cb_ext_aia(L, EXTS(L), NID_ad_OCSP, "x509:ocsp_urls");
}
static int m_ca_issuers_urls(lua_State *L) {
  return cb_ext_aia(L, EXTS(L), NID_ad_ca_issuers, "x509:ca_issuers_urls");
}
static int m_basic_constraints(lua_State *L) {
  return cb_ext_basic_constraints(L, EXTS(L), "x509:basic_constraints");
}
static int m_ski(lua_State *L) { return cb_ext_ski(L, EXTS(L), "x509:ski"); }
static int m_aki(lua_State *L) { return cb_ext_aki(L, EXTS(L), "x509:aki", 0); }
static int m_aki_info(lua_State *L) { return cb_ext_aki(L, EXTS(L), "x509:aki_info", 1); }
static int m_extensions(lua_State *L) { return cb_ext_list(L, EXTS(L)); }
static int m_name_constraints(lua_State *L) {
  return cb_ext_name_constraints(L, EXTS(L), "x509:name_constraints");
}

static int m_signature_algorithm(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  const X509_ALGOR *alg;
  X509_get0_signature(NULL, &alg, x);
  cb_push_algorithm(L, alg);
  return 1;
}

static int m_to_der(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  uint8_t *der = NULL;
  int len = i2d_X509(x, &der);
  if (len < 0) return cb_fail_ssl(L, "x509:to_der");
  lua_pushlstring(L, (const char *)der, (size_t)len);
  OPENSSL_free(der);
  return 1;
}

static int m_to_pem(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  uint8_t *der = NULL;
  int len = i2d_X509(x, &der);
  if (len < 0) return cb_fail_ssl(L, "x509:to_pem");
  /* no raise may happen while der is held: the buffer is copied first */
  lua_pushlstring(L, (const char *)der, (size_t)len);
  OPENSSL_free(der);
  size_t n;
  const uint8_t *p = (const uint8_t *)lua_tolstring(L, -1, &n);
  cb_push_pem(L, "CERTIFICATE", p, n);
  return 1;
}

/* c:fingerprint([alg]) -> "AB:CD:..." */
static int m_fingerprint(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  const char *alg = luaL_optstring(L, 2, "sha256");
  const EVP_MD *md = cb_md_by_name(alg);
  if (!md && !strcmp(alg, "md5")) md = EVP_md5(); /* a fingerprint, not a signature: fine */
  if (!md) return luaL_argerror(L, 2, "unknown digest (sha1, sha256, sha384, sha512, md5)");
  uint8_t buf[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!X509_digest(x, md, buf, &n)) return cb_fail_ssl(L, "x509:fingerprint");
  cb_push_hex(L, buf, n, ':');
  return 1;
}

static int m_equals(lua_State *L) {
  X509 *a = cb_check_x509(L, 1);
  X509 *b = cb_check_x509(L, 2);
  lua_pushboolean(L, X509_cmp(a, b) == 0);
  return 1;
}

static int m_eq(lua_State *L) {
  cb_x509 *a = luaL_testudata(L, 1, CB_X509_MT);
  cb_x509 *b = luaL_testudata(L, 2, CB_X509_MT);
  lua_pushboolean(L, a && b && a->p && b->p && X509_cmp(a->p, b->p) == 0);
  return 1;
}

/* c:text(): openssl x509 -text -noout, from BoringSSL's printer in three parts so that the public
 * key is printed the way openssl does (BoringSSL hex-dumps EC keys) */
static int m_text(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio) return luaL_error(L, "out of memory");
  unsigned long nm = CB_NAME_PRINT_FLAGS;
  /* the validity is printed here, not by X509_print_ex: BoringSSL's ASN1_TIME_print fails on a
   * time with an offset (+0100), which made the whole text nil; ours reads it (cb_der_time) and
   * prints it in UTC, as openssl does */
  unsigned long head = X509_FLAG_NO_VALIDITY | X509_FLAG_NO_SUBJECT | X509_FLAG_NO_PUBKEY |
                       X509_FLAG_NO_EXTENSIONS | X509_FLAG_NO_SIGDUMP | X509_FLAG_NO_AUX | X509_FLAG_NO_IDS;
  unsigned long subj = X509_FLAG_NO_HEADER | X509_FLAG_NO_VERSION | X509_FLAG_NO_SERIAL |
                       X509_FLAG_NO_SIGNAME | X509_FLAG_NO_ISSUER | X509_FLAG_NO_VALIDITY |
                       X509_FLAG_NO_PUBKEY | X509_FLAG_NO_EXTENSIONS | X509_FLAG_NO_SIGDUMP |
                       X509_FLAG_NO_AUX | X509_FLAG_NO_IDS;
  unsigned long tail = X509_FLAG_NO_HEADER | X509_FLAG_NO_VERSION | X509_FLAG_NO_SERIAL |
                       X509_FLAG_NO_SIGNAME | X509_FLAG_NO_ISSUER | X509_FLAG_NO_VALIDITY |
                       X509_FLAG_NO_SUBJECT | X509_FLAG_NO_PUBKEY | X509_FLAG_NO_AUX;
  int ok = X509_print_ex(bio, x, nm, head);
  if (ok) {
    int64_t nb, na;
    BIO_printf(bio, "        Validity\n            Not Before: ");
    if (cb_time_of(X509_get0_notBefore(x), &nb)) cb_bio_time(bio, nb);
    else BIO_printf(bio, "Bad time value");
    BIO_printf(bio, "\n            Not After : ");
    if (cb_time_of(X509_get0_notAfter(x), &na)) cb_bio_time(bio, na);
    else BIO_printf(bio, "Bad time value");
    BIO_printf(bio, "\n");
    ok = X509_print_ex(bio, x, nm, subj);
  }
  if (ok) {
    EVP_PKEY *k = X509_get_pubkey(x);
    ASN1_OBJECT *alg = NULL;
    X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, X509_get_X509_PUBKEY(x));
    char algname[128];
    int nid = OBJ_obj2nid(alg);
    if (nid != NID_undef) snprintf(algname, sizeof algname, "%s", OBJ_nid2ln(nid));
    else OBJ_obj2txt(algname, sizeof algname, alg, 1);
    BIO_printf(bio, "        Subject Public Key Info:\n            Public Key Algorithm: %s\n", algname);
    if (!k || !cb_print_pubkey(bio, k, 16)) BIO_printf(bio, "%16sUnable to load Public Key\n", "");
    EVP_PKEY_free(k);
    ERR_clear_error();
    ok = X509_print_ex(bio, x, nm, tail);
  }
  if (!ok) {
    BIO_free(bio);
    return cb_fail_ssl(L, "x509:text");
  }
  cb_push_bio_text(L, bio);
  return 1;
}

/* --- checks ----------------------------------------------------------------------------------- */

static int m_is_ca(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  lua_pushboolean(L, (X509_get_extension_flags(x) & EXFLAG_CA) != 0);
  return 1;
}

static int m_is_self_signed(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  int ok = 0;
  if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0) {
    EVP_PKEY *k = X509_get_pubkey(x);
    ok = k && X509_verify(x, k) == 1;
    EVP_PKEY_free(k);
  }
  ERR_clear_error();
  lua_pushboolean(L, ok);
  return 1;
}

/* c:verify_signature(issuer_cert_or_key) -> true | false, reason */
static int m_verify_signature(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  EVP_PKEY *k = NULL;
  ERR_clear_error(); /* the reason given must be this check's, not a stale one */
  X509 *issuer = cb_test_x509(L, 2);
  if (issuer) {
    k = X509_get_pubkey(issuer);
    if (!k) {
      lua_pushboolean(L, 0);
      char reason[256];
      cb_ssl_reason(reason, sizeof reason);
      lua_pushfstring(L, "x509:verify_signature: the issuer's public key is unusable: %s", reason);
      return 2;
    }
  } else {
    if (!luaL_testudata(L, 2, CB_PKEY_MT))
      return luaL_typeerror(L, 2, "certbench.x509 or certbench.pkey");
    k = cb_check_pkey(L, 2);
    EVP_PKEY_up_ref(k);
  }
  int r = X509_verify(x, k);
  EVP_PKEY_free(k);
  if (r == 1) {
    ERR_clear_error();
    lua_pushboolean(L, 1);
    return 1;
  }
  char reason[256];
  cb_ssl_reason(reason, sizeof reason);
  lua_pushboolean(L, 0);
  lua_pushfstring(L, "x509:verify_signature: %s", reason[0] ? reason : "bad signature");
  return 2;
}

/* _check_issued(issuer, subject) -> true | false, reason (name chaining, AKI/SKI, and the
 * issuer's keyUsage allowing keyCertSign) */
static int l_check_issued(lua_State *L) {
  X509 *issuer = cb_check_x509(L, 1);
  X509 *subject = cb_check_x509(L, 2);
  int r = X509_check_issued(issuer, subject);
  ERR_clear_error();
  if (r == X509_V_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_pushstring(L, X509_verify_cert_error_string(r));
  return 2;
}

/* c:_check_host(name, never_subject) -> true | false[, err] */
static int m_check_host(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  size_t len;
  const char *name = luaL_checklstring(L, 2, &len);
  unsigned flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
  if (lua_toboolean(L, 3)) flags |= X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
  int r = X509_check_host(x, name, len, flags, NULL);
  ERR_clear_error();
  lua_pushboolean(L, r == 1);
  if (r < 0) {
    lua_pushfstring(L, "x509:check_host: '%s' is not a usable host name", name);
    return 2;
  }
  return 1;
}

static int m_check_ip(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  const char *ip = luaL_checkstring(L, 2);
  int r = X509_check_ip_asc(x, ip, 0);
  ERR_clear_error();
  lua_pushboolean(L, r == 1);
  if (r < 0) {
    lua_pushfstring(L, "x509:check_ip: '%s' is not an IPv4 or IPv6 address", ip);
    return 2;
  }
  return 1;
}

static int m_check_email(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  size_t len;
  const char *email = luaL_checklstring(L, 2, &len);
  int r = X509_check_email(x, email, len, 0);
  ERR_clear_error();
  lua_pushboolean(L, r == 1);
  if (r < 0) {
    lua_pushfstring(L, "x509:check_email: '%s' is not a usable address", email);
    return 2;
  }
  return 1;
}

/* --- creation --------------------------------------------------------------------------------- */

/* opt_obj returns the object of field k of the options table at idx (NULL when absent); raises
 * when it is of another type */
static void *opt_obj(lua_State *L, int idx, const char *k, const char *mt, int required) {
  lua_getfield(L, idx, k);
  void *p = NULL;
  if (!lua_isnil(L, -1)) {
    void **box = luaL_testudata(L, -1, mt);
    if (!box) luaL_error(L, "x509.new: option '%s' must be a %s, not %s", k, mt, luaL_typename(L, -1));
    if (!*box) luaL_error(L, "x509.new: option '%s': attempt to use a closed object", k);
    p = *box;
  } else if (required) {
    luaL_error(L, "x509.new: option '%s' is required", k);
  }
  lua_pop(L, 1); /* the options table keeps it alive */
  return p;
}

static int set_serial(X509 *x, const char *hex) {
  BIGNUM *bn = NULL;
  int ok = 0;
  if (hex) {
    if (!BN_hex2bn(&bn, hex)) return 0;
  } else {
    /* 16 random bytes, positive, without a leading zero byte (always 16 octets of DER) */
    uint8_t r[16];
    RAND_bytes(r, sizeof r);
    r[0] &= 0x7f;
    if (r[0] == 0) r[0] = 0x01;
    bn = BN_bin2bn(r, sizeof r, NULL);
  }
  if (bn && !BN_is_negative(bn) && !BN_is_zero(bn) && BN_num_bytes(bn) <= 20) {
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    ok = ai && X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
  }
  BN_free(bn);
  return ok;
}

/* dup_param copies an AlgorithmIdentifier parameter in the form X509_ALGOR_set0 takes; 0 for a
 * kind it does not copy */
static int dup_param(int type, const void *val, void **out) {
  *out = NULL;
  switch (type) {
    case V_ASN1_UNDEF:
    case V_ASN1_NULL:
      return 1;
    case V_ASN1_OBJECT:
      *out = OBJ_dup(val);
      return *out != NULL;
    case V_ASN1_BOOLEAN:
      return 0;
    default: /* the string kinds, SEQUENCE included */
      *out = ASN1_STRING_dup(val);
      return *out != NULL;
  }
}

static void free_param(int type, void *val) {
  if (type == V_ASN1_OBJECT) ASN1_OBJECT_free(val);
  else if (val) ASN1_STRING_free(val);
}

/* copy_req_spki gives x the request's SubjectPublicKeyInfo as the request encodes it, instead of
 * X509_set_pubkey's decode and re-encode of the key: for an EC key the re-encoding costs a field
 * inversion, a quarter of the time of signing. Returns 1, or 0 (error queue cleared) when the
 * request's encoding has a form this does not copy; the caller then sets the key as usual. */
static int copy_req_spki(X509 *x, X509_REQ *req) {
  uint8_t *der = NULL;
  int len = i2d_X509_REQ(req, &der); /* the encoding the request was parsed from, cached */
  if (len <= 0) {
    ERR_clear_error();
    return 0;
  }
  int ok = 0;
  CBS cbs, outer, info, spki, alg_der, bits;
  X509_ALGOR *alg = NULL;
  CBS_init(&cbs, der, (size_t)len);
  if (CBS_get_asn1(&cbs, &outer, CBS_ASN1_SEQUENCE) && CBS_get_asn1(&outer, &info, CBS_ASN1_SEQUENCE) &&
      CBS_get_asn1(&info, NULL, CBS_ASN1_INTEGER) && CBS_get_asn1(&info, NULL, CBS_ASN1_SEQUENCE) &&
      CBS_get_asn1(&info, &spki, CBS_ASN1_SEQUENCE) &&
      CBS_get_asn1_element(&spki, &alg_der, CBS_ASN1_SEQUENCE) &&
      CBS_get_asn1(&spki, &bits, CBS_ASN1_BITSTRING) && CBS_len(&spki) == 0 && CBS_len(&bits) > 1 &&
      CBS_data(&bits)[0] == 0 /* whole bytes */) {
    const uint8_t *p = CBS_data(&alg_der);
    alg = d2i_X509_ALGOR(NULL, &p, (long)CBS_len(&alg_der));
  }
  if (alg) {
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    void *param = NULL;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    ASN1_OBJECT *o = OBJ_dup(obj);
    uint8_t *key = OPENSSL_memdup(CBS_data(&bits) + 1, CBS_len(&bits) - 1);
    if (o && key && dup_param(ptype, pval, &param) &&
        X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), o, ptype, param, key, (int)CBS_len(&bits) - 1)) {
      ok = 1;
    } else {
      ASN1_OBJECT_free(o);
      OPENSSL_free(key);
      free_param(ptype, param);
    }
    X509_ALGOR_free(alg);
  }
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

/* A batch checks that the issuer key matches the issuer certificate once per pair. */
typedef struct {
  X509 *issuer;
  EVP_PKEY *key;
} key_check;

/* build fills x, an empty certificate the caller owns, from the options table at idx
 * (normalized by x509.lua): everything but the signature. Returns 1 with the signing key
 * (borrowed from the options) and digest in *key_out and *md_out, or pushes nil, message and
 * returns 0. Raises for options of the wrong type. checked: NULL, or the pair last checked. */
static int build(lua_State *L, int idx, X509 *x, EVP_PKEY **key_out, const EVP_MD **md_out,
                 key_check *checked) {
  X509_NAME *subject = opt_obj(L, idx, "subject", CB_NAME_MT, 1);
  X509 *issuer = opt_obj(L, idx, "issuer", CB_X509_MT, 0);
  EVP_PKEY *issuer_key = opt_obj(L, idx, "issuer_key", CB_PKEY_MT, 1);
  EVP_PKEY *pub = opt_obj(L, idx, "public_key", CB_PKEY_MT, 0);
  X509_REQ *csr = opt_obj(L, idx, "csr", CB_CSR_MT, 0);
  const char *serial = cb_optfield_string(L, idx, "serial", NULL, NULL);
  const char *digest = cb_optfield_string(L, idx, "digest", "sha256", NULL);
  lua_Integer nb = cb_optfield_integer(L, idx, "not_before", 0);
  lua_Integer na = cb_optfield_integer(L, idx, "not_after", 0);
  int copy_ext = cb_optfield_boolean(L, idx, "copy_extensions", 0);
  int want_ski = cb_optfield_boolean(L, idx, "ski", 1);
  int want_aki = cb_optfield_boolean(L, idx, "aki", 1);
  if (na <= nb) {
    cb_fail(L, "x509.new: not_after must be later than not_before");
    return 0;
  }

  const EVP_MD *md = NULL;
  if (EVP_PKEY_id(issuer_key) != EVP_PKEY_ED25519) {
    md = cb_md_by_name(digest);
    if (!md) {
      cb_fail(L, "x509.new: digest '%s' is not allowed (sha256, sha384, sha512, sha1)", digest);
      return 0;
    }
  }
  if (issuer && !(checked && checked->issuer == issuer && checked->key == issuer_key)) {
    if (X509_check_private_key(issuer, issuer_key) != 1) {
      ERR_clear_error();
      cb_fail(L, "x509.new: issuer_key does not match the issuer certificate's public key");
      return 0;
    }
    if (checked) {
      checked->issuer = issuer;
      checked->key = issuer_key;
    }
  }

  EVP_PKEY *csr_key = NULL;
  STACK_OF(X509_EXTENSION) *exts = NULL;
  int ok = 0;
  if (csr) {
    csr_key = X509_REQ_get_pubkey(csr);
    if (!csr_key) {
      cb_fail_ssl(L, "x509.new: the request's public key is unusable");
      goto err;
    }
    if (!pub) pub = csr_key;
    if (copy_ext) exts = X509_REQ_get_extensions(csr);
    ERR_clear_error();
  }
  if (!pub) {
    if (issuer) {
      cb_fail(L, "x509.new: public_key (or csr) is needed when the issuer is another certificate");
      goto err;
    }
    pub = issuer_key; /* self-signed: the key signs its own certificate */
  }
  if (!issuer && EVP_PKEY_cmp(pub, issuer_key) != 1) {
    ERR_clear_error();
    cb_fail(L, "x509.new: a self-signed certificate's public key must be the issuer_key's");
    goto err;
  }
  if (!X509_set_version(x, X509_VERSION_3) || !set_serial(x, serial)) {
    cb_fail(L, "x509.new: bad serial '%s' (positive hex, at most 20 bytes)", serial ? serial : "");
    ERR_clear_error();
    goto err;
  }
  if (!X509_set_subject_name(x, subject) ||
      !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) ||
      !ASN1_TIME_adj(X509_getm_notBefore(x), (time_t)nb, 0, 0) ||
      !ASN1_TIME_adj(X509_getm_notAfter(x), (time_t)na, 0, 0) ||
      !((pub == csr_key && copy_req_spki(x, csr)) || X509_set_pubkey(x, pub))) {
    cb_fail_ssl(L, "x509.new");
    goto err;
  }
  /* SKI: SHA-1 of the subjectPublicKey bits just encoded (RFC 5280 4.2.1.2 method 1), without
   * encoding the key a second time; AKI: the issuer's SKI (ours when self-signed), else the
   * same hash of the issuer's key */
  uint8_t ski[SHA_DIGEST_LENGTH], issuer_id[SHA_DIGEST_LENGTH];
  const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(x);
  if (!bits || !SHA1(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), ski)) {
    cb_fail_ssl(L, "x509.new: cannot compute the subject key identifier");
    goto err;
  }
  const uint8_t *aki = NULL;
  size_t aki_len = 0;
  if (want_aki) {
    const ASN1_OCTET_STRING *issuer_ski = issuer ? X509_get0_subject_key_id(issuer) : NULL;
    if (!issuer) {
      aki = ski;
      aki_len = sizeof ski;
    } else if (issuer_ski) {
      aki = ASN1_STRING_get0_data(issuer_ski);
      aki_len = (size_t)ASN1_STRING_length(issuer_ski);
    } else if (cb_ski_of(issuer_key, issuer_id)) {
      aki = issuer_id;
      aki_len = sizeof issuer_id;
    }
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
  if (!cb_ext_build(L, idx, &exts, "x509.new", want_ski ? ski : NULL, sizeof ski, aki, aki_len, &ctx))
    goto err;
  for (size_t i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++) {
    if (!X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1)) {
      cb_fail_ssl(L, "x509.new: cannot add an extension");
      goto err;
    }
  }
  *key_out = issuer_key;
  *md_out = md;
  ok = 1;
err:
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  EVP_PKEY_free(csr_key);
  return ok; /* on failure nil, message are on top */
}

/* _new(opts) -> cert | nil, err. opts is normalized by x509.lua. */
static int l_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  cb_push_x509(L, X509_new());
  int box = lua_gettop(L);
  X509 *x = cb_check_x509(L, box);
  EVP_PKEY *key;
  const EVP_MD *md;
  if (!build(L, 1, x, &key, &md, NULL)) return 2; /* the box is collected */
  if (!X509_sign(x, key, md)) return cb_fail_ssl(L, "x509.new: signing failed");
  lua_settop(L, box);
  return 1;
}

/* --- creating a batch --------------------------------------------------------------------------
 * The calling thread builds each certificate from its Lua options (nothing of Lua is touched
 * elsewhere) and hands it to the helpers of core/lib/par.h as soon as it is built; they sign it and
 * encode its PEM. The signing keys are shared read-only, which BoringSSL allows (an EC or
 * Ed25519 key is not mutated by signing; RSA's blinding and Montgomery caches take its lock). */
#define NJOB_MT "certbench.x509.new_job"

typedef struct {
  X509 *x;       /* owned until pushed */
  EVP_PKEY *key; /* a reference of its own */
  const EVP_MD *md;
  char *pem; /* malloc'd */
  size_t pem_len;
  int ok;
  char err[320];
} nitem;

typedef struct {
  cb_par par;
  nitem *items;
  size_t n;
  int want_pem;
} njob;

static int njob_close(lua_State *L) {
  njob *j = luaL_checkudata(L, 1, NJOB_MT);
  cb_par_cancel(&j->par);
  for (size_t i = 0; j->items && i < j->n; i++) {
    X509_free(j->items[i].x);
    EVP_PKEY_free(j->items[i].key);
    free(j->items[i].pem);
  }
  free(j->items);
  j->items = NULL;
  j->n = 0;
  return 0;
}

static void sign_item(void *ctx, size_t i) {
  njob *j = ctx;
  nitem *it = &j->items[i];
  if (!it->x) return;
  if (!X509_sign(it->x, it->key, it->md)) {
    char reason[256];
    cb_ssl_reason(reason, sizeof reason);
    snprintf(it->err, sizeof it->err, "x509.new: signing failed: %s", reason[0] ? reason : "failed");
    return;
  }
  it->ok = 1;
  if (j->want_pem) {
    uint8_t *der = NULL;
    int len = i2d_X509(it->x, &der);
    if (len > 0 && (it->pem = malloc(cb_pem_len("CERTIFICATE", (size_t)len))) != NULL)
      it->pem_len = cb_pem_encode(it->pem, "CERTIFICATE", der, (size_t)len);
    OPENSSL_free(der);
  }
  ERR_clear_error();
}

/* _new_many(list, pem) -> certs, errs, pems: list[i] is options as _new takes them, or false (an
 * item the wrapper already refused: certs[i] = false, nothing in errs). certs[i] = cert | false,
 * errs[i] = the message of a failed item, pems[i] = the PEM text when pem is true. */
static int l_new_many(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int want_pem = lua_toboolean(L, 2);
  lua_Integer n = luaL_len(L, 1);
  njob *j = cb_newudata(L, sizeof *j, NJOB_MT);
  lua_toclose(L, lua_gettop(L)); /* an error raised below stops the helpers first */
  if (n > 0) {
    j->items = calloc((size_t)n, sizeof *j->items);
    if (!j->items) return luaL_error(L, "x509.new_many: out of memory");
    j->n = (size_t)n;
  }
  j->want_pem = want_pem;
  lua_createtable(L, (int)n, 0);
  int certs = lua_gettop(L);
  lua_createtable(L, 0, 0);
  int errs = lua_gettop(L);
  lua_createtable(L, want_pem ? (int)n : 0, 0);
  int pems = lua_gettop(L);
  key_check checked = {NULL, NULL};
  cb_par_start(&j->par, j->n, sign_item, j, CB_PAR_SYNC);
  for (lua_Integer i = 0; i < n; i++) {
    nitem *it = &j->items[i];
    int t = lua_geti(L, 1, i + 1);
    int o = lua_gettop(L);
    if (t == LUA_TTABLE) {
      it->x = X509_new();
      if (!it->x) return luaL_error(L, "x509.new_many: out of memory");
      EVP_PKEY *key;
      if (build(L, o, it->x, &key, &it->md, &checked)) {
        EVP_PKEY_up_ref(key);
        it->key = key;
      } else {
        lua_seti(L, errs, i + 1);
        X509_free(it->x);
        it->x = NULL;
      }
    } else if (t != LUA_TBOOLEAN || lua_toboolean(L, o)) {
      return luaL_error(L, "x509.new_many: item %d must be an options table or false", (int)(i + 1));
    }
    lua_settop(L, o - 1);
    cb_par_publish(&j->par, (size_t)i + 1);
  }
  cb_par_finish(&j->par);
  for (lua_Integer i = 0; i < n; i++) {
    nitem *it = &j->items[i];
    if (it->ok) {
      if (want_pem) {
        if (it->pem) lua_pushlstring(L, it->pem, it->pem_len);
        else {
          uint8_t *der = NULL;
          int len = i2d_X509(it->x, &der);
          if (len <= 0) return luaL_error(L, "x509.new_many: out of memory");
          lua_pushlstring(L, (const char *)der, (size_t)len);
          OPENSSL_free(der);
          size_t dl;
          const uint8_t *d = (const uint8_t *)lua_tolstring(L, -1, &dl);
          cb_push_pem(L, "CERTIFICATE", d, dl);
          lua_remove(L, -2);
        }
        lua_seti(L, pems, i + 1);
        free(it->pem);
        it->pem = NULL;
      }
      X509 *x = it->x;
      it->x = NULL;
      cb_push_x509(L, x);
    } else {
      if (it->x) {
        lua_pushstring(L, it->err);
        lua_seti(L, errs, i + 1);
      }
      lua_pushboolean(L, 0);
    }
    lua_seti(L, certs, i + 1);
  }
  return 3;
}

static int l_is_x509(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, CB_X509_MT) != NULL);
  return 1;
}

int luaopen__certbench_x509(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"version", m_version},
      {"serial", m_serial},
      {"subject", m_subject},
      {"issuer", m_issuer},
      {"not_before", m_not_before},
      {"not_after", m_not_after},
      {"public_key", m_public_key},
      {"key_algorithm", m_key_algorithm},
      {"_san", m_san},
      {"eku", m_eku},
      {"key_usage", m_key_usage},
      {"policies", m_policies},
      {"crl_distribution_points", m_crl_dp},
      {"ocsp_urls", m_ocsp_urls},
      {"ca_issuers_urls", m_ca_issuers_urls},
      {"basic_constraints", m_basic_constraints},
      {"ski", m_ski},
      {"aki", m_aki},
      {"aki_info", m_aki_info},
      {"extensions", m_extensions},
      {"name_constraints", m_name_constraints},
      {"signature_algorithm", m_signature_algorithm},
      {"to_der", m_to_der},
      {"to_pem", m_to_pem},
      {"fingerprint", m_fingerprint},
      {"equals", m_equals},
      {"_text", m_text},
      {"is_ca", m_is_ca},
      {"is_self_signed", m_is_self_signed},
      {"verify_signature", m_verify_signature},
      {"_check_host", m_check_host},
      {"check_ip", m_check_ip},
      {"check_email", m_check_email},
      {NULL, NULL}};
  static const luaL_Reg metas[] = {{"__eq", m_eq}, {NULL, NULL}};
  static const luaL_Reg fns[] = {
      {"load", l_load}, {"load_all", l_load_all}, {"is_x509", l_is_x509},
      {"_new", l_new},   {"_new_many", l_new_many}, {"_check_issued", l_check_issued},
      {NULL, NULL}};
  static const luaL_Reg njob_metas[] = {{"__gc", njob_close}, {"__close", njob_close}, {NULL, NULL}};
  cb_newclass(L, NJOB_MT, NULL, njob_metas);
  cb_add_methods(L, CB_X509_MT, methods, metas);
  luaL_newlib(L, fns);
  luaL_getmetatable(L, CB_X509_MT);
  lua_setfield(L, -2, "_metatable");
  return 1;
}
