/* crlengine.c: the in-place CRL parser, serial index and signature check (see crlengine.h). */
#include "crlengine.h"
#include "crlengine_int.h"
#include "crlscan.h"
#include "par.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/digest.h>
#include <openssl/dsa.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

const char *const cb_crl_reasons[11] = {
    "unspecified",          "keyCompromise",  "cACompromise",  "affiliationChanged",
    "superseded",           "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL",        "privilegeWithdrawn",   "aACompromise"};

/* The DER of the OIDs we look for (content bytes of the OBJECT IDENTIFIER). */
static const uint8_t OID_CRL_NUMBER[] = {0x55, 0x1d, 0x14};
static const uint8_t OID_REASON[] = {0x55, 0x1d, 0x15};
static const uint8_t OID_INVALIDITY[] = {0x55, 0x1d, 0x18};
static const uint8_t OID_DELTA[] = {0x55, 0x1d, 0x1b};
static const uint8_t OID_IDP[] = {0x55, 0x1d, 0x1c};
static const uint8_t OID_CERT_ISSUER[] = {0x55, 0x1d, 0x1d};
static const uint8_t OID_AKI[] = {0x55, 0x1d, 0x23};
static const uint8_t OID_FRESHEST[] = {0x55, 0x1d, 0x2e};

#define OID_IS(cbs, oid) CBS_mem_equal((cbs), (oid), sizeof(oid))

/* ---- errors ------------------------------------------------------------------------------ */

int cb_crlp_fail(pctx_t *c, const char *fmt, ...) {
  if (c->err && c->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
  }
  return 0;
}

static size_t off_of(const pctx_t *c, const CBS *cbs) {
  return (size_t)(CBS_data(cbs) - c->base) + (size_t)c->shift;
}

/* diagnose explains why CBS_get_asn1(cbs, ..., tag) failed: a truncation, another tag, or an
 * encoding that is not DER. */
static int diagnose(pctx_t *c, const CBS *cbs, unsigned tag, const char *what) {
  size_t off = off_of(c, cbs), n = CBS_len(cbs);
  const uint8_t *p = CBS_data(cbs);
  if (n == 0) return fail(c, "truncated DER at offset %zu: %s is missing", off, what);
  unsigned want = (tag & 0x1f) | ((tag >> 24) & 0xe0);
  if (p[0] != want) return fail(c, "bad DER at offset %zu: expected %s, found tag 0x%02x", off, what, p[0]);
  if (n < 2) return fail(c, "truncated DER at offset %zu: %s has no length", off, what);
  if (p[1] == 0x80) return fail(c, "bad DER at offset %zu: %s has an indefinite length (BER, not DER)", off, what);
  size_t len = p[1], hdr = 2;
  if (p[1] & 0x80) {
    size_t k = p[1] & 0x7f;
    if (k > 4) return fail(c, "bad DER at offset %zu: %s has a length of %zu bytes", off, what, k);
    if (n < 2 + k) return fail(c, "truncated DER at offset %zu: %s has a cut length", off, what);
    len = 0;
    for (size_t i = 0; i < k; i++) len = (len << 8) | p[2 + i];
    hdr = 2 + k;
  }
  if (len > n - hdr)
    return fail(c, "truncated DER at offset %zu: %s needs %zu bytes, %zu present", off, what, len,
                n - hdr);
  return fail(c, "bad DER at offset %zu: %s is not DER-encoded (non-minimal length or bad content)",
              off, what);
}

/* (CBS_get_asn1 consumes an element of the wrong tag: diagnose a copy taken before.) */
static int get(pctx_t *c, CBS *cbs, CBS *out, unsigned tag, const char *what) {
  CBS before = *cbs;
  if (CBS_get_asn1(cbs, out, tag)) return 1;
  return diagnose(c, &before, tag, what);
}

static int get_element(pctx_t *c, CBS *cbs, CBS *out, unsigned tag, const char *what) {
  CBS before = *cbs;
  if (CBS_get_asn1_element(cbs, out, tag)) return 1;
  return diagnose(c, &before, tag, what);
}

static cb_span span_of(const pctx_t *c, const CBS *cbs) {
  cb_span s = {(uint32_t)(CBS_data(cbs) - c->base), (uint32_t)CBS_len(cbs)};
  return s;
}

/* ---- times ------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const uint8_t *p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 1;
}

static inline int d2(const uint8_t *p) {
  unsigned a = (unsigned)p[0] - '0', b = (unsigned)p[1] - '0';
  return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

/* civil checks a date and time and gives its epoch seconds. */
static inline int civil(int year, int mon, int day, int hour, int min, int sec, int64_t *out) {
  static const uint8_t mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] || hour < 0 || hour > 23 || min < 0 ||
      min > 59 || sec < 0 || sec > 59)
    return 0;
  if (mon == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))) return 0;
  *out = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hour * 3600 + min * 60 + sec;
  return 1;
}

int cb_der_time(unsigned tag, const uint8_t *p, size_t n, int64_t *out) {
  /* the DER forms first: a million entries' dates are checked at load */
  if (tag == CBS_ASN1_UTCTIME && n == 13 && p[12] == 'Z') {
    int yy = d2(p);
    if (yy < 0) return 0;
    return civil(yy + (yy < 50 ? 2000 : 1900), d2(p + 2), d2(p + 4), d2(p + 6), d2(p + 8), d2(p + 10), out);
  }
  if (tag == CBS_ASN1_GENERALIZEDTIME && n == 15 && p[14] == 'Z') {
    int c = d2(p), yy = d2(p + 2);
    if (c < 0 || yy < 0) return 0;
    return civil(c * 100 + yy, d2(p + 4), d2(p + 6), d2(p + 8), d2(p + 10), d2(p + 12), out);
  }
  /* the zone: Z, or a differential +hhmm/-hhmm (X.680 allows both in UTCTime and
   * GeneralizedTime; RFC 5280 asks for Z, but issuers have written offsets): the time is then
   * local, and UTC is the local time minus the offset. A GeneralizedTime without a zone is a
   * local time of an unknown zone: refused. */
  int64_t zone = 0;
  size_t body;
  if (n >= 1 && p[n - 1] == 'Z') {
    body = n - 1;
  } else if (n >= 5 && (p[n - 5] == '+' || p[n - 5] == '-')) {
    int zh, zm;
    if (!digits(p + n - 4, 2, &zh) || !digits(p + n - 2, 2, &zm) || zh > 23 || zm > 59) return 0;
    zone = (p[n - 5] == '-' ? -1 : 1) * (int64_t)(zh * 3600 + zm * 60);
    body = n - 5;
  } else {
    return 0;
  }
  int year, mon, day, hour, min, sec = 0;
  size_t i;
  if (tag == CBS_ASN1_UTCTIME) {
    /* YYMMDDHHMM[SS]; seconds are mandatory in DER, tolerated missing as openssl does */
    if ((body != 12 && body != 10) || !digits(p, 2, &year)) return 0;
    year += year < 50 ? 2000 : 1900;
    i = 2;
  } else if (tag == CBS_ASN1_GENERALIZEDTIME) {
    if (body < 14 || !digits(p, 4, &year)) return 0;
    i = 4;
  } else {
    return 0;
  }
  if (!digits(p + i, 2, &mon) || !digits(p + i + 2, 2, &day) || !digits(p + i + 4, 2, &hour) ||
      !digits(p + i + 6, 2, &min))
    return 0;
  i += 8;
  if (i < body) {
    if (body - i < 2 || !digits(p + i, 2, &sec)) return 0;
    i += 2;
  }
  if (tag == CBS_ASN1_GENERALIZEDTIME && i < body) {
    /* fractional seconds (not allowed by RFC 5280, but seen): ignored */
    if (p[i] != '.' || i + 1 >= body) return 0;
    for (i++; i < body; i++)
      if (p[i] < '0' || p[i] > '9') return 0;
  }
  if (i != body) return 0;
  int64_t t;
  if (!civil(year, mon, day, hour, min, sec, &t)) return 0;
  *out = t - zone;
  return 1;
}

static int get_time(pctx_t *c, CBS *cbs, int64_t *out, const char *what) {
  CBS t;
  unsigned tag;
  size_t off = off_of(c, cbs);
  CBS before = *cbs;
  if (!CBS_get_any_asn1(cbs, &t, &tag)) return diagnose(c, &before, CBS_ASN1_UTCTIME, what);
  if (tag != CBS_ASN1_UTCTIME && tag != CBS_ASN1_GENERALIZEDTIME)
    return fail(c, "bad DER at offset %zu: %s is not a UTCTime or GeneralizedTime", off, what);
  if (!cb_der_time(tag, CBS_data(&t), CBS_len(&t), out))
    return fail(c, "bad time at offset %zu: %s is \"%.*s\"", off, what, (int)(CBS_len(&t) > 40 ? 40 : CBS_len(&t)),
                (const char *)CBS_data(&t));
  return 1;
}

/* ---- serials ----------------------------------------------------------------------------- */

/* norm strips redundant leading bytes, so BER-ish serials compare equal to their DER form. */
static inline void norm(const uint8_t **p, size_t *n) {
  while (*n > 1 && (((*p)[0] == 0x00 && !((*p)[1] & 0x80)) || ((*p)[0] == 0xff && ((*p)[1] & 0x80)))) {
    (*p)++;
    (*n)--;
  }
}

static inline int serial_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

int cb_crl_serial_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  norm(&a, &an);
  norm(&b, &bn);
  return serial_cmp(a, an, b, bn);
}

static inline int serial_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  if (an != bn) return an < bn ? -1 : 1;
  if (an >= 8) {
    /* most serials differ in their first 8 bytes: one big-endian compare, no memcmp call */
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
  }
  return memcmp(a, b, an);
}

/* header reads a DER header known to be valid (checked at parse time). */
static inline const uint8_t *header(const uint8_t *p, size_t *len) {
  uint8_t l = p[1];
  if (!(l & 0x80)) {
    *len = l;
    return p + 2;
  }
  size_t k = l & 0x7f, v = 0;
  for (size_t i = 0; i < k; i++) v = (v << 8) | p[2 + i];
  *len = v;
  return p + 2 + k;
}

/* entry_serial gives the normalized serial of the (validated) entry at off. */
static inline void entry_serial(const uint8_t *der, uint32_t off, const uint8_t **s, size_t *n) {
  size_t len;
  const uint8_t *p = header(der + off, &len);
  *s = header(p, n);
  norm(s, n);
}

size_t cb_crl_serial_from_hex(const char *hex, size_t n, uint8_t *out) {
  int neg = 0;
  if (n > 0 && hex[0] == '-') {
    neg = 1;
    hex++;
    n--;
  }
  if (n > 1 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
    hex += 2;
    n -= 2;
  }
  if (n == 0) return 0;
  /* magnitude bytes into out+1, leaving room for a sign byte */
  size_t nb = (n + 1) / 2;
  uint8_t *m = out + 1;
  for (size_t i = 0; i < n; i++) {
    char ch = hex[n - 1 - i];
    int v;
    if (ch >= '0' && ch <= '9') v = ch - '0';
    else if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
    else return 0;
    size_t bi = nb - 1 - i / 2;
    if (i % 2 == 0) m[bi] = (uint8_t)v;
    else m[bi] |= (uint8_t)(v << 4);
  }
  if (neg) {
    /* two's complement of the magnitude, with a sign byte */
    out[0] = 0;
    size_t tot = nb + 1;
    int carry = 1;
    for (size_t i = tot; i-- > 0;) {
      unsigned v = (uint8_t)~out[i] + (unsigned)carry;
      out[i] = (uint8_t)v;
      carry = v > 0xff;
    }
    const uint8_t *p = out;
    size_t len = tot;
    norm(&p, &len);
    memmove(out, p, len);
    return len;
  }
  out[0] = 0;
  const uint8_t *p = out;
  size_t len = nb + 1;
  norm(&p, &len);
  memmove(out, p, len);
  return len;
}

size_t cb_crl_serial_to_hex(const uint8_t *p, size_t len, char *out) {
  static const char hx[] = "0123456789ABCDEF";
  size_t o = 0;
  if (len == 0) {
    memcpy(out, "00", 3);
    return 2;
  }
  if (p[0] & 0x80) {
    /* negative: print the magnitude, as openssl does */
    uint8_t tmp[64];
    uint8_t *m = len <= sizeof tmp ? tmp : malloc(len);
    if (!m) {
      out[0] = '\0';
      return 0;
    }
    int carry = 1;
    for (size_t i = len; i-- > 0;) {
      unsigned v = (uint8_t)~p[i] + (unsigned)carry;
      m[i] = (uint8_t)v;
      carry = v > 0xff;
    }
    size_t i = 0;
    while (i + 1 < len && m[i] == 0) i++;
    out[o++] = '-';
    for (; i < len; i++) {
      out[o++] = hx[m[i] >> 4];
      out[o++] = hx[m[i] & 15];
    }
    if (m != tmp) free(m);
  } else {
    size_t i = 0;
    while (i + 1 < len && p[i] == 0) i++;
    for (; i < len; i++) {
      out[o++] = hx[p[i] >> 4];
      out[o++] = hx[p[i] & 15];
    }
  }
  out[o] = '\0';
  return o;
}

/* ---- the serial index -------------------------------------------------------------------- */

typedef struct {
  uint64_t k;
  uint32_t off;
  uint32_t pad;
} skey;

/* key_at packs 8 bytes of the serial starting at pos into a sortable integer; at pos 0 the
 * first byte is the length, so shorter serials sort first, as (len, bytes) order wants. */
static inline uint64_t key_at(const uint8_t *s, size_t n, size_t pos) {
  uint64_t k = 0;
  size_t i = pos, end;
  int shift = 56;
  if (pos == 0) {
    k = (uint64_t)(n > 255 ? 255 : n) << 56;
    shift = 48;
    end = 7;
  } else {
    end = pos + 8;
  }
  for (; i < end; i++, shift -= 8)
    if (i < n) k |= (uint64_t)s[i] << shift;
  return k;
}

/* for the qsort fallback only, which has no context argument */
static _Thread_local const uint8_t *g_der;

/* key0 is key_at(s, n, 0), fast: the serial of a checked entry is followed by at least its
 * revocation date, so reading 8 bytes from s stays inside the DER. */
static inline uint64_t key0(const uint8_t *s, size_t n) {
  if (n < 7) return key_at(s, n, 0);
  uint64_t v;
  memcpy(&v, s, 8);
  return ((uint64_t)(n > 255 ? 255 : n) << 56) | (__builtin_bswap64(v) >> 8);
}

static int cmp_entries(const void *x, const void *y) {
  const uint8_t *a, *b;
  size_t an, bn;
  entry_serial(g_der, ((const skey *)x)->off, &a, &an);
  entry_serial(g_der, ((const skey *)y)->off, &b, &bn);
  int r = serial_cmp(a, an, b, bn);
  if (r) return r;
  /* keep DER order among duplicates, so a lookup finds the first */
  return ((const skey *)x)->off < ((const skey *)y)->off ? -1 : 1;
}

/* before: the order of the sort; keys first (they agree with the full order within a range
 * whose serials share every byte before the key), then the serials, then DER order. */
static inline int before(const uint8_t *der, const skey *x, const skey *y) {
  if (x->k != y->k) return x->k < y->k;
  const uint8_t *a, *b;
  size_t an, bn;
  entry_serial(der, x->off, &a, &an);
  entry_serial(der, y->off, &b, &bn);
  int r = serial_cmp(a, an, b, bn);
  return r ? r < 0 : x->off < y->off;
}

static void insertion(const uint8_t *der, skey *a, size_t n) {
  for (size_t i = 1; i < n; i++) {
    skey v = a[i];
    size_t j = i;
    while (j > 0 && before(der, &v, &a[j - 1])) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = v;
  }
}

/* msd sorts a[0..n) (scratch tmp) by a most-significant-digit radix sort on the cached 8-byte
 * keys, byte by byte from byte (7 = the top one), skipping bytes all keys share; small ranges
 * go to insertion sort. When the keys are used up, the next 8 bytes of the serials (from pos)
 * are loaded. Stable, so duplicates keep their DER order. */
static void msd(const uint8_t *der, skey *a, skey *tmp, size_t n, int byte, size_t pos) {
  for (;;) {
    if (n < 32) {
      insertion(der, a, n);
      return;
    }
    if (byte < 0) {
      /* every key in this range is equal: load the next bytes of the serials */
      size_t next = pos == 0 ? 7 : pos + 8, longest = 0;
      for (size_t i = 0; i < n; i++) {
        const uint8_t *s;
        size_t sn;
        entry_serial(der, a[i].off, &s, &sn);
        if (sn > longest) longest = sn;
        a[i].k = key_at(s, sn, next);
      }
      if (next >= longest) return; /* duplicate serials, left in DER order by the stable passes */
      pos = next;
      byte = 7;
    }
    size_t count[256] = {0};
    int shift = 8 * byte;
    for (size_t i = 0; i < n; i++) count[(a[i].k >> shift) & 0xff]++;
    if (count[(a[0].k >> shift) & 0xff] == n) {
      byte--;
      continue;
    }
    size_t start[256], sum = 0;
    for (int b = 0; b < 256; b++) {
      start[b] = sum;
      sum += count[b];
    }
    size_t at[256];
    memcpy(at, start, sizeof at);
    for (size_t i = 0; i < n; i++) tmp[at[(a[i].k >> shift) & 0xff]++] = a[i];
    memcpy(a, tmp, n * sizeof *a);
    for (int b = 0; b < 256; b++)
      if (count[b] > 1) msd(der, a + start[b], tmp + start[b], count[b], byte - 1, pos);
    return;
  }
}

/* Big indexes sort 8-byte elements: 32 bits of the key and the offset. Fresh memory costs a
 * page fault per 4 KB, as much as the sorting itself, so the elements are kept small. */
typedef struct {
  uint32_t key;
  uint32_t off;
} skey32;

/* finish_run orders a run of elements whose 32-bit keys are equal, by their whole serials. */
static int finish_run(const uint8_t *der, skey32 *r, size_t n) {
  if (n <= 16) {
    for (size_t i = 1; i < n; i++) {
      skey32 v = r[i];
      const uint8_t *vs;
      size_t vn;
      entry_serial(der, v.off, &vs, &vn);
      size_t j = i;
      while (j > 0) {
        const uint8_t *s;
        size_t sn;
        entry_serial(der, r[j - 1].off, &s, &sn);
        int c = serial_cmp(s, sn, vs, vn);
        if (c < 0 || (c == 0 && r[j - 1].off < v.off)) break;
        r[j] = r[j - 1];
        j--;
      }
      r[j] = v;
    }
    return 1;
  }
  /* many serials agree on these 32 bits: sort them on whole keys */
  skey *a = malloc(n * sizeof *a), *tmp = malloc(n * sizeof *tmp);
  if (!a || !tmp) {
    free(a);
    free(tmp);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    const uint8_t *s;
    size_t sn;
    entry_serial(der, r[i].off, &s, &sn);
    a[i].k = key_at(s, sn, 0);
    a[i].off = r[i].off;
  }
  msd(der, a, tmp, n, 7, 0);
  for (size_t i = 0; i < n; i++) r[i].off = a[i].off;
  free(a);
  free(tmp);
  return 1;
}

/* sort_big sorts a big index by an LSD radix sort (three 11-bit digits: each a sequential read
 * and a scatter into 2048 buckets) on the 32 bits of the keys below the highest bit in which
 * they differ (diff: the OR of every key XOR the first), so shared prefixes cost nothing. For a
 * million random serials that is nearly the whole order; finish_run does the rest. */
static int sort_big(cb_crl *e, uint64_t diff) {
  size_t n = e->count;
  int hb = diff ? 63 - __builtin_clzll(diff) : 0, lo = hb >= 31 ? hb - 31 : 0;
  skey32 *a = malloc(n * sizeof *a), *tmp = malloc(n * sizeof *tmp);
  size_t *count = calloc(3 * 2048, sizeof *count);
  int ok = 0;
  if (!a || !tmp || !count) goto done;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *s;
    size_t sn;
    entry_serial(e->der, e->index[i], &s, &sn);
    uint32_t k = (uint32_t)(key0(s, sn) >> lo);
    a[i].key = k;
    a[i].off = e->index[i];
    count[k & 2047]++;
    count[2048 + ((k >> 11) & 2047)]++;
    count[4096 + (k >> 22)]++;
  }
  skey32 *src = a, *dst = tmp;
  for (int d = 0; d < 3; d++) {
    size_t *c = count + 2048 * d;
    int sh = 11 * d;
    if (c[(src[0].key >> sh) & 2047] == n) continue; /* a digit all keys share */
    size_t sum = 0;
    for (int b = 0; b < 2048; b++) {
      size_t t = c[b];
      c[b] = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; i++) dst[c[(src[i].key >> sh) & 2047]++] = src[i];
    skey32 *t = src;
    src = dst;
    dst = t;
  }
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && src[j].key == src[i].key) j++;
    if (j - i > 1 && !finish_run(e->der, src + i, j - i)) goto done;
    i = j;
  }
  for (size_t i = 0; i < n; i++) e->index[i] = src[i].off;
  ok = 1;
done:
  free(a);
  free(tmp);
  free(count);
  return ok;
}

static int sort_index(cb_crl *e, uint64_t diff, size_t longest) {
  size_t n = e->count;
  if (n >= 65536 && longest <= 255) return sort_big(e, diff);
  skey *a = malloc(n * sizeof *a), *tmp = malloc(n * sizeof *tmp);
  if (!a || !tmp) {
    free(a);
    free(tmp);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    const uint8_t *s;
    size_t sn;
    a[i].off = e->index[i];
    a[i].pad = 0;
    entry_serial(e->der, a[i].off, &s, &sn);
    a[i].k = key_at(s, sn, 0);
  }
  if (longest > 255) { /* absurdly long serials: the length no longer fits the key */
    g_der = e->der;
    qsort(a, n, sizeof *a, cmp_entries);
  } else {
    msd(e->der, a, tmp, n, 7, 0);
  }
  for (size_t i = 0; i < n; i++) e->index[i] = a[i].off;
  free(a);
  free(tmp);
  return 1;
}

/* ---- extensions -------------------------------------------------------------------------- */

/* oid_ok: an OID's content is well formed as BoringSSL's parser requires (the trust store hands
 * it the CRL): not empty, the last byte ends a subidentifier, no subidentifier starts with
 * 0x80 (a non-minimal one). The store_bundle fuzz target found an extension OID ending in
 * 0xf4 that the engine took and BoringSSL refused. */
static inline int oid_ok(const uint8_t *p, size_t n) {
  if (n == 0 || (p[n - 1] & 0x80)) return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] == 0x80 && (i == 0 || !(p[i - 1] & 0x80))) return 0;
  return 1;
}

/* The extensions BoringSSL decodes when it parses a CRL (x_crl.c's crl_cb and crl_set_issuers:
 * the IDP, AKI, CRL number, delta indicator; an entry's certificate issuer and reason): a
 * value it cannot decode, or one of them twice, makes it refuse the whole CRL, so the trust
 * store could not take a CRL the engine had loaded (the crl_load fuzz target found an IDP
 * with a field [6], which does not exist). bssl_decodes runs BoringSSL's own decoder on the
 * value, the one codec of these structures; it is called once per extension, not per entry
 * (an entry's certificate issuer excepted, which only indirect CRLs carry). */
enum { EXT_IDP, EXT_AKI, EXT_INTEGER, EXT_NAMES, EXT_ENUMERATED };

static int bssl_decodes(int kind, const uint8_t *p, size_t n) {
  const uint8_t *q = p;
  void *x = NULL;
  switch (kind) {
    case EXT_IDP: x = d2i_ISSUING_DIST_POINT(NULL, &q, (long)n); break;
    case EXT_AKI: x = d2i_AUTHORITY_KEYID(NULL, &q, (long)n); break;
    case EXT_INTEGER: x = d2i_ASN1_INTEGER(NULL, &q, (long)n); break;
    case EXT_NAMES: x = d2i_GENERAL_NAMES(NULL, &q, (long)n); break;
    case EXT_ENUMERATED: x = d2i_ASN1_ENUMERATED(NULL, &q, (long)n); break;
  }
  int ok = x && q == p + n;
  switch (kind) {
    case EXT_IDP: ISSUING_DIST_POINT_free(x); break;
    case EXT_AKI: AUTHORITY_KEYID_free(x); break;
    case EXT_INTEGER: ASN1_INTEGER_free(x); break;
    case EXT_NAMES: GENERAL_NAMES_free(x); break;
    case EXT_ENUMERATED: ASN1_ENUMERATED_free(x); break;
  }
  ERR_clear_error();
  return ok;
}

/* next_ext reads one Extension: its OID, criticality and extnValue content. */
static int next_ext(pctx_t *c, CBS *exts, CBS *oid, int *critical, CBS *value) {
  CBS ext;
  if (!get(c, exts, &ext, CBS_ASN1_SEQUENCE, "an Extension")) return 0;
  if (!get(c, &ext, oid, CBS_ASN1_OBJECT, "an extension's OID")) return 0;
  if (!oid_ok(CBS_data(oid), CBS_len(oid)))
    return fail(c, "bad DER at offset %zu: an extension's OID is malformed", off_of(c, oid));
  *critical = 0;
  if (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN)) {
    size_t off = off_of(c, &ext);
    if (!CBS_get_asn1_bool(&ext, critical))
      return fail(c, "bad DER at offset %zu: an extension's critical flag is not a DER BOOLEAN", off);
  }
  if (!get(c, &ext, value, CBS_ASN1_OCTETSTRING, "an extension's value")) return 0;
  if (CBS_len(&ext)) return fail(c, "bad DER at offset %zu: trailing data in an Extension", off_of(c, &ext));
  return 1;
}

static int parse_integer_ext(pctx_t *c, CBS *value, cb_span *out, const char *what) {
  CBS v;
  if (!get(c, value, &v, CBS_ASN1_INTEGER, what)) return 0;
  if (CBS_len(value) || CBS_len(&v) == 0)
    return fail(c, "bad DER at offset %zu: %s", off_of(c, &v), what);
  *out = span_of(c, &v);
  return 1;
}

static int parse_crl_exts(pctx_t *c, cb_crl *e, CBS exts) {
  int seen_aki = 0;
  while (CBS_len(&exts)) {
    CBS oid, value;
    int critical;
    if (!next_ext(c, &exts, &oid, &critical, &value)) return 0;
    const char *bssl = NULL; /* the extension's name when BoringSSL decodes it (see bssl_decodes) */
    int kind = 0, *seen = NULL;
    if (OID_IS(&oid, OID_CRL_NUMBER)) bssl = "the CRL number", kind = EXT_INTEGER, seen = &e->has_number;
    else if (OID_IS(&oid, OID_DELTA)) bssl = "the delta CRL indicator", kind = EXT_INTEGER, seen = &e->has_delta;
    else if (OID_IS(&oid, OID_AKI)) bssl = "the authority key identifier", kind = EXT_AKI, seen = &seen_aki;
    else if (OID_IS(&oid, OID_IDP)) bssl = "the issuing distribution point", kind = EXT_IDP, seen = &e->has_idp;
    if (bssl) {
      if (*seen) return fail(c, "bad CRL at offset %zu: %s appears twice", off_of(c, &oid), bssl);
      if (!bssl_decodes(kind, CBS_data(&value), CBS_len(&value)))
        return fail(c, "bad DER at offset %zu: %s does not decode", off_of(c, &value), bssl);
    }
    if (OID_IS(&oid, OID_CRL_NUMBER)) {
      if (!parse_integer_ext(c, &value, &e->number, "the CRL number")) return 0;
      e->has_number = 1;
    } else if (OID_IS(&oid, OID_DELTA)) {
      if (!parse_integer_ext(c, &value, &e->delta_base, "the delta CRL indicator")) return 0;
      e->has_delta = 1;
    } else if (OID_IS(&oid, OID_AKI)) {
      CBS aki, keyid;
      int present;
      if (!get(c, &value, &aki, CBS_ASN1_SEQUENCE, "the authority key identifier")) return 0;
      if (!CBS_get_optional_asn1(&aki, &keyid, &present, CBS_ASN1_CONTEXT_SPECIFIC | 0))
        return fail(c, "bad DER at offset %zu: the authority key identifier", off_of(c, &aki));
      seen_aki = 1;
      if (present) {
        e->aki_keyid = span_of(c, &keyid);
        e->has_aki = 1;
      }
    } else if (OID_IS(&oid, OID_FRESHEST)) {
      CBS dps;
      if (!get_element(c, &value, &dps, CBS_ASN1_SEQUENCE, "the freshest CRL extension")) return 0;
      e->freshest = span_of(c, &dps);
      e->has_freshest = 1;
    } else if (OID_IS(&oid, OID_IDP)) {
      CBS idp, tmp;
      if (!get_element(c, &value, &idp, CBS_ASN1_SEQUENCE, "the issuing distribution point")) return 0;
      e->idp = span_of(c, &idp);
      e->has_idp = 1;
      tmp = idp;
      CBS seq;
      if (!CBS_get_asn1(&tmp, &seq, CBS_ASN1_SEQUENCE)) return fail(c, "bad DER: the issuing distribution point");
      while (CBS_len(&seq)) {
        CBS f;
        unsigned tag;
        if (!CBS_get_any_asn1(&seq, &f, &tag))
          return fail(c, "bad DER at offset %zu: the issuing distribution point", off_of(c, &seq));
        if (tag == (CBS_ASN1_CONTEXT_SPECIFIC | 4) && CBS_len(&f) == 1 && CBS_data(&f)[0])
          e->idp_indirect = 1;
      }
    }
  }
  /* RFC 5280 5.2.4, and BoringSSL refuses it (X509_R_DELTA_CRL_WITHOUT_CRL_NUMBER) */
  if (e->has_delta && !e->has_number) return fail(c, "bad CRL: a delta CRL indicator without a CRL number");
  return 1;
}

/* ---- parsing ----------------------------------------------------------------------------- */

void cb_crl_free(cb_crl *e) {
  if (!e) return;
  free(e->index);
  free(e->owned);
  if (e->scanned && e->fd >= 0) close(e->fd);
  memset(e, 0, sizeof *e);
}

uint32_t cb_crl_first(const cb_crl *e) {
  return e->revoked.off;
}
uint32_t cb_crl_end(const cb_crl *e) {
  return e->revoked.off + e->revoked.len;
}

/* der_hdr reads a DER header of the given tag at p: the content and its length, or NULL when
 * it is truncated, of another tag or not DER (then the CBS path says why). Inlined: the entry
 * loop runs a million times for a big CRL, and calls into libcrypto were most of its time. */
static inline const uint8_t *der_hdr(const uint8_t *p, const uint8_t *end, uint8_t tag, size_t *len) {
  if (end - p < 2 || p[0] != tag) return NULL;
  size_t l = p[1];
  p += 2;
  if (l & 0x80) {
    size_t k = l & 0x7f;
    if (k == 0 || k > 4 || (size_t)(end - p) < k || p[0] == 0) return NULL;
    l = 0;
    for (size_t i = 0; i < k; i++) l = (l << 8) | p[i];
    p += k;
    if (l < 0x80 || (k > 1 && (l >> (8 * (k - 1))) == 0)) return NULL;
  }
  if ((size_t)(end - p) < l) return NULL;
  *len = l;
  return p;
}

/* check_entry_exts checks an entry's Extensions content [p, end): each Extension well formed,
 * the reason code one of RFC 5280's and the invalidity date a time, as cb_crl_entry_at
 * decodes them, so iterating never meets a bad entry. */
static inline int check_entry_exts(const uint8_t *p, const uint8_t *end) {
  int reasons = 0, issuers = 0;
  while (p < end) {
    size_t len, olen, vlen;
    const uint8_t *ext = der_hdr(p, end, 0x30, &len), *eend, *oid, *v;
    if (!ext) return 0;
    eend = ext + len;
    if (!(oid = der_hdr(ext, eend, CBS_ASN1_OBJECT, &olen)) || !oid_ok(oid, olen)) return 0;
    v = oid + olen;
    if (v < eend && *v == CBS_ASN1_BOOLEAN) {
      size_t blen;
      const uint8_t *b = der_hdr(v, eend, CBS_ASN1_BOOLEAN, &blen);
      if (!b || blen != 1 || (b[0] != 0 && b[0] != 0xff)) return 0;
      v = b + 1;
    }
    if (!(v = der_hdr(v, eend, CBS_ASN1_OCTETSTRING, &vlen)) || v + vlen != eend) return 0;
    if (olen == 3 && !memcmp(oid, OID_REASON, 3)) {
      size_t rlen;
      const uint8_t *r = der_hdr(v, eend, CBS_ASN1_ENUMERATED, &rlen);
      if (!r || rlen != 1 || r + 1 != eend || r[0] > 10 || r[0] == 7 || reasons++) return 0;
    } else if (olen == 3 && !memcmp(oid, OID_INVALIDITY, 3)) {
      size_t tlen;
      int64_t t;
      const uint8_t *tm = der_hdr(v, eend, CBS_ASN1_GENERALIZEDTIME, &tlen);
      if (!tm) tm = der_hdr(v, eend, CBS_ASN1_UTCTIME, &tlen);
      if (!tm || tm + tlen != eend || !cb_der_time(v[0], tm, tlen, &t)) return 0;
    } else if (olen == 3 && !memcmp(oid, OID_CERT_ISSUER, 3)) {
      size_t glen;
      const uint8_t *g = der_hdr(v, eend, 0x30, &glen);
      if (!g || g + glen != eend || issuers++ || !bssl_decodes(EXT_NAMES, v, (size_t)(eend - v))) return 0;
    }
    p = eend;
  }
  return 1;
}

static int entry_at(const cb_crl *e, uint32_t off, uint32_t end, cb_crl_entry *out, uint32_t *next,
                    char *err, size_t errlen);

/* check_entry checks the revoked entry at p (the entries ending at end) on the fast path: its
 * serial (*s, *sn: normalized), date and extensions. Returns the end of the entry, or NULL when
 * it is not well formed (entry_at then says why). The one entry check of cb_crl_parse and of
 * cb_crl_scan_fd. */
static inline const uint8_t *check_entry(const uint8_t *p, const uint8_t *end, const uint8_t **s, size_t *sn,
                                         int *exts) {
  const uint8_t *entry, *serial, *q, *eend;
  size_t elen, tlen;
  if (!(entry = der_hdr(p, end, 0x30, &elen))) return NULL;
  eend = entry + elen;
  if (!(serial = der_hdr(entry, eend, 0x02, sn)) || *sn == 0) return NULL;
  q = serial + *sn;
  if (q >= eend) return NULL;
  unsigned ttag = *q == CBS_ASN1_GENERALIZEDTIME ? CBS_ASN1_GENERALIZEDTIME : CBS_ASN1_UTCTIME;
  int64_t when;
  if (!(q = der_hdr(q, eend, (uint8_t)ttag, &tlen)) || !cb_der_time(ttag, q, tlen, &when)) return NULL;
  q += tlen;
  if (q < eend) {
    size_t xlen;
    const uint8_t *x = der_hdr(q, eend, 0x30, &xlen);
    if (!x || x + xlen != eend || !check_entry_exts(x, eend)) return NULL;
    *exts = 1;
  }
  *s = serial;
  norm(s, sn);
  return eend;
}

/* scan_entries checks the structure of every revoked entry, counts them and records their
 * offsets; the index is in DER order, and whether that is already serial order. */
static int scan_entries(pctx_t *c, cb_crl *e, CBS revoked) {
  /* the smallest entry is 2 (SEQUENCE) + 3 (INTEGER) + 13 (a UTCTime without seconds) bytes */
  size_t cap = CBS_len(&revoked) / 18 + 1;
  e->index = malloc(cap * sizeof *e->index);
  if (!e->index) return fail(c, "out of memory for %zu entries", cap);
  size_t n = 0;
  int sorted = 1, exts = 0;
  const uint8_t *prev = NULL;
  size_t prevn = 0, longest = 0;
  uint64_t k0 = 0, diff = 0; /* for sort_big: the bits in which the serials' keys differ */
  const uint8_t *p = CBS_data(&revoked), *end = p + CBS_len(&revoked);
  while (p < end) {
    const uint8_t *s, *eend;
    size_t sn;
    if (!(eend = check_entry(p, end, &s, &sn, &exts))) goto slow;
    if (sorted && prev && serial_cmp(prev, prevn, s, sn) > 0) sorted = 0;
    uint64_t k = key0(s, sn);
    if (!prev) k0 = k;
    diff |= k ^ k0;
    if (sn > longest) longest = sn;
    prev = s;
    prevn = sn;
    e->index[n++] = (uint32_t)(p - c->base);
    p = eend;
    continue;

  slow: {
      /* the same checks through CBS, to name what is wrong and where */
      uint32_t off = (uint32_t)(p - c->base);
      cb_crl_entry en;
      char why[200];
      if (!entry_at(e, off, (uint32_t)(end - c->base), &en, NULL, why, sizeof why))
        return fail(c, "entry %zu: %s", n + 1, why);
      return fail(c, "bad DER at offset %u: entry %zu", off, n + 1);
    }
  }
  e->count = n;
  e->der_sorted = sorted;
  e->has_entry_exts = exts;
  if (n == 0) {
    free(e->index);
    e->index = NULL;
    return 1;
  }
  uint32_t *shrunk = realloc(e->index, n * sizeof *e->index);
  if (shrunk) e->index = shrunk;
  if (!sorted && !sort_index(e, diff, longest)) return fail(c, "out of memory sorting %zu entries", n);
  return 1;
}

/* ---- the signature algorithm, and hashing while the entries are scanned ------------------ */

typedef cb_crlp_sigalg sigalg;

static int pss_params(CBS *params, const EVP_MD **md, const EVP_MD **mgf1, int64_t *salt);

static const char *alg_name(const uint8_t *p, size_t n, char *buf, size_t len) {
  CBS alg, seq, oid;
  CBS_init(&alg, p, n);
  if (!CBS_get_asn1(&alg, &seq, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&seq, &oid, CBS_ASN1_OBJECT)) {
    snprintf(buf, len, "unknown");
    return buf;
  }
  int nid = OBJ_cbs2nid(&oid);
  const char *ln = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;
  if (ln) {
    snprintf(buf, len, "%s", ln);
  } else {
    char *txt = CBS_asn1_oid_to_text(&oid);
    snprintf(buf, len, "%s", txt ? txt : "unknown");
    OPENSSL_free(txt);
  }
  return buf;
}

/* decode_sigalg reads an AlgorithmIdentifier of a signature. Returns 1, or 0 with why. */
static int decode_sigalg(const uint8_t *p, size_t n, sigalg *a, char *why, size_t wl) {
  CBS alg, seq, oid;
  memset(a, 0, sizeof *a);
  alg_name(p, n, a->name, sizeof a->name);
  CBS_init(&alg, p, n);
  if (!CBS_get_asn1(&alg, &seq, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&seq, &oid, CBS_ASN1_OBJECT)) {
    snprintf(why, wl, "bad signature algorithm");
    return 0;
  }
  int nid = OBJ_cbs2nid(&oid), dnid = NID_undef;
  if (nid == NID_rsassaPss) {
    if (!pss_params(&seq, &a->md, &a->mgf1, &a->salt) || a->salt > INT32_MAX) {
      snprintf(why, wl, "bad RSASSA-PSS parameters");
      return 0;
    }
    a->pknid = EVP_PKEY_RSA;
    a->pss = 1;
    return 1;
  }
  if (nid == NID_ED25519) {
    if (CBS_len(&seq)) {
      snprintf(why, wl, "bad Ed25519 algorithm parameters");
      return 0;
    }
    a->pknid = EVP_PKEY_ED25519;
    return 1;
  }
  if (nid == NID_undef || !OBJ_find_sigid_algs(nid, &dnid, &a->pknid) || !(a->md = EVP_get_digestbynid(dnid))) {
    snprintf(why, wl, "unsupported signature algorithm %s", a->name);
    return 0;
  }
  if (a->pknid == EVP_PKEY_RSA && CBS_len(&seq)) {
    CBS null;
    if (!CBS_get_asn1(&seq, &null, CBS_ASN1_NULL) || CBS_len(&null) || CBS_len(&seq)) {
      snprintf(why, wl, "bad %s parameters", a->name);
      return 0;
    }
  } else if (a->pknid != EVP_PKEY_RSA && a->pknid != EVP_PKEY_DSA && CBS_len(&seq)) {
    snprintf(why, wl, "bad %s parameters", a->name);
    return 0;
  }
  return 1;
}

/* A big CRL's tbsCertList is hashed on a second core while this one scans the entries, so
 * loading and verifying cost about the larger of the two instead of their sum (a million
 * entries: 21 ms scan, 25 ms SHA-256). The hash is one background item of the core's thread
 * pool (par.h), started and waited for inside cb_crl_parse. Loads that never verify pay for it
 * in CPU time; CERTBENCH_CRL_PREHASH=0 turns it off, and so does a pool without helpers
 * (CERTBENCH_THREADS=1, one CPU). */
#define PREHASH_MIN ((size_t)1 << 20)

typedef struct prehash prehash;
struct prehash {
  cb_par par;
  int running;
  const uint8_t *p;
  size_t n;
  const EVP_MD *md;
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len;
  int ok;
};

static void prehash_run(void *arg, size_t i) {
  (void)i;
  prehash *j = arg;
  j->ok = EVP_Digest(j->p, j->n, j->digest, &j->len, j->md, NULL);
  ERR_clear_error();
}

static void start_prehash(cb_crl *e, prehash *j) {
  memset(j, 0, sizeof *j);
  if (e->tbs.len < PREHASH_MIN || cb_par_threads() < 2) return;
  const char *env = getenv("CERTBENCH_CRL_PREHASH");
  if (env && !strcmp(env, "0")) return;
  sigalg a;
  char why[8];
  if (!decode_sigalg(e->der + e->tbs_sig_alg.off, e->tbs_sig_alg.len, &a, why, sizeof why) || !a.md) {
    ERR_clear_error();
    return;
  }
  j->p = e->der + e->tbs.off;
  j->n = e->tbs.len;
  j->md = a.md;
  cb_par_start(&j->par, 1, prehash_run, j, CB_PAR_BACKGROUND);
  cb_par_publish(&j->par, 1);
  j->running = 1;
}

/* finish_prehash: with keep, waits for the hash (or computes it here if no helper took it yet)
 * and keeps it for cb_crl_verify; without (the parse failed), one not yet started never runs. */
static void finish_prehash(cb_crl *e, prehash *j, int keep) {
  if (!j->running) return;
  j->running = 0;
  if (!keep) {
    cb_par_cancel(&j->par);
    return;
  }
  cb_par_finish(&j->par);
  if (j->ok) {
    memcpy(e->tbs_digest, j->digest, j->len);
    e->tbs_digest_len = j->len;
    e->tbs_md = j->md;
  }
}

static int parse_tail(pctx_t *c, cb_crl *e, CBS tbs);
static int check_alg(pctx_t *c, CBS alg_el, const char *what);

static int parse(pctx_t *c, cb_crl *e) {
  CBS in, crl, tbs, tbs_el, alg, sig;
  CBS_init(&in, e->der, e->len);
  if (e->len == 0) return fail(c, "not a CRL (empty)");
  if (e->der[0] != 0x30) return fail(c, "not a CRL (neither PEM nor DER: first byte 0x%02x)", e->der[0]);
  if (!get(c, &in, &crl, CBS_ASN1_SEQUENCE, "the CRL")) return 0;
  /* bytes after the CRL: only whitespace or zeros (padding, a final newline) are tolerated */
  for (size_t i = 0; i < CBS_len(&in); i++) {
    uint8_t b = CBS_data(&in)[i];
    if (b != 0 && b != '\n' && b != '\r' && b != ' ' && b != '\t')
      return fail(c, "trailing data after the CRL at offset %zu", off_of(c, &in) + i);
  }
  e->len -= CBS_len(&in);

  /* tell other DER objects apart before complaining about the details */
  if (CBS_peek_asn1_tag(&crl, CBS_ASN1_OBJECT))
    return fail(c, "not a CRL (a PKCS#7 or other ContentInfo)");
  if (!CBS_peek_asn1_tag(&crl, CBS_ASN1_SEQUENCE)) return fail(c, "not a CRL (unknown DER structure)");
  {
    CBS probe = crl, t;
    if (CBS_get_asn1(&probe, &t, CBS_ASN1_SEQUENCE)) {
      if (CBS_peek_asn1_tag(&t, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0))
        return fail(c, "not a CRL (a certificate)");
      if (!CBS_peek_asn1_tag(&t, CBS_ASN1_INTEGER) && !CBS_peek_asn1_tag(&t, CBS_ASN1_SEQUENCE))
        return fail(c, "not a CRL (unknown DER structure)");
    }
  }
  if (!get_element(c, &crl, &tbs_el, CBS_ASN1_SEQUENCE, "tbsCertList")) return 0;
  e->tbs = span_of(c, &tbs_el);
  if (!get_element(c, &crl, &alg, CBS_ASN1_SEQUENCE, "the signature algorithm") ||
      !check_alg(c, alg, "the signature algorithm"))
    return 0;
  e->sig_alg = span_of(c, &alg);
  if (!get(c, &crl, &sig, CBS_ASN1_BITSTRING, "the signature")) return 0;
  /* unused bits are kept for cb_crl_verify to refuse: the CRL itself is still readable. DER
   * (X.690 11.2.1) wants the unused bits zero, and BoringSSL's parser (the trust store, openssl)
   * refuses a CRL whose padding is not: so do we, or the CRL would load here and fail there */
  if (CBS_len(&sig) < 1 || CBS_data(&sig)[0] > 7)
    return fail(c, "bad DER at offset %zu: the signature is not a BIT STRING", off_of(c, &sig));
  if (CBS_data(&sig)[0] &&
      (CBS_len(&sig) == 1 || CBS_data(&sig)[CBS_len(&sig) - 1] & ((1u << CBS_data(&sig)[0]) - 1)))
    return fail(c, "bad DER at offset %zu: the signature BIT STRING's unused bits are not zero",
                off_of(c, &sig));
  e->sig_unused_bits = CBS_data(&sig)[0];
  CBS_skip(&sig, 1);
  e->sig = span_of(c, &sig);
  if (CBS_len(&crl)) return fail(c, "bad DER at offset %zu: data after the signature", off_of(c, &crl));

  CBS_get_asn1(&tbs_el, &tbs, CBS_ASN1_SEQUENCE);
  e->version = 1;
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_INTEGER)) {
    uint64_t v;
    size_t off = off_of(c, &tbs);
    if (!CBS_get_asn1_uint64(&tbs, &v) || v != 1) {
      if (v == 0) return fail(c, "not a CRL (version 0 at offset %zu: a certificate request?)", off);
      return fail(c, "bad DER at offset %zu: unsupported CRL version", off);
    }
    e->version = 2;
  }
  if (!get_element(c, &tbs, &alg, CBS_ASN1_SEQUENCE, "tbsCertList's signature algorithm") ||
      !check_alg(c, alg, "tbsCertList's signature algorithm"))
    return 0;
  e->tbs_sig_alg = span_of(c, &alg);
  prehash job;
  start_prehash(e, &job);
  int ok = parse_tail(c, e, tbs);
  finish_prehash(e, &job, ok);
  return ok;
}

/* check_alg checks an AlgorithmIdentifier element with BoringSSL's own decoder (X509_ALGOR: the
 * OID and parameters of any type, each well formed). The signature check reads it only later
 * (or never: crl info), but the trust store hands the CRL to BoringSSL, whose parser refuses a
 * malformed one; found by the crl_load and store_bundle fuzz targets (a NULL whose length byte
 * was 0x80, a BOOLEAN of no bytes, a constructed NumericString as parameters, a cut OID). */
static int check_alg(pctx_t *c, CBS alg_el, const char *what) {
  const uint8_t *p = CBS_data(&alg_el);
  X509_ALGOR *a = d2i_X509_ALGOR(NULL, &p, (long)CBS_len(&alg_el));
  int ok = a && p == CBS_data(&alg_el) + CBS_len(&alg_el);
  X509_ALGOR_free(a);
  ERR_clear_error();
  if (!ok)
    return fail(c, "bad DER at offset %zu: %s is not an OID and its parameters", off_of(c, &alg_el), what);
  return 1;
}

/* parse_tail parses tbsCertList from the issuer on. */
static int parse_tail(pctx_t *c, cb_crl *e, CBS tbs) {
  CBS issuer;
  if (!get_element(c, &tbs, &issuer, CBS_ASN1_SEQUENCE, "the issuer name")) return 0;
  /* the issuer is what every caller looks a CRL up by (crl info, diff, check, the store): a
   * CRL whose Name BoringSSL cannot decode (an attribute that is no SET of
   * AttributeTypeAndValue, a string of the wrong type) is refused here, not passed on to
   * callers that would each meet a nil issuer (found by the crl_load fuzz target) */
  const uint8_t *np = CBS_data(&issuer);
  X509_NAME *nm = d2i_X509_NAME(NULL, &np, (long)CBS_len(&issuer));
  int name_ok = nm && np == CBS_data(&issuer) + CBS_len(&issuer);
  X509_NAME_free(nm);
  if (!name_ok) {
    ERR_clear_error();
    return fail(c, "bad issuer name at offset %zu: not a Name that can be decoded", off_of(c, &issuer));
  }
  e->issuer = span_of(c, &issuer);
  if (!get_time(c, &tbs, &e->this_update, "thisUpdate")) return 0;
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_UTCTIME) || CBS_peek_asn1_tag(&tbs, CBS_ASN1_GENERALIZEDTIME)) {
    if (!get_time(c, &tbs, &e->next_update, "nextUpdate")) return 0;
    e->has_next_update = 1;
  }
  e->revoked.off = (uint32_t)off_of(c, &tbs);
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_SEQUENCE)) {
    CBS revoked;
    if (!get(c, &tbs, &revoked, CBS_ASN1_SEQUENCE, "revokedCertificates")) return 0;
    e->revoked = span_of(c, &revoked);
    if (!scan_entries(c, e, revoked)) return 0;
  }
  if (CBS_len(&tbs)) {
    CBS wrap, exts;
    if (!get(c, &tbs, &wrap, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0, "crlExtensions"))
      return 0;
    if (!get(c, &wrap, &exts, CBS_ASN1_SEQUENCE, "crlExtensions")) return 0;
    if (CBS_len(&wrap) || CBS_len(&tbs))
      return fail(c, "bad DER at offset %zu: data after crlExtensions", off_of(c, &tbs));
    if (e->version != 2) return fail(c, "bad CRL: a version 1 CRL with extensions");
    e->has_exts = 1;
    e->exts = span_of(c, &exts);
    if (!parse_crl_exts(c, e, exts)) return 0;
  }
  return 1;
}

int cb_crl_parse(cb_crl *e, const uint8_t *der, size_t len, int take_ownership, char *err,
                 size_t errlen) {
  memset(e, 0, sizeof *e);
  e->der = der;
  e->len = len;
  if (take_ownership) e->owned = (uint8_t *)der;
  pctx_t c = {der, err, errlen, 0};
  if (len > UINT32_MAX) {
    fail(&c, "CRL too large (%zu bytes, the limit is 4 GiB)", len);
    cb_crl_free(e);
    return 0;
  }
  if (!parse(&c, e)) {
    cb_crl_free(e);
    return 0;
  }
  return 1;
}

/* ---- entries ----------------------------------------------------------------------------- */

int cb_crl_entry_at(const cb_crl *e, uint32_t off, cb_crl_entry *out, uint32_t *next, char *err,
                    size_t errlen) {
  if (off < e->revoked.off || off >= cb_crl_end(e)) {
    snprintf(err, errlen, "no entry at offset %u", off);
    return 0;
  }
  return entry_at(e, off, cb_crl_end(e), out, next, err, errlen);
}

/* entry_at decodes the entry at off, the entries ending at end (also while parsing, when
 * e->revoked is not set yet). */
static int entry_at(const cb_crl *e, uint32_t off, uint32_t end, cb_crl_entry *out, uint32_t *next,
                    char *err, size_t errlen) {
  pctx_t c = {e->der, err, errlen, e->der_shift};
  CBS in, entry, serial;
  memset(out, 0, sizeof *out);
  out->reason = -1;
  CBS_init(&in, e->der + off, end - off);
  if (!get(&c, &in, &entry, CBS_ASN1_SEQUENCE, "a revoked entry")) return 0;
  if (next) *next = (uint32_t)(CBS_data(&in) - e->der);
  if (!get(&c, &entry, &serial, CBS_ASN1_INTEGER, "an entry's serial number")) return 0;
  if (CBS_len(&serial) == 0)
    return fail(&c, "bad DER at offset %zu: an entry's serial number is empty", off_of(&c, &serial) - 2);
  out->serial = span_of(&c, &serial);
  if (!get_time(&c, &entry, &out->date, "the revocation date")) return 0;
  if (!CBS_len(&entry)) return 1;
  CBS exts;
  if (!get(&c, &entry, &exts, CBS_ASN1_SEQUENCE, "the entry's extensions")) return 0;
  if (CBS_len(&entry)) return fail(&c, "bad DER at offset %zu: data after an entry's extensions", off_of(&c, &entry));
  out->has_exts = 1;
  out->exts = span_of(&c, &exts);
  int has_reason = 0;
  while (CBS_len(&exts)) {
    CBS oid, value;
    int critical;
    if (!next_ext(&c, &exts, &oid, &critical, &value)) return 0;
    if ((OID_IS(&oid, OID_REASON) && has_reason) || (OID_IS(&oid, OID_CERT_ISSUER) && out->has_cert_issuer))
      return fail(&c, "bad CRL at offset %zu: an entry has the same extension twice", off_of(&c, &oid));
    if (OID_IS(&oid, OID_REASON)) {
      CBS r;
      uint8_t v;
      has_reason = 1;
      if (!get(&c, &value, &r, CBS_ASN1_ENUMERATED, "the reason code")) return 0;
      if (CBS_len(&r) != 1 || !CBS_get_u8(&r, &v) || v > 10 || v == 7 || CBS_len(&value))
        return fail(&c, "bad reason code at offset %zu", off_of(&c, &r) - 1);
      out->reason = v;
    } else if (OID_IS(&oid, OID_INVALIDITY)) {
      if (!get_time(&c, &value, &out->invalidity, "the invalidity date")) return 0;
      if (CBS_len(&value)) return fail(&c, "bad DER at offset %zu: data after the invalidity date", off_of(&c, &value));
      out->has_invalidity = 1;
    } else if (OID_IS(&oid, OID_CERT_ISSUER)) {
      CBS names;
      if (!get_element(&c, &value, &names, CBS_ASN1_SEQUENCE, "the certificate issuer")) return 0;
      if (CBS_len(&value)) return fail(&c, "bad DER at offset %zu: data after the certificate issuer", off_of(&c, &value));
      if (!bssl_decodes(EXT_NAMES, CBS_data(&names), CBS_len(&names)))
        return fail(&c, "bad DER at offset %zu: the certificate issuer does not decode", off_of(&c, &names));
      out->cert_issuer = span_of(&c, &names);
      out->has_cert_issuer = 1;
    }
  }
  return 1;
}

/* the index of the first entry whose serial is not below serial (entries in serial order) */
static size_t lower_bound(const cb_crl *e, const uint8_t *serial, size_t len) {
  size_t lo = 0, hi = e->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const uint8_t *s;
    size_t sn;
    entry_serial(e->der, e->index[mid], &s, &sn);
    if (serial_cmp(s, sn, serial, len) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

size_t cb_crl_find_range(const cb_crl *e, const uint8_t *serial, size_t len, size_t *first) {
  norm(&serial, &len);
  size_t lo = lower_bound(e, serial, len);
  *first = lo;
  size_t n = 0;
  for (size_t i = lo; i < e->count; i++, n++) {
    const uint8_t *s;
    size_t sn;
    entry_serial(e->der, e->index[i], &s, &sn);
    if (serial_cmp(s, sn, serial, len) != 0) break;
  }
  return n;
}

/* ---- signatures -------------------------------------------------------------------------- */

const char *cb_crl_sig_alg_name(const cb_crl *e, char *buf, size_t len) {
  return alg_name(e->der + e->sig_alg.off, e->sig_alg.len, buf, len);
}

/* hash_alg reads an AlgorithmIdentifier of a digest (parameters NULL or absent). */
static const EVP_MD *hash_alg(CBS *cbs) {
  CBS seq, oid;
  if (!CBS_get_asn1(cbs, &seq, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&seq, &oid, CBS_ASN1_OBJECT))
    return NULL;
  if (CBS_len(&seq)) {
    CBS null;
    if (!CBS_get_asn1(&seq, &null, CBS_ASN1_NULL) || CBS_len(&null) || CBS_len(&seq)) return NULL;
  }
  return EVP_get_digestbynid(OBJ_cbs2nid(&oid));
}

/* pss_params reads RSASSA-PSS-params (RFC 4055), defaults included. */
static int pss_params(CBS *params, const EVP_MD **md, const EVP_MD **mgf1, int64_t *salt) {
  CBS seq, f;
  int present;
  *md = EVP_sha1();
  *mgf1 = EVP_sha1();
  *salt = 20;
  if (!CBS_get_asn1(params, &seq, CBS_ASN1_SEQUENCE) || CBS_len(params)) return 0;
  if (!CBS_get_optional_asn1(&seq, &f, &present, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0))
    return 0;
  if (present && (!(*md = hash_alg(&f)) || CBS_len(&f))) return 0;
  if (!CBS_get_optional_asn1(&seq, &f, &present, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1))
    return 0;
  if (present) {
    CBS mgf, oid;
    if (!CBS_get_asn1(&f, &mgf, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&mgf, &oid, CBS_ASN1_OBJECT) ||
        OBJ_cbs2nid(&oid) != NID_mgf1 || !(*mgf1 = hash_alg(&mgf)) || CBS_len(&mgf) || CBS_len(&f))
      return 0;
  }
  if (!CBS_get_optional_asn1(&seq, &f, &present, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 2))
    return 0;
  if (present && (!CBS_get_asn1_int64(&f, salt) || *salt < 0 || CBS_len(&f))) return 0;
  if (!CBS_get_optional_asn1(&seq, &f, &present, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3))
    return 0;
  if (present) {
    uint64_t trailer;
    if (!CBS_get_asn1_uint64(&f, &trailer) || trailer != 1) return 0;
  }
  return CBS_len(&seq) == 0;
}

static const char *key_type_name(int id) {
  switch (id) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_EC: return "EC";
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_DSA: return "DSA";
    default: return "unknown";
  }
}

static int why(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  ERR_clear_error();
  return 0;
}

/* tbs_bytes gives tbsCertList: in the DER, or for a scanned CRL without its entries, read from
 * the file into *tmp (the caller frees it). Only Ed25519, which hashes the message twice inside
 * its verification, needs that: every other algorithm verifies the digest made by the scan. */
static const uint8_t *tbs_bytes(const cb_crl *e, uint8_t **tmp, size_t *n) {
  *tmp = NULL;
  if (!e->synthetic) {
    *n = e->tbs.len;
    return e->der + e->tbs.off;
  }
  if (!(*tmp = malloc(e->tbs_len ? (size_t)e->tbs_len : 1))) return NULL;
  if (!cb_crl_file_read(e, *tmp, (size_t)e->tbs_len, e->tbs_off)) {
    free(*tmp);
    *tmp = NULL;
    return NULL;
  }
  *n = (size_t)e->tbs_len;
  return *tmp;
}

/* tbs_digest gives the digest of tbsCertList with md: the one hashed while parsing, or now. */
static int tbs_digest(const cb_crl *e, const EVP_MD *md, uint8_t *out, unsigned *len) {
  if (e->tbs_md == md && e->tbs_digest_len) {
    memcpy(out, e->tbs_digest, e->tbs_digest_len);
    *len = e->tbs_digest_len;
    return 1;
  }
  uint8_t *tmp;
  size_t n;
  const uint8_t *p = tbs_bytes(e, &tmp, &n);
  int ok = p && EVP_Digest(p, n, out, len, md, NULL);
  free(tmp);
  return ok;
}

static int verify_dsa(const cb_crl *e, EVP_PKEY *key, const EVP_MD *md, char *w, size_t wl) {
  const DSA *dsa = EVP_PKEY_get0_DSA(key);
  if (!dsa || !DSA_get0_p(dsa))
    return why(w, wl, "the DSA key has no parameters (inherited from its issuer): not supported");
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned dlen;
  if (!tbs_digest(e, md, digest, &dlen)) return why(w, wl, "digest failed");
  int valid = 0;
  if (!DSA_check_signature(&valid, digest, dlen, e->der + e->sig.off, e->sig.len, dsa) || !valid)
    return why(w, wl, "bad signature");
  return 1;
}

int cb_crl_verify(const cb_crl *e, EVP_PKEY *key, char *w, size_t wl) {
  if (e->sig_unused_bits) return why(w, wl, "bad signature (the signature BIT STRING has unused bits)");
  if (e->sig_alg.len != e->tbs_sig_alg.len ||
      memcmp(e->der + e->sig_alg.off, e->der + e->tbs_sig_alg.off, e->sig_alg.len) != 0)
    return why(w, wl, "the signature algorithm inside tbsCertList differs from the outer one");
  sigalg a;
  if (!decode_sigalg(e->der + e->sig_alg.off, e->sig_alg.len, &a, w, wl)) {
    ERR_clear_error();
    return 0;
  }
  int kt = EVP_PKEY_id(key);
  if (kt != a.pknid)
    return why(w, wl, "the CRL is signed with %s but the key is %s", a.name, key_type_name(kt));
  if (kt == EVP_PKEY_DSA) return verify_dsa(e, key, a.md, w, wl);

  int ok = 0;
  if (a.md && e->tbs_md == a.md) {
    /* hashed already while parsing: verify the digest */
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
    if (!pctx || !EVP_PKEY_verify_init(pctx) || !EVP_PKEY_CTX_set_signature_md(pctx, a.md) ||
        (a.pss && (!EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ||
                   !EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)a.salt) ||
                   !EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, a.mgf1)))) {
      why(w, wl, "cannot verify %s with this key", a.name);
    } else if (!EVP_PKEY_verify(pctx, e->der + e->sig.off, e->sig.len, e->tbs_digest, e->tbs_digest_len)) {
      why(w, wl, "bad signature");
    } else {
      ok = 1;
    }
    EVP_PKEY_CTX_free(pctx);
    ERR_clear_error();
    return ok;
  }

  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  if (!ctx) return why(w, wl, "out of memory");
  if (!EVP_DigestVerifyInit(ctx, &pctx, a.md, NULL, key)) {
    why(w, wl, "cannot verify %s with this key", a.name);
    goto done;
  }
  if (a.pss && (!EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ||
                !EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)a.salt) ||
                !EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, a.mgf1))) {
    why(w, wl, "unsupported RSASSA-PSS parameters");
    goto done;
  }
  uint8_t *tmp;
  size_t tn;
  const uint8_t *tbs = tbs_bytes(e, &tmp, &tn);
  if (!tbs) {
    why(w, wl, "cannot read tbsCertList from the file again");
    goto done;
  }
  int good = EVP_DigestVerify(ctx, e->der + e->sig.off, e->sig.len, tbs, tn);
  free(tmp);
  if (!good) {
    why(w, wl, "bad signature");
    goto done;
  }
  ok = 1;
done:
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

/* ---- what the file scan (crlscan.c) shares ----------------------------------------------- */

const uint8_t *cb_crlp_check_entry(const uint8_t *p, const uint8_t *end, const uint8_t **s, size_t *sn, int *exts) {
  return check_entry(p, end, s, sn, exts);
}

int cb_crlp_entry_at(const cb_crl *e, uint32_t off, uint32_t end, cb_crl_entry *out, uint32_t *next, char *err,
                     size_t errlen) {
  return entry_at(e, off, end, out, next, err, errlen);
}

int cb_crlp_decode_sigalg(const uint8_t *p, size_t n, cb_crlp_sigalg *a, char *why, size_t wl) {
  return decode_sigalg(p, n, a, why, wl);
}
