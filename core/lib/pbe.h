/* pbe.h: password-based encryption as PKCS#12 and PKCS#8 files use it, and the small ASN.1
 * tools that parsing them needs.
 *
 * BoringSSL's PKCS8_decrypt/PKCS8_encrypt cover only part of what real PFX files hold: no
 * pbeWithSHAAnd128BitRC2-CBC, no way to decrypt a PKCS#7 encryptedData, and PBES2 is always
 * written with the hmacWithSHA1 PRF where OpenSSL 3 writes hmacWithSHA256. So the KDFs (the
 * PKCS#12 one of RFC 7292 appendix B, PBKDF1, PBKDF2, scrypt) and the PBES1/PBES2 schemes live
 * here, on top of BoringSSL's digests and ciphers, for both directions: the one implementation
 * that PKCS#12 files (pkcs12.c) and encrypted PKCS#8 keys (pkey.c) share. */
#ifndef CERTBENCH_PBE_H
#define CERTBENCH_PBE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/cipher.h>

/* A password in the two forms the schemes want: the bytes as given (PBES2, PBKDF1, PBMAC1,
 * all UTF-8 in practice) and the PKCS#12 form (BMPString, big-endian UTF-16, with a trailing
 * NUL pair; empty when the password is "absent", which is not the same as ""). */
typedef struct {
  const uint8_t *raw; /* borrowed */
  size_t raw_len;
  uint8_t *bmp;       /* owned, cleansed by cb_pbe_password_free */
  size_t bmp_len;
  const char *form;   /* how bmp was made, for messages: "UTF-16", "Latin-1", "absent" */
} cb_password;

/* cb_pbe_password_init fills pw from raw bytes. mode 0: UTF-8 -> UTF-16BE + NUL (bytes that
 * are not UTF-8 taken as Latin-1, as OpenSSL does); mode 1: every byte -> one UTF-16 unit
 * (OpenSSL 1.x and Windows for non-ASCII text); mode 2: the absent password (empty BMP).
 * Returns 1, or 0 when out of memory. */
int cb_pbe_password_init(cb_password *pw, const uint8_t *raw, size_t raw_len, int mode);
void cb_pbe_password_free(cb_password *pw);

/* The PKCS#12 key derivation (RFC 7292 B.2). id: 1 key, 2 IV, 3 MAC key. */
int cb_pkcs12_kdf(const EVP_MD *md, uint8_t id, const uint8_t *pass, size_t pass_len,
                  const uint8_t *salt, size_t salt_len, uint64_t iterations, uint8_t *out,
                  size_t out_len);

enum { CB_PBE_P12 = 1, CB_PBE_P5V1, CB_PBE_PBES2 };

/* A parsed encryption AlgorithmIdentifier. salt and iv point into the parsed data. */
typedef struct {
  int scheme;
  char name[96];        /* "PBES2/PBKDF2-SHA256/AES-256-CBC", "pbeWithSHAAnd40BitRC2-CBC" */
  uint64_t iterations;
  const EVP_MD *md;     /* the KDF's hash: PKCS#12 KDF, PBKDF1, or PBKDF2's HMAC PRF; NULL for
                           PBES2 with scrypt (iterations is then its cost N) */
  uint64_t scrypt_r, scrypt_p;
  const EVP_CIPHER *cipher;
  size_t key_len;
  unsigned rc2_bits;    /* effective key bits for RC2, else 0 */
  CBS salt;
  CBS iv;               /* PBES2 only */
} cb_pbe;

/* cb_pbe_parse parses an AlgorithmIdentifier (the whole SEQUENCE) of a PBE scheme.
 * Returns 1; 0 for a malformed one; -1 for a well-formed but unsupported one. err gets a
 * reason in both cases. */
int cb_pbe_parse(CBS *algid, cb_pbe *out, char *err, size_t err_len);

/* cb_pbe_crypt derives the key and IV from pw and runs the cipher (enc 1 encrypts, 0
 * decrypts) over in. On success *out is an OPENSSL_malloc'd buffer of *out_len bytes the caller
 * cleanses and frees. Returns 0 on failure (bad padding: a wrong password, most likely). */
int cb_pbe_crypt(const cb_pbe *p, const cb_password *pw, int enc, const uint8_t *in,
                 size_t in_len, uint8_t **out, size_t *out_len);

/* Schemes the writer knows. */
enum {
  CB_PBE_WRITE_AES128 = 1, CB_PBE_WRITE_AES192, CB_PBE_WRITE_AES256, /* PBES2 + PBKDF2 */
  CB_PBE_WRITE_3DES,     /* pbeWithSHAAnd3-KeyTripleDES-CBC */
  CB_PBE_WRITE_RC2_40,   /* pbeWithSHAAnd40BitRC2-CBC: only to test old readers */
  CB_PBE_WRITE_PBES2_3DES, /* PBES2 + PBKDF2 with DES-EDE3-CBC (openssl pkcs8 -v2 des3) */
};

/* cb_pbe_encrypt encrypts in with the scheme and writes the AlgorithmIdentifier to algid
 * and the ciphertext to *out (OPENSSL_free it). prf is PBKDF2's hash for PBES2 schemes.
 * Returns 1 or 0. */
int cb_pbe_encrypt(int scheme, const EVP_MD *prf, uint64_t iterations, const cb_password *pw,
                   const uint8_t *in, size_t in_len, CBB *algid, uint8_t **out, size_t *out_len);

/* cb_oid_text writes the dotted text of the OID in cbs to buf ("?" when invalid). */
const char *cb_oid_text(const CBS *oid, char *buf, size_t len);

/* cb_add_oid writes an OBJECT IDENTIFIER element (tag included) from dotted text. */
int cb_add_oid(CBB *cbb, const char *oid);

/* cb_digest_by_oid maps a hash (or, with hmac 1, an HMAC PRF) OID to its EVP_MD and a short
 * name ("sha256"). NULL when unknown. */
const EVP_MD *cb_digest_by_oid(const char *oid, int hmac, const char **name);

/* cb_ber_to_der converts BER (indefinite lengths, constructed strings, long lengths) to DER.
 * Contents of primitive strings are left alone. Returns 1 with an OPENSSL_malloc'd *out, 0 when the
 * input is not BER. */
int cb_ber_to_der(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);

/* cb_asn1_get_string reads an OCTET STRING-like element tagged tag (primitive) or tag with the
 * constructed bit (a BER constructed string, as a DER conversion leaves implicitly-tagged
 * ones). *storage is NULL or an OPENSSL_malloc'd buffer holding the joined pieces, for the caller to
 * free. Returns 1 or 0. */
int cb_asn1_get_string(CBS *cbs, CBS *out, unsigned tag, uint8_t **storage);

/* cb_asn1_opt_uint64 reads an optional INTEGER (untagged, as DEFAULT fields are): def when
 * the next element is not an INTEGER. Returns 0 for a bad or too large INTEGER. */
int cb_asn1_opt_uint64(CBS *cbs, uint64_t *out, uint64_t def);

/* cb_asn1_is_single reports whether data is exactly one DER element (decrypted plaintext
 * checks: a wrong key gives garbage that almost never parses). */
int cb_asn1_is_single(const uint8_t *data, size_t len, unsigned tag);

/* cb_bmp_to_utf8 converts a BMPString (UTF-16BE, surrogates allowed) to a malloc'd,
 * NUL-terminated UTF-8 string; bad units become U+FFFD. NULL when out of memory. */
char *cb_bmp_to_utf8(const uint8_t *in, size_t len);

/* cb_utf8_to_bmp appends the UTF-16BE form of UTF-8 text to cbb (no trailing NUL). Returns
 * 0 when the text is not UTF-8. */
int cb_utf8_to_bmp(CBB *cbb, const uint8_t *in, size_t len);

#endif
