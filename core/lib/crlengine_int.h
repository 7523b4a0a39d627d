/* crlengine_int.h: what the CRL parser (crlengine.c) shares with the file scan (crlscan.c),
 * and with nothing else: the error context, and the entry and signature-algorithm checks, so a
 * scanned CRL is checked by the same code as a parsed one. */
#ifndef CERTBENCH_CRLENGINE_INT_H
#define CERTBENCH_CRLENGINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/digest.h>

#include "crlengine.h"

typedef struct {
  const uint8_t *base;
  char *err;
  size_t errlen;
  uint64_t shift; /* base[0] is the file's byte shift (a scan's buffer): offsets in messages */
} pctx_t;

/* cb_crlp_fail writes the message into c's err (when it has one) and returns 0; `fail` in both
 * files. */
int cb_crlp_fail(pctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define fail cb_crlp_fail

/* cb_crlp_check_entry checks the revoked entry at p (the entries ending at end) on the fast
 * path: its serial (*s, *sn: normalized), date and extensions (*exts set when it has some).
 * Returns the end of the entry, or NULL when it is not well formed (cb_crlp_entry_at then says
 * why). The one entry check of cb_crl_parse and of cb_crl_scan_fd. */
const uint8_t *cb_crlp_check_entry(const uint8_t *p, const uint8_t *end, const uint8_t **s, size_t *sn, int *exts);

/* cb_crlp_entry_at decodes the entry at der offset off of e, the entries ending at end. Returns
 * 1, or 0 with err. */
int cb_crlp_entry_at(const cb_crl *e, uint32_t off, uint32_t end, cb_crl_entry *out, uint32_t *next, char *err,
                     size_t errlen);

/* A signature's AlgorithmIdentifier, decoded. */
typedef struct {
  int pknid;               /* the key type it needs */
  const EVP_MD *md;        /* NULL for Ed25519 */
  const EVP_MD *mgf1;      /* RSASSA-PSS only */
  int64_t salt;
  int pss;
  char name[96];
} cb_crlp_sigalg;

/* cb_crlp_decode_sigalg reads an AlgorithmIdentifier of a signature. Returns 1, or 0 with why. */
int cb_crlp_decode_sigalg(const uint8_t *p, size_t n, cb_crlp_sigalg *a, char *why, size_t wl);

#endif
