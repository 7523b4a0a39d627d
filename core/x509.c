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
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ext.h"
#include "objects.h"
#include "pem.h"

/* --- loading ---------------------------------------------------------------------------------- */

static int is_cert_label(const cb_pem_block *b, int *trusted) {
  *trusted = cb_pem_label_is(b, "TRUSTED CERTIFICATE");
  return *trusted || cb_pem_label_is(b, "CERTIFICATE") || cb_pem_label_is(b, "X509 CERTIFICATE");
}

/* parse_der_cert parses one certificate of exactly len bytes. NULL with the queue set. */
static X509 *parse_der_cert(const uint8_t *p, size_t len, int trusted) {
  const uint8_t *q = p;
  X509 *x = trusted ? d2i_X509_AUX(NULL, &q, (long)len) : d2i_X509(NULL, &q, (long)len);
  return x;
}

/* add_cert stores x (owned) as the next result: into the list at list_idx, or alone */
static void add_cert(lua_State *L, X509 *x, int list_idx, int *count) {
  cb_push_x509(L, x);
  (*count)++;
  if (list_idx) lua_seti(L, list_idx, *count);
}

/* load_der parses consecutive DER certificates from p. Returns 1 with the results stored, or
 * pushes nil, message and returns 0. */
static int load_der(lua_State *L, const char *what, const uint8_t *p, size_t len, int all,
                    int list_idx, int *count, const char *form) {
  size_t off = 0;
  while (off < len) {
    size_t elen;
    int r = cb_der_check(p + off, len - off, &elen);
    if (r == 0) {
      cb_fail(L, "%s: truncated DER%s (the data ends inside certificate %d)", what, form,
              *count + 1);
      return 0;
    }
    if (r < 0) {
      if (*count > 0) {
        /* trailing bytes after a DER certificate: what a .cer with padding looks like */
        return 1;
      }
      cb_fail(L, "%s: no certificate in the data (neither PEM nor DER%s)", what, form);
      return 0;
    }
    X509 *x = parse_der_cert(p + off, elen, 0);
    if (!x) {
      char reason[256];
      cb_ssl_reason(reason, sizeof reason);
      if (*count == 0)
        cb_fail(L, "%s: DER data%s is not a certificate: %s", what, form, reason);
      else
        cb_fail(L, "%s: DER element %d%s is not a certificate: %s", what, *count + 1, form, reason);
      return 0;
    }
    add_cert(L, x, list_idx, count);
    off += elen;
    if (!all) return 1;
  }
  return 1;
}

/* load_pem walks the PEM blocks; certificates in any of the labels are kept, other blocks
 * (keys, CRLs) and text between blocks are skipped. */
static int load_pem(lua_State *L, const char *what, const char *data, size_t len, int all,
                    int list_idx, int *count) {
  size_t pos = 0;
  int nblocks = 0, r;
  cb_pem_block b;
  while ((r = cb_pem_next(data, len, &pos, &nblocks, &b)) != 0) {
    int trusted;
    if (!is_cert_label(&b, &trusted)) continue;
    if (r < 0) {
      cb_fail(L, "%s: PEM block %d (%s) has no END line", what, b.index, "CERTIFICATE");
      return 0;
    }
    uint8_t *der;
    size_t dlen;
    if (!cb_pem_decode(&b, &der, &dlen)) {
      cb_fail(L, "%s: bad base64 in PEM block %d", what, b.index);
      return 0;
    }
    size_t elen;
    int dr = cb_der_check(der, dlen, &elen);
    X509 *x = dr == 1 ? parse_der_cert(der, elen, trusted) : NULL;
    free(der);
    if (!x) {
      if (dr == 0) {
        cb_fail(L, "%s: truncated DER in PEM block %d", what, b.index);
      } else {
        char reason[256];
        cb_ssl_reason(reason, sizeof reason);
        cb_fail(L, "%s: PEM block %d is not a valid certificate: %s", what, b.index,
                reason[0] ? reason : "not DER");
      }
      ERR_clear_error();
      return 0;
    }
    add_cert(L, x, list_idx, count);
    if (!all) return 1;
  }
  if (*count == 0) {
    cb_pem_push_labels(L, data, len);
    const char *labels = lua_tostring(L, -1);
    if (labels[0])
      cb_fail(L, "%s: no certificate in the data (found %s)", what, labels);
    else
      cb_fail(L, "%s: no certificate in the data", what);
    return 0;
  }
  return 1;
}

/* load(data, all) -> cert | {certs} | nil, err */
static int do_load(lua_State *L, int all, const char *what) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len);
  int count = 0, list_idx = 0, ok;
  if (all) {
    lua_newtable(L);
    list_idx = lua_gettop(L);
  }
  size_t start = cb_skip_bom_space(data, len);
  if (start == len) return cb_fail(L, "%s: no certificate in the data (it is empty)", what);
  size_t elen;
  int is_der = (unsigned char)data[0] == 0x30 ? cb_der_check((const uint8_t *)data, len, &elen) : -1;
  /* 0x30 is also the digit '0': a text file starting with it is PEM, unless it is DER */
  if (is_der == 1 || (is_der == 0 && !cb_pem_looks_like(data, len))) {
    ok = load_der(L, what, (const uint8_t *)data, len, all, list_idx, &count, "");
  } else if (cb_pem_looks_like(data, len)) {
    ok = load_pem(L, what, data, len, all, list_idx, &count);
  } else {
    uint8_t *der;
    size_t dlen;
    if (cb_base64_armorless(data, len, &der, &dlen)) {
      /* the Lua string keeps the bytes alive while the certificates are parsed */
      lua_pushlstring(L, (const char *)der, dlen);
      free(der);
      const uint8_t *p = (const uint8_t *)lua_tostring(L, -1);
      ok = load_der(L, what, p, dlen, all, list_idx, &count, " (in base64 without PEM armor)");
    } else {
      return cb_fail(L, "%s: no certificate in the data (neither PEM nor DER)", what);
    }
  }
  if (!ok) return 2;
  if (all) lua_pushvalue(L, list_idx);
  return 1;
}

static int l_load(lua_State *L) {
  return do_load(L, 0, "x509.load");
}

static int l_load_all(lua_State *L) {
  return do_load(L, 1, "x509.load_all");
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
static int m_aki(lua_State *L) { return cb_ext_aki(L, EXTS(L), "x509:aki"); }
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

static int m_text(lua_State *L) {
  X509 *x = cb_check_x509(L, 1);
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio) return luaL_error(L, "out of memory");
  unsigned long nmflags = (XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  if (!X509_print_ex(bio, x, nmflags, 0)) {
    BIO_free(bio);
    return cb_fail_ssl(L, "x509:text");
  }
  cb_push_bio_text(L, bio);
  return 1;
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
      {"extensions", m_extensions},
      {"signature_algorithm", m_signature_algorithm},
      {"to_der", m_to_der},
      {"to_pem", m_to_pem},
      {"fingerprint", m_fingerprint},
      {"equals", m_equals},
      {"text", m_text},
      {NULL, NULL}};
  static const luaL_Reg metas[] = {{"__eq", m_eq}, {NULL, NULL}};
  static const luaL_Reg fns[] = {
      {"load", l_load}, {"load_all", l_load_all}, {"is_x509", l_is_x509}, {NULL, NULL}};
  cb_add_methods(L, CB_X509_MT, methods, metas);
  luaL_newlib(L, fns);
  luaL_getmetatable(L, CB_X509_MT);
  lua_setfield(L, -2, "_metatable");
  return 1;
}
