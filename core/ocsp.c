/* ocsp.c: `_certbench.ocsp`, RFC 6960 OCSP messages. BoringSSL has no OCSP API, so requests are
 * built with CBB and requests and responses are read with CBS, strictly as DER (definite,
 * minimal lengths): the signature covers the bytes as sent, so nothing is re-encoded.
 *
 * The C side only encodes, decodes and checks one signature; what a response means (which
 * certificate may sign it, CertID matching, times, nonces) is policy, in core/ocsp.lua. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/base64.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/x509.h>

#include "cb.h"
#include "crlengine.h"
#include "digest.h"
#include "objects.h"

#define TAG_CTX(n) (CBS_ASN1_CONTEXT_SPECIFIC | (n))
#define TAG_CTXC(n) (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | (n))

/* the CertID hash algorithms: RFC 6960 names SHA-1, RFC 5019 profiles allow SHA-256 and up */
static const struct {
  const char *name;
  int nid;
} hashes[] = {{"sha1", NID_sha1}, {"sha256", NID_sha256}, {"sha384", NID_sha384},
              {"sha512", NID_sha512}, {"sha224", NID_sha224}};

static int hash_nid(const char *name) {
  for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
    if (!strcmp(hashes[i].name, name)) return hashes[i].nid;
  return NID_undef;
}

static const char *hash_name(int nid) {
  for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
    if (hashes[i].nid == nid) return hashes[i].name;
  return NULL;
}

static int check_hash(lua_State *L, int idx) {
  const char *name = luaL_optstring(L, idx, "sha1");
  int nid = hash_nid(name);
  if (nid == NID_undef)
    luaL_argerror(L, idx, lua_pushfstring(L, "unknown CertID digest '%s' (sha1, sha256, sha384, sha512)", name));
  return nid;
}

/* ---- CertID --------------------------------------------------------------------------- */

/* name_and_key_hash hashes the issuer's subject name (DER) and its subjectPublicKey bits. */
static int name_and_key_hash(X509 *issuer, const EVP_MD *md, uint8_t *nh, uint8_t *kh,
                             unsigned *hlen) {
  uint8_t *der = NULL;
  int n = i2d_X509_NAME(X509_get_subject_name(issuer), &der);
  if (n < 0) return 0;
  int ok = EVP_Digest(der, (size_t)n, nh, hlen, md, NULL);
  OPENSSL_free(der);
  const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(issuer);
  if (!ok || !bits) return 0;
  return EVP_Digest(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), kh, hlen, md,
                    NULL);
}

/* add_serial writes the INTEGER of a certificate's serial, or of a hex serial. */
static int add_serial(lua_State *L, CBB *cbb, int idx) {
  X509 *cert = cb_test_x509(L, idx);
  if (cert) {
    uint8_t *der = NULL;
    int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der);
    if (n < 0) return 0;
    int ok = CBB_add_bytes(cbb, der, (size_t)n);
    OPENSSL_free(der);
    return ok;
  }
  size_t len;
  const char *hex = lua_tolstring(L, idx, &len);
  uint8_t *buf = malloc(len / 2 + 3);
  if (!buf) return 0;
  size_t n = cb_crl_serial_from_hex(hex, len, buf);
  CBB child;
  int ok = n > 0 && CBB_add_asn1(cbb, &child, CBS_ASN1_INTEGER) && CBB_add_bytes(&child, buf, n) &&
           CBB_flush(cbb);
  free(buf);
  return ok;
}

/* cert_id(issuer, cert_or_hex_serial[, digest="sha1"]) -> CertID DER */
static int l_cert_id(lua_State *L) {
  X509 *issuer = cb_check_x509(L, 1);
  if (!cb_test_x509(L, 2)) {
    size_t len;
    const char *hex = luaL_checklstring(L, 2, &len);
    int ok = len > 0 && len <= 80;
    for (size_t i = (len && hex[0] == '-') ? 1 : 0; ok && i < len; i++)
      ok = (hex[i] >= '0' && hex[i] <= '9') || ((hex[i] | 0x20) >= 'a' && (hex[i] | 0x20) <= 'f');
    if (!ok) return luaL_argerror(L, 2, "a certificate or a hexadecimal serial expected");
  } else {
    cb_check_x509(L, 2); /* a closed one raises */
  }
  int nid = check_hash(L, 3);
  const EVP_MD *md = EVP_get_digestbynid(nid);
  uint8_t nh[EVP_MAX_MD_SIZE], kh[EVP_MAX_MD_SIZE];
  unsigned hlen = 0;
  if (!name_and_key_hash(issuer, md, nh, kh, &hlen)) return cb_fail_ssl(L, "ocsp.cert_id");
  CBB cbb, id, alg, null;
  uint8_t *out = NULL;
  size_t outlen;
  if (!CBB_init(&cbb, 128) || !CBB_add_asn1(&cbb, &id, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&id, &alg, CBS_ASN1_SEQUENCE) || !OBJ_nid2cbb(&alg, nid) ||
      /* NULL parameters, as openssl writes them and most responders expect */
      !CBB_add_asn1(&alg, &null, CBS_ASN1_NULL) || !CBB_flush(&id) ||
      !CBB_add_asn1_octet_string(&id, nh, hlen) || !CBB_add_asn1_octet_string(&id, kh, hlen) ||
      !add_serial(L, &id, 2) || !CBB_finish(&cbb, &out, &outlen)) {
    CBB_cleanup(&cbb);
    return cb_fail_ssl(L, "ocsp.cert_id");
  }
  lua_pushlstring(L, (const char *)out, outlen);
  OPENSSL_free(out);
  return 1;
}

/* key_hash(cert[, digest="sha1"]) -> the hash of the certificate's subjectPublicKey bits (a
 * ResponderID byKey is its SHA-1) */
static int l_key_hash(lua_State *L) {
  X509 *cert = cb_check_x509(L, 1);
  const EVP_MD *md = EVP_get_digestbynid(check_hash(L, 2));
  const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(cert);
  uint8_t h[EVP_MAX_MD_SIZE];
  unsigned hlen;
  if (!bits || !EVP_Digest(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), h, &hlen,
                           md, NULL))
    return cb_fail_ssl(L, "ocsp.key_hash");
  lua_pushlstring(L, (const char *)h, hlen);
  return 1;
}

/* ---- requests ------------------------------------------------------------------------- */

/* add_extensions writes [tag] EXPLICIT Extensions with the nonce extension. The nonce's value
 * is the DER of an OCTET STRING (RFC 8954), as openssl sends it. */
static int add_nonce_ext(CBB *parent, unsigned tag, const uint8_t *nonce, size_t len) {
  CBB wrap, exts, ext, val, inner;
  return CBB_add_asn1(parent, &wrap, tag) && CBB_add_asn1(&wrap, &exts, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) &&
         OBJ_nid2cbb(&ext, NID_id_pkix_OCSP_Nonce) &&
         CBB_add_asn1(&ext, &val, CBS_ASN1_OCTETSTRING) &&
         CBB_add_asn1(&val, &inner, CBS_ASN1_OCTETSTRING) && CBB_add_bytes(&inner, nonce, len) &&
         CBB_flush(parent);
}

/* build_request({certid_der, ...}[, nonce]) -> OCSPRequest DER (unsigned, version 1) */
static int l_build_request(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t nlen = 0;
  const char *nonce = luaL_optlstring(L, 2, NULL, &nlen);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1, 1, "at least one CertID expected");
  luaL_argcheck(L, !nonce || (nlen >= 1 && nlen <= 128), 2, "a nonce of 1 to 128 bytes expected");
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    size_t len;
    const char *der = lua_tolstring(L, -1, &len);
    CBS cbs, el;
    if (der) CBS_init(&cbs, (const uint8_t *)der, len);
    if (!der || lua_type(L, -1) != LUA_TSTRING || !CBS_get_asn1(&cbs, &el, CBS_ASN1_SEQUENCE) ||
        CBS_len(&cbs))
      return luaL_argerror(L, 1, lua_pushfstring(L, "entry %I is not a CertID (DER)", i));
    lua_pop(L, 1);
  }
  CBB cbb, req, tbs, list, one;
  uint8_t *out = NULL;
  size_t outlen;
  if (!CBB_init(&cbb, 256) || !CBB_add_asn1(&cbb, &req, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&req, &tbs, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&tbs, &list, CBS_ASN1_SEQUENCE))
    goto err;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    size_t len;
    const char *der = lua_tolstring(L, -1, &len);
    if (!CBB_add_asn1(&list, &one, CBS_ASN1_SEQUENCE) ||
        !CBB_add_bytes(&one, (const uint8_t *)der, len) || !CBB_flush(&list))
      goto err;
    lua_pop(L, 1);
  }
  if (!CBB_flush(&tbs)) goto err;
  if (nonce && !add_nonce_ext(&tbs, TAG_CTXC(2), (const uint8_t *)nonce, nlen)) goto err;
  if (!CBB_finish(&cbb, &out, &outlen)) goto err;
  lua_pushlstring(L, (const char *)out, outlen);
  OPENSSL_free(out);
  return 1;
err:
  CBB_cleanup(&cbb);
  return cb_fail_ssl(L, "ocsp.request");
}

/* ---- parsing -------------------------------------------------------------------------- */

typedef struct {
  lua_State *L;
  const uint8_t *base; /* start of the message, for offsets in messages */
  char err[256];
} pctx;

static int bad(pctx *c, const CBS *at, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (at) snprintf(c->err, sizeof c->err, "bad DER at offset %zu: %s", (size_t)(CBS_data(at) - c->base), msg);
  else snprintf(c->err, sizeof c->err, "%s", msg);
  return 0;
}

/* get reads one element with the given tag, naming it in the message when it is not there */
static int get(pctx *c, CBS *cbs, CBS *out, unsigned tag, const char *what) {
  CBS copy = *cbs;
  if (CBS_get_asn1(cbs, out, tag)) return 1;
  if (!CBS_len(&copy)) return bad(c, &copy, "%s missing (the data ends)", what);
  return bad(c, &copy, "%s expected", what);
}

static int get_element(pctx *c, CBS *cbs, CBS *out, unsigned tag, const char *what) {
  CBS copy = *cbs;
  if (CBS_get_asn1_element(cbs, out, tag)) return 1;
  if (!CBS_len(&copy)) return bad(c, &copy, "%s missing (the data ends)", what);
  return bad(c, &copy, "%s expected", what);
}

static int end_of(pctx *c, CBS *cbs, const char *what) {
  if (CBS_len(cbs)) return bad(c, cbs, "unexpected data at the end of %s", what);
  return 1;
}

static void set_hex(lua_State *L, const char *k, const CBS *v) {
  cb_push_hex(L, CBS_data(v), CBS_len(v), '\0');
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static void push_oid(lua_State *L, const CBS *oid) {
  char *text = CBS_asn1_oid_to_text(oid);
  if (text) {
    lua_pushstring(L, text);
    OPENSSL_free(text);
  } else {
    lua_pushliteral(L, "?");
  }
}

static int get_gentime(pctx *c, CBS *cbs, int64_t *t, const char *what) {
  CBS v, at = *cbs;
  if (!get(c, cbs, &v, CBS_ASN1_GENERALIZEDTIME, what)) return 0;
  if (!cb_der_time(CBS_ASN1_GENERALIZEDTIME, CBS_data(&v), CBS_len(&v), t))
    return bad(c, &at, "%s is not a valid GeneralizedTime", what);
  return 1;
}

/* extensions: the content of an Extensions SEQUENCE -> a list {oid=, name=, critical=, value=}
 * pushed on the stack; the nonce (the content of its OCTET STRING when the value is one, else
 * the raw value, which older responders send) is put in the table under it as `nonce`. */
static int parse_extensions(pctx *c, CBS *wrapped, const char *what) {
  lua_State *L = c->L;
  CBS exts;
  if (!get(c, wrapped, &exts, CBS_ASN1_SEQUENCE, what) || !end_of(c, wrapped, what)) return 0;
  lua_newtable(L);
  lua_Integer i = 0;
  while (CBS_len(&exts)) {
    CBS ext, oid, val;
    int critical = 0;
    if (!get(c, &exts, &ext, CBS_ASN1_SEQUENCE, "an Extension") ||
        !get(c, &ext, &oid, CBS_ASN1_OBJECT, "the extension's OID"))
      return 0;
    CBS at = ext;
    if (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN) && !CBS_get_asn1_bool(&ext, &critical))
      return bad(c, &at, "bad critical flag");
    if (!get(c, &ext, &val, CBS_ASN1_OCTETSTRING, "the extension's value") ||
        !end_of(c, &ext, "an Extension"))
      return 0;
    lua_checkstack(L, 4);
    lua_createtable(L, 0, 4);
    push_oid(L, &oid);
    lua_setfield(L, -2, "oid");
    int nid = OBJ_cbs2nid(&oid);
    if (nid != NID_undef) {
      lua_pushstring(L, OBJ_nid2sn(nid));
      lua_setfield(L, -2, "name");
    }
    lua_pushboolean(L, critical);
    lua_setfield(L, -2, "critical");
    lua_pushlstring(L, (const char *)CBS_data(&val), CBS_len(&val));
    lua_setfield(L, -2, "value");
    lua_rawseti(L, -2, ++i);
    if (nid == NID_id_pkix_OCSP_Nonce) {
      CBS copy = val, inner;
      if (CBS_get_asn1(&copy, &inner, CBS_ASN1_OCTETSTRING) && !CBS_len(&copy))
        lua_pushlstring(L, (const char *)CBS_data(&inner), CBS_len(&inner));
      else
        lua_pushlstring(L, (const char *)CBS_data(&val), CBS_len(&val));
      lua_setfield(L, -3, "nonce");
    }
  }
  return 1;
}

/* parse_cert_id reads a CertID and pushes {hash_alg=, issuer_name_hash=, issuer_key_hash=,
 * serial=, der=} */
static int parse_cert_id(pctx *c, CBS *cbs) {
  lua_State *L = c->L;
  CBS id, el, alg, oid, nh, kh, serial;
  if (!get_element(c, cbs, &el, CBS_ASN1_SEQUENCE, "a CertID")) return 0;
  id = el;
  CBS_get_asn1(&id, &id, CBS_ASN1_SEQUENCE);
  if (!get(c, &id, &alg, CBS_ASN1_SEQUENCE, "the CertID's hashAlgorithm") ||
      !get(c, &alg, &oid, CBS_ASN1_OBJECT, "the hash algorithm's OID"))
    return 0;
  if (CBS_len(&alg)) {
    CBS null, at = alg;
    if (!CBS_get_asn1(&alg, &null, CBS_ASN1_NULL) || CBS_len(&null) || CBS_len(&alg))
      return bad(c, &at, "bad hash algorithm parameters");
  }
  if (!get(c, &id, &nh, CBS_ASN1_OCTETSTRING, "issuerNameHash") ||
      !get(c, &id, &kh, CBS_ASN1_OCTETSTRING, "issuerKeyHash"))
    return 0;
  CBS at = id;
  if (!get(c, &id, &serial, CBS_ASN1_INTEGER, "the serialNumber") || !end_of(c, &id, "a CertID"))
    return 0;
  if (!CBS_len(&serial)) return bad(c, &at, "an empty serialNumber");
  lua_createtable(L, 0, 5);
  const char *hname = hash_name(OBJ_cbs2nid(&oid));
  if (hname) lua_pushstring(L, hname);
  else push_oid(L, &oid);
  lua_setfield(L, -2, "hash_alg");
  set_hex(L, "issuer_name_hash", &nh);
  set_hex(L, "issuer_key_hash", &kh);
  char *hex = malloc(2 * CBS_len(&serial) + 2);
  if (!hex) return bad(c, NULL, "out of memory");
  size_t hl = cb_crl_serial_to_hex(CBS_data(&serial), CBS_len(&serial), hex);
  lua_pushlstring(L, hex, hl);
  free(hex);
  lua_setfield(L, -2, "serial");
  lua_pushlstring(L, (const char *)CBS_data(&el), CBS_len(&el));
  lua_setfield(L, -2, "der");
  return 1;
}

/* the reason names of RFC 5280 (CRLReason), shared with the CRL engine */
static void push_reason(lua_State *L, uint64_t code) {
  if (code < 11 && cb_crl_reasons[code]) lua_pushstring(L, cb_crl_reasons[code]);
  else lua_pushfstring(L, "reason%d", (int)code);
}

/* parse_single reads a SingleResponse and pushes its table */
static int parse_single(pctx *c, CBS *cbs) {
  lua_State *L = c->L;
  CBS one;
  if (!get(c, cbs, &one, CBS_ASN1_SEQUENCE, "a SingleResponse")) return 0;
  if (!parse_cert_id(c, &one)) return 0; /* the table to fill */
  CBS st, at = one;
  unsigned tag;
  if (!CBS_get_any_asn1(&one, &st, &tag)) return bad(c, &at, "certStatus missing");
  if (tag == TAG_CTX(0) || tag == TAG_CTX(2)) {
    if (CBS_len(&st)) return bad(c, &at, "certStatus %s is not an empty NULL", tag == TAG_CTX(0) ? "good" : "unknown");
    lua_pushstring(L, tag == TAG_CTX(0) ? "good" : "unknown");
  } else if (tag == TAG_CTXC(1)) {
    int64_t t;
    if (!get_gentime(c, &st, &t, "revocationTime")) return 0;
    set_int(L, "revocation_time", t);
    if (CBS_len(&st)) {
      CBS wrap, en, at2 = st;
      uint64_t code;
      if (!get(c, &st, &wrap, TAG_CTXC(0), "revocationReason") ||
          !get(c, &wrap, &en, CBS_ASN1_ENUMERATED, "the CRLReason"))
        return 0;
      /* ENUMERATED content as a non-negative integer */
      if (CBS_len(&en) < 1 || CBS_len(&en) > 2 || (CBS_data(&en)[0] & 0x80))
        return bad(c, &at2, "bad CRLReason");
      code = CBS_data(&en)[0];
      if (CBS_len(&en) == 2) code = (code << 8) | CBS_data(&en)[1];
      if (!end_of(c, &wrap, "revocationReason") || !end_of(c, &st, "RevokedInfo")) return 0;
      set_int(L, "reason_code", (lua_Integer)code);
      push_reason(L, code);
      lua_setfield(L, -2, "reason");
    }
    lua_pushliteral(L, "revoked");
  } else {
    return bad(c, &at, "certStatus is not good [0], revoked [1] or unknown [2]");
  }
  lua_setfield(L, -2, "status");
  int64_t t;
  if (!get_gentime(c, &one, &t, "thisUpdate")) return 0;
  set_int(L, "this_update", t);
  if (CBS_peek_asn1_tag(&one, TAG_CTXC(0))) {
    CBS wrap;
    if (!get(c, &one, &wrap, TAG_CTXC(0), "nextUpdate")) return 0;
    if (!get_gentime(c, &wrap, &t, "nextUpdate") || !end_of(c, &wrap, "nextUpdate")) return 0;
    set_int(L, "next_update", t);
  }
  if (CBS_peek_asn1_tag(&one, TAG_CTXC(1))) {
    CBS wrap;
    if (!get(c, &one, &wrap, TAG_CTXC(1), "singleExtensions")) return 0;
    if (!parse_extensions(c, &wrap, "singleExtensions")) return 0;
    lua_setfield(L, -2, "extensions");
  }
  return end_of(c, &one, "a SingleResponse");
}

static const char *const statuses[] = {"successful", "malformedRequest", "internalError",
                                       "tryLater", NULL, "sigRequired", "unauthorized"};

/* parse_basic reads a BasicOCSPResponse into the table on top */
static int parse_basic(pctx *c, CBS *basic_el) {
  lua_State *L = c->L;
  CBS basic, tbs_el, tbs, alg_el, sig, certs;
  if (!get(c, basic_el, &basic, CBS_ASN1_SEQUENCE, "the BasicOCSPResponse") ||
      !end_of(c, basic_el, "the response bytes"))
    return 0;
  if (!get_element(c, &basic, &tbs_el, CBS_ASN1_SEQUENCE, "tbsResponseData") ||
      !get_element(c, &basic, &alg_el, CBS_ASN1_SEQUENCE, "the signatureAlgorithm"))
    return 0;
  CBS at = basic;
  if (!get(c, &basic, &sig, CBS_ASN1_BITSTRING, "the signature")) return 0;
  if (CBS_len(&sig) < 1 || CBS_data(&sig)[0] > 7) return bad(c, &at, "the signature is not a BIT STRING");
  lua_pushlstring(L, (const char *)CBS_data(&tbs_el), CBS_len(&tbs_el));
  lua_setfield(L, -2, "_tbs");
  lua_pushlstring(L, (const char *)CBS_data(&alg_el), CBS_len(&alg_el));
  lua_setfield(L, -2, "_sig_alg");
  set_int(L, "_sig_unused", CBS_data(&sig)[0]);
  lua_pushlstring(L, (const char *)CBS_data(&sig) + 1, CBS_len(&sig) - 1);
  lua_setfield(L, -2, "_sig");
  {
    CBS alg = alg_el, seq, oid;
    CBS_get_asn1(&alg, &seq, CBS_ASN1_SEQUENCE);
    if (!get(c, &seq, &oid, CBS_ASN1_OBJECT, "the signature algorithm's OID")) return 0;
    int nid = OBJ_cbs2nid(&oid);
    if (nid != NID_undef) lua_pushstring(L, OBJ_nid2ln(nid));
    else push_oid(L, &oid);
    lua_setfield(L, -2, "signature_algorithm");
  }
  lua_newtable(L); /* certs */
  if (CBS_peek_asn1_tag(&basic, TAG_CTXC(0))) {
    CBS wrap;
    if (!get(c, &basic, &wrap, TAG_CTXC(0), "certs")) return 0;
    if (!get(c, &wrap, &certs, CBS_ASN1_SEQUENCE, "the certs") || !end_of(c, &wrap, "certs")) return 0;
    lua_Integer i = 0;
    while (CBS_len(&certs)) {
      CBS cert, cat = certs;
      if (!get_element(c, &certs, &cert, CBS_ASN1_SEQUENCE, "a certificate")) return 0;
      const uint8_t *p = CBS_data(&cert);
      X509 *x = d2i_X509(NULL, &p, (long)CBS_len(&cert));
      if (!x || p != CBS_data(&cert) + CBS_len(&cert)) {
        X509_free(x);
        char why[160];
        cb_ssl_reason(why, sizeof why);
        return bad(c, &cat, "certificate %d of the response does not parse: %s", (int)i + 1, why);
      }
      lua_checkstack(L, 2);
      cb_push_x509(L, x);
      lua_rawseti(L, -2, ++i);
    }
  }
  lua_setfield(L, -2, "certs");
  if (!end_of(c, &basic, "the BasicOCSPResponse")) return 0;

  /* ResponseData */
  tbs = tbs_el;
  CBS_get_asn1(&tbs, &tbs, CBS_ASN1_SEQUENCE);
  if (CBS_peek_asn1_tag(&tbs, TAG_CTXC(0))) {
    CBS wrap, vat = tbs;
    uint64_t v;
    if (!get(c, &tbs, &wrap, TAG_CTXC(0), "version")) return 0;
    if (!CBS_get_asn1_uint64(&wrap, &v) || CBS_len(&wrap)) return bad(c, &vat, "bad version");
    if (v != 0) return bad(c, &vat, "unsupported ResponseData version %d", (int)(v + 1));
  }
  set_int(L, "version", 1);
  CBS rid, rat = tbs;
  if (CBS_peek_asn1_tag(&tbs, TAG_CTXC(1))) {
    CBS name_el;
    if (!get(c, &tbs, &rid, TAG_CTXC(1), "responderID")) return 0;
    if (!get_element(c, &rid, &name_el, CBS_ASN1_SEQUENCE, "the responder's Name") ||
        !end_of(c, &rid, "the responderID"))
      return 0;
    const uint8_t *p = CBS_data(&name_el);
    X509_NAME *nm = d2i_X509_NAME(NULL, &p, (long)CBS_len(&name_el));
    if (!nm) {
      ERR_clear_error();
      return bad(c, &rat, "the responder's Name does not parse");
    }
    cb_push_name(L, nm);
    lua_setfield(L, -2, "responder_name");
  } else if (CBS_peek_asn1_tag(&tbs, TAG_CTXC(2))) {
    CBS kh;
    if (!get(c, &tbs, &rid, TAG_CTXC(2), "responderID")) return 0;
    if (!get(c, &rid, &kh, CBS_ASN1_OCTETSTRING, "the responder's KeyHash") ||
        !end_of(c, &rid, "the responderID"))
      return 0;
    set_hex(L, "responder_key_hash", &kh);
  } else {
    return bad(c, &rat, "responderID (byName [1] or byKey [2]) expected");
  }
  int64_t produced;
  if (!get_gentime(c, &tbs, &produced, "producedAt")) return 0;
  set_int(L, "produced_at", produced);
  CBS list;
  if (!get(c, &tbs, &list, CBS_ASN1_SEQUENCE, "the responses")) return 0;
  lua_newtable(L);
  lua_Integer i = 0;
  while (CBS_len(&list)) {
    lua_checkstack(L, 6);
    if (!parse_single(c, &list)) return 0;
    lua_rawseti(L, -2, ++i);
  }
  lua_setfield(L, -2, "responses");
  if (CBS_peek_asn1_tag(&tbs, TAG_CTXC(1))) {
    CBS wrap;
    if (!get(c, &tbs, &wrap, TAG_CTXC(1), "responseExtensions")) return 0;
    if (!parse_extensions(c, &wrap, "responseExtensions")) return 0;
    lua_setfield(L, -2, "extensions");
  }
  return end_of(c, &tbs, "tbsResponseData");
}

/* parse_response(der) -> table | nil, err: every field of an OCSPResponse, see ocsp.lua */
static int l_parse_response(lua_State *L) {
  size_t len;
  const uint8_t *der = (const uint8_t *)luaL_checklstring(L, 1, &len);
  int top = lua_gettop(L);
  pctx c = {L, der, {0}};
  CBS in, resp, st;
  CBS_init(&in, der, len);
  lua_createtable(L, 0, 16);
  if (!get(&c, &in, &resp, CBS_ASN1_SEQUENCE, "an OCSPResponse (SEQUENCE)")) goto fail;
  if (CBS_len(&in)) {
    bad(&c, &in, "data after the OCSPResponse");
    goto fail;
  }
  CBS at = resp;
  if (!get(&c, &resp, &st, CBS_ASN1_ENUMERATED, "responseStatus")) goto fail;
  if (CBS_len(&st) != 1 || CBS_data(&st)[0] > 6 || !statuses[CBS_data(&st)[0]]) {
    bad(&c, &at, "unknown responseStatus");
    goto fail;
  }
  set_int(L, "status_code", CBS_data(&st)[0]);
  lua_pushstring(L, statuses[CBS_data(&st)[0]]);
  lua_setfield(L, -2, "status");
  if (CBS_len(&resp)) {
    CBS wrap, rb, oid, octets;
    if (!get(&c, &resp, &wrap, TAG_CTXC(0), "responseBytes") ||
        !get(&c, &wrap, &rb, CBS_ASN1_SEQUENCE, "responseBytes") ||
        !end_of(&c, &wrap, "responseBytes") || !end_of(&c, &resp, "the OCSPResponse") ||
        !get(&c, &rb, &oid, CBS_ASN1_OBJECT, "responseType") ||
        !get(&c, &rb, &octets, CBS_ASN1_OCTETSTRING, "the response") ||
        !end_of(&c, &rb, "responseBytes"))
      goto fail;
    push_oid(L, &oid);
    lua_setfield(L, -2, "response_type_oid");
    if (OBJ_cbs2nid(&oid) == NID_id_pkix_OCSP_basic) {
      lua_pushliteral(L, "basic");
      lua_setfield(L, -2, "response_type");
      if (!parse_basic(&c, &octets)) goto fail;
    } else {
      push_oid(L, &oid);
      lua_setfield(L, -2, "response_type");
    }
  }
  return 1;
fail:
  lua_settop(L, top);
  return cb_fail(L, "ocsp.parse_response: %s", c.err[0] ? c.err : "malformed");
}

/* parse_request(der) -> {version=, cert_ids={...}, nonce=, extensions=, signed=bool,
 * requestor_name=} | nil, err */
static int l_parse_request(lua_State *L) {
  size_t len;
  const uint8_t *der = (const uint8_t *)luaL_checklstring(L, 1, &len);
  int top = lua_gettop(L);
  pctx c = {L, der, {0}};
  CBS in, req, tbs, list;
  CBS_init(&in, der, len);
  lua_createtable(L, 0, 6);
  if (!get(&c, &in, &req, CBS_ASN1_SEQUENCE, "an OCSPRequest (SEQUENCE)")) goto fail;
  if (CBS_len(&in)) {
    bad(&c, &in, "data after the OCSPRequest");
    goto fail;
  }
  if (!get(&c, &req, &tbs, CBS_ASN1_SEQUENCE, "tbsRequest")) goto fail;
  lua_pushboolean(L, CBS_peek_asn1_tag(&req, TAG_CTXC(0)));
  lua_setfield(L, -2, "signed");
  if (CBS_peek_asn1_tag(&req, TAG_CTXC(0))) {
    CBS sig;
    if (!get(&c, &req, &sig, TAG_CTXC(0), "the signature")) goto fail;
  }
  if (!end_of(&c, &req, "the OCSPRequest")) goto fail;
  if (CBS_peek_asn1_tag(&tbs, TAG_CTXC(0))) {
    CBS wrap, at = tbs;
    uint64_t v;
    if (!get(&c, &tbs, &wrap, TAG_CTXC(0), "version")) goto fail;
    if (!CBS_get_asn1_uint64(&wrap, &v) || CBS_len(&wrap) || v != 0) {
      bad(&c, &at, "bad or unsupported version");
      goto fail;
    }
  }
  set_int(L, "version", 1);
  if (CBS_peek_asn1_tag(&tbs, TAG_CTXC(1))) {
    CBS gn;
    if (!get_element(&c, &tbs, &gn, TAG_CTXC(1), "requestorName")) goto fail;
    lua_pushlstring(L, (const char *)CBS_data(&gn), CBS_len(&gn));
    lua_setfield(L, -2, "requestor_name_der");
  }
  if (!get(&c, &tbs, &list, CBS_ASN1_SEQUENCE, "the requestList")) goto fail;
  lua_newtable(L);
  lua_Integer i = 0;
  while (CBS_len(&list)) {
    CBS one;
    if (!get(&c, &list, &one, CBS_ASN1_SEQUENCE, "a Request")) goto fail;
    lua_checkstack(L, 6);
    if (!parse_cert_id(&c, &one)) goto fail;
    if (CBS_peek_asn1_tag(&one, TAG_CTXC(0))) {
      CBS wrap;
      if (!get(&c, &one, &wrap, TAG_CTXC(0), "singleRequestExtensions")) goto fail;
      if (!parse_extensions(&c, &wrap, "singleRequestExtensions")) goto fail;
      lua_setfield(L, -2, "extensions");
    }
    if (!end_of(&c, &one, "a Request")) goto fail;
    lua_rawseti(L, -2, ++i);
  }
  if (i == 0) {
    bad(&c, &list, "the requestList is empty");
    goto fail;
  }
  lua_setfield(L, -2, "cert_ids");
  if (CBS_peek_asn1_tag(&tbs, TAG_CTXC(2))) {
    CBS wrap;
    if (!get(&c, &tbs, &wrap, TAG_CTXC(2), "requestExtensions")) goto fail;
    if (!parse_extensions(&c, &wrap, "requestExtensions")) goto fail;
    lua_setfield(L, -2, "extensions");
  }
  if (!end_of(&c, &tbs, "tbsRequest")) goto fail;
  return 1;
fail:
  lua_settop(L, top);
  return cb_fail(L, "ocsp.parse_request: %s", c.err[0] ? c.err : "malformed");
}

/* ---- signatures ----------------------------------------------------------------------- */

/* verify_signature(tbs, sig_alg_der, sig_bits, unused_bits, key) -> true | false, why.
 * The CRL engine already checks a signature over spans of one buffer for every algorithm
 * certbench supports (RSA, RSA-PSS, ECDSA, Ed25519, DSA): the three parts are laid out in one
 * buffer and handed to it as a CertificateList would be. */
static int l_verify_signature(lua_State *L) {
  size_t tl, al, sl;
  const char *tbs = luaL_checklstring(L, 1, &tl);
  const char *alg = luaL_checklstring(L, 2, &al);
  const char *sig = luaL_checklstring(L, 3, &sl);
  lua_Integer unused = luaL_checkinteger(L, 4);
  EVP_PKEY *key = cb_check_pkey(L, 5);
  if (tl > UINT32_MAX / 4 || al > UINT32_MAX / 4 || sl > UINT32_MAX / 4)
    return luaL_error(L, "ocsp: response too large");
  uint8_t *buf = malloc(tl + al + sl + 1);
  if (!buf) return luaL_error(L, "ocsp: out of memory");
  memcpy(buf, tbs, tl);
  memcpy(buf + tl, alg, al);
  memcpy(buf + tl + al, sig, sl);
  cb_crl e;
  memset(&e, 0, sizeof e);
  e.der = buf;
  e.len = tl + al + sl;
  e.tbs = (cb_span){0, (uint32_t)tl};
  e.sig_alg = e.tbs_sig_alg = (cb_span){(uint32_t)tl, (uint32_t)al};
  e.sig = (cb_span){(uint32_t)(tl + al), (uint32_t)sl};
  e.sig_unused_bits = (int)unused;
  char why[200];
  int ok = cb_crl_verify(&e, key, why, sizeof why);
  free(buf);
  if (ok) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  /* the engine speaks of CRLs */
  const char *crl = strstr(why, "the CRL is signed");
  if (crl) lua_pushfstring(L, "%.*sthe response is signed%s", (int)(crl - why), why, crl + 17);
  else lua_pushstring(L, why);
  return 2;
}

/* ---- base64 for GET ------------------------------------------------------------------- */

/* base64(data) -> standard base64 without line breaks (RFC 6960 appendix A.1) */
static int l_base64(lua_State *L) {
  size_t len, olen;
  const char *data = luaL_checklstring(L, 1, &len);
  if (!EVP_EncodedLength(&olen, len)) return luaL_error(L, "ocsp.base64: input too large");
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, olen);
  size_t n = EVP_EncodeBlock((uint8_t *)out, (const uint8_t *)data, len);
  luaL_pushresultsize(&b, n);
  return 1;
}

/* unbase64(text) -> bytes | nil: base64 text with line breaks and blanks (the .ors files of
 * openssl's tests) */
static int l_unbase64(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  char *clean = malloc(len + 1);
  if (!clean) return luaL_error(L, "ocsp: out of memory");
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = text[i];
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    clean[n++] = ch;
  }
  size_t max;
  if (n == 0 || n % 4 || !EVP_DecodedLength(&max, n)) {
    free(clean);
    lua_pushnil(L);
    return 1;
  }
  luaL_Buffer b;
  uint8_t *out = (uint8_t *)luaL_buffinitsize(L, &b, max);
  size_t olen;
  int ok = EVP_DecodeBase64(out, &olen, max, (const uint8_t *)clean, n);
  free(clean);
  if (!ok) {
    luaL_pushresultsize(&b, 0);
    lua_pop(L, 1);
    lua_pushnil(L);
    return 1;
  }
  luaL_pushresultsize(&b, olen);
  return 1;
}

int luaopen__certbench_ocsp(lua_State *L) {
  cb_objects_init(L);
  static const luaL_Reg fns[] = {{"cert_id", l_cert_id},
                                 {"key_hash", l_key_hash},
                                 {"build_request", l_build_request},
                                 {"parse_request", l_parse_request},
                                 {"parse_response", l_parse_response},
                                 {"verify_signature", l_verify_signature},
                                 {"base64", l_base64},
                                 {"unbase64", l_unbase64},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
