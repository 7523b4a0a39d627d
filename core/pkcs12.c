/* pkcs12.c: `_certbench.pkcs12`, reading and writing PFX (PKCS#12, RFC 7292) files.
 *
 * BoringSSL's PKCS12_parse and PKCS12_get_key_and_certs hide the bag attributes and the
 * algorithms, and know no RC2-128 or PBMAC1, so the PFX is walked here with CBS: PFX ->
 * AuthenticatedSafe -> ContentInfos (data, encryptedData) -> SafeContents -> SafeBags, and
 * the MAC and the encryption go through pbe.c.
 *
 * parse runs in two phases: pure C first (everything lands in a p12 struct owned by a Lua
 * userdata, so a raise while pushing frees what is left), then one pass that moves the keys
 * and certificates into Lua objects. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ext.h"
#include "objects.h"
#include "pbe.h"
#include "pem.h"

#define PARSE_MT "certbench.pkcs12.parser"
#define BUF_MT "certbench.pkcs12.buffer"
#define MAX_BAGS 10000
#define MAX_ATTRS 16
#define MAX_WARNINGS 16
#define MAX_DEPTH 4

#define OID_DATA "1.2.840.113549.1.7.1"
#define OID_SIGNED_DATA "1.2.840.113549.1.7.2"
#define OID_ENVELOPED_DATA "1.2.840.113549.1.7.3"
#define OID_ENCRYPTED_DATA "1.2.840.113549.1.7.6"
#define OID_BAG "1.2.840.113549.1.12.10.1."
#define OID_X509_CERT "1.2.840.113549.1.9.22.1"
#define OID_FRIENDLY_NAME "1.2.840.113549.1.9.20"
#define OID_LOCAL_KEY_ID "1.2.840.113549.1.9.21"
#define OID_PBMAC1 "1.2.840.113549.1.5.14"
#define OID_PBKDF2 "1.2.840.113549.1.5.12"

enum { BAG_KEY = 1, BAG_SHROUDED, BAG_CERT, BAG_CRL, BAG_SECRET, BAG_SAFE, BAG_UNKNOWN };

static const struct {
  int type;
  const char *name, *kind;
} bag_types[] = {
    {BAG_KEY, "keyBag", "key"},       {BAG_SHROUDED, "pkcs8ShroudedKeyBag", "key"},
    {BAG_CERT, "certBag", "cert"},    {BAG_CRL, "crlBag", "crl"},
    {BAG_SECRET, "secretBag", "secret"}, {BAG_SAFE, "safeContentsBag", "safe"},
};

/* attribute names people see in `openssl pkcs12 -info` and Windows exports */
static const struct {
  const char *oid, *name;
} attr_names[] = {
    {OID_FRIENDLY_NAME, "friendlyName"},
    {OID_LOCAL_KEY_ID, "localKeyID"},
    {"1.3.6.1.4.1.311.17.1", "msCSPName"},
    {"1.3.6.1.4.1.311.17.2", "msLocalMachineKeyset"},
    {"1.3.6.1.4.1.311.17.3.20", "msKeyProvInfo"},
    {"2.16.840.1.113894.746875.1.1", "oracleTrustedKeyUsage"},
};

/* MAC algorithms we can name but not compute, for the message */
static const struct {
  const char *oid, *name;
} unknown_macs[] = {
    {"1.3.6.1.4.1.1722.12.2.1.16", "BLAKE2b-512"},
    {"1.3.6.1.4.1.1722.12.2.2.8", "BLAKE2s-256"},
    {"1.2.643.7.1.1.2.2", "GOST R 34.11-2012 (256 bit)"},
    {"1.2.643.7.1.1.2.3", "GOST R 34.11-2012 (512 bit)"},
    {"2.16.840.1.101.3.4.2.8", "SHA3-256"},
    {"2.16.840.1.101.3.4.2.10", "SHA3-512"},
    {"1.2.156.10197.1.401", "SM3"},
};

typedef struct {
  char oid[96];
  const char *name;
  char *value;
} attr;

typedef struct {
  int type;
  char bag_oid[96];
  char *friendly_name;
  char *local_key_id;
  attr attrs[MAX_ATTRS]; /* the attributes other than the two above */
  int nattrs;
  EVP_PKEY *pkey;
  X509 *x509;
  uint8_t *der; /* the value of a bag we do not decode (crl, secret, unknown) */
  size_t der_len;
  char encryption[96]; /* what protects this bag: "none" or a PBE name */
  uint64_t iterations;
  char problem[200];
  int key_bag; /* certificates: 1-based index of the key bag whose public key matches */
} bag;

typedef struct {
  bag *bags;
  size_t nbags, cap;
  cb_password pw[3];
  int npw;
  int good_pw; /* the password form that verified the MAC or decrypted something; -1 unknown */
  int mac_ok;
  int skip_mac; /* read a file whose MAC cannot be computed (BLAKE2, GOST...) on request */
  uint8_t *text; /* the decoded form of base64 input (malloc) */
  uint64_t max_iter;
  char mac[96];
  uint64_t mac_iter;
  char warnings[MAX_WARNINGS][200];
  int nwarnings;
  char err[320];
  const char *code;
  int empty_password;
} p12;

static void bag_free(bag *b) {
  free(b->friendly_name);
  free(b->local_key_id);
  for (int i = 0; i < b->nattrs; i++) free(b->attrs[i].value);
  EVP_PKEY_free(b->pkey);
  X509_free(b->x509);
  free(b->der);
  memset(b, 0, sizeof *b);
}

static void p12_free(p12 *c) {
  for (size_t i = 0; i < c->nbags; i++) bag_free(&c->bags[i]);
  free(c->bags);
  c->bags = NULL;
  c->nbags = c->cap = 0;
  for (int i = 0; i < c->npw; i++) cb_pbe_password_free(&c->pw[i]);
  c->npw = 0;
  free(c->text);
  c->text = NULL;
}

static int parser_gc(lua_State *L) {
  p12_free(luaL_checkudata(L, 1, PARSE_MT));
  return 0;
}

/* fail records the first failure; always returns 0 */
static int fail(p12 *c, const char *code, const char *fmt, ...) {
  if (c->code) return 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
  c->code = code;
  ERR_clear_error();
  return 0;
}

static void warn(p12 *c, const char *fmt, ...) {
  if (c->nwarnings >= MAX_WARNINGS) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->warnings[c->nwarnings++], sizeof c->warnings[0], fmt, ap);
  va_end(ap);
}

static char *hex_upper(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789ABCDEF";
  char *s = malloc(2 * n + 1);
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  s[2 * n] = '\0';
  return s;
}

static char *strndup_cbs(const CBS *cbs) {
  char *s = malloc(CBS_len(cbs) + 1);
  if (!s) return NULL;
  memcpy(s, CBS_data(cbs), CBS_len(cbs));
  s[CBS_len(cbs)] = '\0';
  return s;
}

static bag *new_bag(p12 *c) {
  if (c->nbags >= MAX_BAGS) {
    fail(c, "unsupported", "more than %d bags", MAX_BAGS);
    return NULL;
  }
  if (c->nbags == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 8;
    bag *nb = realloc(c->bags, cap * sizeof *nb);
    if (!nb) {
      fail(c, "malformed", "out of memory");
      return NULL;
    }
    c->bags = nb;
    c->cap = cap;
  }
  bag *b = &c->bags[c->nbags++];
  memset(b, 0, sizeof *b);
  return b;
}

/* ---- attributes --------------------------------------------------------------------------- */

/* attr_value decodes the first value of an attribute for people: text as UTF-8, anything
 * else as upper-case hex of its contents. */
static char *attr_value(CBS *values) {
  CBS v;
  unsigned tag;
  if (!CBS_get_any_asn1(values, &v, &tag)) return NULL;
  switch (tag) {
    case CBS_ASN1_BMPSTRING:
      return cb_bmp_to_utf8(CBS_data(&v), CBS_len(&v));
    case CBS_ASN1_UTF8STRING: case CBS_ASN1_IA5STRING: case CBS_ASN1_PRINTABLESTRING:
    case CBS_ASN1_VISIBLESTRING: case CBS_ASN1_T61STRING:
      return strndup_cbs(&v);
    default:
      return hex_upper(CBS_data(&v), CBS_len(&v));
  }
}

static int parse_attrs(p12 *c, bag *b, CBS *set) {
  while (CBS_len(set) > 0) {
    CBS a, oid, values;
    char t[96];
    if (!CBS_get_asn1(set, &a, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&a, &oid, CBS_ASN1_OBJECT) ||
        !CBS_get_asn1(&a, &values, CBS_ASN1_SET) || CBS_len(&a) != 0)
      return fail(c, "malformed", "malformed attribute of bag %zu", c->nbags);
    cb_oid_text(&oid, t, sizeof t);
    if (CBS_len(&values) == 0) continue;
    if (!strcmp(t, OID_FRIENDLY_NAME) && !b->friendly_name) {
      b->friendly_name = attr_value(&values);
    } else if (!strcmp(t, OID_LOCAL_KEY_ID) && !b->local_key_id) {
      CBS id;
      if (CBS_get_asn1(&values, &id, CBS_ASN1_OCTETSTRING))
        b->local_key_id = hex_upper(CBS_data(&id), CBS_len(&id));
    } else if (b->nattrs < MAX_ATTRS) {
      attr *at = &b->attrs[b->nattrs++];
      snprintf(at->oid, sizeof at->oid, "%s", t);
      for (size_t i = 0; i < sizeof attr_names / sizeof *attr_names; i++)
        if (!strcmp(attr_names[i].oid, t)) at->name = attr_names[i].name;
      at->value = attr_value(&values);
    }
  }
  return 1;
}

/* ---- decryption ---------------------------------------------------------------------------- */

/* order_pw is the k-th password form to try: the one known to work first */
static int order_pw(const p12 *c, int k) {
  if (c->good_pw < 0) return k;
  if (k == 0) return c->good_pw;
  return k <= c->good_pw ? k - 1 : k;
}

/* decrypt decrypts ct with the PBE of algid and returns the plaintext as DER (one SEQUENCE),
 * malloc'd, for the caller to cleanse and free. */
static int decrypt(p12 *c, CBS *algid, const uint8_t *ct, size_t ct_len, const char *what,
                   cb_pbe *pbe, uint8_t **der, size_t *der_len) {
  char why[160];
  int rc = cb_pbe_parse(algid, pbe, why, sizeof why);
  if (rc == 0) return fail(c, "malformed", "%s: %s", what, why);
  if (rc < 0) return fail(c, "unsupported", "%s: %s", what, why);
  if (pbe->iterations > c->max_iter)
    return fail(c, "unsupported", "%s: %s with %" PRIu64 " iterations, over the limit of %" PRIu64,
                what, pbe->name, pbe->iterations, c->max_iter);
  /* only the PKCS#12 KDF sees the BMP forms; the other schemes take the bytes as given,
   * which are the same in every form */
  int tries = pbe->scheme == CB_PBE_P12 ? c->npw : 1;
  for (int k = 0; k < tries; k++) {
    int i = order_pw(c, k);
    uint8_t *plain, *d;
    size_t plain_len, d_len;
    if (!cb_pbe_crypt(pbe, &c->pw[i], 0, ct, ct_len, &plain, &plain_len)) {
      ERR_clear_error();
      continue;
    }
    /* a wrong key passes the padding check one time in 256: the plaintext must also be
     * exactly one ASN.1 SEQUENCE */
    int ok = cb_ber_to_der(plain, plain_len, &d, &d_len);
    OPENSSL_cleanse(plain, plain_len);
    OPENSSL_free(plain);
    if (!ok) continue;
    if (!cb_asn1_is_single(d, d_len, CBS_ASN1_SEQUENCE)) {
      OPENSSL_cleanse(d, d_len);
      OPENSSL_free(d);
      continue;
    }
    *der = d;
    *der_len = d_len;
    c->good_pw = i;
    return 1;
  }
  if (c->mac_ok)
    return fail(c, "bad_password",
                "%s does not decrypt with the password that verifies the MAC (%s; a file made "
                "with two passwords?)", what, pbe->name);
  const char *mac = c->mac[0] ? "MAC not checked" : "no MAC";
  if (c->empty_password)
    return fail(c, "bad_password",
                "%s does not decrypt with an empty password (%s, %s): a password is needed", what,
                pbe->name, mac);
  return fail(c, "bad_password", "wrong password: %s does not decrypt (%s, %s)", what, pbe->name,
              mac);
}

/* ---- bags --------------------------------------------------------------------------------- */

static int parse_safe_contents(p12 *c, const uint8_t *data, size_t len, const char *enc,
                               uint64_t iter, int depth);

static void key_problem(bag *b, CBS pki) {
  CBS seq, alg, oid;
  uint64_t version;
  char t[96] = "?";
  if (CBS_get_asn1(&pki, &seq, CBS_ASN1_SEQUENCE) && CBS_get_asn1_uint64(&seq, &version) &&
      CBS_get_asn1(&seq, &alg, CBS_ASN1_SEQUENCE) && CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT))
    cb_oid_text(&oid, t, sizeof t);
  snprintf(b->problem, sizeof b->problem,
           "private key of algorithm %s cannot be read (unsupported or malformed)", t);
}

static void parse_key(bag *b, CBS pki) {
  CBS k = pki;
  EVP_PKEY *pkey = EVP_parse_private_key(&k);
  if (!pkey || CBS_len(&k) != 0) {
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    key_problem(b, pki);
    return;
  }
  b->pkey = pkey;
}

static int keep_der(p12 *c, bag *b, const CBS *value) {
  if (CBS_len(value) == 0) return 1;
  b->der = malloc(CBS_len(value));
  if (!b->der) return fail(c, "malformed", "out of memory");
  memcpy(b->der, CBS_data(value), CBS_len(value));
  b->der_len = CBS_len(value);
  return 1;
}

static int parse_bag(p12 *c, CBS *in, const char *enc, uint64_t iter, int depth) {
  CBS seq, oid, wrapped, attrs;
  char t[96];
  int type = BAG_UNKNOWN, has_attrs = 0;
  if (!CBS_get_asn1(in, &seq, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&seq, &oid, CBS_ASN1_OBJECT) ||
      !CBS_get_asn1(&seq, &wrapped, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBS_get_optional_asn1(&seq, &attrs, &has_attrs, CBS_ASN1_SET) || CBS_len(&seq) != 0)
    return fail(c, "malformed", "malformed SafeBag after bag %zu", c->nbags);
  cb_oid_text(&oid, t, sizeof t);
  if (!strncmp(t, OID_BAG, strlen(OID_BAG)) && strlen(t) == strlen(OID_BAG) + 1) {
    int n = t[strlen(OID_BAG)] - '0';
    if (n >= BAG_KEY && n <= BAG_SAFE) type = n;
  }
  if (type == BAG_SAFE) {
    if (depth >= MAX_DEPTH) return fail(c, "malformed", "safeContentsBag nested too deep");
    return parse_safe_contents(c, CBS_data(&wrapped), CBS_len(&wrapped), enc, iter, depth + 1);
  }
  bag *b = new_bag(c);
  if (!b) return 0;
  b->type = type;
  snprintf(b->bag_oid, sizeof b->bag_oid, "%s", t);
  snprintf(b->encryption, sizeof b->encryption, "%s", enc);
  b->iterations = iter;
  if (has_attrs && !parse_attrs(c, b, &attrs)) return 0;
  size_t index = c->nbags;

  switch (type) {
    case BAG_KEY: {
      CBS pki;
      if (!CBS_get_asn1_element(&wrapped, &pki, CBS_ASN1_SEQUENCE) || CBS_len(&wrapped) != 0)
        return fail(c, "malformed", "malformed keyBag (bag %zu)", index);
      parse_key(b, pki);
      return 1;
    }
    case BAG_SHROUDED: {
      CBS epki, algid, ct, pki;
      cb_pbe pbe;
      uint8_t *der, *storage;
      size_t der_len;
      char what[64];
      if (!CBS_get_asn1(&wrapped, &epki, CBS_ASN1_SEQUENCE) || CBS_len(&wrapped) != 0 ||
          !CBS_get_asn1_element(&epki, &algid, CBS_ASN1_SEQUENCE) ||
          !cb_asn1_get_string(&epki, &ct, CBS_ASN1_OCTETSTRING, &storage))
        return fail(c, "malformed", "malformed pkcs8ShroudedKeyBag (bag %zu)", index);
      int ok = CBS_len(&epki) == 0;
      snprintf(what, sizeof what, "the private key (bag %zu)", index);
      ok = ok ? decrypt(c, &algid, CBS_data(&ct), CBS_len(&ct), what, &pbe, &der, &der_len)
              : fail(c, "malformed", "malformed pkcs8ShroudedKeyBag (bag %zu)", index);
      OPENSSL_free(storage);
      if (!ok) return 0;
      snprintf(b->encryption, sizeof b->encryption, "%s", pbe.name);
      b->iterations = pbe.iterations;
      CBS_init(&pki, der, der_len);
      parse_key(b, pki);
      OPENSSL_cleanse(der, der_len);
      OPENSSL_free(der);
      return 1;
    }
    case BAG_CERT:
    case BAG_CRL: {
      CBS cb, id, explicit, octets;
      char idt[96];
      if (!CBS_get_asn1(&wrapped, &cb, CBS_ASN1_SEQUENCE) || CBS_len(&wrapped) != 0 ||
          !CBS_get_asn1(&cb, &id, CBS_ASN1_OBJECT) ||
          !CBS_get_asn1(&cb, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
          CBS_len(&cb) != 0 || !CBS_get_asn1(&explicit, &octets, CBS_ASN1_OCTETSTRING) ||
          CBS_len(&explicit) != 0)
        return fail(c, "malformed", "malformed %s (bag %zu)", type == BAG_CERT ? "certBag" : "crlBag",
                    index);
      cb_oid_text(&id, idt, sizeof idt);
      if (type == BAG_CRL) {
        snprintf(b->problem, sizeof b->problem, "unsupported bag: crlBag (%s), kept as DER", idt);
        return keep_der(c, b, &octets);
      }
      if (strcmp(idt, OID_X509_CERT)) {
        snprintf(b->problem, sizeof b->problem,
                 "unsupported bag: certBag of type %s (not an X.509 certificate)", idt);
        return keep_der(c, b, &octets);
      }
      const uint8_t *p = CBS_data(&octets);
      X509 *x = d2i_X509(NULL, &p, (long)CBS_len(&octets));
      if (!x || p != CBS_data(&octets) + CBS_len(&octets)) {
        X509_free(x);
        ERR_clear_error();
        snprintf(b->problem, sizeof b->problem, "the certificate does not parse, kept as DER");
        return keep_der(c, b, &octets);
      }
      /* as x509.load does: a validity that is no time is refused, named, not passed on */
      char why[160];
      if (!cb_x509_check_times(x, why, sizeof why)) {
        X509_free(x);
        snprintf(b->problem, sizeof b->problem, "the certificate's %s, kept as DER", why);
        return keep_der(c, b, &octets);
      }
      b->x509 = x;
      return 1;
    }
    case BAG_SECRET:
      snprintf(b->problem, sizeof b->problem, "unsupported bag: secretBag, kept as DER");
      return keep_der(c, b, &wrapped);
    default:
      snprintf(b->problem, sizeof b->problem, "unsupported bag: unknown bag type %s", t);
      return keep_der(c, b, &wrapped);
  }
}

static int parse_safe_contents(p12 *c, const uint8_t *data, size_t len, const char *enc,
                               uint64_t iter, int depth) {
  uint8_t *der;
  size_t der_len;
  CBS in, seq;
  if (!cb_ber_to_der(data, len, &der, &der_len))
    return fail(c, "malformed", "SafeContents is not valid ASN.1");
  CBS_init(&in, der, der_len);
  int ok = CBS_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE) && CBS_len(&in) == 0;
  if (!ok) fail(c, "malformed", "SafeContents is not a SEQUENCE");
  while (ok && CBS_len(&seq) > 0) ok = parse_bag(c, &seq, enc, iter, depth);
  /* keyBags hold plain private keys */
  OPENSSL_cleanse(der, der_len);
  OPENSSL_free(der);
  return ok;
}

/* ---- the MAC ------------------------------------------------------------------------------- */

static int hmac_matches(const EVP_MD *md, const uint8_t *key, size_t key_len, const CBS *data,
                        const CBS *expected) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned out_len = 0;
  if (!HMAC(md, key, key_len, CBS_data(data), CBS_len(data), out, &out_len)) return 0;
  return out_len == CBS_len(expected) && CRYPTO_memcmp(out, CBS_data(expected), out_len) == 0;
}

/* pbmac1 verifies an RFC 9579 PBMAC1 MAC: PBKDF2 over the UTF-8 password, then HMAC. */
static int pbmac1(p12 *c, CBS *params, const CBS *data, const CBS *expected) {
  CBS kdf, kdf_oid, kdf_params, salt, prf, prf_oid, scheme, scheme_oid;
  uint64_t iter, key_len = 0;
  char t[96];
  const char *prf_name = "SHA1", *hmac_name = NULL;
  const EVP_MD *prf_md = EVP_sha1(), *hmac_md;
  if (!CBS_get_asn1(params, &kdf, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(params, &scheme, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&kdf, &kdf_oid, CBS_ASN1_OBJECT) ||
      !CBS_get_asn1(&kdf, &kdf_params, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&kdf_params, &salt, CBS_ASN1_OCTETSTRING) ||
      !CBS_get_asn1_uint64(&kdf_params, &iter) ||
      !cb_asn1_opt_uint64(&kdf_params, &key_len, 0) ||
      !CBS_get_asn1(&scheme, &scheme_oid, CBS_ASN1_OBJECT))
    return fail(c, "malformed", "malformed PBMAC1 parameters");
  if (strcmp(cb_oid_text(&kdf_oid, t, sizeof t), OID_PBKDF2))
    return fail(c, "unsupported", "PBMAC1 with key derivation %s (only PBKDF2 is supported)", t);
  if (CBS_len(&kdf_params) > 0) {
    if (!CBS_get_asn1(&kdf_params, &prf, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&prf, &prf_oid, CBS_ASN1_OBJECT))
      return fail(c, "malformed", "malformed PBMAC1 PRF");
    prf_md = cb_digest_by_oid(cb_oid_text(&prf_oid, t, sizeof t), 1, &prf_name);
    if (!prf_md) return fail(c, "unsupported", "PBMAC1 with PRF %s", t);
  }
  hmac_md = cb_digest_by_oid(cb_oid_text(&scheme_oid, t, sizeof t), 1, &hmac_name);
  if (!hmac_md) return fail(c, "unsupported", "PBMAC1 with MAC %s", t);
  /* RFC 9579 makes keyLength mandatory; a short one lets a MAC key be guessed, and with it
   * any password "verify" (the go-pkcs12 short-key bypass) */
  if (key_len == 0) return fail(c, "malformed", "PBMAC1 without the mandatory PBKDF2 key length");
  if (key_len < 20 || key_len > EVP_MAX_MD_SIZE)
    return fail(c, "malformed", "PBMAC1 with a PBKDF2 key length of %" PRIu64 " bytes (at least 20 are needed)",
                key_len);
  if (iter == 0 || iter > c->max_iter || iter > UINT32_MAX)
    return fail(c, "unsupported", "PBMAC1 with %" PRIu64 " iterations, outside 1..%" PRIu64, iter,
                c->max_iter);
  snprintf(c->mac, sizeof c->mac, "PBMAC1/PBKDF2-%s/HMAC-%s", prf_name, hmac_name);
  c->mac_iter = iter;
  uint8_t key[EVP_MAX_MD_SIZE];
  const cb_password *pw = &c->pw[0];
  int ok = PKCS5_PBKDF2_HMAC((const char *)pw->raw, pw->raw_len, CBS_data(&salt), CBS_len(&salt),
                             (unsigned)iter, prf_md, key_len, key) &&
           hmac_matches(hmac_md, key, key_len, data, expected);
  OPENSSL_cleanse(key, sizeof key);
  ERR_clear_error();
  if (ok) c->good_pw = 0;
  return ok;
}

static int verify_mac(p12 *c, CBS *mac_data, const CBS *data) {
  CBS seq, digest_info, alg, oid, digest, salt;
  uint64_t iter = 1;
  char t[96];
  const char *name = NULL;
  int ok = 0;
  if (!CBS_get_asn1(mac_data, &seq, CBS_ASN1_SEQUENCE) || CBS_len(mac_data) != 0 ||
      !CBS_get_asn1(&seq, &digest_info, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&seq, &salt, CBS_ASN1_OCTETSTRING) ||
      !cb_asn1_opt_uint64(&seq, &iter, 1) || CBS_len(&seq) != 0 ||
      !CBS_get_asn1(&digest_info, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&digest_info, &digest, CBS_ASN1_OCTETSTRING) || CBS_len(&digest_info) != 0 ||
      !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT))
    return fail(c, "malformed", "malformed MacData");
  cb_oid_text(&oid, t, sizeof t);
  if (c->skip_mac) {
    const EVP_MD *md = cb_digest_by_oid(t, 0, &name);
    for (size_t i = 0; !md && i < sizeof unknown_macs / sizeof *unknown_macs; i++)
      if (!strcmp(unknown_macs[i].oid, t)) name = unknown_macs[i].name;
    if (!strcmp(t, OID_PBMAC1)) name = "PBMAC1";
    snprintf(c->mac, sizeof c->mac, "%s", name ? name : t);
    c->mac_iter = iter;
    warn(c, "the %s MAC was not verified (verify_mac = false): the file may have been altered", c->mac);
    return 1;
  }
  if (!strcmp(t, OID_PBMAC1)) {
    CBS params;
    if (!CBS_get_asn1(&alg, &params, CBS_ASN1_SEQUENCE))
      return fail(c, "malformed", "malformed PBMAC1 parameters");
    ok = pbmac1(c, &params, data, &digest);
    if (c->code) return 0;
  } else {
    const EVP_MD *md = cb_digest_by_oid(t, 0, &name);
    if (!md) {
      for (size_t i = 0; i < sizeof unknown_macs / sizeof *unknown_macs; i++)
        if (!strcmp(unknown_macs[i].oid, t)) name = unknown_macs[i].name;
      return fail(c, "unsupported",
                  "the MAC uses %s%s%s%s, which is not supported (verify_mac = false reads the "
                  "file without checking it)", name ? name : t, name ? " (" : "", name ? t : "",
                  name ? ")" : "");
    }
    snprintf(c->mac, sizeof c->mac, "%s", name);
    c->mac_iter = iter;
    if (iter == 0) return fail(c, "malformed", "MAC with an iteration count of 0");
    if (iter > c->max_iter)
      return fail(c, "unsupported", "MAC with %" PRIu64 " iterations, over the limit of %" PRIu64,
                  iter, c->max_iter);
    if (CBS_len(&digest) != EVP_MD_size(md))
      return fail(c, "malformed", "the %s MAC has %zu bytes instead of %zu", name, CBS_len(&digest),
                  EVP_MD_size(md));
    for (int i = 0; i < c->npw && !ok; i++) {
      uint8_t key[EVP_MAX_MD_SIZE];
      size_t key_len = EVP_MD_size(md);
      ok = cb_pkcs12_kdf(md, 3, c->pw[i].bmp, c->pw[i].bmp_len, CBS_data(&salt), CBS_len(&salt),
                         iter, key, key_len) &&
           hmac_matches(md, key, key_len, data, &digest);
      OPENSSL_cleanse(key, sizeof key);
      if (ok) c->good_pw = i;
    }
    ERR_clear_error();
  }
  if (!ok) {
    if (c->empty_password)
      return fail(c, "bad_password",
                  "the MAC does not verify with an empty password (tried as \"\" and as absent): a "
                  "password is needed");
    return fail(c, "bad_password", "wrong password (the %s MAC does not verify)", c->mac);
  }
  c->mac_ok = 1;
  return 1;
}

/* ---- the PFX -------------------------------------------------------------------------------- */

/* der_header reads a DER/BER header. Returns 1 with the total size of a definite-length
 * element (0 for indefinite), or 0 when the bytes cannot be a header. */
static int der_header(const uint8_t *p, size_t len, size_t *total, int *indefinite) {
  size_t i = 1, n;
  *indefinite = 0;
  if (len < 2) return len == 1 ? -1 : 0;
  if ((p[0] & 0x1f) == 0x1f) return 0;
  uint8_t l = p[i++];
  if (l < 0x80) {
    n = l;
  } else if (l == 0x80) {
    *indefinite = 1;
    *total = 0;
    return 1;
  } else {
    size_t k = l & 0x7f;
    if (k > 4) return 0;
    if (i + k > len) return -1;
    n = 0;
    for (size_t j = 0; j < k; j++) n = n << 8 | p[i++];
  }
  *total = i + n;
  return 1;
}

static int parse_authsafe(p12 *c, const CBS *content) {
  uint8_t *der;
  size_t der_len;
  CBS in, seq;
  if (!cb_ber_to_der(CBS_data(content), CBS_len(content), &der, &der_len))
    return fail(c, "malformed", "the AuthenticatedSafe is not valid ASN.1");
  CBS_init(&in, der, der_len);
  int ok = CBS_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE) && CBS_len(&in) == 0;
  if (!ok) fail(c, "malformed", "the AuthenticatedSafe is not a SEQUENCE");
  for (int n = 1; ok && CBS_len(&seq) > 0; n++) {
    CBS ci, oid, explicit;
    char t[96];
    ok = CBS_get_asn1(&seq, &ci, CBS_ASN1_SEQUENCE) && CBS_get_asn1(&ci, &oid, CBS_ASN1_OBJECT) &&
         CBS_get_asn1(&ci, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         CBS_len(&ci) == 0;
    if (!ok) {
      fail(c, "malformed", "malformed ContentInfo %d of the AuthenticatedSafe", n);
      break;
    }
    cb_oid_text(&oid, t, sizeof t);
    if (!strcmp(t, OID_DATA)) {
      CBS octets;
      if (!(ok = CBS_get_asn1(&explicit, &octets, CBS_ASN1_OCTETSTRING) && CBS_len(&explicit) == 0))
        fail(c, "malformed", "malformed data ContentInfo %d", n);
      else
        ok = parse_safe_contents(c, CBS_data(&octets), CBS_len(&octets), "none", 0, 0);
    } else if (!strcmp(t, OID_ENCRYPTED_DATA)) {
      CBS ed, eci, ctype, algid, ct;
      uint64_t version;
      uint8_t *storage = NULL, *plain = NULL;
      size_t plain_len;
      cb_pbe pbe;
      char what[64];
      ok = CBS_get_asn1(&explicit, &ed, CBS_ASN1_SEQUENCE) && CBS_len(&explicit) == 0 &&
           CBS_get_asn1_uint64(&ed, &version) && CBS_get_asn1(&ed, &eci, CBS_ASN1_SEQUENCE) &&
           CBS_get_asn1(&eci, &ctype, CBS_ASN1_OBJECT) &&
           CBS_get_asn1_element(&eci, &algid, CBS_ASN1_SEQUENCE);
      if (ok && CBS_len(&eci) == 0) {
        CBS_init(&ct, NULL, 0); /* no encryptedContent: nothing inside */
      } else if (ok) {
        ok = cb_asn1_get_string(&eci, &ct, CBS_ASN1_CONTEXT_SPECIFIC | 0, &storage) &&
             CBS_len(&eci) == 0;
      }
      if (!ok) {
        OPENSSL_free(storage);
        fail(c, "malformed", "malformed encryptedData ContentInfo %d", n);
        break;
      }
      if (CBS_len(&ct) == 0) {
        OPENSSL_free(storage);
        warn(c, "encryptedData %d is empty", n);
        continue;
      }
      snprintf(what, sizeof what, "the encrypted content %d (certificates)", n);
      ok = decrypt(c, &algid, CBS_data(&ct), CBS_len(&ct), what, &pbe, &plain, &plain_len);
      OPENSSL_free(storage);
      if (ok) {
        ok = parse_safe_contents(c, plain, plain_len, pbe.name, pbe.iterations, 0);
        OPENSSL_cleanse(plain, plain_len);
        OPENSSL_free(plain);
      }
    } else if (!strcmp(t, OID_ENVELOPED_DATA)) {
      warn(c, "ContentInfo %d is envelopedData (public-key privacy mode), which cannot be read: skipped", n);
    } else {
      warn(c, "ContentInfo %d has content type %s, which cannot be read: skipped", n, t);
    }
  }
  OPENSSL_free(der);
  return ok;
}

static int parse_pfx(p12 *c, const uint8_t *data, size_t len) {
  size_t total;
  int indefinite;
  if (len == 0) return fail(c, "not_pfx", "empty input, not a PFX");
  const char *begin = memmem(data, len < 4096 ? len : 4096, "-----BEGIN ", 11);
  if (begin) {
    const char *end = memchr(begin + 11, '-', len - (size_t)((const uint8_t *)begin + 11 - data));
    int n = end ? (int)(end - begin - 11) : 0;
    return fail(c, "not_pfx", "PEM text (BEGIN %.*s), not a PFX: a PFX is binary DER", n > 40 ? 40 : n,
                begin + 11);
  }
  if (data[0] != 0x30)
    return fail(c, "not_pfx", "not a PFX (not DER: the first byte is 0x%02X, not 0x30)", data[0]);
  int h = der_header(data, len, &total, &indefinite);
  if (h < 0) return fail(c, "truncated", "truncated PFX: %zu bytes", len);
  if (h == 0) return fail(c, "not_pfx", "not a PFX (not DER)");
  if (!indefinite && total > len)
    return fail(c, "truncated", "truncated PFX: %zu bytes where its header announces %zu", len, total);
  if (!indefinite && total < len) {
    warn(c, "%zu bytes after the PFX ignored", len - total);
    len = total;
  }
  uint8_t *der;
  size_t der_len;
  if (!cb_ber_to_der(data, len, &der, &der_len)) {
    if (indefinite) return fail(c, "truncated", "truncated or corrupt PFX (BER with indefinite lengths)");
    return fail(c, "not_pfx", "not a PFX (invalid ASN.1)");
  }
  CBS in, pfx, auth, oid, explicit, content, mac_data;
  uint64_t version;
  char t[96];
  int ok = 0;
  CBS_init(&in, der, der_len);
  if (!CBS_get_asn1(&in, &pfx, CBS_ASN1_SEQUENCE)) {
    fail(c, "not_pfx", "not a PFX");
    goto done;
  }
  if (!CBS_peek_asn1_tag(&pfx, CBS_ASN1_INTEGER) || !CBS_get_asn1_uint64(&pfx, &version)) {
    fail(c, "not_pfx", CBS_peek_asn1_tag(&pfx, CBS_ASN1_OBJECT)
                           ? "not a PFX (PKCS#7/CMS data? use pkcs7.load for .p7b files)"
                           : "not a PFX (a certificate, CRL or request?)");
    goto done;
  }
  if (version != 3) {
    fail(c, "not_pfx", "not a PFX (version %" PRIu64 " where a PFX has 3: a private key?)", version);
    goto done;
  }
  if (!CBS_get_asn1(&pfx, &auth, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&auth, &oid, CBS_ASN1_OBJECT) ||
      !CBS_get_asn1(&auth, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      CBS_len(&auth) != 0) {
    fail(c, "malformed", "malformed PFX (authSafe)");
    goto done;
  }
  cb_oid_text(&oid, t, sizeof t);
  if (!strcmp(t, OID_SIGNED_DATA)) {
    fail(c, "unsupported", "PFX in public-key integrity mode (signedData), which is not supported");
    goto done;
  }
  if (strcmp(t, OID_DATA)) {
    fail(c, "malformed", "malformed PFX (authSafe of content type %s)", t);
    goto done;
  }
  if (!CBS_get_asn1(&explicit, &content, CBS_ASN1_OCTETSTRING) || CBS_len(&explicit) != 0) {
    fail(c, "malformed", "malformed PFX (authSafe content)");
    goto done;
  }
  if (CBS_len(&pfx) > 0) {
    mac_data = pfx;
    if (!verify_mac(c, &mac_data, &content)) goto done;
  }
  ok = parse_authsafe(c, &content);
done:
  OPENSSL_free(der);
  return ok;
}

/* match links every certificate to the key whose public key it carries */
static void match_keys(p12 *c) {
  for (size_t i = 0; i < c->nbags; i++) {
    if (!c->bags[i].x509) continue;
    EVP_PKEY *pub = X509_get_pubkey(c->bags[i].x509);
    for (size_t j = 0; pub && j < c->nbags && !c->bags[i].key_bag; j++)
      if (c->bags[j].pkey && EVP_PKEY_cmp(pub, c->bags[j].pkey) == 1) c->bags[i].key_bag = (int)j + 1;
    EVP_PKEY_free(pub);
  }
  ERR_clear_error();
}

/* ---- Lua: parse ----------------------------------------------------------------------------- */

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, uint64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void push_bag(lua_State *L, bag *b) {
  const char *kind = "unknown", *name = b->bag_oid;
  for (size_t i = 0; i < sizeof bag_types / sizeof *bag_types; i++)
    if (bag_types[i].type == b->type) {
      kind = bag_types[i].kind;
      name = bag_types[i].name;
    }
  lua_createtable(L, 0, 12);
  set_str(L, "type", kind);
  set_str(L, "bag_type", name);
  set_str(L, "friendly_name", b->friendly_name);
  set_str(L, "local_key_id", b->local_key_id);
  set_str(L, "encryption", b->encryption);
  if (strcmp(b->encryption, "none")) set_int(L, "iterations", b->iterations);
  if (b->problem[0]) set_str(L, "problem", b->problem);
  if (b->key_bag) set_int(L, "key_bag", (uint64_t)b->key_bag);
  if (b->der) {
    lua_pushlstring(L, (const char *)b->der, b->der_len);
    lua_setfield(L, -2, "der");
  }
  lua_createtable(L, b->nattrs, 0);
  for (int i = 0; i < b->nattrs; i++) {
    lua_createtable(L, 0, 3);
    set_str(L, "oid", b->attrs[i].oid);
    set_str(L, "name", b->attrs[i].name);
    set_str(L, "value", b->attrs[i].value);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "attributes");
  /* the object last: the box owns the pointer from here on */
  if (b->pkey) {
    cb_push_pkey(L, b->pkey);
    b->pkey = NULL;
    lua_setfield(L, -2, "object");
  } else if (b->x509) {
    cb_push_x509(L, b->x509);
    b->x509 = NULL;
    lua_setfield(L, -2, "object");
  }
}

/* parse(data, password|secret|nil, max_iterations, verify_mac) -> { bags, algorithms, warnings }
 *   | nil, message, code */
static int l_parse(lua_State *L) {
  size_t len, pw_len;
  const char *data = luaL_checklstring(L, 1, &len);
  const char *pw = cb_optsecret(L, 2, &pw_len);
  lua_Integer max_iter = luaL_optinteger(L, 3, 10000000);
  luaL_argcheck(L, max_iter > 0, 3, "the iteration limit must be positive");
  int verify = lua_isnoneornil(L, 4) || lua_toboolean(L, 4);
  p12 *c = cb_newudata(L, sizeof *c, PARSE_MT); /* zeroed: safe to collect at any point */
  c->good_pw = -1;
  c->skip_mac = !verify;
  c->max_iter = (uint64_t)max_iter;
  c->empty_password = pw_len == 0;
  /* The forms a password takes in PKCS#12 files: UTF-16 with a NUL (RFC 7292, OpenSSL 3);
   * one unit per byte (OpenSSL 1.x for non-ASCII text); for the empty password also the
   * absent one (Windows writes "no password" that way, OpenSSL as "\0\0"). */
  int ascii = 1;
  for (size_t i = 0; i < pw_len; i++) ascii &= (unsigned char)pw[i] < 0x80;
  int ok = cb_pbe_password_init(&c->pw[c->npw++], (const uint8_t *)pw, pw_len, 0);
  if (ok && !ascii) ok = cb_pbe_password_init(&c->pw[c->npw++], (const uint8_t *)pw, pw_len, 1);
  if (ok && pw_len == 0) ok = cb_pbe_password_init(&c->pw[c->npw++], NULL, 0, 2);
  if (!ok) {
    p12_free(c);
    return luaL_error(L, "pkcs12.parse: out of memory");
  }
  /* a PFX pasted as base64 text (RFC 9579's vectors, web consoles) */
  size_t text_len;
  if (len > 0 && data[0] != 0x30 && !cb_pem_looks_like(data, len) &&
      cb_base64_armorless(data, len, &c->text, &text_len)) {
    data = (const char *)c->text;
    len = text_len;
  }
  parse_pfx(c, (const uint8_t *)data, len);
  const char *form = c->good_pw >= 0 ? c->pw[c->good_pw].form : NULL; /* a static string */
  for (int i = 0; i < c->npw; i++) cb_pbe_password_free(&c->pw[i]);
  if (c->code) {
    lua_pushnil(L);
    lua_pushstring(L, c->err);
    lua_pushstring(L, c->code);
    p12_free(c);
    return 3;
  }
  match_keys(c);
  lua_checkstack(L, 8);
  lua_createtable(L, 0, 3);
  lua_createtable(L, (int)c->nbags, 0);
  for (size_t i = 0; i < c->nbags; i++) {
    push_bag(L, &c->bags[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "bags");
  lua_createtable(L, 0, 8);
  if (c->mac[0]) {
    set_str(L, "mac", c->mac);
    set_int(L, "mac_iterations", c->mac_iter);
    lua_pushboolean(L, c->mac_ok);
    lua_setfield(L, -2, "mac_verified");
  }
  /* the password form that worked: "UTF-16", "Latin-1" or "absent" */
  set_str(L, "password_form", form);
  for (size_t i = 0; i < c->nbags; i++) {
    bag *b = &c->bags[i];
    int key = b->type == BAG_KEY || b->type == BAG_SHROUDED;
    const char *k = key ? "key_encryption" : b->type == BAG_CERT ? "cert_encryption" : NULL;
    if (!k) continue;
    lua_getfield(L, -1, k);
    int seen = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (seen) continue;
    set_str(L, k, b->encryption);
    if (strcmp(b->encryption, "none"))
      set_int(L, key ? "key_iterations" : "cert_iterations", b->iterations);
  }
  lua_setfield(L, -2, "algorithms");
  lua_createtable(L, c->nwarnings, 0);
  for (int i = 0; i < c->nwarnings; i++) {
    lua_pushstring(L, c->warnings[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "warnings");
  p12_free(c);
  return 1;
}

/* ---- building ---------------------------------------------------------------------------- */

typedef struct {
  uint8_t *p;
  size_t n;
} buffer;

static void buffer_gc_box(buffer *b) {
  if (b->p) {
    OPENSSL_cleanse(b->p, b->n);
    OPENSSL_free(b->p);
  }
  b->p = NULL;
  b->n = 0;
}

static int buffer_gc(lua_State *L) {
  buffer_gc_box(luaL_checkudata(L, 1, BUF_MT));
  return 0;
}

enum { ENC_NONE = 0 };

static int scheme_of(lua_State *L, int t, const char *field, const char *def) {
  static const char *const names[] = {"none", "aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "3des",
                                      "rc2-40", NULL};
  static const int schemes[] = {ENC_NONE, CB_PBE_WRITE_AES128, CB_PBE_WRITE_AES192,
                                CB_PBE_WRITE_AES256, CB_PBE_WRITE_3DES, CB_PBE_WRITE_RC2_40};
  const char *v = cb_optfield_string(L, t, field, def, NULL);
  for (int i = 0; names[i]; i++)
    if (!strcmp(names[i], v)) return schemes[i];
  return luaL_error(L, "pkcs12.build: %s must be one of none, aes-128-cbc, aes-192-cbc, "
                       "aes-256-cbc, 3des, rc2-40 (not '%s')", field, v);
}

static const EVP_MD *md_of(lua_State *L, int t, const char *field, const char *def, int allow_none) {
  static const struct {
    const char *name;
    const EVP_MD *(*md)(void);
  } mds[] = {{"sha1", EVP_sha1},     {"sha224", EVP_sha224}, {"sha256", EVP_sha256},
             {"sha384", EVP_sha384}, {"sha512", EVP_sha512}};
  const char *v = cb_optfield_string(L, t, field, def, NULL);
  if (allow_none && !strcmp(v, "none")) return NULL;
  for (size_t i = 0; i < sizeof mds / sizeof *mds; i++)
    if (!strcmp(mds[i].name, v)) return mds[i].md();
  luaL_error(L, "pkcs12.build: %s must be sha1, sha224, sha256, sha384 or sha512%s (not '%s')", field,
             allow_none ? " or none" : "", v);
  return NULL;
}

typedef struct {
  EVP_PKEY *key;
  X509 *cert;
  X509 **chain;
  size_t nchain;
  const uint8_t *name;
  size_t name_len;
  int key_scheme, cert_scheme, key_id;
  const EVP_MD *prf, *mac;
  uint64_t iter, mac_iter;
  cb_password pw;
} build_opts;

static int add_attrs(CBB *sb, const build_opts *o, const uint8_t *key_id, size_t key_id_len) {
  CBB set, a, oid_vals, v;
  if (!o->name && !key_id) return 1;
  if (!CBB_add_asn1(sb, &set, CBS_ASN1_SET)) return 0;
  if (o->name) {
    if (!CBB_add_asn1(&set, &a, CBS_ASN1_SEQUENCE) || !cb_add_oid(&a, OID_FRIENDLY_NAME) ||
        !CBB_add_asn1(&a, &oid_vals, CBS_ASN1_SET) || !CBB_add_asn1(&oid_vals, &v, CBS_ASN1_BMPSTRING) ||
        !cb_utf8_to_bmp(&v, o->name, o->name_len) || !CBB_flush(&set))
      return 0;
  }
  if (key_id) {
    if (!CBB_add_asn1(&set, &a, CBS_ASN1_SEQUENCE) || !cb_add_oid(&a, OID_LOCAL_KEY_ID) ||
        !CBB_add_asn1(&a, &oid_vals, CBS_ASN1_SET) ||
        !CBB_add_asn1_octet_string(&oid_vals, key_id, key_id_len) || !CBB_flush(&set))
      return 0;
  }
  return CBB_flush_asn1_set_of(&set) && CBB_flush(sb);
}

static int add_cert_bag(CBB *safe, X509 *x, const build_opts *o, const uint8_t *key_id,
                        size_t key_id_len, int with_attrs) {
  CBB sb, wrap, cb, explicit, octets;
  uint8_t *der = NULL;
  int der_len = i2d_X509(x, &der);
  int ok = der_len > 0 && CBB_add_asn1(safe, &sb, CBS_ASN1_SEQUENCE) && cb_add_oid(&sb, OID_BAG "3") &&
           CBB_add_asn1(&sb, &wrap, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
           CBB_add_asn1(&wrap, &cb, CBS_ASN1_SEQUENCE) && cb_add_oid(&cb, OID_X509_CERT) &&
           CBB_add_asn1(&cb, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
           CBB_add_asn1(&explicit, &octets, CBS_ASN1_OCTETSTRING) &&
           CBB_add_bytes(&octets, der, (size_t)der_len) && CBB_flush(&sb) &&
           (!with_attrs || add_attrs(&sb, o, key_id, key_id_len)) && CBB_flush(safe);
  OPENSSL_free(der);
  return ok;
}

/* add_content_info wraps SafeContents in a data or an encryptedData ContentInfo */
static int add_content_info(CBB *auth, const uint8_t *safe, size_t safe_len, int scheme,
                            const build_opts *o) {
  CBB ci, explicit, ed, eci, ct;
  if (!CBB_add_asn1(auth, &ci, CBS_ASN1_SEQUENCE)) return 0;
  if (scheme == ENC_NONE) {
    return cb_add_oid(&ci, OID_DATA) &&
           CBB_add_asn1(&ci, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
           CBB_add_asn1_octet_string(&explicit, safe, safe_len) && CBB_flush(auth);
  }
  uint8_t *enc = NULL;
  size_t enc_len = 0;
  int ok = cb_add_oid(&ci, OID_ENCRYPTED_DATA) &&
           CBB_add_asn1(&ci, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
           CBB_add_asn1(&explicit, &ed, CBS_ASN1_SEQUENCE) && CBB_add_asn1_uint64(&ed, 0) &&
           CBB_add_asn1(&ed, &eci, CBS_ASN1_SEQUENCE) && cb_add_oid(&eci, OID_DATA) &&
           cb_pbe_encrypt(scheme, o->prf, o->iter, &o->pw, safe, safe_len, &eci, &enc, &enc_len) &&
           CBB_add_asn1(&eci, &ct, CBS_ASN1_CONTEXT_SPECIFIC | 0) && CBB_add_bytes(&ct, enc, enc_len) &&
           CBB_flush(auth);
  OPENSSL_free(enc);
  return ok;
}

static int build_pfx(const build_opts *o, uint8_t **out, size_t *out_len, const char **why) {
  CBB auth, safe, pfx, seq, ci, explicit, mac_data, digest_info, alg, null;
  uint8_t key_id[SHA_DIGEST_LENGTH], *key_id_p = NULL;
  uint8_t *safe_der = NULL, *auth_der = NULL, *pki = NULL, *enc = NULL;
  size_t safe_len = 0, auth_len = 0, pki_len = 0, enc_len = 0;
  int ok = 0;
  unsigned id_len;
  CBB_zero(&auth);
  CBB_zero(&safe);
  CBB_zero(&pfx);
  *why = "out of memory";
  if (o->key && o->cert && o->key_id) {
    if (!X509_digest(o->cert, EVP_sha1(), key_id, &id_len)) goto done;
    key_id_p = key_id;
  }
  if (!CBB_init(&auth, 4096) || !CBB_add_asn1(&auth, &seq, CBS_ASN1_SEQUENCE)) goto done;
  if (o->cert || o->nchain) {
    CBB list;
    if (!CBB_init(&safe, 4096) || !CBB_add_asn1(&safe, &list, CBS_ASN1_SEQUENCE)) goto done;
    if (o->cert && !add_cert_bag(&list, o->cert, o, key_id_p, SHA_DIGEST_LENGTH, 1)) goto done;
    for (size_t i = 0; i < o->nchain; i++)
      if (!add_cert_bag(&list, o->chain[i], o, NULL, 0, 0)) goto done;
    if (!CBB_finish(&safe, &safe_der, &safe_len)) goto done;
    *why = "the certificates cannot be encrypted";
    if (!add_content_info(&seq, safe_der, safe_len, o->cert_scheme, o)) goto done;
    OPENSSL_free(safe_der);
    safe_der = NULL;
  }
  if (o->key) {
    CBB list, sb, wrap, epki, p8;
    *why = "the key cannot be encoded (unsupported key type?)";
    if (!CBB_init(&p8, 2048)) goto done;
    if (!EVP_marshal_private_key(&p8, o->key) || !CBB_finish(&p8, &pki, &pki_len)) {
      CBB_cleanup(&p8);
      goto done;
    }
    *why = "out of memory";
    if (!CBB_init(&safe, 4096) || !CBB_add_asn1(&safe, &list, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&list, &sb, CBS_ASN1_SEQUENCE) ||
        !cb_add_oid(&sb, o->key_scheme == ENC_NONE ? OID_BAG "1" : OID_BAG "2") ||
        !CBB_add_asn1(&sb, &wrap, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0))
      goto done;
    if (o->key_scheme == ENC_NONE) {
      if (!CBB_add_bytes(&wrap, pki, pki_len)) goto done;
    } else {
      *why = "the key cannot be encrypted";
      if (!CBB_add_asn1(&wrap, &epki, CBS_ASN1_SEQUENCE) ||
          !cb_pbe_encrypt(o->key_scheme, o->prf, o->iter, &o->pw, pki, pki_len, &epki, &enc, &enc_len) ||
          !CBB_add_asn1_octet_string(&epki, enc, enc_len))
        goto done;
    }
    *why = "out of memory";
    if (!CBB_flush(&sb) || !add_attrs(&sb, o, key_id_p, SHA_DIGEST_LENGTH) ||
        !CBB_finish(&safe, &safe_der, &safe_len) ||
        !add_content_info(&seq, safe_der, safe_len, ENC_NONE, o))
      goto done;
  }
  if (!CBB_finish(&auth, &auth_der, &auth_len)) goto done;

  if (!CBB_init(&pfx, auth_len + 256) || !CBB_add_asn1(&pfx, &seq, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1_uint64(&seq, 3) || !CBB_add_asn1(&seq, &ci, CBS_ASN1_SEQUENCE) ||
      !cb_add_oid(&ci, OID_DATA) ||
      !CBB_add_asn1(&ci, &explicit, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1_octet_string(&explicit, auth_der, auth_len) || !CBB_flush(&seq))
    goto done;
  if (o->mac) {
    uint8_t salt[8], key[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    size_t key_len = EVP_MD_size(o->mac);
    char oid[64];
    const char *name;
    /* the hash OID of the MAC: cb_digest_by_oid's table, searched by EVP_MD */
    static const char *const oids[] = {"1.3.14.3.2.26", "2.16.840.1.101.3.4.2.4", "2.16.840.1.101.3.4.2.1",
                                       "2.16.840.1.101.3.4.2.2", "2.16.840.1.101.3.4.2.3"};
    oid[0] = '\0';
    for (size_t i = 0; i < sizeof oids / sizeof *oids; i++)
      if (cb_digest_by_oid(oids[i], 0, &name) == o->mac) snprintf(oid, sizeof oid, "%s", oids[i]);
    int mac_ok = oid[0] && RAND_bytes(salt, sizeof salt) &&
                 cb_pkcs12_kdf(o->mac, 3, o->pw.bmp, o->pw.bmp_len, salt, sizeof salt, o->mac_iter,
                               key, key_len) &&
                 HMAC(o->mac, key, key_len, auth_der, auth_len, mac, &mac_len);
    OPENSSL_cleanse(key, sizeof key);
    if (!mac_ok || !CBB_add_asn1(&seq, &mac_data, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&mac_data, &digest_info, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&digest_info, &alg, CBS_ASN1_SEQUENCE) || !cb_add_oid(&alg, oid) ||
        !CBB_add_asn1(&alg, &null, CBS_ASN1_NULL) ||
        !CBB_add_asn1_octet_string(&digest_info, mac, mac_len) ||
        !CBB_add_asn1_octet_string(&mac_data, salt, sizeof salt) ||
        /* iterations DEFAULT 1: DER leaves the default out */
        (o->mac_iter != 1 && !CBB_add_asn1_uint64(&mac_data, o->mac_iter)))
      goto done;
  }
  if (!CBB_finish(&pfx, out, out_len)) goto done;
  ok = 1;
done:
  /* the SafeContents of a keyBag and the PKCS#8 form hold the private key in the clear */
  if (pki) {
    OPENSSL_cleanse(pki, pki_len);
    OPENSSL_free(pki);
  }
  if (safe_der) {
    OPENSSL_cleanse(safe_der, safe_len);
    OPENSSL_free(safe_der);
  }
  OPENSSL_free(enc);
  if (auth_der) {
    OPENSSL_cleanse(auth_der, auth_len);
    OPENSSL_free(auth_der);
  }
  CBB_cleanup(&safe);
  CBB_cleanup(&auth);
  CBB_cleanup(&pfx);
  ERR_clear_error();
  return ok;
}

/* build{key=, cert=, chain={}, password=, friendly_name=, key_pbe=, cert_pbe=, prf=, mac=,
 *   iterations=, mac_iterations=, key_id=} -> DER | nil, message */
static int l_build(lua_State *L) {
  build_opts o;
  memset(&o, 0, sizeof o);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "key");      /* 2 */
  lua_getfield(L, 1, "cert");     /* 3 */
  lua_getfield(L, 1, "chain");    /* 4 */
  lua_getfield(L, 1, "password"); /* 5 */
  if (!lua_isnil(L, 2)) o.key = cb_check_pkey(L, 2);
  if (!lua_isnil(L, 3)) o.cert = cb_check_x509(L, 3);
  if (!lua_isnil(L, 4)) {
    luaL_argcheck(L, lua_istable(L, 4), 1, "chain must be a table of certificates");
    o.nchain = (size_t)luaL_len(L, 4);
    /* a userdata holds the array: a raise below frees it with the rest of the stack */
    o.chain = lua_newuserdatauv(L, (o.nchain ? o.nchain : 1) * sizeof *o.chain, 0); /* 6 */
    for (size_t i = 0; i < o.nchain; i++) {
      lua_rawgeti(L, 4, (lua_Integer)i + 1);
      if (!cb_test_x509(L, -1)) luaL_error(L, "pkcs12.build: chain[%d] is not a certificate", (int)i + 1);
      o.chain[i] = cb_check_x509(L, -1);
      lua_pop(L, 1);
    }
  }
  luaL_argcheck(L, o.key || o.cert || o.nchain, 1, "nothing to put in the PFX (key, cert, chain)");
  if (lua_isnil(L, 5)) luaL_error(L, "pkcs12.build: a password is needed (\"\" for none)");
  size_t pw_len;
  const char *pw = cb_checkbytes(L, 5, &pw_len);
  o.name = (const uint8_t *)cb_optfield_string(L, 1, "friendly_name", NULL, &o.name_len);
  o.key_scheme = scheme_of(L, 1, "key_pbe", "aes-256-cbc");
  o.cert_scheme = scheme_of(L, 1, "cert_pbe", "aes-256-cbc");
  o.prf = md_of(L, 1, "prf", "sha256", 0);
  o.mac = md_of(L, 1, "mac", "sha256", 1);
  o.key_id = cb_optfield_boolean(L, 1, "key_id", 1);
  lua_Integer iter = cb_optfield_integer(L, 1, "iterations", 2048);
  lua_Integer mac_iter = cb_optfield_integer(L, 1, "mac_iterations", iter);
  if (iter < 1 || iter > 100000000 || mac_iter < 1 || mac_iter > 100000000)
    luaL_error(L, "pkcs12.build: iterations must be between 1 and 100000000");
  o.iter = (uint64_t)iter;
  o.mac_iter = (uint64_t)mac_iter;
  if (o.name) {
    CBB t;
    int utf8 = CBB_init(&t, o.name_len * 2) && cb_utf8_to_bmp(&t, o.name, o.name_len);
    CBB_cleanup(&t);
    if (!utf8) luaL_error(L, "pkcs12.build: friendly_name is not UTF-8 text");
  }
  /* From here on no raise until the result is pushed. */
  if (o.key && o.cert) {
    EVP_PKEY *pub = X509_get_pubkey(o.cert);
    int same = pub && EVP_PKEY_cmp(pub, o.key) == 1;
    EVP_PKEY_free(pub);
    ERR_clear_error();
    if (!same) return cb_fail(L, "pkcs12.build: the key does not match the certificate");
  }
  /* the result lives in a box until it is a Lua string: lua_pushlstring may raise */
  buffer *out = cb_newudata(L, sizeof *out, BUF_MT);
  if (!cb_pbe_password_init(&o.pw, (const uint8_t *)pw, pw_len, 0))
    return cb_fail(L, "pkcs12.build: out of memory");
  const char *why;
  int ok = build_pfx(&o, &out->p, &out->n, &why);
  cb_pbe_password_free(&o.pw);
  if (!ok) return cb_fail(L, "pkcs12.build: %s", why);
  lua_pushlstring(L, (const char *)out->p, out->n);
  buffer_gc_box(out);
  return 1;
}

int luaopen__certbench_pkcs12(lua_State *L) {
  static const luaL_Reg metas[] = {{"__gc", parser_gc}, {"__close", parser_gc}, {NULL, NULL}};
  static const luaL_Reg buf_metas[] = {{"__gc", buffer_gc}, {"__close", buffer_gc}, {NULL, NULL}};
  static const luaL_Reg fns[] = {{"parse", l_parse}, {"build", l_build}, {NULL, NULL}};
  cb_objects_init(L);
  cb_newclass(L, PARSE_MT, NULL, metas);
  cb_newclass(L, BUF_MT, NULL, buf_metas);
  luaL_newlib(L, fns);
  return 1;
}
