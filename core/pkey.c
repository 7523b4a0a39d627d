/* pkey.c: `_certbench.pkey`, private and public keys (RSA, EC P-256/384/521, Ed25519).
 *
 * Loading does its own PEM scanning and its own decryption of encrypted keys instead of
 * PEM_read_bio_PrivateKey: that is what lets a caller tell "a password is needed" from "wrong
 * password" from "not a key" from "unsupported", and what reads the files BoringSSL alone
 * cannot (PBES2 with HMAC-SHA384/512 or scrypt, PBES1 pbeWithMD5AndDES as old OpenSSL and Java
 * wrote them, bundles with text around the block). BoringSSL still parses every key structure
 * (EVP_parse_private_key and friends) and decrypts PKCS#12-style PBEs.
 *
 * Plaintext key material in C lives in OPENSSL_malloc buffers (BoringSSL cleanses them on
 * OPENSSL_free) and is cleansed explicitly as soon as it is used; nothing here calls into Lua
 * while such a buffer is live, so no raise can leak one. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/base64.h>
#include <openssl/bytestring.h>
#include <openssl/cipher.h>
#include <openssl/dsa.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pkcs8.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "digest.h"
#include "pbe.h"
#include "pem.h"
#include "objects.h"

/* --- errors of loading ------------------------------------------------------------------ */

#define E_ENCRYPTED "encrypted"
#define E_BAD_PASSWORD "bad_password"
#define E_NOT_A_KEY "not_a_key"
#define E_UNSUPPORTED "unsupported"

#define MSG_ENCRYPTED "key is encrypted: a password is needed"
#define MSG_BAD_PASSWORD "wrong password (or corrupt key)"

typedef struct {
  const char *pw; /* borrowed from the Lua argument; never copied */
  size_t pwlen;
  int have_pw;
  uint64_t max_iter; /* a hostile file must not make us spin for hours in a KDF */
  const char *code;  /* set on failure */
  char msg[256];
} lctx;

static EVP_PKEY *fail_load(lctx *c, const char *code, const char *fmt, ...) {
  va_list ap;
  c->code = code;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof c->msg, fmt, ap);
  va_end(ap);
  ERR_clear_error();
  return NULL;
}

static int fail3(lua_State *L, const char *code, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushstring(L, code);
  return 3;
}

/* --- object identifiers (DER contents) ----------------------------------------------- */

#define OID_IS(cbs, o) CBS_mem_equal((cbs), (o), sizeof(o))

/* names of algorithms BoringSSL does not take, for a useful "unsupported" message */
static const struct {
  const char *oid, *name;
} other_algs[] = {
    {"1.2.840.10040.4.1", "DSA"},          {"1.3.101.110", "X25519"},
    {"1.3.101.111", "X448"},               {"1.3.101.113", "Ed448"},
    {"1.2.840.113549.1.1.10", "RSA-PSS"},  {"1.2.840.113549.1.3.1", "DH"},
    {"1.2.840.10046.2.1", "X9.42 DH"},     {"1.2.156.10197.1.301", "SM2"},
    {"1.2.643.7.1.1.1.1", "GOST R 34.10-2012"},
};

/* alg_name writes a name for the algorithm OID (DER contents) into buf. */
static const char *alg_name(CBS *oid, char *buf, size_t len) {
  char *text = CBS_asn1_oid_to_text(oid);
  snprintf(buf, len, "OID %s", text ? text : "(malformed)");
  for (size_t i = 0; text && i < sizeof other_algs / sizeof other_algs[0]; i++)
    if (!strcmp(text, other_algs[i].oid)) snprintf(buf, len, "%s", other_algs[i].name);
  OPENSSL_free(text);
  return buf;
}

/* --- accepting a parsed key ------------------------------------------------------------- */

static const char *type_name(const EVP_PKEY *k) {
  switch (EVP_PKEY_id(k)) {
    case EVP_PKEY_RSA: return "rsa";
    case EVP_PKEY_EC: return "ec";
    case EVP_PKEY_ED25519: return "ed25519";
    case EVP_PKEY_DSA: return "dsa";
    case EVP_PKEY_X25519: return "x25519";
    default: return "unknown";
  }
}

/* accept_key keeps the key types certbench works with; BoringSSL parses DSA and X25519 keys
 * too but can sign with neither, so they are "unsupported" rather than half-working. */
static EVP_PKEY *accept_key(lctx *c, EVP_PKEY *k) {
  int id = EVP_PKEY_id(k);
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_EC || id == EVP_PKEY_ED25519) {
    ERR_clear_error();
    return k;
  }
  const char *name = id == EVP_PKEY_DSA ? "DSA" : id == EVP_PKEY_X25519 ? "X25519" : "this type";
  EVP_PKEY_free(k);
  return fail_load(c, E_UNSUPPORTED,
                   "unsupported key algorithm: %s (certbench works with RSA, EC and Ed25519 keys)",
                   name);
}

static int err_is_unknown_group(void) {
  uint32_t e;
  while ((e = ERR_get_error()) != 0)
    if (ERR_GET_LIB(e) == ERR_LIB_EC &&
        (ERR_GET_REASON(e) == EC_R_UNKNOWN_GROUP || ERR_GET_REASON(e) == EC_R_GROUP_MISMATCH))
      return 1;
  return 0;
}

/* why_not parses the outer structure of a PrivateKeyInfo (private) or SubjectPublicKeyInfo
 * that BoringSSL refused, to tell an algorithm it does not know from garbage. decrypted: the
 * bytes came out of a decryption, so garbage means the password was wrong. */
static EVP_PKEY *why_not(lctx *c, CBS der, int private, int decrypted) {
  int unknown_group = err_is_unknown_group();
  CBS seq, alg, oid;
  uint64_t version;
  if (!CBS_get_asn1(&der, &seq, CBS_ASN1_SEQUENCE) ||
      (private && !CBS_get_asn1_uint64(&seq, &version)) ||
      !CBS_get_asn1(&seq, &alg, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT)) {
    if (decrypted) return fail_load(c, E_BAD_PASSWORD, MSG_BAD_PASSWORD);
    return fail_load(c, E_NOT_A_KEY, "not a key: malformed %s",
                     private ? "PKCS#8 private key" : "public key");
  }
  static const uint8_t rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
  static const uint8_t ec[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
  static const uint8_t ed25519[] = {0x2b, 0x65, 0x70};
  if (OID_IS(&oid, ec) && unknown_group)
    return fail_load(c, E_UNSUPPORTED,
                     "unsupported EC curve (certbench works with P-256, P-384 and P-521)");
  if (OID_IS(&oid, rsa) || OID_IS(&oid, ec) || OID_IS(&oid, ed25519))
    return fail_load(c, E_NOT_A_KEY, "not a key: malformed %s %s key",
                     OID_IS(&oid, rsa) ? "RSA" : OID_IS(&oid, ec) ? "EC" : "Ed25519",
                     private ? "private" : "public");
  char name[96];
  return fail_load(c, E_UNSUPPORTED,
                   "unsupported key algorithm: %s (certbench works with RSA, EC and Ed25519 keys)",
                   alg_name(&oid, name, sizeof name));
}

/* --- the key structures ------------------------------------------------------------------ */

enum kind { K_AUTO, K_PKCS8, K_PKCS8_ENC, K_RSA, K_EC, K_DSA, K_SPKI, K_RSA_PUB };

static EVP_PKEY *parse_pkcs8(lctx *c, CBS der, int decrypted) {
  CBS in = der;
  EVP_PKEY *k = EVP_parse_private_key(&in);
  if (k && CBS_len(&in) == 0) return accept_key(c, k);
  EVP_PKEY_free(k);
  return why_not(c, der, 1, decrypted);
}

static EVP_PKEY *parse_spki(lctx *c, CBS der) {
  CBS in = der;
  EVP_PKEY *k = EVP_parse_public_key(&in);
  if (k && CBS_len(&in) == 0) return accept_key(c, k);
  EVP_PKEY_free(k);
  return why_not(c, der, 0, 0);
}

/* parse_traditional: PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey, the DSA private key, PKCS#1
 * RSAPublicKey. */
static EVP_PKEY *parse_traditional(lctx *c, enum kind kind, CBS der, int decrypted) {
  EVP_PKEY *k = EVP_PKEY_new();
  if (!k) return fail_load(c, E_NOT_A_KEY, "out of memory");
  CBS in = der;
  int ok = 0, unknown_group = 0;
  if (kind == K_RSA || kind == K_RSA_PUB) {
    RSA *rsa = kind == K_RSA ? RSA_parse_private_key(&in) : RSA_parse_public_key(&in);
    ok = rsa && CBS_len(&in) == 0 && EVP_PKEY_assign_RSA(k, rsa);
    if (!ok) RSA_free(rsa);
  } else if (kind == K_EC) {
    EC_KEY *ec = EC_KEY_parse_private_key(&in, NULL);
    if (!ec) unknown_group = err_is_unknown_group();
    ok = ec && CBS_len(&in) == 0 && EVP_PKEY_assign_EC_KEY(k, ec);
    if (!ok) EC_KEY_free(ec);
  } else if (kind == K_DSA) {
    DSA *dsa = DSA_parse_private_key(&in);
    ok = dsa && CBS_len(&in) == 0 && EVP_PKEY_assign_DSA(k, dsa);
    if (!ok) DSA_free(dsa);
  }
  if (ok) return accept_key(c, k);
  EVP_PKEY_free(k);
  if (unknown_group)
    return fail_load(c, E_UNSUPPORTED,
                     "unsupported EC curve (certbench works with P-256, P-384 and P-521)");
  if (decrypted) return fail_load(c, E_BAD_PASSWORD, MSG_BAD_PASSWORD);
  return fail_load(c, E_NOT_A_KEY, "not a key: malformed %s",
                   kind == K_RSA     ? "RSA private key"
                   : kind == K_EC    ? "EC private key"
                   : kind == K_DSA   ? "DSA private key"
                                     : "RSA public key");
}

/* sniff tells the structure of DER bytes from their shape: the outer SEQUENCE's elements. */
static enum kind sniff(CBS der) {
  CBS seq, first, second;
  unsigned tag;
  if (!CBS_get_asn1(&der, &seq, CBS_ASN1_SEQUENCE) || CBS_len(&der) != 0) return K_AUTO;
  if (CBS_peek_asn1_tag(&seq, CBS_ASN1_SEQUENCE)) {
    /* AlgorithmIdentifier first: EncryptedPrivateKeyInfo or SubjectPublicKeyInfo */
    if (!CBS_get_asn1(&seq, &first, CBS_ASN1_SEQUENCE)) return K_AUTO;
    if (CBS_peek_asn1_tag(&seq, CBS_ASN1_OCTETSTRING)) return K_PKCS8_ENC;
    if (CBS_peek_asn1_tag(&seq, CBS_ASN1_BITSTRING)) return K_SPKI;
    return K_AUTO;
  }
  if (!CBS_get_asn1(&seq, &first, CBS_ASN1_INTEGER)) return K_AUTO;
  if (CBS_peek_asn1_tag(&seq, CBS_ASN1_SEQUENCE)) return K_PKCS8;  /* version, AlgId */
  if (CBS_peek_asn1_tag(&seq, CBS_ASN1_OCTETSTRING)) return K_EC; /* version, privateKey */
  size_t integers = 1;
  while (CBS_len(&seq) > 0) {
    if (!CBS_get_any_asn1_element(&seq, &second, &tag, NULL) || tag != CBS_ASN1_INTEGER)
      return K_AUTO;
    integers++;
  }
  if (integers == 2) return K_RSA_PUB; /* n, e */
  if (integers == 6) return K_DSA;     /* version, p, q, g, y, x */
  if (integers == 9) return K_RSA;     /* version, n, e, d, p, q, dp, dq, qinv */
  return K_AUTO;
}

/* --- decryption ------------------------------------------------------------------------- */

/* cbc_decrypt decrypts in into a new buffer (*out, to OPENSSL_free). Returns 1, or 0 when the
 * padding is wrong: the usual sign of a wrong password. */
static int cbc_decrypt(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv,
                       const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen) {
  EVP_CIPHER_CTX ctx;
  int n1 = 0, n2 = 0, ok = 0;
  *out = NULL;
  if (inlen == 0 || inlen % EVP_CIPHER_block_size(cipher) != 0 || inlen > INT32_MAX) return 0;
  uint8_t *buf = OPENSSL_malloc(inlen + EVP_CIPHER_block_size(cipher));
  if (!buf) return 0;
  EVP_CIPHER_CTX_init(&ctx);
  ok = EVP_DecryptInit_ex(&ctx, cipher, NULL, key, iv) &&
       EVP_DecryptUpdate(&ctx, buf, &n1, in, (int)inlen) &&
       EVP_DecryptFinal_ex(&ctx, buf + n1, &n2);
  EVP_CIPHER_CTX_cleanup(&ctx);
  if (!ok) {
    OPENSSL_cleanse(buf, inlen);
    OPENSSL_free(buf);
    ERR_clear_error();
    return 0;
  }
  *out = buf;
  *outlen = (size_t)n1 + (size_t)n2;
  return 1;
}

/* parse_plain parses decrypted key bytes as kind, then wipes and frees them. */
static EVP_PKEY *parse_plain(lctx *c, enum kind kind, uint8_t *pt, size_t ptlen) {
  CBS plain;
  CBS_init(&plain, pt, ptlen);
  EVP_PKEY *k;
  enum kind shape = sniff(plain);
  if (shape != K_AUTO) kind = shape; /* the content's shape over the PEM label */
  if (kind == K_PKCS8) k = parse_pkcs8(c, plain, 1);
  else if (kind == K_RSA || kind == K_EC || kind == K_DSA) k = parse_traditional(c, kind, plain, 1);
  else k = fail_load(c, E_BAD_PASSWORD, MSG_BAD_PASSWORD);
  OPENSSL_cleanse(pt, ptlen);
  OPENSSL_free(pt);
  return k;
}

/* decrypt_then_parse decrypts (legacy PEM encryption), parses the plaintext as kind and wipes
 * it. */
static EVP_PKEY *decrypt_then_parse(lctx *c, enum kind kind, const EVP_CIPHER *cipher,
                                    const uint8_t *key, const uint8_t *iv, CBS ct) {
  uint8_t *pt;
  size_t ptlen;
  if (!cbc_decrypt(cipher, key, iv, CBS_data(&ct), CBS_len(&ct), &pt, &ptlen))
    return fail_load(c, E_BAD_PASSWORD, MSG_BAD_PASSWORD);
  return parse_plain(c, kind, pt, ptlen);
}

static EVP_PKEY *too_many(lctx *c, uint64_t n) {
  return fail_load(c, E_UNSUPPORTED,
                   "the key asks for %llu KDF iterations, more than the limit of %llu (option "
                   "max_iter)",
                   (unsigned long long)n, (unsigned long long)c->max_iter);
}

/* parse_encrypted_pkcs8: EncryptedPrivateKeyInfo (RFC 5958 3), decrypted by core/lib/pbe.c, the
 * PBE implementation PKCS#12 uses too (PBES2 with PBKDF2 or scrypt, PBES1, PKCS#12 PBEs). */
static EVP_PKEY *parse_encrypted_pkcs8(lctx *c, CBS der) {
  CBS seq, alg, ct;
  if (!CBS_get_asn1(&der, &seq, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&seq, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&seq, &ct, CBS_ASN1_OCTETSTRING) || CBS_len(&seq) != 0)
    return fail_load(c, E_NOT_A_KEY, "not a key: malformed encrypted PKCS#8 key");
  cb_pbe pbe;
  char why[160];
  int rc = cb_pbe_parse(&alg, &pbe, why, sizeof why);
  if (rc == 0) return fail_load(c, E_NOT_A_KEY, "not a key: %s", why);
  if (rc < 0) return fail_load(c, E_UNSUPPORTED, "unsupported PKCS#8 encryption: %s", why);
  if (pbe.iterations > c->max_iter) return too_many(c, pbe.iterations);
  if (!c->have_pw) return fail_load(c, E_ENCRYPTED, MSG_ENCRYPTED);
  cb_password pw;
  if (!cb_pbe_password_init(&pw, (const uint8_t *)c->pw, c->pwlen, 0))
    return fail_load(c, E_NOT_A_KEY, "out of memory");
  uint8_t *pt;
  size_t ptlen;
  int ok = cb_pbe_crypt(&pbe, &pw, 0, CBS_data(&ct), CBS_len(&ct), &pt, &ptlen);
  cb_pbe_password_free(&pw);
  if (!ok) return fail_load(c, E_BAD_PASSWORD, MSG_BAD_PASSWORD);
  return parse_plain(c, K_PKCS8, pt, ptlen);
}

/* --- PEM (core/pem.c finds and decodes the blocks) ------------------------------------ */

typedef cb_pem_block pem_block;

static int label_is(const pem_block *b, const char *s) { return cb_pem_label_is(b, s); }

static int label_has(const pem_block *b, const char *s) {
  return memmem(b->label, b->label_len, s, strlen(s)) != NULL;
}

static const struct {
  const char *name;
  const EVP_CIPHER *(*cipher)(void);
} pem_ciphers[] = {
    {"DES-EDE3-CBC", EVP_des_ede3_cbc}, {"DES-CBC", EVP_des_cbc},
    {"AES-128-CBC", EVP_aes_128_cbc},   {"AES-192-CBC", EVP_aes_192_cbc},
    {"AES-256-CBC", EVP_aes_256_cbc},   {"DES-EDE-CBC", EVP_des_ede_cbc},
};

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* legacy_decrypt: OpenSSL's traditional PEM encryption (Proc-Type: 4,ENCRYPTED, DEK-Info):
 * the key is EVP_BytesToKey(MD5, one round) of the password and the first 8 bytes of the IV. */
static EVP_PKEY *legacy_decrypt(lctx *c, const pem_block *b, enum kind kind, CBS ct) {
  const char *dek;
  size_t dlen;
  if (!cb_pem_header_value(b, "DEK-Info", &dek, &dlen))
    return fail_load(c, E_NOT_A_KEY, "not a key: encrypted PEM without a DEK-Info header");
  const char *comma = memchr(dek, ',', dlen);
  if (!comma) return fail_load(c, E_NOT_A_KEY, "not a key: malformed DEK-Info header");
  size_t nlen = (size_t)(comma - dek);
  const EVP_CIPHER *cipher = NULL;
  for (size_t i = 0; i < sizeof pem_ciphers / sizeof pem_ciphers[0]; i++)
    if (strlen(pem_ciphers[i].name) == nlen && !strncasecmp(dek, pem_ciphers[i].name, nlen))
      cipher = pem_ciphers[i].cipher();
  if (!cipher)
    return fail_load(c, E_UNSUPPORTED, "unsupported PEM encryption: %.*s", (int)(nlen > 40 ? 40 : nlen), dek);
  const char *hex = comma + 1;
  size_t hlen = (size_t)(dek + dlen - hex);
  uint8_t iv[EVP_MAX_IV_LENGTH];
  size_t ivlen = EVP_CIPHER_iv_length(cipher);
  if (hlen != 2 * ivlen) return fail_load(c, E_NOT_A_KEY, "not a key: malformed DEK-Info IV");
  for (size_t i = 0; i < ivlen; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail_load(c, E_NOT_A_KEY, "not a key: malformed DEK-Info IV");
    iv[i] = (uint8_t)(hi << 4 | lo);
  }
  if (!c->have_pw) return fail_load(c, E_ENCRYPTED, MSG_ENCRYPTED);
  uint8_t key[EVP_MAX_KEY_LENGTH];
  if (!EVP_BytesToKey(cipher, EVP_md5(), iv, (const uint8_t *)c->pw, c->pwlen, 1, key, NULL))
    return fail_load(c, E_NOT_A_KEY, "key derivation failed");
  EVP_PKEY *k = decrypt_then_parse(c, kind, cipher, key, iv, ct);
  OPENSSL_cleanse(key, sizeof key);
  return k;
}

/* parse_der parses der as kind; when the bytes clearly have another shape, that wins: some
 * tools write PKCS#8 under "BEGIN RSA PRIVATE KEY" or SEC1 under "BEGIN PRIVATE KEY". */
static EVP_PKEY *parse_der(lctx *c, enum kind kind, CBS der) {
  enum kind shape = sniff(der);
  if (shape != K_AUTO) kind = shape;
  switch (kind) {
    case K_PKCS8: return parse_pkcs8(c, der, 0);
    case K_PKCS8_ENC: return parse_encrypted_pkcs8(c, der);
    case K_SPKI: return parse_spki(c, der);
    case K_RSA:
    case K_EC:
    case K_DSA:
    case K_RSA_PUB: return parse_traditional(c, kind, der, 0);
    default: return fail_load(c, E_NOT_A_KEY, "not a key: the data is neither PEM nor a DER key");
  }
}

/* load_block: one PEM block whose label names a key; complete is 0 when it has no END line. */
static EVP_PKEY *load_block(lctx *c, const pem_block *b, int complete) {
  enum kind kind;
  if (label_is(b, "PRIVATE KEY")) kind = K_PKCS8;
  else if (label_is(b, "ENCRYPTED PRIVATE KEY")) kind = K_PKCS8_ENC;
  else if (label_is(b, "RSA PRIVATE KEY")) kind = K_RSA;
  else if (label_is(b, "EC PRIVATE KEY")) kind = K_EC;
  else if (label_is(b, "DSA PRIVATE KEY")) kind = K_DSA;
  else if (label_is(b, "PUBLIC KEY")) kind = K_SPKI;
  else if (label_is(b, "RSA PUBLIC KEY")) kind = K_RSA_PUB;
  else if (label_is(b, "ANY PRIVATE KEY")) kind = K_AUTO;
  else if (label_is(b, "OPENSSH PRIVATE KEY"))
    return fail_load(c, E_UNSUPPORTED,
                     "unsupported key format: OPENSSH PRIVATE KEY (convert it with "
                     "ssh-keygen -p -m PKCS8 -f FILE)");
  else
    return fail_load(c, E_UNSUPPORTED, "unsupported key format: %.*s",
                     (int)(b->label_len > 60 ? 60 : b->label_len), b->label);
  if (!complete)
    return fail_load(c, E_NOT_A_KEY, "not a key: the %.*s block has no END line",
                     (int)b->label_len, b->label);
  uint8_t *der;
  size_t derlen;
  if (!cb_pem_decode_secret(b, &der, &derlen))
    return fail_load(c, E_NOT_A_KEY, "not a key: malformed base64 in the %.*s block",
                     (int)b->label_len, b->label);
  CBS cbs;
  CBS_init(&cbs, der, derlen);
  const char *pt;
  size_t ptlen;
  EVP_PKEY *k;
  if (cb_pem_header_value(b, "Proc-Type", &pt, &ptlen) && memmem(pt, ptlen, "ENCRYPTED", 9))
    k = legacy_decrypt(c, b, kind, cbs);
  else
    k = parse_der(c, kind, cbs);
  OPENSSL_cleanse(der, derlen);
  OPENSSL_free(der);
  return k;
}

static int is_key_label(const pem_block *b) {
  return label_has(b, "PRIVATE KEY") || label_has(b, "PUBLIC KEY");
}

enum format { F_AUTO, F_PEM, F_DER };

static EVP_PKEY *load(lctx *c, const char *data, size_t len, enum format fmt) {
  const char *end = data + len;
  if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) data += 3; /* the BOM of Windows editors */
  if (data == end) return fail_load(c, E_NOT_A_KEY, "not a key: the data is empty");
  int has_pem = memmem(data, (size_t)(end - data), "-----BEGIN ", 11) != NULL;
  if (fmt == F_PEM || (fmt == F_AUTO && has_pem)) {
    size_t pos = 0;
    int count = 0, r;
    pem_block b;
    char seen[64] = "";
    while ((r = cb_pem_next(data, (size_t)(end - data), &pos, &count, &b)) != 0) {
      if (b.label_len == 0) continue; /* a mangled BEGIN line */
      if (is_key_label(&b)) return load_block(c, &b, r > 0);
      if (!seen[0])
        snprintf(seen, sizeof seen, "%.*s", (int)(b.label_len > 40 ? 40 : b.label_len), b.label);
    }
    if (seen[0])
      return fail_load(c, E_NOT_A_KEY, "no key found (the PEM data holds %s, not a key)", seen);
    return fail_load(c, E_NOT_A_KEY, "no key found (no PEM key block)");
  }
  CBS der;
  CBS_init(&der, (const uint8_t *)data, (size_t)(end - data));
  if (fmt == F_DER || sniff(der) != K_AUTO) return parse_der(c, K_AUTO, der);
  /* base64 without the armor, as some Windows tools and web forms hand keys over */
  uint8_t *raw;
  size_t rawlen;
  if (cb_base64_armorless_secret(data, (size_t)(end - data), &raw, &rawlen)) {
    CBS_init(&der, raw, rawlen);
    EVP_PKEY *k = sniff(der) != K_AUTO ? parse_der(c, K_AUTO, der) : NULL;
    OPENSSL_cleanse(raw, rawlen);
    OPENSSL_free(raw);
    if (k || c->code) return k;
  }
  return fail_load(c, E_NOT_A_KEY, "not a key: the data is neither PEM nor a DER key");
}

/* pkey.load(data, format, password, max_iter) -> key | nil, message, code
 * format: "pem", "der" or nil (autodetect); password: nil, a string or a secret. */
static int l_load(lua_State *L) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len);
  static const char *const formats[] = {"auto", "pem", "der", NULL};
  enum format fmt = (enum format)luaL_checkoption(L, 2, "auto", formats);
  lctx c;
  memset(&c, 0, sizeof c);
  c.pw = cb_optsecret(L, 3, &c.pwlen);
  c.have_pw = c.pw != NULL;
  if (!c.pw) c.pw = "";
  lua_Integer max_iter = luaL_optinteger(L, 4, 10000000);
  luaL_argcheck(L, max_iter >= 1 && max_iter <= INT32_MAX, 4, "must be 1 to 2^31-1");
  c.max_iter = (uint64_t)max_iter;
  EVP_PKEY *k = load(&c, data, len, fmt);
  ERR_clear_error();
  if (!k) return fail3(L, c.code ? c.code : E_NOT_A_KEY, c.msg[0] ? c.msg : "not a key");
  cb_push_pkey(L, k);
  return 1;
}

/* --- generation ------------------------------------------------------------------------ */

static const struct {
  const char *name;
  int nid;
} curves[] = {
    {"P-256", NID_X9_62_prime256v1}, {"P-384", NID_secp384r1},
    {"P-521", NID_secp521r1},        {"P-224", NID_secp224r1},
};

/* pkey.generate_rsa(bits) -> key ; bits: 2048..8192, a multiple of 128 (BoringSSL rounds
 * other sizes down, so they are refused rather than silently shrunk). */
static int l_generate_rsa(lua_State *L) {
  lua_Integer bits = luaL_checkinteger(L, 1);
  luaL_argcheck(L, bits >= 2048 && bits <= 8192 && bits % 128 == 0, 1,
                "RSA bits must be 2048 to 8192, a multiple of 128 (2048, 3072, 4096...)");
  cb_push_pkey(L, NULL); /* the box first: a raise below leaves nothing to leak */
  cb_pkey *box = lua_touserdata(L, -1);
  EVP_PKEY *k = EVP_PKEY_new();
  RSA *rsa = RSA_new();
  BIGNUM *e = BN_new();
  int ok = k && rsa && e && BN_set_word(e, RSA_F4) && RSA_generate_key_ex(rsa, (int)bits, e, NULL) &&
           EVP_PKEY_assign_RSA(k, rsa);
  BN_free(e);
  if (!ok) {
    RSA_free(rsa);
    EVP_PKEY_free(k);
    return cb_fail_ssl(L, "pkey.generate");
  }
  box->p = k;
  return 1;
}

/* pkey.generate_ec(curve) -> key ; curve "P-256", "P-384", "P-521" (or "P-224") */
static int l_generate_ec(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  int nid = NID_undef;
  for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
    if (!strcmp(name, curves[i].name)) nid = curves[i].nid;
  if (nid == NID_undef) return luaL_argerror(L, 1, "curve must be P-256, P-384 or P-521");
  cb_push_pkey(L, NULL);
  cb_pkey *box = lua_touserdata(L, -1);
  EVP_PKEY *k = EVP_PKEY_new();
  EC_KEY *ec = EC_KEY_new_by_curve_name(nid);
  if (!k || !ec || !EC_KEY_generate_key(ec) || !EVP_PKEY_assign_EC_KEY(k, ec)) {
    EC_KEY_free(ec);
    EVP_PKEY_free(k);
    return cb_fail_ssl(L, "pkey.generate");
  }
  box->p = k;
  return 1;
}

/* pkey.generate_ed25519() -> key */
static int l_generate_ed25519(lua_State *L) {
  cb_push_pkey(L, NULL);
  cb_pkey *box = lua_touserdata(L, -1);
  EVP_PKEY *k = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
  int ok = ctx && EVP_PKEY_keygen_init(ctx) && EVP_PKEY_keygen(ctx, &k);
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return cb_fail_ssl(L, "pkey.generate");
  box->p = k;
  return 1;
}

/* --- key methods ----------------------------------------------------------------------- */

static int is_private(const EVP_PKEY *k) {
  switch (EVP_PKEY_id(k)) {
    case EVP_PKEY_RSA: return RSA_get0_d(EVP_PKEY_get0_RSA(k)) != NULL;
    case EVP_PKEY_EC: return EC_KEY_get0_private_key(EVP_PKEY_get0_EC_KEY(k)) != NULL;
    case EVP_PKEY_DSA: return DSA_get0_priv_key(EVP_PKEY_get0_DSA(k)) != NULL;
    case EVP_PKEY_ED25519:
    case EVP_PKEY_X25519: {
      size_t n = 0;
      int ok = EVP_PKEY_get_raw_private_key(k, NULL, &n);
      ERR_clear_error();
      return ok;
    }
    default: return 0;
  }
}

static int m_type(lua_State *L) {
  lua_pushstring(L, type_name(cb_check_pkey(L, 1)));
  return 1;
}

static int m_bits(lua_State *L) {
  lua_pushinteger(L, EVP_PKEY_bits(cb_check_pkey(L, 1)));
  return 1;
}

static int m_curve(lua_State *L) {
  EVP_PKEY *k = cb_check_pkey(L, 1);
  lua_pushnil(L);
  if (EVP_PKEY_id(k) != EVP_PKEY_EC) return 1;
  int nid = EC_GROUP_get_curve_name(EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(k)));
  for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
    if (nid == curves[i].nid) {
      lua_pushstring(L, curves[i].name);
      return 1;
    }
  lua_pushstring(L, OBJ_nid2sn(nid));
  return 1;
}

static int m_is_private(lua_State *L) {
  lua_pushboolean(L, is_private(cb_check_pkey(L, 1)));
  return 1;
}

/* push_cbb pushes the finished CBB's bytes as a string and frees them (cleansed); raises on a
 * failed CBB (out of memory). */
static void push_cbb(lua_State *L, CBB *cbb) {
  uint8_t *out;
  size_t len;
  if (!CBB_finish(cbb, &out, &len)) {
    CBB_cleanup(cbb);
    luaL_error(L, "out of memory");
  }
  lua_pushlstring(L, (const char *)out, len); /* can raise (memory): we accept that leak */
  OPENSSL_cleanse(out, len);
  OPENSSL_free(out);
}

/* key:public_der() -> SubjectPublicKeyInfo DER */
static int m_public_der(lua_State *L) {
  EVP_PKEY *k = cb_check_pkey(L, 1);
  CBB cbb;
  if (!CBB_init(&cbb, 512) || !EVP_marshal_public_key(&cbb, k)) {
    CBB_cleanup(&cbb);
    return cb_fail_ssl(L, "key:public_der");
  }
  push_cbb(L, &cbb);
  return 1;
}

/* key:public() -> a new key object with the public half only */
static int m_public(lua_State *L) {
  EVP_PKEY *k = cb_check_pkey(L, 1);
  cb_push_pkey(L, NULL);
  cb_pkey *box = lua_touserdata(L, -1);
  CBB cbb;
  uint8_t *der = NULL;
  size_t len;
  if (!CBB_init(&cbb, 512) || !EVP_marshal_public_key(&cbb, k) || !CBB_finish(&cbb, &der, &len)) {
    CBB_cleanup(&cbb);
    return cb_fail_ssl(L, "key:public");
  }
  CBS cbs;
  CBS_init(&cbs, der, len);
  box->p = EVP_parse_public_key(&cbs);
  OPENSSL_free(der);
  if (!box->p) return cb_fail_ssl(L, "key:public");
  return 1;
}

/* pkey.pem_encode(label, der) -> PEM text */
static int l_pem_encode(lua_State *L) {
  const char *label = luaL_checkstring(L, 1);
  size_t len, outlen;
  const char *der = luaL_checklstring(L, 2, &len);
  uint8_t *pem = cb_pem_encode_secret(label, NULL, (const uint8_t *)der, len, &outlen);
  if (!pem) return luaL_error(L, "out of memory");
  lua_pushlstring(L, (const char *)pem, outlen);
  OPENSSL_free(pem);
  return 1;
}

static const struct {
  const char *name, *pem_name;
  const EVP_CIPHER *(*cipher)(void);
  int pbe; /* core/lib/pbe.c's writer scheme */
} write_ciphers[] = {
    {"aes-256-cbc", "AES-256-CBC", EVP_aes_256_cbc, CB_PBE_WRITE_AES256},
    {"aes-192-cbc", "AES-192-CBC", EVP_aes_192_cbc, CB_PBE_WRITE_AES192},
    {"aes-128-cbc", "AES-128-CBC", EVP_aes_128_cbc, CB_PBE_WRITE_AES128},
    {"des-ede3-cbc", "DES-EDE3-CBC", EVP_des_ede3_cbc, CB_PBE_WRITE_PBES2_3DES},
};

/* cbc_encrypt encrypts with PKCS#7 padding into a new buffer (OPENSSL_free): the legacy
 * Proc-Type/DEK-Info encryption, which is not a PBE scheme. */
static int cbc_encrypt(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv,
                       const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen) {
  EVP_CIPHER_CTX ctx;
  int n1 = 0, n2 = 0;
  *out = inlen < INT32_MAX - 64 ? OPENSSL_malloc(inlen + EVP_CIPHER_block_size(cipher)) : NULL;
  if (!*out) return 0;
  EVP_CIPHER_CTX_init(&ctx);
  int ok = EVP_EncryptInit_ex(&ctx, cipher, NULL, key, iv) &&
           EVP_EncryptUpdate(&ctx, *out, &n1, in, (int)inlen) &&
           EVP_EncryptFinal_ex(&ctx, *out + n1, &n2);
  EVP_CIPHER_CTX_cleanup(&ctx);
  if (!ok) {
    OPENSSL_free(*out);
    *out = NULL;
    return 0;
  }
  *outlen = (size_t)n1 + (size_t)n2;
  return 1;
}

/* encrypt_pkcs8 wraps a PrivateKeyInfo into an EncryptedPrivateKeyInfo as OpenSSL 3 writes it
 * (PBES2, PBKDF2 with HMAC-SHA256, a random 16-byte salt, the cipher with a random IV), with
 * core/lib/pbe.c's writer. */
static int encrypt_pkcs8(int scheme, const char *pw, size_t pwlen, uint64_t iter, const uint8_t *pt,
                         size_t ptlen, CBB *out) {
  cb_password password;
  uint8_t *ct = NULL;
  size_t ctlen = 0;
  CBB seq;
  if (!cb_pbe_password_init(&password, (const uint8_t *)pw, pwlen, 0)) return 0;
  int ok = CBB_add_asn1(out, &seq, CBS_ASN1_SEQUENCE) &&
           cb_pbe_encrypt(scheme, EVP_sha256(), iter, &password, pt, ptlen, &seq, &ct, &ctlen) &&
           CBB_add_asn1_octet_string(&seq, ct, ctlen) && CBB_flush(out);
  cb_pbe_password_free(&password);
  OPENSSL_free(ct);
  return ok;
}

/* key:encode(form, format, password, cipher, iter) -> text
 *   form "pem" | "der"; format "pkcs8" | "traditional"; password nil = not encrypted;
 *   cipher "aes-256-cbc" | "aes-192-cbc" | "aes-128-cbc" | "des-ede3-cbc"; iter (PKCS#8).
 * Returns nil, message for a key without its private half. Raises for options that cannot go
 * together (traditional DER with a password, Ed25519 in traditional form). */
static int m_encode(lua_State *L) {
  EVP_PKEY *k = cb_check_pkey(L, 1);
  static const char *const forms[] = {"pem", "der", NULL};
  static const char *const formats[] = {"pkcs8", "traditional", NULL};
  int der_form = luaL_checkoption(L, 2, "pem", forms);
  int traditional = luaL_checkoption(L, 3, "pkcs8", formats);
  size_t pwlen;
  const char *pw = cb_optsecret(L, 4, &pwlen);
  const char *cname = luaL_optstring(L, 5, "aes-256-cbc");
  lua_Integer iter = luaL_optinteger(L, 6, 100000);
  luaL_argcheck(L, iter >= 1 && iter <= 100000000, 6, "iterations must be 1 to 100000000");
  size_t ci = sizeof write_ciphers / sizeof write_ciphers[0];
  for (size_t i = 0; i < sizeof write_ciphers / sizeof write_ciphers[0]; i++)
    if (!strcmp(cname, write_ciphers[i].name)) ci = i;
  if (ci == sizeof write_ciphers / sizeof write_ciphers[0])
    return luaL_argerror(L, 5, "cipher must be aes-256-cbc, aes-192-cbc, aes-128-cbc or des-ede3-cbc");
  int id = EVP_PKEY_id(k);
  if (traditional && id != EVP_PKEY_RSA && id != EVP_PKEY_EC)
    return luaL_argerror(L, 3, "only RSA and EC keys have a traditional format (use pkcs8)");
  if (traditional && der_form && pw)
    return luaL_argerror(L, 4, "an encrypted traditional key exists only as PEM");
  if (!is_private(k))
    return cb_fail(L, "key:to_%s: this is a public key, it has no private part to write",
                   der_form ? "der" : "pem");
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC && id != EVP_PKEY_ED25519)
    return cb_fail(L, "key:to_%s: cannot write a %s key", der_form ? "der" : "pem", type_name(k));

  /* everything below runs without calling Lua until the result is ready */
  CBB cbb;
  uint8_t *plain = NULL, *out = NULL, *tmp = NULL;
  size_t plainlen = 0, outlen = 0, tmplen = 0;
  const char *label;
  int ok = CBB_init(&cbb, 2048);
  if (!traditional) ok = ok && EVP_marshal_private_key(&cbb, k);
  else if (id == EVP_PKEY_RSA) ok = ok && RSA_marshal_private_key(&cbb, EVP_PKEY_get0_RSA(k));
  else ok = ok && EC_KEY_marshal_private_key(&cbb, EVP_PKEY_get0_EC_KEY(k), 0);
  ok = ok && CBB_finish(&cbb, &plain, &plainlen);
  if (!ok) CBB_cleanup(&cbb);
  label = !traditional ? (pw ? "ENCRYPTED PRIVATE KEY" : "PRIVATE KEY")
          : id == EVP_PKEY_RSA ? "RSA PRIVATE KEY" : "EC PRIVATE KEY";
  const EVP_CIPHER *cipher = write_ciphers[ci].cipher();
  if (ok && pw && !traditional) {
    ok = CBB_init(&cbb, plainlen + 256) &&
         encrypt_pkcs8(write_ciphers[ci].pbe, pw, pwlen, (uint64_t)iter, plain, plainlen, &cbb) &&
         CBB_finish(&cbb, &tmp, &tmplen);
    if (!ok) CBB_cleanup(&cbb);
    OPENSSL_free(plain); /* cleansed by BoringSSL */
    plain = tmp;
    plainlen = tmplen;
  }
  if (ok && der_form) {
    out = plain;
    outlen = plainlen;
    plain = NULL;
  } else if (ok && pw && traditional) { /* Proc-Type/DEK-Info */
    uint8_t iv[EVP_MAX_IV_LENGTH], key[EVP_MAX_KEY_LENGTH];
    size_t ivlen = EVP_CIPHER_iv_length(cipher);
    RAND_bytes(iv, ivlen);
    ok = EVP_BytesToKey(cipher, EVP_md5(), iv, (const uint8_t *)pw, pwlen, 1, key, NULL) &&
         cbc_encrypt(cipher, key, iv, plain, plainlen, &tmp, &tmplen);
    OPENSSL_cleanse(key, sizeof key);
    if (ok) {
      char headers[128];
      int n = snprintf(headers, sizeof headers, "Proc-Type: 4,ENCRYPTED\nDEK-Info: %s,",
                       write_ciphers[ci].pem_name);
      static const char hexd[] = "0123456789ABCDEF";
      for (size_t i = 0; i < ivlen; i++) {
        headers[n++] = hexd[iv[i] >> 4];
        headers[n++] = hexd[iv[i] & 15];
      }
      headers[n] = '\0';
      out = cb_pem_encode_secret(label, headers, tmp, tmplen, &outlen);
      ok = out != NULL;
      OPENSSL_free(tmp);
    }
  } else if (ok) {
    out = cb_pem_encode_secret(label, NULL, plain, plainlen, &outlen);
    ok = out != NULL;
  }
  if (plain) {
    OPENSSL_cleanse(plain, plainlen);
    OPENSSL_free(plain);
  }
  if (!ok) {
    OPENSSL_free(out);
    return cb_fail_ssl(L, der_form ? "key:to_der" : "key:to_pem");
  }
  lua_pushlstring(L, (const char *)out, outlen);
  OPENSSL_cleanse(out, outlen);
  OPENSSL_free(out);
  return 1;
}

/* key:matches(other) -> true | false, reason ; other: a key, a certificate or a request */
static int m_matches(lua_State *L) {
  EVP_PKEY *k = cb_check_pkey(L, 1);
  EVP_PKEY *other = NULL;
  const char *what;
  int owned = 1;
  if (luaL_testudata(L, 2, CB_PKEY_MT)) {
    other = cb_check_pkey(L, 2);
    owned = 0;
    what = "key";
  } else if (luaL_testudata(L, 2, CB_X509_MT)) {
    other = X509_get_pubkey(cb_check_x509(L, 2));
    what = "certificate";
  } else if (luaL_testudata(L, 2, CB_CSR_MT)) {
    other = X509_REQ_get_pubkey(cb_check_csr(L, 2));
    what = "request";
  } else {
    return luaL_typeerror(L, 2, "certbench.pkey, certbench.x509 or certbench.csr");
  }
  if (!other) {
    char reason[200];
    cb_ssl_reason(reason, sizeof reason);
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "the %s's public key cannot be read: %s", what,
                    reason[0] ? reason : "unsupported algorithm");
    return 2;
  }
  int r = EVP_PKEY_cmp(k, other);
  const char *ktype = type_name(k), *otype = type_name(other);
  if (owned) EVP_PKEY_free(other);
  ERR_clear_error();
  if (r == 1) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  const char *other_name = owned ? (what[0] == 'c' ? "the certificate's key" : "the request's key")
                                 : "the other key";
  if (r == -1 || strcmp(ktype, otype) != 0)
    lua_pushfstring(L, "the key is %s, %s is %s", ktype, other_name, otype);
  else if (r == 0)
    lua_pushfstring(L, "%s is a different %s key", other_name, ktype);
  else
    lua_pushfstring(L, "%s keys cannot be compared", ktype);
  return 2;
}

/* sign_digest: md from the digest argument (default sha256; Ed25519 signs the data itself and
 * ignores it); PSS when asked. Raises for MD5 and for PSS on a non-RSA key. */
static const EVP_MD *sign_digest(lua_State *L, EVP_PKEY *k, int idx) {
  if (EVP_PKEY_id(k) == EVP_PKEY_ED25519) {
    if (!lua_isnoneornil(L, idx)) cb_check_digest(L, idx, NULL); /* still a known name */
    return NULL;
  }
  const EVP_MD *md = cb_check_digest(L, idx, "sha256");
  if (EVP_MD_type(md) == NID_md5) luaL_argerror(L, idx, "MD5 is not allowed for signatures");
  return md;
}

/* setup_pss switches an RSA signing context to PSS; the callers checked the key type. */
static int setup_pss(EVP_PKEY_CTX *pctx, int pss) {
  if (!pss) return 1;
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1 /* the digest's length */);
}

/* key:sign(data, digest, pss) -> signature bytes */
static int m_sign(lua_State *L) {
  EVP_PKEY *k = cb_check_pkey(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  const EVP_MD *md = sign_digest(L, k, 3);
  int pss = lua_toboolean(L, 4);
  if (pss && EVP_PKEY_id(k) != EVP_PKEY_RSA) return luaL_argerror(L, 4, "PSS padding needs an RSA key");
  if (!is_private(k)) return cb_fail(L, "key:sign: this is a public key, it cannot sign");
  int id = EVP_PKEY_id(k);
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC && id != EVP_PKEY_ED25519)
    return cb_fail(L, "key:sign: cannot sign with a %s key", type_name(k));
  EVP_MD_CTX ctx;
  EVP_PKEY_CTX *pctx = NULL;
  size_t siglen = 0;
  EVP_MD_CTX_init(&ctx);
  if (!EVP_DigestSignInit(&ctx, &pctx, md, NULL, k) || !setup_pss(pctx, pss) ||
      !EVP_DigestSign(&ctx, NULL, &siglen, (const uint8_t *)data, len)) {
    EVP_MD_CTX_cleanup(&ctx);
    return cb_fail_ssl(L, "key:sign");
  }
  uint8_t *sig = OPENSSL_malloc(siglen);
  int ok = sig && EVP_DigestSign(&ctx, sig, &siglen, (const uint8_t *)data, len);
  EVP_MD_CTX_cleanup(&ctx);
  if (!ok) {
    OPENSSL_free(sig);
    return cb_fail_ssl(L, "key:sign");
  }
  lua_pushlstring(L, (const char *)sig, siglen); /* an out-of-memory raise here leaks sig */
  OPENSSL_free(sig);
  return 1;
}

/* key:verify(data, sig, digest, pss) -> true | false, reason */
static int m_verify(lua_State *L) {
  EVP_PKEY *k = cb_check_pkey(L, 1);
  size_t len, siglen;
  const char *data = luaL_checklstring(L, 2, &len);
  const char *sig = luaL_checklstring(L, 3, &siglen);
  const EVP_MD *md = sign_digest(L, k, 4);
  int pss = lua_toboolean(L, 5);
  if (pss && EVP_PKEY_id(k) != EVP_PKEY_RSA) return luaL_argerror(L, 5, "PSS padding needs an RSA key");
  EVP_MD_CTX ctx;
  EVP_PKEY_CTX *pctx = NULL;
  EVP_MD_CTX_init(&ctx);
  if (!EVP_DigestVerifyInit(&ctx, &pctx, md, NULL, k) || !setup_pss(pctx, pss)) {
    EVP_MD_CTX_cleanup(&ctx);
    return cb_fail_ssl(L, "key:verify");
  }
  int ok = EVP_DigestVerify(&ctx, (const uint8_t *)sig, siglen, (const uint8_t *)data, len);
  EVP_MD_CTX_cleanup(&ctx);
  ERR_clear_error();
  lua_pushboolean(L, ok == 1);
  if (ok == 1) return 1;
  lua_pushstring(L, "key:verify: the signature does not match");
  return 2;
}

static int m_tostring(lua_State *L) {
  cb_pkey *b = luaL_checkudata(L, 1, CB_PKEY_MT);
  if (!b->p) {
    lua_pushstring(L, "certbench.pkey (closed)");
    return 1;
  }
  EVP_PKEY *k = b->p;
  const char *kind = is_private(k) ? "private" : "public";
  if (EVP_PKEY_id(k) == EVP_PKEY_EC) {
    lua_settop(L, 1);
    m_curve(L);
    lua_pushfstring(L, "certbench.pkey (ec %s, %s)", lua_tostring(L, -1), kind);
  } else if (EVP_PKEY_id(k) == EVP_PKEY_RSA) {
    lua_pushfstring(L, "certbench.pkey (rsa %d, %s)", EVP_PKEY_bits(k), kind);
  } else {
    lua_pushfstring(L, "certbench.pkey (%s, %s)", type_name(k), kind);
  }
  return 1;
}

/* pkey.is_key(v) -> boolean (a closed key is still a key) */
static int l_is_key(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, CB_PKEY_MT) != NULL);
  return 1;
}

int luaopen__certbench_pkey(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"type", m_type},       {"bits", m_bits},         {"curve", m_curve},
      {"is_private", m_is_private}, {"public_der", m_public_der}, {"public", m_public},
      {"encode", m_encode},   {"matches", m_matches},   {"sign", m_sign},
      {"verify", m_verify},   {NULL, NULL}};
  static const luaL_Reg metas[] = {{"__tostring", m_tostring}, {NULL, NULL}};
  cb_add_methods(L, CB_PKEY_MT, methods, metas);
  static const luaL_Reg fns[] = {{"load", l_load},
                                 {"generate_rsa", l_generate_rsa},
                                 {"generate_ec", l_generate_ec},
                                 {"generate_ed25519", l_generate_ed25519},
                                 {"pem_encode", l_pem_encode},
                                 {"is_key", l_is_key},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  /* the methods table, so the Lua wrapper can add the methods written in Lua */
  luaL_getmetatable(L, CB_PKEY_MT);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -3, "methods");
  lua_pop(L, 1);
  return 1;
}
