/* pbe.c: PKCS#12/PKCS#5 password-based encryption and ASN.1 helpers (see pbe.h). */
#include "pbe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

/* ---- passwords and text ------------------------------------------------------------------ */

/* utf8_next decodes one code point at s[*i]; returns 0 for bytes that are not UTF-8 (overlong
 * forms, surrogates and values past U+10FFFF included). */
static int utf8_next(const uint8_t *s, size_t len, size_t *i, uint32_t *cp) {
  uint8_t c = s[*i];
  size_t n;
  uint32_t v, min;
  if (c < 0x80) { *cp = c; (*i)++; return 1; }
  if ((c & 0xe0) == 0xc0) { n = 1; v = c & 0x1f; min = 0x80; }
  else if ((c & 0xf0) == 0xe0) { n = 2; v = c & 0x0f; min = 0x800; }
  else if ((c & 0xf8) == 0xf0) { n = 3; v = c & 0x07; min = 0x10000; }
  else return 0;
  if (*i + n >= len) return 0;
  for (size_t k = 1; k <= n; k++) {
    uint8_t d = s[*i + k];
    if ((d & 0xc0) != 0x80) return 0;
    v = (v << 6) | (d & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  *i += n + 1;
  return 1;
}

static int add_u16(CBB *cbb, uint32_t cp) {
  if (cp < 0x10000) return CBB_add_u16(cbb, (uint16_t)cp);
  cp -= 0x10000;
  return CBB_add_u16(cbb, (uint16_t)(0xd800 | (cp >> 10))) &&
         CBB_add_u16(cbb, (uint16_t)(0xdc00 | (cp & 0x3ff)));
}

int cb_utf8_to_bmp(CBB *cbb, const uint8_t *in, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint32_t cp;
    if (!utf8_next(in, len, &i, &cp) || !add_u16(cbb, cp)) return 0;
  }
  return 1;
}

int cb_pbe_password_init(cb_password *pw, const uint8_t *raw, size_t raw_len, int mode) {
  CBB cbb;
  memset(pw, 0, sizeof *pw);
  pw->raw = raw ? raw : (const uint8_t *)"";
  pw->raw_len = raw_len;
  if (mode == 2) {
    pw->form = "absent";
    return 1;
  }
  if (!CBB_init(&cbb, raw_len * 2 + 2)) return 0;
  int ok = 0;
  if (mode == 0) {
    pw->form = "UTF-16";
    ok = cb_utf8_to_bmp(&cbb, pw->raw, raw_len);
    if (!ok) {
      /* not UTF-8: OpenSSL falls back to one unit per byte, so do we */
      CBB_cleanup(&cbb);
      if (!CBB_init(&cbb, raw_len * 2 + 2)) return 0;
      mode = 1;
    }
  }
  if (mode == 1) {
    pw->form = "Latin-1";
    ok = 1;
    for (size_t i = 0; ok && i < raw_len; i++) ok = CBB_add_u16(&cbb, pw->raw[i]);
  }
  if (!ok || !CBB_add_u16(&cbb, 0) || !CBB_finish(&cbb, &pw->bmp, &pw->bmp_len)) {
    /* a CBB that failed holds no password bytes we could not wipe: CBB_cleanup frees */
    CBB_cleanup(&cbb);
    return 0;
  }
  return 1;
}

void cb_pbe_password_free(cb_password *pw) {
  if (pw->bmp) {
    OPENSSL_cleanse(pw->bmp, pw->bmp_len);
    OPENSSL_free(pw->bmp);
  }
  memset(pw, 0, sizeof *pw);
}

char *cb_bmp_to_utf8(const uint8_t *in, size_t len) {
  /* each UTF-16 unit becomes at most 3 bytes (a surrogate pair, 2 units, 4 bytes) */
  char *out = malloc(len / 2 * 3 + 4);
  size_t o = 0;
  if (!out) return NULL;
  for (size_t i = 0; i + 1 < len; i += 2) {
    uint32_t cp = (uint32_t)in[i] << 8 | in[i + 1];
    if (cp >= 0xd800 && cp <= 0xdbff && i + 3 < len) {
      uint32_t lo = (uint32_t)in[i + 2] << 8 | in[i + 3];
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i += 2;
      } else {
        cp = 0xfffd;
      }
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      cp = 0xfffd;
    }
    if (cp == 0 && i + 2 >= len) break; /* a trailing NUL some writers add */
    if (cp < 0x80) {
      out[o++] = (char)cp;
    } else if (cp < 0x800) {
      out[o++] = (char)(0xc0 | cp >> 6);
      out[o++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out[o++] = (char)(0xe0 | cp >> 12);
      out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      out[o++] = (char)(0x80 | (cp & 0x3f));
    } else {
      out[o++] = (char)(0xf0 | cp >> 18);
      out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
      out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      out[o++] = (char)(0x80 | (cp & 0x3f));
    }
  }
  out[o] = '\0';
  return out;
}

/* ---- OIDs ---------------------------------------------------------------------------------- */

const char *cb_oid_text(const CBS *oid, char *buf, size_t len) {
  char *t = CBS_asn1_oid_to_text(oid);
  snprintf(buf, len, "%s", t ? t : "?");
  OPENSSL_free(t);
  return buf;
}

int cb_add_oid(CBB *cbb, const char *oid) {
  CBB o;
  return CBB_add_asn1(cbb, &o, CBS_ASN1_OBJECT) && CBB_add_asn1_oid_from_text(&o, oid, strlen(oid)) &&
         CBB_flush(cbb);
}

static const struct {
  const char *oid, *hmac_oid, *name, *upper;
  const EVP_MD *(*md)(void);
} digests[] = {
    {"1.3.14.3.2.26", "1.2.840.113549.2.7", "sha1", "SHA1", EVP_sha1},
    {"2.16.840.1.101.3.4.2.4", "1.2.840.113549.2.8", "sha224", "SHA224", EVP_sha224},
    {"2.16.840.1.101.3.4.2.1", "1.2.840.113549.2.9", "sha256", "SHA256", EVP_sha256},
    {"2.16.840.1.101.3.4.2.2", "1.2.840.113549.2.10", "sha384", "SHA384", EVP_sha384},
    {"2.16.840.1.101.3.4.2.3", "1.2.840.113549.2.11", "sha512", "SHA512", EVP_sha512},
    {"2.16.840.1.101.3.4.2.6", "1.2.840.113549.2.13", "sha512-256", "SHA512-256", EVP_sha512_256},
    {"1.2.840.113549.2.5", NULL, "md5", "MD5", EVP_md5},
};

const EVP_MD *cb_digest_by_oid(const char *oid, int hmac, const char **name) {
  for (size_t i = 0; i < sizeof digests / sizeof *digests; i++) {
    const char *o = hmac ? digests[i].hmac_oid : digests[i].oid;
    if (o && !strcmp(o, oid)) {
      if (name) *name = hmac ? digests[i].upper : digests[i].name;
      return digests[i].md();
    }
  }
  return NULL;
}

static const char *hmac_oid_of(const EVP_MD *md) {
  for (size_t i = 0; i < sizeof digests / sizeof *digests; i++)
    if (digests[i].md() == md) return digests[i].hmac_oid;
  return NULL;
}

#define OID_PBES2 "1.2.840.113549.1.5.13"
#define OID_PBKDF2 "1.2.840.113549.1.5.12"
#define OID_SCRYPT "1.3.6.1.4.1.11591.4.11"
#define OID_P12_PBE "1.2.840.113549.1.12.1."

static const struct {
  const char *oid, *name;
  const EVP_CIPHER *(*cipher)(void);
  size_t key_len;
  unsigned rc2_bits;
} p12_schemes[] = {
    {OID_P12_PBE "1", "pbeWithSHAAnd128BitRC4", EVP_rc4, 16, 0},
    {OID_P12_PBE "2", "pbeWithSHAAnd40BitRC4", EVP_rc4, 5, 0},
    {OID_P12_PBE "3", "pbeWithSHAAnd3-KeyTripleDES-CBC", EVP_des_ede3_cbc, 24, 0},
    {OID_P12_PBE "4", "pbeWithSHAAnd2-KeyTripleDES-CBC", EVP_des_ede_cbc, 16, 0},
    {OID_P12_PBE "5", "pbeWithSHAAnd128BitRC2-CBC", EVP_rc2_cbc, 16, 128},
    {OID_P12_PBE "6", "pbeWithSHAAnd40BitRC2-CBC", EVP_rc2_cbc, 5, 40},
};

static const struct {
  const char *oid, *name;
  const EVP_MD *(*md)(void);
  const EVP_CIPHER *(*cipher)(void);
} p5_schemes[] = {
    {"1.2.840.113549.1.5.3", "pbeWithMD5AndDES-CBC", EVP_md5, EVP_des_cbc},
    {"1.2.840.113549.1.5.6", "pbeWithMD5AndRC2-CBC", EVP_md5, EVP_rc2_cbc},
    {"1.2.840.113549.1.5.10", "pbeWithSHA1AndDES-CBC", EVP_sha1, EVP_des_cbc},
    {"1.2.840.113549.1.5.11", "pbeWithSHA1AndRC2-CBC", EVP_sha1, EVP_rc2_cbc},
};

static const struct {
  const char *oid, *name;
  const EVP_CIPHER *(*cipher)(void);
} pbes2_ciphers[] = {
    {"2.16.840.1.101.3.4.1.2", "AES-128-CBC", EVP_aes_128_cbc},
    {"2.16.840.1.101.3.4.1.22", "AES-192-CBC", EVP_aes_192_cbc},
    {"2.16.840.1.101.3.4.1.42", "AES-256-CBC", EVP_aes_256_cbc},
    {"1.2.840.113549.3.7", "DES-EDE3-CBC", EVP_des_ede3_cbc},
    {"1.3.14.3.2.7", "DES-CBC", EVP_des_cbc},
    {"1.2.840.113549.3.2", "RC2-CBC", EVP_rc2_cbc},
};

/* ---- KDFs ---------------------------------------------------------------------------------- */

int cb_pkcs12_kdf(const EVP_MD *md, uint8_t id, const uint8_t *pass, size_t pass_len,
                  const uint8_t *salt, size_t salt_len, uint64_t iterations, uint8_t *out,
                  size_t out_len) {
  size_t u = EVP_MD_size(md), v = EVP_MD_block_size(md);
  uint8_t D[128], A[EVP_MAX_MD_SIZE], B[128];
  if (v > sizeof D || u > sizeof A || iterations == 0) return 0;
  size_t s_len = salt_len ? v * ((salt_len + v - 1) / v) : 0;
  size_t p_len = pass_len ? v * ((pass_len + v - 1) / v) : 0;
  size_t i_len = s_len + p_len;
  uint8_t *I = malloc(i_len ? i_len : 1);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = 0;
  if (!I || !ctx) goto done;
  memset(D, id, v);
  for (size_t k = 0; k < s_len; k++) I[k] = salt[k % salt_len];
  for (size_t k = 0; k < p_len; k++) I[s_len + k] = pass[k % pass_len];
  for (;;) {
    unsigned alen;
    if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, D, v) ||
        !EVP_DigestUpdate(ctx, I, i_len) || !EVP_DigestFinal_ex(ctx, A, &alen))
      goto done;
    for (uint64_t it = 1; it < iterations; it++) {
      if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, A, u) ||
          !EVP_DigestFinal_ex(ctx, A, &alen))
        goto done;
    }
    size_t n = out_len < u ? out_len : u;
    memcpy(out, A, n);
    out += n;
    out_len -= n;
    if (out_len == 0) break;
    for (size_t k = 0; k < v; k++) B[k] = A[k % u];
    /* I_j = (I_j + B + 1) mod 2^(8v), each v-byte block read as a big-endian number */
    for (size_t j = 0; j < i_len; j += v) {
      unsigned carry = 1;
      for (size_t k = v; k-- > 0;) {
        carry += (unsigned)I[j + k] + B[k];
        I[j + k] = (uint8_t)carry;
        carry >>= 8;
      }
    }
  }
  ok = 1;
done:
  if (I) {
    OPENSSL_cleanse(I, i_len);
    free(I);
  }
  OPENSSL_cleanse(A, sizeof A);
  OPENSSL_cleanse(B, sizeof B);
  EVP_MD_CTX_free(ctx);
  return ok;
}

/* pbkdf1 is PKCS#5 v1.5's: T = H^c(P || S), key = T[0..8), IV = T[8..16). */
static int pbkdf1(const EVP_MD *md, const uint8_t *pass, size_t pass_len, const uint8_t *salt,
                  size_t salt_len, uint64_t iterations, uint8_t out[16]) {
  uint8_t T[EVP_MAX_MD_SIZE];
  unsigned tlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_MD_size(md) >= 16 && EVP_DigestInit_ex(ctx, md, NULL) &&
           EVP_DigestUpdate(ctx, pass, pass_len) && EVP_DigestUpdate(ctx, salt, salt_len) &&
           EVP_DigestFinal_ex(ctx, T, &tlen);
  for (uint64_t i = 1; ok && i < iterations; i++)
    ok = EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, T, tlen) &&
         EVP_DigestFinal_ex(ctx, T, &tlen);
  if (ok) memcpy(out, T, 16);
  OPENSSL_cleanse(T, sizeof T);
  EVP_MD_CTX_free(ctx);
  return ok;
}

/* ---- PBE parameters ------------------------------------------------------------------------ */

static int fail_msg(char *err, size_t len, int rc, const char *fmt, const char *arg) {
  snprintf(err, len, fmt, arg ? arg : "");
  return rc;
}

/* rc2_bits_of maps RC2-CBCParameter's version to effective key bits (RFC 8018 B.2.3). */
static unsigned rc2_bits_of(uint64_t version) {
  if (version == 160) return 40;
  if (version == 120) return 64;
  if (version == 58) return 128;
  if (version >= 256) return (unsigned)version;
  return 0;
}

static int parse_pbes2(CBS *params, cb_pbe *out, char *err, size_t err_len) {
  CBS kdf, kdf_params, enc, enc_oid, prf, oid;
  char t[96];
  uint64_t key_len = 0;
  int has_key_len = 0;
  if (!CBS_get_asn1(params, &kdf, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(params, &enc, CBS_ASN1_SEQUENCE) || CBS_len(params) != 0 ||
      !CBS_get_asn1(&kdf, &oid, CBS_ASN1_OBJECT))
    return fail_msg(err, err_len, 0, "malformed PBES2 parameters%s", NULL);
  cb_oid_text(&oid, t, sizeof t);
  int scrypt = !strcmp(t, OID_SCRYPT);
  if (strcmp(t, OID_PBKDF2) && !scrypt)
    return fail_msg(err, err_len, -1, "PBES2 with key derivation %s (only PBKDF2 and scrypt are supported)", t);
  if (!CBS_get_asn1(&kdf, &kdf_params, CBS_ASN1_SEQUENCE) || CBS_len(&kdf) != 0)
    return fail_msg(err, err_len, 0, "malformed %s parameters", scrypt ? "scrypt" : "PBKDF2");
  if (!CBS_peek_asn1_tag(&kdf_params, CBS_ASN1_OCTETSTRING))
    return fail_msg(err, err_len, -1, "PBKDF2 with a salt from another source%s", NULL);
  const char *prf_name = "SHA1";
  out->md = EVP_sha1(); /* the DEFAULT of PBKDF2-params */
  if (scrypt) {
    /* scrypt-params (RFC 7914 7.1): salt, costParameter N, blockSize r, parallelization p,
     * keyLength OPTIONAL; N is what max_iter bounds */
    if (!CBS_get_asn1(&kdf_params, &out->salt, CBS_ASN1_OCTETSTRING) ||
        !CBS_get_asn1_uint64(&kdf_params, &out->iterations) ||
        !CBS_get_asn1_uint64(&kdf_params, &out->scrypt_r) ||
        !CBS_get_asn1_uint64(&kdf_params, &out->scrypt_p) ||
        !cb_asn1_opt_uint64(&kdf_params, &key_len, 0) || CBS_len(&kdf_params) != 0)
      return fail_msg(err, err_len, 0, "malformed scrypt parameters%s", NULL);
    out->md = NULL;
    prf_name = NULL;
  } else if (!CBS_get_asn1(&kdf_params, &out->salt, CBS_ASN1_OCTETSTRING) ||
      !CBS_get_asn1_uint64(&kdf_params, &out->iterations) ||
      !cb_asn1_opt_uint64(&kdf_params, &key_len, 0))
    return fail_msg(err, err_len, 0, "malformed PBKDF2 parameters%s", NULL);
  has_key_len = key_len != 0;
  if (!scrypt && CBS_len(&kdf_params) > 0) {
    if (!CBS_get_asn1(&kdf_params, &prf, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&prf, &oid, CBS_ASN1_OBJECT) || CBS_len(&kdf_params) != 0)
      return fail_msg(err, err_len, 0, "malformed PBKDF2 PRF%s", NULL);
    cb_oid_text(&oid, t, sizeof t);
    out->md = cb_digest_by_oid(t, 1, &prf_name);
    if (!out->md) return fail_msg(err, err_len, -1, "PBKDF2 with PRF %s", t);
  }
  if (!CBS_get_asn1(&enc, &enc_oid, CBS_ASN1_OBJECT))
    return fail_msg(err, err_len, 0, "malformed PBES2 encryption scheme%s", NULL);
  cb_oid_text(&enc_oid, t, sizeof t);
  const char *cname = NULL;
  for (size_t i = 0; i < sizeof pbes2_ciphers / sizeof *pbes2_ciphers; i++)
    if (!strcmp(pbes2_ciphers[i].oid, t)) {
      out->cipher = pbes2_ciphers[i].cipher();
      cname = pbes2_ciphers[i].name;
    }
  if (!out->cipher) {
    /* ciphers OpenSSL can write and BoringSSL does not have: say which */
    static const struct {
      const char *oid, *name;
    } unknown[] = {
        {"1.2.392.200011.61.1.1.1.2", "CAMELLIA-128-CBC (1.2.392.200011.61.1.1.1.2)"},
        {"1.2.392.200011.61.1.1.1.3", "CAMELLIA-192-CBC (1.2.392.200011.61.1.1.1.3)"},
        {"1.2.392.200011.61.1.1.1.4", "CAMELLIA-256-CBC (1.2.392.200011.61.1.1.1.4)"},
        {"1.2.410.200046.1.1.2", "ARIA-128-CBC (1.2.410.200046.1.1.2)"},
        {"1.2.410.200046.1.1.7", "ARIA-192-CBC (1.2.410.200046.1.1.7)"},
        {"1.2.410.200046.1.1.12", "ARIA-256-CBC (1.2.410.200046.1.1.12)"},
        {"1.2.156.10197.1.104.2", "SM4-CBC (1.2.156.10197.1.104.2)"},
        {"1.2.643.2.2.21", "GOST 28147-89 (1.2.643.2.2.21)"},
        {"1.3.6.1.4.1.3029.1.2", "Blowfish-CBC (1.3.6.1.4.1.3029.1.2)"},
    };
    const char *what = t;
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
      if (!strcmp(unknown[i].oid, t)) what = unknown[i].name;
    return fail_msg(err, err_len, -1, "PBES2 with cipher %s, which is not supported", what);
  }
  out->key_len = EVP_CIPHER_key_length(out->cipher);
  if (out->cipher == EVP_rc2_cbc()) {
    CBS rc2;
    uint64_t version = 0;
    int has_version = 0;
    if (!CBS_get_asn1(&enc, &rc2, CBS_ASN1_SEQUENCE) || CBS_len(&enc) != 0)
      return fail_msg(err, err_len, 0, "malformed RC2-CBC parameters%s", NULL);
    if (CBS_peek_asn1_tag(&rc2, CBS_ASN1_INTEGER)) {
      if (!CBS_get_asn1_uint64(&rc2, &version))
        return fail_msg(err, err_len, 0, "malformed RC2-CBC parameters%s", NULL);
      has_version = 1;
    }
    if (!CBS_get_asn1(&rc2, &out->iv, CBS_ASN1_OCTETSTRING) || CBS_len(&rc2) != 0)
      return fail_msg(err, err_len, 0, "malformed RC2-CBC parameters%s", NULL);
    out->rc2_bits = has_version ? rc2_bits_of(version) : 32;
    if (!out->rc2_bits) return fail_msg(err, err_len, -1, "RC2-CBC with an unknown version%s", NULL);
    out->key_len = has_key_len ? key_len : 16;
    if (out->key_len == 0 || out->key_len > 128)
      return fail_msg(err, err_len, 0, "RC2-CBC with an impossible key length%s", NULL);
  } else {
    if (!CBS_get_asn1(&enc, &out->iv, CBS_ASN1_OCTETSTRING) || CBS_len(&enc) != 0)
      return fail_msg(err, err_len, 0, "malformed %s parameters", cname);
    if (has_key_len && key_len != out->key_len)
      return fail_msg(err, err_len, 0, "PBKDF2 key length does not fit %s", cname);
  }
  if (CBS_len(&out->iv) != EVP_CIPHER_iv_length(out->cipher))
    return fail_msg(err, err_len, 0, "%s with an IV of the wrong size", cname);
  char kdf_name[32];
  if (prf_name) snprintf(kdf_name, sizeof kdf_name, "PBKDF2-%s", prf_name);
  else snprintf(kdf_name, sizeof kdf_name, "scrypt");
  if (out->rc2_bits)
    snprintf(out->name, sizeof out->name, "PBES2/%s/RC2-%u-CBC", kdf_name, out->rc2_bits);
  else
    snprintf(out->name, sizeof out->name, "PBES2/%s/%s", kdf_name, cname);
  out->scheme = CB_PBE_PBES2;
  return 1;
}

int cb_pbe_parse(CBS *algid, cb_pbe *out, char *err, size_t err_len) {
  CBS seq, oid, params;
  char t[96];
  memset(out, 0, sizeof *out);
  if (!CBS_get_asn1(algid, &seq, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&seq, &oid, CBS_ASN1_OBJECT))
    return fail_msg(err, err_len, 0, "malformed encryption algorithm%s", NULL);
  cb_oid_text(&oid, t, sizeof t);
  if (!CBS_get_asn1(&seq, &params, CBS_ASN1_SEQUENCE) || CBS_len(&seq) != 0) {
    /* a known OID with bad parameters is malformed; an unknown one is unsupported */
    int known = !strcmp(t, OID_PBES2) || !strncmp(t, OID_P12_PBE, strlen(OID_P12_PBE));
    return fail_msg(err, err_len, known ? 0 : -1,
                    known ? "malformed parameters of encryption algorithm %s"
                          : "encryption algorithm %s is not supported", t);
  }
  if (!strcmp(t, OID_PBES2)) {
    int rc = parse_pbes2(&params, out, err, err_len);
    if (rc != 1) return rc;
  } else {
    for (size_t i = 0; i < sizeof p12_schemes / sizeof *p12_schemes; i++)
      if (!strcmp(p12_schemes[i].oid, t)) {
        out->scheme = CB_PBE_P12;
        out->md = EVP_sha1();
        out->cipher = p12_schemes[i].cipher();
        out->key_len = p12_schemes[i].key_len;
        out->rc2_bits = p12_schemes[i].rc2_bits;
        snprintf(out->name, sizeof out->name, "%s", p12_schemes[i].name);
      }
    for (size_t i = 0; i < sizeof p5_schemes / sizeof *p5_schemes; i++)
      if (!strcmp(p5_schemes[i].oid, t)) {
        out->scheme = CB_PBE_P5V1;
        out->md = p5_schemes[i].md();
        out->cipher = p5_schemes[i].cipher();
        out->key_len = 8;
        out->rc2_bits = out->cipher == EVP_rc2_cbc() ? 64 : 0;
        snprintf(out->name, sizeof out->name, "%s", p5_schemes[i].name);
      }
    if (!out->scheme) return fail_msg(err, err_len, -1, "encryption algorithm %s is not supported", t);
    if (!CBS_get_asn1(&params, &out->salt, CBS_ASN1_OCTETSTRING) ||
        !CBS_get_asn1_uint64(&params, &out->iterations) || CBS_len(&params) != 0)
      return fail_msg(err, err_len, 0, "malformed parameters of %s", out->name);
  }
  if (out->iterations == 0)
    return fail_msg(err, err_len, 0, "%s with an iteration count of 0", out->name);
  return 1;
}

/* ---- encryption ---------------------------------------------------------------------------- */

static int run_cipher(const cb_pbe *p, int enc, const uint8_t *key, const uint8_t *iv,
                      const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  size_t cap = in_len + EVP_CIPHER_block_size(p->cipher);
  uint8_t *buf = OPENSSL_malloc(cap ? cap : 1);
  int n1 = 0, n2 = 0;
  int ok = ctx && buf && EVP_CipherInit_ex(ctx, p->cipher, NULL, NULL, NULL, enc);
  if (ok && (EVP_CIPHER_flags(p->cipher) & EVP_CIPH_VARIABLE_LENGTH))
    ok = EVP_CIPHER_CTX_set_key_length(ctx, (unsigned)p->key_len);
  if (ok && p->rc2_bits)
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_SET_RC2_KEY_BITS, (int)p->rc2_bits, NULL);
  ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) && in_len <= (size_t)INT32_MAX &&
       EVP_CipherUpdate(ctx, buf, &n1, in, (int)in_len) && EVP_CipherFinal_ex(ctx, buf + n1, &n2);
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    if (buf) {
      OPENSSL_cleanse(buf, cap);
      OPENSSL_free(buf);
    }
    return 0;
  }
  *out = buf;
  *out_len = (size_t)n1 + (size_t)n2;
  return 1;
}

int cb_pbe_crypt(const cb_pbe *p, const cb_password *pw, int enc, const uint8_t *in,
                 size_t in_len, uint8_t **out, size_t *out_len) {
  uint8_t key[EVP_MAX_KEY_LENGTH > 128 ? EVP_MAX_KEY_LENGTH : 128], iv[EVP_MAX_IV_LENGTH], t[16];
  size_t iv_len = EVP_CIPHER_iv_length(p->cipher);
  int ok = 0;
  if (p->key_len > sizeof key || iv_len > sizeof iv) return 0;
  switch (p->scheme) {
    case CB_PBE_P12:
      ok = cb_pkcs12_kdf(p->md, 1, pw->bmp, pw->bmp_len, CBS_data(&p->salt), CBS_len(&p->salt),
                         p->iterations, key, p->key_len) &&
           (iv_len == 0 || cb_pkcs12_kdf(p->md, 2, pw->bmp, pw->bmp_len, CBS_data(&p->salt),
                                         CBS_len(&p->salt), p->iterations, iv, iv_len));
      break;
    case CB_PBE_P5V1:
      ok = iv_len == 8 && pbkdf1(p->md, pw->raw, pw->raw_len, CBS_data(&p->salt),
                                 CBS_len(&p->salt), p->iterations, t);
      if (ok) {
        memcpy(key, t, 8);
        memcpy(iv, t + 8, 8);
      }
      break;
    case CB_PBE_PBES2:
      if (!p->md) /* scrypt; 64 MiB: twice what OpenSSL allows, so openssl -scrypt keys load */
        ok = CBS_len(&p->iv) == iv_len &&
             EVP_PBE_scrypt((const char *)pw->raw, pw->raw_len, CBS_data(&p->salt), CBS_len(&p->salt),
                            p->iterations, p->scrypt_r, p->scrypt_p, 64 * 1024 * 1024, key, p->key_len);
      else
        ok = p->iterations <= UINT32_MAX && CBS_len(&p->iv) == iv_len &&
             PKCS5_PBKDF2_HMAC((const char *)pw->raw, pw->raw_len, CBS_data(&p->salt),
                               CBS_len(&p->salt), (unsigned)p->iterations, p->md, p->key_len, key);
      if (ok) memcpy(iv, CBS_data(&p->iv), iv_len);
      break;
  }
  if (ok) ok = run_cipher(p, enc, key, iv_len ? iv : NULL, in, in_len, out, out_len);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(iv, sizeof iv);
  OPENSSL_cleanse(t, sizeof t);
  return ok;
}

int cb_pbe_encrypt(int scheme, const EVP_MD *prf, uint64_t iterations, const cb_password *pw,
                   const uint8_t *in, size_t in_len, CBB *algid, uint8_t **out, size_t *out_len) {
  uint8_t salt[16], iv[16];
  cb_pbe p;
  CBB seq, params, kdf, kdf_params, prf_seq, enc;
  memset(&p, 0, sizeof p);
  p.iterations = iterations;
  const char *oid = NULL;
  switch (scheme) {
    case CB_PBE_WRITE_AES128: p.cipher = EVP_aes_128_cbc(); oid = "2.16.840.1.101.3.4.1.2"; break;
    case CB_PBE_WRITE_AES192: p.cipher = EVP_aes_192_cbc(); oid = "2.16.840.1.101.3.4.1.22"; break;
    case CB_PBE_WRITE_AES256: p.cipher = EVP_aes_256_cbc(); oid = "2.16.840.1.101.3.4.1.42"; break;
    case CB_PBE_WRITE_PBES2_3DES: p.cipher = EVP_des_ede3_cbc(); oid = "1.2.840.113549.3.7"; break;
    case CB_PBE_WRITE_3DES:
      p.cipher = EVP_des_ede3_cbc(); p.key_len = 24; oid = OID_P12_PBE "3"; break;
    case CB_PBE_WRITE_RC2_40:
      p.cipher = EVP_rc2_cbc(); p.key_len = 5; p.rc2_bits = 40; oid = OID_P12_PBE "6"; break;
    default: return 0;
  }
  int pbes2 = scheme <= CB_PBE_WRITE_AES256 || scheme == CB_PBE_WRITE_PBES2_3DES;
  /* NIST SP 800-132 asks for 128-bit salts; PKCS#12 PBES1 readers expect OpenSSL's 8 bytes */
  size_t salt_len = pbes2 ? 16 : 8;
  if (!RAND_bytes(salt, salt_len) || !RAND_bytes(iv, sizeof iv)) return 0;
  CBS_init(&p.salt, salt, salt_len);
  if (pbes2) {
    const char *prf_oid = hmac_oid_of(prf);
    if (!prf_oid) return 0;
    p.scheme = CB_PBE_PBES2;
    p.md = prf;
    p.key_len = EVP_CIPHER_key_length(p.cipher);
    CBS_init(&p.iv, iv, EVP_CIPHER_iv_length(p.cipher));
    if (!CBB_add_asn1(algid, &seq, CBS_ASN1_SEQUENCE) ||
        !cb_add_oid(&seq, OID_PBES2) ||
        !CBB_add_asn1(&seq, &params, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&params, &kdf, CBS_ASN1_SEQUENCE) ||
        !cb_add_oid(&kdf, OID_PBKDF2) ||
        !CBB_add_asn1(&kdf, &kdf_params, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1_octet_string(&kdf_params, salt, salt_len) ||
        !CBB_add_asn1_uint64(&kdf_params, iterations))
      return 0;
    /* hmacWithSHA1 is the DEFAULT, which DER leaves out */
    if (prf != EVP_sha1() &&
        (!CBB_add_asn1(&kdf_params, &prf_seq, CBS_ASN1_SEQUENCE) ||
         !cb_add_oid(&prf_seq, prf_oid) ||
         !CBB_add_asn1(&prf_seq, &enc, CBS_ASN1_NULL)))
      return 0;
    if (!CBB_add_asn1(&params, &enc, CBS_ASN1_SEQUENCE) ||
        !cb_add_oid(&enc, oid) ||
        !CBB_add_asn1_octet_string(&enc, CBS_data(&p.iv), CBS_len(&p.iv)) || !CBB_flush(algid))
      return 0;
  } else {
    p.scheme = CB_PBE_P12;
    p.md = EVP_sha1();
    if (!CBB_add_asn1(algid, &seq, CBS_ASN1_SEQUENCE) ||
        !cb_add_oid(&seq, oid) ||
        !CBB_add_asn1(&seq, &params, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1_octet_string(&params, salt, salt_len) ||
        !CBB_add_asn1_uint64(&params, iterations) || !CBB_flush(algid))
      return 0;
  }
  return cb_pbe_crypt(&p, pw, 1, in, in_len, out, out_len);
}

/* ---- BER --------------------------------------------------------------------------------- */

static int is_string_tag(unsigned tag) {
  switch (tag & ~CBS_ASN1_CONSTRUCTED) {
    case CBS_ASN1_BITSTRING: case CBS_ASN1_OCTETSTRING: case CBS_ASN1_UTF8STRING:
    case CBS_ASN1_NUMERICSTRING: case CBS_ASN1_PRINTABLESTRING: case CBS_ASN1_T61STRING:
    case CBS_ASN1_VIDEOTEXSTRING: case CBS_ASN1_IA5STRING: case CBS_ASN1_GRAPHICSTRING:
    case CBS_ASN1_VISIBLESTRING: case CBS_ASN1_GENERALSTRING: case CBS_ASN1_UNIVERSALSTRING:
    case CBS_ASN1_BMPSTRING:
      return 1;
  }
  return 0;
}

/* convert copies elements from in to out as DER. Inside a constructed string (string_tag != 0)
 * only the contents of the pieces are written. With eoc set, an end-of-contents ends it. */
static int convert(CBS *in, CBB *out, unsigned string_tag, int eoc, unsigned depth) {
  if (depth > 64) return 0;
  while (CBS_len(in) > 0) {
    if (eoc && CBS_len(in) >= 2 && CBS_data(in)[0] == 0 && CBS_data(in)[1] == 0)
      return CBS_skip(in, 2);
    CBS elem;
    unsigned tag, child_string = string_tag;
    size_t header;
    int indefinite, ber;
    CBB storage, *contents;
    if (!CBS_get_any_ber_asn1_element(in, &elem, &tag, &header, &ber, &indefinite)) return 0;
    if (string_tag) {
      if ((tag & ~CBS_ASN1_CONSTRUCTED) != string_tag) return 0;
      contents = out;
    } else {
      unsigned out_tag = tag;
      if ((tag & CBS_ASN1_CONSTRUCTED) && (tag & CBS_ASN1_CLASS_MASK) == 0 && is_string_tag(tag)) {
        out_tag &= ~CBS_ASN1_CONSTRUCTED;
        child_string = out_tag;
      }
      if (!CBB_add_asn1(out, &storage, out_tag)) return 0;
      contents = &storage;
    }
    if (indefinite) {
      if (!convert(in, contents, child_string, 1, depth + 1)) return 0;
    } else {
      if (!CBS_skip(&elem, header)) return 0;
      if (tag & CBS_ASN1_CONSTRUCTED) {
        if (!convert(&elem, contents, child_string, 0, depth + 1)) return 0;
      } else if (!CBB_add_bytes(contents, CBS_data(&elem), CBS_len(&elem))) {
        return 0;
      }
    }
    if (!CBB_flush(out)) return 0;
  }
  return !eoc;
}

int cb_ber_to_der(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len) {
  CBS cbs;
  CBB cbb;
  CBS_init(&cbs, in, in_len);
  if (!CBB_init(&cbb, in_len)) return 0;
  if (!convert(&cbs, &cbb, 0, 0, 0) || !CBB_finish(&cbb, out, out_len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  return 1;
}

int cb_asn1_get_string(CBS *cbs, CBS *out, unsigned tag, uint8_t **storage) {
  CBS cons;
  CBB cbb;
  size_t len;
  *storage = NULL;
  if (CBS_peek_asn1_tag(cbs, tag)) return CBS_get_asn1(cbs, out, tag);
  if (!CBS_get_asn1(cbs, &cons, tag | CBS_ASN1_CONSTRUCTED) || !CBB_init(&cbb, CBS_len(&cons)))
    return 0;
  while (CBS_len(&cons) > 0) {
    CBS piece;
    if (!CBS_get_asn1(&cons, &piece, CBS_ASN1_OCTETSTRING) ||
        !CBB_add_bytes(&cbb, CBS_data(&piece), CBS_len(&piece))) {
      CBB_cleanup(&cbb);
      return 0;
    }
  }
  if (!CBB_finish(&cbb, storage, &len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  CBS_init(out, *storage, len);
  return 1;
}

int cb_asn1_is_single(const uint8_t *data, size_t len, unsigned tag) {
  CBS cbs, elem;
  CBS_init(&cbs, data, len);
  return CBS_get_asn1(&cbs, &elem, tag) && CBS_len(&cbs) == 0;
}

int cb_asn1_opt_uint64(CBS *cbs, uint64_t *out, uint64_t def) {
  if (!CBS_peek_asn1_tag(cbs, CBS_ASN1_INTEGER)) {
    *out = def;
    return 1;
  }
  return CBS_get_asn1_uint64(cbs, out);
}
