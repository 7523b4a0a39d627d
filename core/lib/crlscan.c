/* crlscan.c: a DER CRL checked from its file without holding it, and its entries read again
 * from the file (see crlscan.h); the parsing itself is crlengine.c's. */
#include "crlscan.h"
#include "crlengine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/sha.h>

/* ---- scanning a file --------------------------------------------------------------------- */

/* The pieces a scan reads, and the most it holds of each part. A CRL's parts before and after
 * the entries are a few KB in practice (an issuer name, a handful of extensions, a signature);
 * 1 MiB each leaves room for odd ones. An entry is about 40 bytes; one over 16 MiB is refused. */
#define SCAN_CHUNK ((size_t)1 << 20)
#define SCAN_PART_MAX ((size_t)1 << 20)
#define SCAN_ENTRY_MAX ((size_t)16 << 20)

/* read_at reads n bytes at off. Returns 1, or 0 with errno (0: the file ended early). */
static int read_at(int fd, uint8_t *p, size_t n, uint64_t off) {
  while (n) {
    ssize_t r = pread(fd, p, n, (off_t)off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    if (r == 0) {
      errno = 0;
      return 0;
    }
    p += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return 1;
}

/* peek_hdr reads a DER header in p[0..n): one tag byte (tag, or any low-number tag when tag is
 * 0), a minimal definite length of at most 4 bytes. Returns 1 with the header length *hl and
 * content length *cl, 0 when n is too short to tell, -1 when it is not such a header. */
static int peek_hdr(const uint8_t *p, size_t n, uint8_t tag, size_t *hl, uint64_t *cl) {
  if (n == 0) return 0;
  if (tag ? p[0] != tag : (p[0] & 0x1f) == 0x1f) return -1;
  if (n < 2) return 0;
  size_t l = p[1];
  if (!(l & 0x80)) {
    *hl = 2;
    *cl = l;
    return 1;
  }
  size_t k = l & 0x7f;
  if (k == 0 || k > 4) return -1;
  if (n < 2 + k) return 0;
  if (p[2] == 0) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < k; i++) v = (v << 8) | p[2 + i];
  if (v < 0x80) return -1;
  *hl = 2 + k;
  *cl = v;
  return 1;
}

typedef struct {
  uint64_t size, outer_end, tbs_off, tbs_end, head_end, r0, r1;
  size_t tbs_hl;                  /* the length of tbsCertList's header */
  size_t alg_off, alg_len;        /* tbsCertList's signature algorithm, in the head */
  SHA256_CTX sha;
  EVP_MD_CTX *md;                 /* tbsCertList's digest; NULL when its algorithm has none */
  const EVP_MD *md_type;
  uint8_t *tail;                  /* the file's bytes [r1, outer_end) */
  uint64_t bad_trailer;           /* 1 + the offset of a byte after the CRL that is not padding */
} scan_t;

/* walk_head finds the parts of the CRL in its first hn bytes h: the outer and tbsCertList
 * headers, the elements before the entries and the entries' span. Returns 1, 0 when it needs
 * more of the file, or -1 with the reason in c. */
static int walk_head(pctx_t *c, const uint8_t *h, size_t hn, scan_t *s) {
  size_t hl;
  uint64_t cl, at = 0;
  int r = peek_hdr(h, hn, 0x30, &hl, &cl);
  if (r < 0) {
    if (h[0] != 0x30) return fail(c, "not a CRL (neither PEM nor DER: first byte 0x%02x)", h[0]), -1;
    return fail(c, "bad DER at offset 0: the CRL is not DER-encoded"), -1;
  }
  if (r == 0) return 0;
  s->outer_end = hl + cl;
  if (s->outer_end > s->size)
    return fail(c, "truncated DER at offset 0: the CRL needs %llu bytes, %llu present", (unsigned long long)cl,
                (unsigned long long)(s->size - hl)), -1;
  at = hl;
  if (at >= hn) return 0;
  r = peek_hdr(h + at, hn - at, 0x30, &hl, &cl);
  if (r < 0) return fail(c, "bad DER at offset %llu: expected tbsCertList", (unsigned long long)at), -1;
  if (r == 0) return 0;
  s->tbs_off = at;
  s->tbs_hl = hl;
  s->tbs_end = at + hl + cl;
  if (s->tbs_end > s->outer_end)
    return fail(c, "truncated DER at offset %llu: tbsCertList runs past the CRL", (unsigned long long)at), -1;
  at += hl;
  /* [version] signature issuer thisUpdate [nextUpdate] [revokedCertificates] [crlExtensions] */
  int step = 0;
  for (;;) {
    if (at >= s->tbs_end) break;
    if (at >= hn) return 0;
    uint8_t tag = h[at];
    if (step == 0 && tag != CBS_ASN1_INTEGER) step = 1;
    if (step == 3 && tag != CBS_ASN1_UTCTIME && tag != CBS_ASN1_GENERALIZEDTIME)
      return fail(c, "bad DER at offset %llu: thisUpdate is not a UTCTime or GeneralizedTime", (unsigned long long)at), -1;
    if (step == 4 && tag != CBS_ASN1_UTCTIME && tag != CBS_ASN1_GENERALIZEDTIME) step = 5;
    if (step == 5) break; /* the entries, the extensions or junk: what follows says */
    r = peek_hdr(h + at, hn - at, 0, &hl, &cl);
    if (r < 0) return fail(c, "bad DER at offset %llu: an element of tbsCertList is not DER", (unsigned long long)at), -1;
    if (r == 0) return 0;
    if (at + hl + cl > s->tbs_end)
      return fail(c, "truncated DER at offset %llu: an element runs past tbsCertList", (unsigned long long)at), -1;
    if (at + hl + cl > hn) return 0;
    if (step == 1) {
      s->alg_off = (size_t)at;
      s->alg_len = (size_t)(hl + cl);
    }
    at += hl + cl;
    step++;
  }
  s->head_end = at;
  s->r0 = s->r1 = at;
  if (at < s->tbs_end && at >= hn) return 0;
  if (at < s->tbs_end && h[at] == 0x30) {
    r = peek_hdr(h + at, hn - at, 0x30, &hl, &cl);
    if (r < 0) return fail(c, "bad DER at offset %llu: revokedCertificates is not DER", (unsigned long long)at), -1;
    if (r == 0) return 0;
    s->r0 = at + hl;
    s->r1 = s->r0 + cl;
    if (s->r1 > s->tbs_end)
      return fail(c, "truncated DER at offset %llu: revokedCertificates runs past tbsCertList", (unsigned long long)at), -1;
  }
  return 1;
}

/* feed passes the file's bytes [pos, pos+n) to what wants them: the SHA-256 of the CRL, the
 * digest of tbsCertList, the tail's copy and the check of what follows the CRL. */
static void feed(scan_t *s, uint64_t pos, const uint8_t *p, size_t n) {
  uint64_t a = pos, b = pos + n, x, y;
  if (a < s->outer_end) SHA256_Update(&s->sha, p, (size_t)((b < s->outer_end ? b : s->outer_end) - a));
  x = a > s->tbs_off ? a : s->tbs_off;
  y = b < s->tbs_end ? b : s->tbs_end;
  if (s->md && x < y) EVP_DigestUpdate(s->md, p + (x - a), (size_t)(y - x));
  x = a > s->r1 ? a : s->r1;
  y = b < s->outer_end ? b : s->outer_end;
  if (x < y) memcpy(s->tail + (x - s->r1), p + (x - a), (size_t)(y - x));
  for (x = a > s->outer_end ? a : s->outer_end; x < b && !s->bad_trailer; x++) {
    uint8_t c = p[x - a];
    if (c != 0 && c != '\n' && c != '\r' && c != ' ' && c != '\t') s->bad_trailer = x + 1;
  }
}

/* synthesize builds the CRL without its entries: the head's elements before them, the tail
 * (extensions, then the signature algorithm and value), under new outer headers. */
static int synthesize(const uint8_t *h, const scan_t *s, uint8_t **out, size_t *outlen) {
  CBB cbb, outer, tbs;
  size_t tail_tbs = (size_t)(s->tbs_end - s->r1), tail_all = (size_t)(s->outer_end - s->r1);
  if (!CBB_init(&cbb, (size_t)(s->head_end - s->tbs_off) + tail_all + 16) ||
      !CBB_add_asn1(&cbb, &outer, CBS_ASN1_SEQUENCE) || !CBB_add_asn1(&outer, &tbs, CBS_ASN1_SEQUENCE)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  size_t hdr = (size_t)s->tbs_off + s->tbs_hl; /* the elements, without tbsCertList's header */
  uint8_t *der;
  if (!CBB_add_bytes(&tbs, h + hdr, (size_t)(s->head_end - hdr)) || !CBB_add_bytes(&tbs, s->tail, tail_tbs) ||
      !CBB_add_bytes(&outer, s->tail + tail_tbs, tail_all - tail_tbs) || !CBB_finish(&cbb, &der, outlen)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  /* the engine frees what it owns with free(); BoringSSL's buffers go back to OPENSSL_free */
  *out = malloc(*outlen ? *outlen : 1);
  if (*out) memcpy(*out, der, *outlen);
  OPENSSL_free(der);
  return *out != NULL;
}

/* scan_small parses a file of at most one piece whole, as cb_crl_parse. */
static int scan_small(cb_crl *e, int fd, uint64_t size, pctx_t *c) {
  uint8_t *buf = malloc(size ? (size_t)size : 1);
  if (!buf) return fail(c, "out of memory");
  if (!read_at(fd, buf, (size_t)size, 0)) {
    int er = errno;
    free(buf);
    return fail(c, "%s", er ? strerror(er) : "the file got shorter while it was read");
  }
  if (!cb_crl_parse(e, buf, (size_t)size, 1, c->err, c->errlen)) return 0;
  e->scanned = 1;
  e->fd = fd;
  e->file_len = e->len;
  e->rev_off = e->revoked.off;
  e->rev_len = e->revoked.len;
  e->tbs_off = e->tbs.off;
  e->tbs_len = e->tbs.len;
  SHA256(e->der, e->len, e->der_sha256);
  return 1;
}

int cb_crl_scan_fd(cb_crl *e, int fd, uint64_t size, size_t chunk, char *err, size_t errlen) {
  memset(e, 0, sizeof *e);
  pctx_t c = {NULL, err, errlen, 0};
  scan_t s;
  memset(&s, 0, sizeof s);
  s.size = size;
  uint8_t *h = NULL, *buf = NULL, *prev = NULL;
  size_t hn = 0, cap = 0, prevcap = 0;
  int ok = 0;
  if (chunk == 0) chunk = SCAN_CHUNK;
  if (size > UINT32_MAX) {
    fail(&c, "CRL too large (%llu bytes, the limit is 4 GiB)", (unsigned long long)size);
    goto done;
  }
  if (size == 0) {
    fail(&c, "not a CRL (empty)");
    goto done;
  }
  if (size <= chunk) {
    if (!scan_small(e, fd, size, &c)) goto done;
    return 1;
  }
  /* the head: from one piece up to the limit, until the entries' span is known */
  for (hn = chunk < 4096 ? chunk : 4096;; hn *= 2) {
    if (hn > size) hn = (size_t)size;
    uint8_t *nh = realloc(h, hn);
    if (!nh) {
      fail(&c, "out of memory");
      goto done;
    }
    h = nh;
    if (!read_at(fd, h, hn, 0)) {
      fail(&c, "%s", errno ? strerror(errno) : "the file got shorter while it was read");
      goto done;
    }
    int r = walk_head(&c, h, hn, &s);
    if (r < 0) goto done;
    if (r > 0) break;
    if (hn == size) {
      fail(&c, "truncated DER: the CRL ends inside tbsCertList");
      goto done;
    }
    if (hn >= SCAN_PART_MAX) {
      fail(&c, "the CRL's part before its entries is over 1 MiB");
      goto done;
    }
  }
  if (s.outer_end - s.r1 > SCAN_PART_MAX) {
    fail(&c, "the CRL's part after its entries (extensions, signature) is over 1 MiB");
    goto done;
  }
  if (!(s.tail = malloc((size_t)(s.outer_end - s.r1) + 1))) {
    fail(&c, "out of memory");
    goto done;
  }
  SHA256_Init(&s.sha);
  if (s.alg_len) {
    cb_crlp_sigalg a;
    char why[8];
    if (cb_crlp_decode_sigalg(h + s.alg_off, s.alg_len, &a, why, sizeof why) && a.md && (s.md = EVP_MD_CTX_new()) &&
        !EVP_DigestInit_ex(s.md, a.md, NULL)) {
      EVP_MD_CTX_free(s.md);
      s.md = NULL;
    }
    if (s.md) s.md_type = a.md;
    ERR_clear_error();
  }

  /* one pass over the file: every byte hashed, every entry checked where it lies */
  cap = chunk;
  if (!(buf = malloc(cap))) {
    fail(&c, "out of memory");
    goto done;
  }
  uint64_t pos = 0, buf_pos = 0, ep = s.r0;
  size_t n = 0, prevn = 0;
  int sorted = 1, exts = 0;
  while (pos < size) {
    /* keep the unfinished entry, drop the rest */
    uint64_t keep = ep < s.r1 && ep < pos ? ep : pos;
    size_t have = (size_t)(pos - keep);
    if (have && keep > buf_pos) memmove(buf, buf + (keep - buf_pos), have);
    buf_pos = keep;
    if (have == cap) {
      if (cap >= SCAN_ENTRY_MAX) {
        fail(&c, "entry %zu at offset %llu is over %zu MiB", n + 1, (unsigned long long)ep, SCAN_ENTRY_MAX >> 20);
        goto done;
      }
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        fail(&c, "out of memory");
        goto done;
      }
      buf = nb;
      cap *= 2;
    }
    size_t want = cap - have;
    if (want > size - pos) want = (size_t)(size - pos);
    if (!read_at(fd, buf + have, want, pos)) {
      fail(&c, "%s", errno ? strerror(errno) : "the file got shorter while it was read");
      goto done;
    }
    feed(&s, pos, buf + have, want);
    pos += want;
    while (ep < s.r1 && ep < pos) {
      uint64_t lim = pos < s.r1 ? pos : s.r1;
      size_t avail = (size_t)(lim - ep), hl;
      uint64_t cl;
      const uint8_t *p = buf + (ep - buf_pos), *sr, *eend = NULL;
      size_t sn;
      int r = peek_hdr(p, avail, 0x30, &hl, &cl);
      if (r == 0 && lim < s.r1) break;
      if (r > 0 && hl + cl > avail) {
        if (ep + hl + cl <= s.r1) break; /* the rest is still to be read */
        r = -1;
      }
      if (r > 0) eend = cb_crlp_check_entry(p, p + hl + cl, &sr, &sn, &exts);
      if (!eend) {
        /* the same checks through CBS, to name what is wrong and where */
        cb_crl view;
        cb_crl_entry en;
        char why[200];
        memset(&view, 0, sizeof view);
        view.der = buf;
        view.der_shift = buf_pos;
        if (!cb_crlp_entry_at(&view, (uint32_t)(ep - buf_pos), (uint32_t)(lim - buf_pos), &en, NULL, why, sizeof why))
          fail(&c, "entry %zu: %s", n + 1, why);
        else
          fail(&c, "bad DER at offset %llu: entry %zu", (unsigned long long)ep, n + 1);
        goto done;
      }
      if (sorted && n && cb_crl_serial_cmp(prev, prevn, sr, sn) > 0) sorted = 0;
      if (sorted) {
        if (sn > prevcap) {
          uint8_t *np = realloc(prev, sn);
          if (!np) {
            fail(&c, "out of memory");
            goto done;
          }
          prev = np;
          prevcap = sn;
        }
        memcpy(prev, sr, sn);
        prevn = sn;
      }
      n++;
      ep += (uint64_t)(eend - p);
    }
  }
  if (s.bad_trailer) {
    fail(&c, "trailing data after the CRL at offset %llu", (unsigned long long)(s.bad_trailer - 1));
    goto done;
  }
  uint8_t *syn;
  size_t synlen;
  if (!synthesize(h, &s, &syn, &synlen)) {
    fail(&c, "out of memory");
    goto done;
  }
  if (!cb_crl_parse(e, syn, synlen, 1, err, errlen)) {
    /* offsets in the message are into the CRL without its entries */
    size_t l = strlen(err);
    snprintf(err + l, errlen > l ? errlen - l : 0, " (in the CRL's parts around its entries)");
    goto done;
  }
  e->scanned = e->synthetic = 1;
  e->fd = fd;
  e->file_len = s.outer_end;
  e->rev_off = s.r0;
  e->rev_len = s.r1 - s.r0;
  e->tbs_off = s.tbs_off;
  e->tbs_len = s.tbs_end - s.tbs_off;
  e->count = n;
  e->der_sorted = sorted;
  e->has_entry_exts = exts;
  SHA256_Final(e->der_sha256, &s.sha);
  e->tbs_md = NULL;
  e->tbs_digest_len = 0;
  if (s.md && EVP_DigestFinal_ex(s.md, e->tbs_digest, &e->tbs_digest_len)) e->tbs_md = s.md_type;
  ok = 1;
done:
  if (!ok) {
    cb_crl_free(e);
    close(fd);
  }
  EVP_MD_CTX_free(s.md);
  ERR_clear_error();
  free(s.tail);
  free(h);
  free(buf);
  free(prev);
  return ok;
}

int cb_crl_file_read(const cb_crl *e, uint8_t *p, size_t n, uint64_t off) {
  if (!e->scanned) {
    errno = EBADF;
    return 0;
  }
  return read_at(e->fd, p, n, off);
}

/* ---- reading entries again from the file ------------------------------------------------- */

int cb_crl_cursor_open(cb_crl_cursor *c, const cb_crl *e) {
  memset(c, 0, sizeof *c);
  c->fd = e->scanned ? e->fd : -1;
  if (e->synthetic) {
    c->next = c->buf_pos = c->pos = e->rev_off;
    c->end = e->rev_off + e->rev_len;
  } else {
    c->next = cb_crl_first(e);
    c->end = e->count ? cb_crl_end(e) : c->next;
  }
  return 1;
}

void cb_crl_cursor_close(cb_crl_cursor *c) {
  free(c->buf);
  c->buf = NULL;
  c->cap = 0;
}

int cb_crl_cursor_next(cb_crl_cursor *c, const cb_crl *e, cb_crl *view, cb_crl_entry *out, char *err,
                       size_t errlen) {
  if (c->next >= c->end) return 0;
  uint32_t nx;
  if (!e->synthetic) {
    /* the DER is in memory */
    if (!cb_crlp_entry_at(e, (uint32_t)c->next, (uint32_t)c->end, out, &nx, err, errlen)) return -1;
    *view = *e;
    view->owned = NULL;
    view->index = NULL;
    c->next = nx;
    c->n++;
    return 1;
  }
  for (;;) {
    size_t avail = (size_t)(c->pos - c->next), hl;
    uint64_t cl;
    if (avail) {
      int r = peek_hdr(c->buf + (c->next - c->buf_pos), avail, 0x30, &hl, &cl);
      if (r < 0 || (r > 0 && hl + cl <= avail)) break;
    }
    if (c->pos >= c->end) break; /* cut short: entry_at says how */
    size_t have = (size_t)(c->pos - c->next);
    if (have && c->next > c->buf_pos) memmove(c->buf, c->buf + (c->next - c->buf_pos), have);
    c->buf_pos = c->next;
    if (have == c->cap) {
      size_t ncap = c->cap ? c->cap * 2 : SCAN_CHUNK;
      uint8_t *nb;
      if (ncap > 2 * SCAN_ENTRY_MAX || !(nb = realloc(c->buf, ncap))) {
        snprintf(err, errlen, "entry %zu is too large to read", c->n + 1);
        return -1;
      }
      c->buf = nb;
      c->cap = ncap;
    }
    size_t want = c->cap - have;
    if (want > c->end - c->pos) want = (size_t)(c->end - c->pos);
    if (!read_at(c->fd, c->buf + have, want, c->pos)) {
      snprintf(err, errlen, "%s", errno ? strerror(errno) : "the file got shorter since it was scanned");
      return -1;
    }
    c->pos += want;
  }
  memset(view, 0, sizeof *view);
  view->der = c->buf;
  view->len = (size_t)(c->pos - c->buf_pos);
  view->der_shift = c->buf_pos;
  if (!cb_crlp_entry_at(view, (uint32_t)(c->next - c->buf_pos), (uint32_t)(c->pos - c->buf_pos), out, &nx, err, errlen))
    return -1;
  c->next = c->buf_pos + nx;
  c->n++;
  return 1;
}
