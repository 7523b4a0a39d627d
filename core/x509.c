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
#include "pem.h"

/* --- loading ---------------------------------------------------------------------------------- */

static const char *const cert_labels[] = {"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE",
                                          NULL};

static void *parse_cert(const uint8_t *der, size_t len, int label) {
  const uint8_t *q = der;
  /* a TRUSTED CERTIFICATE carries openssl's trust settings after the certificate */
  return label == 2 ? d2i_X509_AUX(NULL, &q, (long)len) : d2i_X509(NULL, &q, (long)len);
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

static int m_not_before(lua_State *L) {
  cb_push_time(L, X509_get0_notBefore(cb_check_x509(L, 1)));
  return 1;
}

static int m_not_after(lua_State *L) {
  cb_push_time(L, X509_get0_notAfter(cb_check_x509(L, 1)));
  return 1;
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

static void push_sigalg(lua_State *L, const X509_ALGOR *alg) {
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

static int m_signature_algorithm(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  const X509_ALGOR *alg;
  X509_get0_signature(NULL, &alg, x);
  push_sigalg(L, alg);
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
  unsigned long nm = (XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  unsigned long head = X509_FLAG_NO_PUBKEY | X509_FLAG_NO_EXTENSIONS | X509_FLAG_NO_SIGDUMP |
                       X509_FLAG_NO_AUX | X509_FLAG_NO_IDS;
  unsigned long tail = X509_FLAG_NO_HEADER | X509_FLAG_NO_VERSION | X509_FLAG_NO_SERIAL |
                       X509_FLAG_NO_SIGNAME | X509_FLAG_NO_ISSUER | X509_FLAG_NO_VALIDITY |
                       X509_FLAG_NO_SUBJECT | X509_FLAG_NO_PUBKEY | X509_FLAG_NO_AUX;
  int ok = X509_print_ex(bio, x, nm, head);
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

/* opt_udata returns the object of field k of the options table 1 (NULL when absent); raises when
 * it is of another type */
static void *opt_obj(lua_State *L, const char *k, const char *mt, int required) {
  lua_getfield(L, 1, k);
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

/* _new(opts) -> cert | nil, err. opts is normalized by x509.lua. */
static int l_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  /* everything that may raise comes before anything is allocated */
  X509_NAME *subject = opt_obj(L, "subject", CB_NAME_MT, 1);
  X509 *issuer = opt_obj(L, "issuer", CB_X509_MT, 0);
  EVP_PKEY *issuer_key = opt_obj(L, "issuer_key", CB_PKEY_MT, 1);
  EVP_PKEY *pub = opt_obj(L, "public_key", CB_PKEY_MT, 0);
  X509_REQ *csr = opt_obj(L, "csr", CB_CSR_MT, 0);
  const char *serial = cb_optfield_string(L, 1, "serial", NULL, NULL);
  const char *digest = cb_optfield_string(L, 1, "digest", "sha256", NULL);
  lua_Integer nb = cb_optfield_integer(L, 1, "not_before", 0);
  lua_Integer na = cb_optfield_integer(L, 1, "not_after", 0);
  int copy_ext = cb_optfield_boolean(L, 1, "copy_extensions", 0);
  int want_ski = cb_optfield_boolean(L, 1, "ski", 1);
  int want_aki = cb_optfield_boolean(L, 1, "aki", 1);
  if (na <= nb) return cb_fail(L, "x509.new: not_after must be later than not_before");

  const EVP_MD *md = NULL;
  if (EVP_PKEY_id(issuer_key) != EVP_PKEY_ED25519) {
    md = cb_md_by_name(digest);
    if (!md) return cb_fail(L, "x509.new: digest '%s' is not allowed (sha256, sha384, sha512, sha1)", digest);
  }
  if (issuer && X509_check_private_key(issuer, issuer_key) != 1) {
    ERR_clear_error();
    return cb_fail(L, "x509.new: issuer_key does not match the issuer certificate's public key");
  }

  cb_push_x509(L, X509_new());
  int box = lua_gettop(L);
  X509 *x = cb_check_x509(L, box);
  EVP_PKEY *csr_key = NULL;
  STACK_OF(X509_EXTENSION) *exts = NULL;

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
      !ASN1_TIME_adj(X509_getm_notAfter(x), (time_t)na, 0, 0) || !X509_set_pubkey(x, pub)) {
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
  if (!cb_ext_build(L, 1, &exts, "x509.new", want_ski ? ski : NULL, sizeof ski, aki, aki_len, &ctx))
    goto err;
  for (size_t i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++) {
    if (!X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1)) {
      cb_fail_ssl(L, "x509.new: cannot add an extension");
      goto err;
    }
  }
  if (!X509_sign(x, issuer_key, md)) {
    cb_fail_ssl(L, "x509.new: signing failed");
    goto err;
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  EVP_PKEY_free(csr_key);
  lua_settop(L, box);
  return 1;

err:
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  EVP_PKEY_free(csr_key);
  return 2; /* nil, message on top; the box is collected */
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
      {"_new", l_new},   {"_check_issued", l_check_issued}, {NULL, NULL}};
  cb_add_methods(L, CB_X509_MT, methods, metas);
  luaL_newlib(L, fns);
  luaL_getmetatable(L, CB_X509_MT);
  lua_setfield(L, -2, "_metatable");
  return 1;
}
