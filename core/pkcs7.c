/* pkcs7.c: `_certbench.pkcs7`, certificates-only PKCS#7 SignedData (.p7b/.p7c): the
 * certificates and CRLs of a bundle, read and written.
 *
 * BoringSSL's PKCS7_get_certificates / PKCS7_bundle_certificates handle certificates or CRLs
 * but not both in one bundle, return CRLs only as parsed objects, and sort the certificates
 * (DER SET OF order) when writing; here the SignedData is walked with CBS so the CRLs stay
 * DER and a bundle keeps the order it was given, as `openssl crl2pkcs7` does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/base64.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/x509.h>

#include "ext.h"
#include "objects.h"
#include "pbe.h"
#include "pem.h"

#define OID_SIGNED_DATA "1.2.840.113549.1.7.2"
#define OID_DATA "1.2.840.113549.1.7.1"
#define MAX_ITEMS 100000
#define BOX_MT "certbench.pkcs7.buffer"

/* Buffers owned by a Lua userdata until they are freed: a raise (out of memory while
 * pushing) frees them with the stack. p from OPENSSL_malloc (CBB), text from malloc (pem.c). */
typedef struct {
  uint8_t *p;
  uint8_t *text;
} box;

static int box_gc(lua_State *L) {
  box *b = luaL_checkudata(L, 1, BOX_MT);
  OPENSSL_free(b->p);
  free(b->text);
  b->p = b->text = NULL;
  return 0;
}

/* is_pkcs7_label: the labels PKCS#7 travels under (RFC 7468 says PKCS7; CMS from openssl cms) */
static int is_pkcs7_label(const cb_pem_block *b) {
  return cb_pem_label_is(b, "PKCS7") || cb_pem_label_is(b, "CMS") ||
         cb_pem_label_is(b, "PKCS #7 SIGNED DATA");
}

static box *new_box(lua_State *L) {
  return cb_newudata(L, sizeof(box), BOX_MT);
}

/* parse(data) -> { certs = {x509...}, crls = {der...}, signed = bool } | nil, message, code
 * data: DER/BER, PEM (PKCS7 or CMS block), or base64 without armor.
 * code: "not_pkcs7", "truncated", "malformed", "unsupported", "bad_pem". */
static int l_parse(lua_State *L) {
  size_t len;
  const uint8_t *data = (const uint8_t *)luaL_checklstring(L, 1, &len);
  uint8_t *der = NULL;
  size_t der_len;
  CBS in, ci, oid, explicit, sd, set, certs, crls, content_info;
  uint64_t version;
  int has_certs = 0, has_crls = 0;
  char t[96];
  const char *msg = NULL, *code = "malformed";
  lua_settop(L, 1);
  box *hold = new_box(L);

  if (cb_pem_looks_like((const char *)data, len)) {
    cb_pem_block blk;
    size_t pos = 0;
    int count = 0, r;
    while ((r = cb_pem_next((const char *)data, len, &pos, &count, &blk)) == 1 && !is_pkcs7_label(&blk)) {
    }
    if (r == -1 && is_pkcs7_label(&blk))
      return lua_pushnil(L), lua_pushfstring(L, "the PEM block %s has no END line", "PKCS7"),
             lua_pushstring(L, "truncated"), 3;
    if (r != 1) {
      cb_pem_push_labels(L, (const char *)data, len);
      const char *labels = lua_tostring(L, -1);
      int certs_only = strstr(labels, "CERTIFICATE") != NULL;
      lua_pushnil(L);
      lua_pushfstring(L, "PEM %s, not PKCS#7%s", labels[0] ? labels : "text without a complete block",
                      certs_only ? " (x509.load_all reads certificate bundles)" : "");
      lua_pushstring(L, "not_pkcs7");
      return 3;
    }
    if (!cb_pem_decode(&blk, &hold->text, &len))
      return lua_pushnil(L), lua_pushfstring(L, "bad base64 in PEM block %d (%s)", blk.index, "PKCS7"),
             lua_pushstring(L, "bad_pem"), 3;
    data = hold->text;
  } else if (len > 0 && data[0] != 0x30) {
    size_t text_len;
    if (cb_base64_armorless((const char *)data, len, &hold->text, &text_len)) {
      data = hold->text;
      len = text_len;
    }
  }
  if (len == 0) return lua_pushnil(L), lua_pushstring(L, "empty input, not PKCS#7"),
                lua_pushstring(L, "not_pkcs7"), 3;
  if (data[0] != 0x30) {
    char m[80];
    snprintf(m, sizeof m, "not PKCS#7 (not DER: the first byte is 0x%02X)", data[0]);
    return lua_pushnil(L), lua_pushstring(L, m), lua_pushstring(L, "not_pkcs7"), 3;
  }
  size_t elem_len;
  int shape = cb_der_check(data, len, &elem_len);
  if (shape == 0)
    return lua_pushnil(L), lua_pushfstring(L, "truncated PKCS#7 data (%d bytes)", (int)len),
           lua_pushstring(L, "truncated"), 3;
  if (shape == 1) len = elem_len; /* bytes after the bundle (a NUL some tools add): ignored */
  if (!cb_ber_to_der(data, len, &der, &der_len)) {
    int indefinite = len > 1 && data[1] == 0x80;
    return lua_pushnil(L),
           lua_pushstring(L, indefinite ? "truncated or corrupt PKCS#7 data (BER with indefinite lengths)"
                                        : "not PKCS#7 (invalid ASN.1)"),
           lua_pushstring(L, indefinite ? "truncated" : "not_pkcs7"), 3;
  }
  hold->p = der;
  CBS_init(&in, der, der_len);
  if (!CBS_get_asn1(&in, &ci, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&ci, &oid, CBS_ASN1_OBJECT)) {
    msg = "not PKCS#7 (a certificate, CRL or key?)";
    code = "not_pkcs7";
    goto fail;
  }
  cb_oid_text(&oid, t, sizeof t);
  if (strcmp(t, OID_SIGNED_DATA)) {
    lua_pushfstring(L, "PKCS#7 of content type %s, not SignedData: no certificates to read", t);
    msg = lua_tostring(L, -1);
    code = !strncmp(t, "1.2.840.113549.1.7.", 19) ? "unsupported" : "not_pkcs7";
    goto fail;
  }
  if (!CBS_get_asn1(&ci, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBS_get_asn1(&explicit, &sd, CBS_ASN1_SEQUENCE) || !CBS_get_asn1_uint64(&sd, &version) ||
      !CBS_get_asn1(&sd, &set, CBS_ASN1_SET) ||
      !CBS_get_asn1(&sd, &content_info, CBS_ASN1_SEQUENCE) ||
      !CBS_get_optional_asn1(&sd, &certs, &has_certs, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBS_get_optional_asn1(&sd, &crls, &has_crls, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1) ||
      !CBS_get_asn1(&sd, &set, CBS_ASN1_SET)) {
    msg = "malformed PKCS#7 SignedData";
    goto fail;
  }
  int is_signed = CBS_len(&set) > 0; /* signerInfos: a signature, not just a bundle */

  lua_createtable(L, 0, 3);
  lua_pushboolean(L, is_signed);
  lua_setfield(L, -2, "signed");
  lua_newtable(L);
  int n = 0;
  while (has_certs && CBS_len(&certs) > 0) {
    CBS elem;
    unsigned tag;
    if (++n > MAX_ITEMS || !CBS_get_any_asn1_element(&certs, &elem, &tag, NULL)) {
      msg = "malformed certificate list in PKCS#7";
      goto fail;
    }
    if (tag != CBS_ASN1_SEQUENCE) {
      /* attribute certificates and other CertificateChoices: not X.509 */
      n--;
      continue;
    }
    const uint8_t *p = CBS_data(&elem);
    X509 *x = d2i_X509(NULL, &p, (long)CBS_len(&elem));
    if (!x || p != CBS_data(&elem) + CBS_len(&elem)) {
      X509_free(x);
      ERR_clear_error();
      lua_pushfstring(L, "certificate %d of the PKCS#7 bundle does not parse", n);
      msg = lua_tostring(L, -1);
      goto fail;
    }
    /* as x509.load does: a validity that is no time is refused, named */
    char why[160];
    if (!cb_x509_check_times(x, why, sizeof why)) {
      X509_free(x);
      lua_pushfstring(L, "certificate %d of the PKCS#7 bundle: %s", n, why);
      msg = lua_tostring(L, -1);
      goto fail;
    }
    lua_checkstack(L, 4);
    cb_push_x509(L, x);
    lua_rawseti(L, -2, n);
  }
  lua_setfield(L, -2, "certs");
  lua_newtable(L);
  n = 0;
  while (has_crls && CBS_len(&crls) > 0) {
    CBS elem;
    unsigned tag;
    if (++n > MAX_ITEMS || !CBS_get_any_asn1_element(&crls, &elem, &tag, NULL)) {
      msg = "malformed CRL list in PKCS#7";
      goto fail;
    }
    if (tag != CBS_ASN1_SEQUENCE) {
      n--;
      continue;
    }
    lua_pushlstring(L, (const char *)CBS_data(&elem), CBS_len(&elem));
    lua_rawseti(L, -2, n);
  }
  lua_setfield(L, -2, "crls");
  return 1;

fail:
  /* msg may live on the Lua stack: push the result before dropping anything */
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushstring(L, code);
  return 3;
}

/* build(certs_table, crls_table) -> DER. Certificates and CRLs keep the order given. */
static int l_build(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  size_t ncerts = (size_t)luaL_len(L, 1);
  size_t ncrls = lua_isnil(L, 2) ? 0 : (size_t)luaL_len(L, 2);
  /* check every argument before any allocation: a raise leaks nothing */
  for (size_t i = 1; i <= ncerts; i++) {
    lua_rawgeti(L, 1, (lua_Integer)i);
    if (!cb_test_x509(L, -1)) luaL_error(L, "pkcs7.build: certs[%d] is not a certificate", (int)i);
    cb_check_x509(L, -1);
    lua_pop(L, 1);
  }
  for (size_t i = 1; i <= ncrls; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "pkcs7.build: crls[%d] must be DER (a string)", (int)i);
    lua_pop(L, 1);
  }
  CBB cbb, ci, explicit, sd, set, content, certs, crls;
  box *hold = new_box(L);
  uint8_t *out = NULL;
  size_t out_len = 0;
  const char *why = "out of memory";
  int ok = CBB_init(&cbb, 4096) && CBB_add_asn1(&cbb, &ci, CBS_ASN1_SEQUENCE) &&
           cb_add_oid(&ci, OID_SIGNED_DATA) &&
           CBB_add_asn1(&ci, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
           CBB_add_asn1(&explicit, &sd, CBS_ASN1_SEQUENCE) && CBB_add_asn1_uint64(&sd, 1) &&
           CBB_add_asn1(&sd, &set, CBS_ASN1_SET) && CBB_add_asn1(&sd, &content, CBS_ASN1_SEQUENCE) &&
           cb_add_oid(&content, OID_DATA) && CBB_flush(&sd);
  if (ok && ncerts > 0) {
    ok = CBB_add_asn1(&sd, &certs, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0);
    for (size_t i = 1; ok && i <= ncerts; i++) {
      lua_rawgeti(L, 1, (lua_Integer)i);
      X509 *x = cb_test_x509(L, -1);
      lua_pop(L, 1);
      uint8_t *der = NULL;
      int der_len = i2d_X509(x, &der);
      ok = der_len > 0 && CBB_add_bytes(&certs, der, (size_t)der_len);
      if (der_len <= 0) why = "a certificate cannot be encoded";
      OPENSSL_free(der);
    }
    ok = ok && CBB_flush(&sd);
  }
  if (ok && ncrls > 0) {
    ok = CBB_add_asn1(&sd, &crls, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1);
    for (size_t i = 1; ok && i <= ncrls; i++) {
      size_t l;
      lua_rawgeti(L, 2, (lua_Integer)i);
      const uint8_t *p = (const uint8_t *)lua_tolstring(L, -1, &l);
      CBS check, elem;
      CBS_init(&check, p, l);
      if (!CBS_get_asn1(&check, &elem, CBS_ASN1_SEQUENCE) || CBS_len(&check) != 0) {
        ok = 0;
        why = "a CRL is not one DER SEQUENCE";
      } else {
        ok = CBB_add_bytes(&crls, p, l);
      }
      lua_pop(L, 1);
    }
    ok = ok && CBB_flush(&sd);
  }
  ok = ok && CBB_add_asn1(&sd, &set, CBS_ASN1_SET) && CBB_finish(&cbb, &out, &out_len);
  if (!ok) {
    CBB_cleanup(&cbb);
    return cb_fail(L, "pkcs7.build: %s", why);
  }
  hold->p = out;
  lua_pushlstring(L, (const char *)out, out_len);
  return 1;
}

/* to_pem(der) -> "-----BEGIN PKCS7-----..." */
static int l_to_pem(lua_State *L) {
  size_t len;
  const uint8_t *der = (const uint8_t *)luaL_checklstring(L, 1, &len);
  cb_push_pem(L, "PKCS7", der, len);
  return 1;
}

int luaopen__certbench_pkcs7(lua_State *L) {
  static const luaL_Reg fns[] = {{"parse", l_parse},
                                 {"build", l_build},
                                 {"to_pem", l_to_pem},
                                 {NULL, NULL}};
  static const luaL_Reg box_metas[] = {{"__gc", box_gc}, {"__close", box_gc}, {NULL, NULL}};
  cb_objects_init(L);
  cb_newclass(L, BOX_MT, NULL, box_metas);
  luaL_newlib(L, fns);
  return 1;
}
