/* crlengine.h: the CRL engine under certbench.crl. It parses a CRL's DER in place, without an
 * object per entry: the CertificateList's parts are spans (offset, length) into the DER, the
 * revoked entries are an index of offsets sorted by serial (O(log n) lookups), and entries are
 * decoded only when asked. Big CRLs (a million entries, 40 MB) load in about the time it takes
 * to hash them.
 *
 * Nothing here touches Lua, so the event loop may run cb_crl_parse and cb_crl_verify off the
 * loop thread (uv_queue_work); the engine must then not be used by two threads at once. */
#ifndef CERTBENCH_CRLENGINE_H
#define CERTBENCH_CRLENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/evp.h>

/* A part of the DER: der[off .. off+len). */
typedef struct {
  uint32_t off, len;
} cb_span;

typedef struct {
  const uint8_t *der; /* the CertificateList, exactly len bytes */
  size_t len;
  uint8_t *owned;     /* der when the engine owns it (freed by cb_crl_free), else NULL */
  int version;        /* 1 or 2 */
  cb_span tbs;         /* the tbsCertList element: what the signature covers */
  cb_span sig_alg;     /* the outer AlgorithmIdentifier element */
  cb_span tbs_sig_alg; /* the AlgorithmIdentifier inside tbsCertList */
  cb_span sig;         /* the signature bits (BIT STRING content after the unused-bits byte) */
  int sig_unused_bits; /* nonzero: not a valid signature (cb_crl_verify refuses it) */
  cb_span issuer;      /* the issuer Name element */
  int64_t this_update, next_update;
  int has_next_update;
  cb_span revoked;     /* the content of revokedCertificates (len 0 when absent or empty) */
  int has_exts;
  cb_span exts;        /* the content of crlExtensions' SEQUENCE */
  /* known CRL extensions, each the content of its extnValue OCTET STRING (len 0: absent) */
  cb_span number, delta_base, aki_keyid, idp, freshest;
  int has_number, has_delta, has_aki, has_idp, idp_indirect, has_freshest;
  size_t count;        /* revoked entries */
  uint32_t *index;     /* count entry offsets, sorted by serial; NULL when count is 0 */
  int der_sorted;      /* the entries were already in serial order in the DER */
  int has_entry_exts;  /* some entry has extensions */
  /* a big CRL's tbsCertList, hashed while parsing with the digest its algorithm names */
  const EVP_MD *tbs_md;
  uint8_t tbs_digest[EVP_MAX_MD_SIZE];
  unsigned tbs_digest_len;
  /* a CRL scanned from a file (cb_crl_scan_fd): the entries stay in the file, read again by a
   * cursor when asked for; der is then a CertificateList without them (synthetic) unless the
   * file was small enough to keep whole */
  int scanned;
  int synthetic;       /* der lacks the revoked entries: count, index, revoked describe the file */
  int fd;              /* the file, owned (closed by cb_crl_free); -1 when not scanned */
  uint64_t file_len;   /* the CertificateList's bytes in the file (trailing padding excluded) */
  uint64_t rev_off, rev_len;  /* the revoked entries' content in the file */
  uint64_t tbs_off, tbs_len;  /* the tbsCertList element in the file */
  uint8_t der_sha256[32];     /* SHA-256 of the file's CertificateList: the fingerprint */
  uint64_t der_shift;  /* a cursor's view: der[0] is the file's byte der_shift (for messages) */
} cb_crl;

/* One revoked entry, decoded. */
typedef struct {
  cb_span serial;       /* the INTEGER's content bytes (two's complement, minimal) */
  int64_t date;
  int reason;           /* the reasonCode (0..10), or -1 when absent */
  int has_invalidity;
  int64_t invalidity;
  int has_cert_issuer;
  cb_span cert_issuer;  /* the certificateIssuer GeneralNames element */
  cb_span exts;         /* the content of crlEntryExtensions (len 0 when absent) */
  int has_exts;
} cb_crl_entry;

/* cb_crl_parse parses the CRL in der[0..len) into e (zeroed first) and builds the serial
 * index. For a big CRL (1 MB or more, on a machine with several cores) it hashes tbsCertList on
 * a thread of its own meanwhile, joined before it returns, so cb_crl_verify is then quick
 * (CERTBENCH_CRL_PREHASH=0 in the environment turns that off). The DER must stay valid while e is used; with take_ownership, e owns and frees it
 * (also on failure). Returns 1, or 0 with a message in err ("truncated DER at offset N: ..."). */
int cb_crl_parse(cb_crl *e, const uint8_t *der, size_t len, int take_ownership, char *err,
                 size_t errlen);

/* cb_crl_serial_cmp orders serials (INTEGER content) as the index does: by the length of their
 * minimal form, then by bytes. */
int cb_crl_serial_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* cb_crl_free frees what e owns (the index, the DER when owned) and zeroes it. */
void cb_crl_free(cb_crl *e);

/* cb_crl_entry_at decodes the entry starting at der offset off. *next (optional) is set to the
 * offset right after it. Returns 1, or 0 with err filled for a malformed entry. */
int cb_crl_entry_at(const cb_crl *e, uint32_t off, cb_crl_entry *out, uint32_t *next, char *err,
                    size_t errlen);

/* cb_crl_first is the offset of the first entry in DER order, cb_crl_end the end of them. */
uint32_t cb_crl_first(const cb_crl *e);
uint32_t cb_crl_end(const cb_crl *e);

/* cb_crl_find_range looks up a serial given as INTEGER content bytes (minimal two's
 * complement): the index positions e->index[*first ..] of every entry with that serial (several
 * in an indirect CRL, one per certificate issuer); returns their number, 0 when the serial is
 * not on the CRL. */
size_t cb_crl_find_range(const cb_crl *e, const uint8_t *serial, size_t len, size_t *first);

/* cb_crl_verify checks the signature over tbsCertList with key. Returns 1 when it verifies,
 * 0 with the reason in why otherwise (wrong key, unsupported algorithm, ...). */
int cb_crl_verify(const cb_crl *e, EVP_PKEY *key, char *why, size_t whylen);

/* cb_crl_sig_alg_name names the signature algorithm ("sha256WithRSAEncryption",
 * "rsassaPss", "ecdsa-with-SHA384", "ED25519", or the dotted OID) into buf. */
const char *cb_crl_sig_alg_name(const cb_crl *e, char *buf, size_t len);

/* cb_der_time parses an UTCTime or GeneralizedTime (tag, content) into epoch seconds (UTC; a
 * +hhmm/-hhmm offset is applied). Returns 0 when it is not a valid time. The one time parser of
 * the core: certificates (cb_push_time, cb_x509_check_times), CRLs and OCSP use it. */
int cb_der_time(unsigned tag, const uint8_t *p, size_t n, int64_t *out);

/* cb_crl_serial_from_hex converts an upper- or lower-case hex serial (an optional leading "-"
 * for negative ones, as openssl prints them) into minimal INTEGER content bytes in out
 * (at least (strlen+1)/2+1 bytes). Returns the length, or 0 for bad hex. */
size_t cb_crl_serial_from_hex(const char *hex, size_t n, uint8_t *out);

/* cb_crl_serial_to_hex writes INTEGER content as upper-case hex ("-" prefix when negative),
 * as openssl prints serials (a zero is "00"); out needs 2*len+2 bytes. Returns the length. */
size_t cb_crl_serial_to_hex(const uint8_t *p, size_t len, char *out);

/* The names of the RFC 5280 reason codes (index = code; 7 is unused, NULL). */
extern const char *const cb_crl_reasons[11];

#endif
