/* pem.c: PEM blocks in real-world text (see pem.h). */
#include "pem.h"

#include "cb.h"
#include "pbe.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <lauxlib.h>
#include <openssl/base64.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/mem.h>

static const char *find(const char *hay, size_t hlen, const char *needle, size_t nlen) {
  if (nlen == 0) return hay;
  if (hlen < nlen) return NULL;
  return memmem(hay, hlen, needle, nlen);
}

/* next_begin finds "-----BEGIN " at the start of a line (after optional blanks) */
static const char *next_begin(const char *data, size_t len, size_t from) {
  size_t p = from;
  while (p < len) {
    const char *b = find(data + p, len - p, "-----BEGIN ", 11);
    if (!b) return NULL;
    size_t off = (size_t)(b - data);
    size_t q = off;
    while (q > 0 && (data[q - 1] == ' ' || data[q - 1] == '\t')) q--;
    if (q == 0 || data[q - 1] == '\n' || data[q - 1] == '\r') return b;
    /* a BOM before the first line counts as the start of the data */
    if (q == 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) return b;
    p = off + 11;
  }
  return NULL;
}

int cb_pem_next(const char *data, size_t len, size_t *pos, int *count, cb_pem_block *out) {
  memset(out, 0, sizeof *out);
  if (*pos >= len) return 0;
  const char *b = next_begin(data, len, *pos);
  if (!b) {
    *pos = len;
    return 0;
  }
  const char *end = data + len;
  const char *label = b + 11;
  const char *dash = find(label, (size_t)(end - label), "-----", 5);
  const char *nl = memchr(label, '\n', (size_t)(end - label));
  (*count)++;
  out->index = *count;
  if (!dash || (nl && dash > nl) || dash - label > 80) {
    /* "-----BEGIN" with no closing dashes on its line: a mangled armor line; the blocks
     * after it are still read */
    out->label = label;
    out->label_len = 0;
    *pos = (size_t)(label - data);
    return -1;
  }
  out->label = label;
  out->label_len = (size_t)(dash - label);
  const char *body = dash + 5;
  while (body < end && (*body == ' ' || *body == '\t' || *body == '\r')) body++;
  if (body < end && *body == '\n') body++;
  /* the matching END line, before any further BEGIN */
  char endline[100];
  size_t elen = 0;
  memcpy(endline, "-----END ", 9);
  elen = 9;
  memcpy(endline + elen, out->label, out->label_len);
  elen += out->label_len;
  memcpy(endline + elen, "-----", 5);
  elen += 5;
  const char *e = find(body, (size_t)(end - body), endline, elen);
  const char *nb = next_begin(data, len, (size_t)(body - data));
  if (!e || (nb && nb < e)) {
    *pos = nb ? (size_t)(nb - data) : len;
    return -1;
  }
  out->body = body;
  out->body_len = (size_t)(e - body);
  *pos = (size_t)(e - data) + elen;
  return 1;
}

int cb_pem_label_is(const cb_pem_block *b, const char *s) {
  size_t n = strlen(s);
  return b->label_len == n && memcmp(b->label, s, n) == 0;
}

/* skip_headers returns the offset in the body where the base64 starts: after RFC 1421 headers
 * ("Proc-Type: ...", continuation lines start with a blank) and the blank line ending them. */
static size_t skip_headers(const char *body, size_t len) {
  size_t p = 0;
  const char *nl = memchr(body, '\n', len);
  size_t lend = nl ? (size_t)(nl - body) : len;
  if (!memchr(body, ':', lend)) return 0; /* a header has a colon, base64 never does */
  while (p < len) {
    nl = memchr(body + p, '\n', len - p);
    lend = nl ? (size_t)(nl - body) : len;
    size_t q = p;
    while (q < lend && (body[q] == ' ' || body[q] == '\t' || body[q] == '\r')) q++;
    if (q == lend) return nl ? lend + 1 : len; /* the blank line ending the headers */
    int continuation = body[p] == ' ' || body[p] == '\t';
    if (!continuation && !memchr(body + p, ':', lend - p)) return p; /* no blank line */
    p = nl ? lend + 1 : len;
  }
  return p;
}

/* decode_clean decodes base64 with white space anywhere. secret = 0: strict (padding as RFC
 * 4648 says), a malloc'd result. secret = 1, for key material: the copy without white space is
 * cleansed, the result is OPENSSL_malloc'd (cleansed by OPENSSL_free), and missing '=' padding
 * is tolerated, as some tools hand keys over without it. */
static int decode_clean(const char *s, size_t len, uint8_t **out, size_t *out_len, int secret) {
  char *clean = OPENSSL_malloc(len + 4);
  size_t n = 0, cap;
  int ok = 0;
  *out = NULL;
  *out_len = 0;
  if (!clean) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') continue;
    clean[n++] = c;
  }
  if (secret && n % 4 > 1)
    while (n % 4) clean[n++] = '=';
  uint8_t *buf = NULL;
  if (n > 0 && EVP_DecodedLength(&cap, n)) {
    buf = secret ? OPENSSL_malloc(cap ? cap : 1) : malloc(cap ? cap : 1);
    ok = buf && EVP_DecodeBase64(buf, out_len, cap, (const uint8_t *)clean, n);
  }
  OPENSSL_free(clean); /* BoringSSL cleanses what it frees */
  ERR_clear_error();
  if (!ok) {
    if (secret) OPENSSL_free(buf);
    else free(buf);
    *out_len = 0;
    return 0;
  }
  *out = buf;
  return 1;
}

int cb_pem_decode(const cb_pem_block *b, uint8_t **out, size_t *out_len) {
  size_t start = skip_headers(b->body, b->body_len);
  return decode_clean(b->body + start, b->body_len - start, out, out_len, 0);
}

int cb_pem_decode_secret(const cb_pem_block *b, uint8_t **out, size_t *out_len) {
  size_t start = skip_headers(b->body, b->body_len);
  return decode_clean(b->body + start, b->body_len - start, out, out_len, 1);
}

int cb_pem_header_value(const cb_pem_block *b, const char *name, const char **v, size_t *vlen) {
  size_t start = skip_headers(b->body, b->body_len), n = strlen(name);
  const char *p = b->body, *end = b->body + start;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    if ((size_t)(le - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
      const char *s = p + n + 1;
      while (s < le && (*s == ' ' || *s == '\t')) s++;
      while (le > s && (le[-1] == ' ' || le[-1] == '\t' || le[-1] == '\r')) le--;
      *v = s;
      *vlen = (size_t)(le - s);
      return 1;
    }
    if (!nl) break;
    p = nl + 1;
  }
  return 0;
}

size_t cb_pem_line(const char *data, size_t off) {
  size_t line = 1;
  for (const char *p = data, *e = data + off; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) line++;
  return line;
}

int cb_pem_has_header(const cb_pem_block *b, const char *name) {
  size_t start = skip_headers(b->body, b->body_len);
  size_t n = strlen(name);
  const char *p = b->body, *end = b->body + start;
  while (p < end) {
    if ((size_t)(end - p) > n && memcmp(p, name, n) == 0 && p[n] == ':') return 1;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) break;
    p = nl + 1;
  }
  return 0;
}

int cb_pem_looks_like(const char *data, size_t len) {
  return next_begin(data, len, 0) != NULL;
}

size_t cb_skip_bom_space(const char *data, size_t len) {
  size_t p = 0;
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) p = 3;
  while (p < len && (data[p] == ' ' || data[p] == '\t' || data[p] == '\r' || data[p] == '\n')) p++;
  return p;
}

static int armorless(const char *data, size_t len, uint8_t **out, size_t *out_len, int secret) {
  *out = NULL;
  *out_len = 0;
  size_t p = cb_skip_bom_space(data, len);
  for (size_t i = p; i < len; i++) {
    unsigned char c = (unsigned char)data[i];
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (!ok) return 0;
  }
  if (p == len) return 0;
  return decode_clean(data + p, len - p, out, out_len, secret);
}

int cb_base64_armorless(const char *data, size_t len, uint8_t **out, size_t *out_len) {
  return armorless(data, len, out, out_len, 0);
}

int cb_base64_armorless_secret(const char *data, size_t len, uint8_t **out, size_t *out_len) {
  return armorless(data, len, out, out_len, 1);
}

int cb_der_check(const uint8_t *p, size_t len, size_t *elem_len) {
  CBS cbs, elem;
  unsigned tag;
  size_t hdr;
  *elem_len = 0;
  if (len < 2) return len == 1 && p[0] == 0x30 ? 0 : -1;
  CBS_init(&cbs, p, len);
  if (CBS_get_any_asn1_element(&cbs, &elem, &tag, &hdr)) {
    *elem_len = CBS_len(&elem);
    return 1;
  }
  /* Tell "truncated" from "not DER": a well-formed header whose length runs past the end. */
  if (p[0] != 0x30) return -1;
  uint8_t l = p[1];
  if (l < 0x80) return (size_t)l + 2 > len ? 0 : -1;
  size_t nbytes = l & 0x7f;
  if (nbytes == 0 || nbytes > 4) return -1;
  if (len < 2 + nbytes) return 0;
  size_t body = 0;
  for (size_t i = 0; i < nbytes; i++) body = (body << 8) | p[2 + i];
  return 2 + nbytes + body > len ? 0 : -1;
}

void cb_pem_labels(const char *data, size_t len, char *out, size_t out_len) {
  /* distinct labels only: a bundle of 40 keys says so once */
  struct { const char *p; size_t n; } seen[8];
  int nseen = 0, count = 0, r;
  size_t pos = 0, o = 0;
  cb_pem_block blk;
  out[0] = '\0';
  while (nseen < 8 && (r = cb_pem_next(data, len, &pos, &count, &blk)) != 0) {
    int dup = blk.label_len == 0;
    for (int i = 0; i < nseen && !dup; i++)
      dup = seen[i].n == blk.label_len && memcmp(seen[i].p, blk.label, blk.label_len) == 0;
    if (dup) continue;
    int w = snprintf(out + o, out_len - o, "%s%.*s", nseen ? ", " : "",
                     (int)(blk.label_len > 60 ? 60 : blk.label_len), blk.label);
    if (w < 0 || (size_t)w >= out_len - o) break;
    o += (size_t)w;
    seen[nseen].p = blk.label;
    seen[nseen++].n = blk.label_len;
  }
}

void cb_pem_push_labels(lua_State *L, const char *data, size_t len) {
  char buf[600];
  cb_pem_labels(data, len, buf, sizeof buf);
  lua_pushstring(L, buf);
}

/* Two base64 digits per 12 bits: one table lookup for each half of a 3-byte group. The
 * lookups depend on the data, so this is for public objects only (BoringSSL's
 * EVP_EncodeBlock is constant-time and several times slower: a 40 MB CRL took 0.2 s). */
static char b64_pairs[4096][2];

static void b64_init(void) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 4096; i++) {
    b64_pairs[i][0] = digits[i >> 6];
    b64_pairs[i][1] = digits[i & 63];
  }
}

size_t cb_pem_len(const char *label, size_t der_len) {
  size_t l = strlen(label), groups = (der_len + 2) / 3;
  return 11 + l + 6 + groups * 4 + (der_len + 47) / 48 + 9 + l + 6;
}

size_t cb_pem_lines(char *out, const uint8_t *der, size_t der_len) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, b64_init);
  char *p = out;
  size_t off = 0;
  while (off < der_len) {
    size_t n = der_len - off < 48 ? der_len - off : 48;
    const uint8_t *s = der + off;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
      uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
      memcpy(p, b64_pairs[v >> 12], 2);
      memcpy(p + 2, b64_pairs[v & 0xfff], 2);
      p += 4;
    }
    if (i < n) { /* the last 1 or 2 bytes, padded with '=' */
      uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
      memcpy(p, b64_pairs[v >> 12], 2);
      p[2] = i + 1 < n ? b64_pairs[v & 0xfff][0] : '=';
      p[3] = '=';
      p += 4;
    }
    *p++ = '\n';
    off += n;
  }
  return (size_t)(p - out);
}

size_t cb_pem_armor(char *out, const char *label, int end) {
  size_t l = strlen(label);
  char *p = out;
  memcpy(p, end ? "-----END " : "-----BEGIN ", end ? 9 : 11), p += end ? 9 : 11;
  memcpy(p, label, l), p += l;
  memcpy(p, "-----\n", 6), p += 6;
  return (size_t)(p - out);
}

size_t cb_pem_encode(char *out, const char *label, const uint8_t *der, size_t der_len) {
  char *p = out;
  p += cb_pem_armor(p, label, 0);
  p += cb_pem_lines(p, der, der_len);
  p += cb_pem_armor(p, label, 1);
  return (size_t)(p - out);
}

void cb_push_pem(lua_State *L, const char *label, const uint8_t *der, size_t der_len) {
  luaL_Buffer b;
  size_t cap = cb_pem_len(label, der_len);
  char *out = luaL_buffinitsize(L, &b, cap);
  luaL_pushresultsize(&b, cb_pem_encode(out, label, der, der_len));
}

/* --- loading objects ----------------------------------------------------------------------- */

_Thread_local char cb_load_why[256];

/* refusal_reason: why the loader's parse refused the object (cb_load_why, else BoringSSL's
 * error queue); clears both */
static int refusal_reason(char *reason, size_t len) {
  int ours = cb_load_why[0] != '\0';
  if (ours) {
    snprintf(reason, len, "%s", cb_load_why);
    cb_load_why[0] = '\0';
  } else {
    cb_ssl_reason(reason, len);
  }
  ERR_clear_error();
  return ours;
}

/* add_obj stores x (owned) as the next result: into the list at list_idx, or alone */
static void add_obj(lua_State *L, const cb_loader *ld, void *x, int list_idx, int *count) {
  ld->push(L, x);
  (*count)++;
  if (list_idx) lua_seti(L, list_idx, *count);
}

/* load_der parses consecutive DER objects from p. Returns 1 with the results stored, or
 * pushes nil, message and returns 0. */
static int load_der(lua_State *L, const cb_loader *ld, const char *what, const uint8_t *p, size_t len, int all,
                    int list_idx, int *count, const char *form) {
  size_t off = 0;
  while (off < len) {
    size_t elen;
    int r = cb_der_check(p + off, len - off, &elen);
    if (r == 0) {
      cb_fail(L, "%s: truncated DER%s (the data ends inside %s %d)", what, form, ld->noun,
              *count + 1);
      return 0;
    }
    if (r < 0) {
      if (*count > 0) {
        /* trailing bytes after a DER certificate: what a .cer with padding looks like */
        return 1;
      }
      cb_fail(L, "%s: no %s in the data (neither PEM nor DER)", what, ld->noun);
      return 0;
    }
    void *x = ld->parse(p + off, elen, 0);
    if (!x) {
      char reason[256];
      if (refusal_reason(reason, sizeof reason))
        cb_fail(L, "%s: %s %d: %s", what, ld->noun, *count + 1, reason);
      else if (*count == 0)
        cb_fail(L, "%s: DER data%s is not a %s: %s", what, form, ld->noun, reason);
      else
        cb_fail(L, "%s: DER element %d%s is not a %s: %s", what, *count + 1, form, ld->noun,
                reason);
      return 0;
    }
    add_obj(L, ld, x, list_idx, count);
    off += elen;
    if (!all) return 1;
  }
  return 1;
}

/* loader_label: which of the loader's labels the block has (the last that matches), or -1 */
static int loader_label(const cb_loader *ld, const cb_pem_block *b) {
  int label = -1;
  for (int i = 0; ld->labels[i]; i++)
    if (cb_pem_label_is(b, ld->labels[i])) label = i;
  return label;
}

/* load_pem walks the PEM blocks; objects in any of the labels are kept, other blocks
 * (keys, CRLs) and text between blocks are skipped. */
static int load_pem(lua_State *L, const cb_loader *ld, const char *what, const char *data, size_t len, int all,
                    int list_idx, int *count) {
  size_t pos = 0;
  int nblocks = 0, r;
  cb_pem_block b;
  while ((r = cb_pem_next(data, len, &pos, &nblocks, &b)) != 0) {
    int label = loader_label(ld, &b);
    if (label < 0) continue;
    if (r < 0) {
      cb_fail(L, "%s: PEM block %d (%s) has no END line", what, b.index, ld->labels[label]);
      return 0;
    }
    uint8_t *der;
    size_t dlen;
    if (!cb_pem_decode(&b, &der, &dlen)) {
      cb_fail(L, "%s: bad base64 in PEM block %d", what, b.index);
      return 0;
    }
    size_t elen;
    int dr = cb_der_check(der, dlen, &elen);
    void *x = dr == 1 ? ld->parse(der, elen, label) : NULL;
    free(der);
    if (!x) {
      if (dr == 0) {
        cb_fail(L, "%s: truncated DER in PEM block %d", what, b.index);
      } else {
        char reason[256];
        if (refusal_reason(reason, sizeof reason))
          cb_fail(L, "%s: %s in PEM block %d: %s", what, ld->noun, b.index, reason);
        else
          cb_fail(L, "%s: PEM block %d is not a valid %s: %s", what, b.index, ld->noun,
                  reason[0] ? reason : "not DER");
      }
      ERR_clear_error();
      return 0;
    }
    add_obj(L, ld, x, list_idx, count);
    if (!all) return 1;
  }
  if (*count == 0) {
    cb_pem_push_labels(L, data, len);
    const char *labels = lua_tostring(L, -1);
    if (labels[0])
      cb_fail(L, "%s: no %s in the data (found %s)", what, ld->noun, labels);
    else
      cb_fail(L, "%s: no %s in the data", what, ld->noun);
    return 0;
  }
  return 1;
}

int cb_load(lua_State *L, const cb_loader *ld, const char *what, int all) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len);
  int count = 0, list_idx = 0, ok;
  if (all) {
    lua_newtable(L);
    list_idx = lua_gettop(L);
  }
  size_t start = cb_skip_bom_space(data, len);
  if (start == len) return cb_fail(L, "%s: no %s in the data (it is empty)", what, ld->noun);
  size_t elen;
  int is_der = (unsigned char)data[0] == 0x30 ? cb_der_check((const uint8_t *)data, len, &elen) : -1;
  /* 0x30 is also the digit '0': a text file starting with it is PEM, unless it is DER */
  if (is_der == 1 || (is_der == 0 && !cb_pem_looks_like(data, len))) {
    ok = load_der(L, ld, what, (const uint8_t *)data, len, all, list_idx, &count, "");
  } else if (cb_pem_looks_like(data, len)) {
    ok = load_pem(L, ld, what, data, len, all, list_idx, &count);
  } else {
    uint8_t *der;
    size_t dlen;
    if (cb_base64_armorless(data, len, &der, &dlen)) {
      /* the Lua string keeps the bytes alive while the certificates are parsed */
      lua_pushlstring(L, (const char *)der, dlen);
      free(der);
      const uint8_t *p = (const uint8_t *)lua_tostring(L, -1);
      ok = load_der(L, ld, what, p, dlen, all, list_idx, &count, " (in base64 without PEM armor)");
    } else {
      return cb_fail(L, "%s: no %s in the data (neither PEM nor DER)", what, ld->noun);
    }
  }
  if (!ok) return 2;
  if (all) lua_pushvalue(L, list_idx);
  return 1;
}

/* the same walk as cb_load and load_der/load_pem above for the first object, minus the
 * messages */
static void *first_der(const cb_loader *ld, const uint8_t *p, size_t len) {
  size_t elen;
  if (len == 0 || cb_der_check(p, len, &elen) != 1) return NULL;
  return ld->parse(p, elen, 0);
}

void *cb_load_first(const cb_loader *ld, const char *data, size_t len) {
  void *x = NULL;
  size_t start = cb_skip_bom_space(data, len);
  if (start == len) return NULL;
  size_t elen;
  int is_der = (unsigned char)data[0] == 0x30 ? cb_der_check((const uint8_t *)data, len, &elen) : -1;
  if (is_der == 1 || (is_der == 0 && !cb_pem_looks_like(data, len))) {
    x = first_der(ld, (const uint8_t *)data, len);
  } else if (cb_pem_looks_like(data, len)) {
    size_t pos = 0;
    int nblocks = 0, r;
    cb_pem_block b;
    while ((r = cb_pem_next(data, len, &pos, &nblocks, &b)) != 0) {
      int label = loader_label(ld, &b);
      if (label < 0) continue;
      uint8_t *der;
      size_t dlen;
      if (r < 0 || !cb_pem_decode(&b, &der, &dlen)) break;
      if (cb_der_check(der, dlen, &elen) == 1) x = ld->parse(der, elen, label);
      free(der);
      break;
    }
  } else {
    uint8_t *der;
    size_t dlen;
    if (cb_base64_armorless(data, len, &der, &dlen)) {
      x = first_der(ld, der, dlen);
      free(der);
    }
  }
  ERR_clear_error();
  cb_load_why[0] = '\0';
  return x;
}

uint8_t *cb_pem_encode_secret(const char *label, const char *headers, const uint8_t *der, size_t len,
                              size_t *out_len) {
  size_t l = strlen(label), hl = headers ? strlen(headers) + 2 : 0;
  size_t cap = 2 * (l + 17) + hl + (len + 47) / 48 * 66 + 1;
  uint8_t *out = OPENSSL_malloc(cap), *p = out;
  if (!out) return NULL;
  p += cb_pem_armor((char *)p, label, 0);
  if (headers) p += snprintf((char *)p, cap - (size_t)(p - out), "%s\n\n", headers);
  for (size_t i = 0; i < len; i += 48) {
    size_t n = len - i < 48 ? len - i : 48;
    p += EVP_EncodeBlock(p, der + i, n); /* constant-time: this is key material */
    *p++ = '\n';
  }
  p += cb_pem_armor((char *)p, label, 1);
  *out_len = (size_t)(p - out);
  return out;
}

/* --- text as Windows and editors write it -------------------------------------------------- */

/* looks_utf16: ASCII text in UTF-16 without a BOM has a zero in every other byte */
static int looks_utf16(const uint8_t *s, size_t n, int le) {
  if (n < 8 || n % 2) return 0;
  size_t m = n < 128 ? n : 128;
  for (size_t i = 0; i + 1 < m; i += 2) {
    uint8_t ch = le ? s[i] : s[i + 1], z = le ? s[i + 1] : s[i];
    if (z != 0 || ch == 0 || ch >= 0x80) return 0;
  }
  return 1;
}

int cb_pem_text(const char *data, size_t len, char **out, size_t *out_len, const char **bom,
                int *no_bom_utf16, const char **line_ends) {
  const uint8_t *s = (const uint8_t *)data;
  size_t first = 0;
  int utf16 = 0, le = 0;
  *bom = NULL;
  *no_bom_utf16 = 0;
  *line_ends = NULL;
  if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) *bom = "utf-8", first = 3;
  else if (len >= 2 && s[0] == 0xFF && s[1] == 0xFE) *bom = "utf-16le", first = 2, utf16 = le = 1;
  else if (len >= 2 && s[0] == 0xFE && s[1] == 0xFF) *bom = "utf-16be", first = 2, utf16 = 1;
  else if (looks_utf16(s, len, 1)) *bom = "utf-16le", utf16 = le = 1, *no_bom_utf16 = 1;
  else if (looks_utf16(s, len, 0)) *bom = "utf-16be", utf16 = 1, *no_bom_utf16 = 1;
  char *o;
  size_t n;
  if (utf16) {
    /* pbe.c's BMPString decoder reads big-endian UTF-16: little-endian is swapped first */
    uint8_t *be = malloc(len - first + 1);
    if (!be) return 0;
    for (size_t i = first; i + 1 < len; i += 2) {
      be[i - first] = le ? s[i + 1] : s[i];
      be[i - first + 1] = le ? s[i] : s[i + 1];
    }
    o = cb_bmp_to_utf8(be, (len - first) & ~(size_t)1);
    free(be);
    if (!o) return 0;
    n = strlen(o);
  } else {
    if (!(o = malloc(len + 1))) return 0;
    memcpy(o, data + first, len - first);
    n = len - first;
  }
  /* line ends: CRLF and lone CR become LF */
  size_t crlf = 0, cr = 0, lf = 0, w = 0;
  for (size_t i = 0; i < n; i++) {
    if (o[i] == '\r') {
      if (i + 1 < n && o[i + 1] == '\n') crlf++, i++;
      else cr++;
      o[w++] = '\n';
    } else {
      if (o[i] == '\n') lf++;
      o[w++] = o[i];
    }
  }
  int kinds = (crlf > 0) + (cr > 0) + (lf > 0);
  *line_ends = kinds > 1 ? "mixed" : crlf ? "crlf" : cr ? "cr" : lf ? "lf" : NULL;
  o[w] = '\0';
  *out = o;
  *out_len = w;
  return 1;
}

/* --- the Lua module _certbench.pem ---------------------------------------------------------- */

/* strict_b64 decodes base64 as detect has always judged it, or says what is wrong in err. */
static int strict_b64(const char *s, size_t len, uint8_t **out, size_t *out_len, char *err, size_t elen) {
  size_t n = 0, pad = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
             c == '/' || c == '=';
    if (!ok) {
      snprintf(err, elen, "character \"%c\" is not Base-64", c);
      return 0;
    }
    if (c == '=') pad++;
    else if (pad) {
      snprintf(err, elen, "'=' padding in the middle of the Base-64 text");
      return 0;
    }
    n++;
  }
  if (pad > 2) {
    snprintf(err, elen, "'=' padding in the middle of the Base-64 text");
    return 0;
  }
  if (n % 4) {
    snprintf(err, elen, "%zu Base-64 characters, not a multiple of 4 (a line lost or cut?)", n);
    return 0;
  }
  if (n == 0) {
    *out = malloc(1);
    *out_len = 0;
    return *out != NULL;
  }
  if (!decode_clean(s, len, out, out_len, 0)) {
    snprintf(err, elen, "'=' padding in the middle of the Base-64 text");
    return 0;
  }
  return 1;
}

/* pem.b64decode(text) -> bytes | nil, err */
static int l_b64decode(lua_State *L) {
  size_t len, n;
  const char *s = luaL_checklstring(L, 1, &len);
  uint8_t *out;
  char err[120];
  if (!strict_b64(s, len, &out, &n, err, sizeof err)) return cb_fail(L, "%s", err);
  lua_pushlstring(L, (const char *)out, n);
  free(out);
  return 1;
}

/* pem.b64encode(bytes) -> text on one line */
static int l_b64encode(lua_State *L) {
  size_t len, cap;
  const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, EVP_EncodedLength(&cap, len), 1, "too long");
  luaL_Buffer b;
  char *o = luaL_buffinitsize(L, &b, cap);
  luaL_pushresultsize(&b, EVP_EncodeBlock((uint8_t *)o, s, len));
  return 1;
}

/* pem.encode(label, der[, crlf]) -> PEM text, 64 columns */
static int l_encode(lua_State *L) {
  const char *label = luaL_checkstring(L, 1);
  size_t len;
  const char *der = luaL_checklstring(L, 2, &len);
  int crlf = lua_toboolean(L, 3);
  lua_settop(L, 2);
  cb_push_pem(L, label, (const uint8_t *)der, len);
  if (crlf) {
    size_t n;
    const char *t = lua_tolstring(L, -1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
      if (t[i] == '\n') luaL_addchar(&b, '\r');
      luaL_addchar(&b, t[i]);
    }
    luaL_pushresult(&b);
  }
  return 1;
}

/* pem.text(data) -> text (UTF-8, LF line ends), bom, line_ends, no_bom */
static int l_text(lua_State *L) {
  size_t len, n;
  const char *s = luaL_checklstring(L, 1, &len), *bom, *ends;
  char *t;
  int no_bom;
  if (!cb_pem_text(s, len, &t, &n, &bom, &no_bom, &ends)) return luaL_error(L, "out of memory");
  lua_pushlstring(L, t, n);
  free(t);
  if (bom) lua_pushstring(L, bom); else lua_pushnil(L);
  if (ends) lua_pushstring(L, ends); else lua_pushnil(L);
  lua_pushboolean(L, no_bom);
  return 4;
}

/* pem.armorless(text) -> bytes | nil: text that is nothing but base64 */
static int l_armorless(lua_State *L) {
  size_t len, n;
  const char *s = luaL_checklstring(L, 1, &len);
  uint8_t *out;
  if (!cb_base64_armorless(s, len, &out, &n)) return 0;
  lua_pushlstring(L, (const char *)out, n);
  free(out);
  return 1;
}

/* find_end_line finds a line "-----END <anything>" in [from, to): its offset or (size_t)-1 */
static size_t find_end_line(const char *d, size_t from, size_t to) {
  for (size_t p = from; p < to;) {
    const char *e = memmem(d + p, to - p, "-----END ", 9);
    if (!e) return (size_t)-1;
    size_t off = (size_t)(e - d), q = off;
    while (q > 0 && (d[q - 1] == ' ' || d[q - 1] == '\t')) q--;
    if (q == 0 || d[q - 1] == '\n' || d[q - 1] == '\r') return off;
    p = off + 9;
  }
  return (size_t)-1;
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* pem.blocks(text) -> { block, ... }, tail
 * block = { label=, index=, line= (of BEGIN), pre= (the text since the last block),
 *           headers = { {name, value}, ... } | nil, der= | error=, ... }
 * error = "mangled" (a BEGIN line without its dashes), "truncated" (no END; next_line= the
 * BEGIN that came first, if any), "mismatch" (end_label=, end_line=), "bad_base64" (char=,
 * char_line=, message=), "empty". The walk goes on after a bad block. */
static int l_blocks(lua_State *L) {
  size_t len;
  const char *d = luaL_checklstring(L, 1, &len);
  size_t pos = 0, prev_end = 0;
  /* the line of each BEGIN is counted on from the previous one's: counting from the start of
   * the text for every block made a bundle of n certificates cost n^2 */
  size_t line_off = 0, line_no = 1;
  int count = 0, r, n = 0;
  cb_pem_block b;
  lua_newtable(L);
  while ((r = cb_pem_next(d, len, &pos, &count, &b)) != 0) {
    luaL_checkstack(L, 6, "pem.blocks");
    size_t begin = (size_t)(b.label - d) - 11;
    lua_newtable(L);
    lua_pushlstring(L, b.label, b.label_len);
    lua_setfield(L, -2, "label");
    set_int(L, "index", b.index);
    if (begin < line_off) line_off = 0, line_no = 1; /* never: the blocks come in order */
    line_no += cb_pem_line(d + line_off, begin - line_off) - 1;
    line_off = begin;
    set_int(L, "line", (lua_Integer)line_no);
    lua_pushlstring(L, d + prev_end, begin > prev_end ? begin - prev_end : 0);
    lua_setfield(L, -2, "pre");
    lua_rawseti(L, -2, ++n);
    lua_rawgeti(L, -1, n);
    if (r < 0 && b.label_len == 0) {
      lua_pushliteral(L, "mangled");
      lua_setfield(L, -2, "error");
      lua_pop(L, 1);
      prev_end = pos;
      continue;
    }
    const char *body = b.label + b.label_len + 5;
    size_t body_off = (size_t)(body - d);
    if (r < 0) {
      /* no END line of this label before pos (the next BEGIN or the end) */
      size_t e = find_end_line(d, body_off, pos);
      if (e != (size_t)-1) {
        const char *lab = d + e + 9, *dash = memmem(lab, len - (e + 9), "-----", 5);
        const char *nl = memchr(lab, '\n', len - (e + 9));
        lua_pushliteral(L, "mismatch");
        lua_setfield(L, -2, "error");
        lua_pushlstring(L, lab, dash && (!nl || dash < nl) ? (size_t)(dash - lab) : 0);
        lua_setfield(L, -2, "end_label");
        set_int(L, "end_line", (lua_Integer)cb_pem_line(d, e));
      } else {
        lua_pushliteral(L, "truncated");
        lua_setfield(L, -2, "error");
        if (pos < len) set_int(L, "next_line", (lua_Integer)cb_pem_line(d, pos));
      }
      lua_pop(L, 1);
      prev_end = pos;
      continue;
    }
    /* an END line of another label inside the body */
    size_t e = find_end_line(d, body_off, (size_t)(b.body - d) + b.body_len);
    if (e != (size_t)-1) {
      const char *lab = d + e + 9, *dash = memmem(lab, len - (e + 9), "-----", 5);
      lua_pushliteral(L, "mismatch");
      lua_setfield(L, -2, "error");
      lua_pushlstring(L, lab, dash ? (size_t)(dash - lab) : 0);
      lua_setfield(L, -2, "end_label");
      set_int(L, "end_line", (lua_Integer)cb_pem_line(d, e));
      lua_pop(L, 1);
      prev_end = pos;
      continue;
    }
    size_t hstart = skip_headers(b.body, b.body_len);
    if (hstart > 0) {
      lua_newtable(L);
      int k = 0;
      const char *p = b.body, *hend = b.body + hstart;
      while (p < hend) {
        const char *nl = memchr(p, '\n', (size_t)(hend - p));
        const char *le = nl ? nl : hend, *colon = memchr(p, ':', (size_t)(le - p));
        const char *v = colon ? colon + 1 : le, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r')) ve--;
        if ((*p == ' ' || *p == '\t') && k > 0 && v < ve) { /* a continuation line */
          lua_rawgeti(L, -1, k);
          lua_rawgeti(L, -1, 2);
          const char *p0 = p;
          while (p0 < ve && (*p0 == ' ' || *p0 == '\t')) p0++;
          lua_pushliteral(L, " ");
          lua_pushlstring(L, p0, (size_t)(ve - p0));
          lua_concat(L, 3);
          lua_rawseti(L, -2, 2);
          lua_pop(L, 1);
        } else if (colon) {
          lua_createtable(L, 2, 0);
          lua_pushlstring(L, p, (size_t)(colon - p));
          lua_rawseti(L, -2, 1);
          lua_pushlstring(L, v, (size_t)(ve - v));
          lua_rawseti(L, -2, 2);
          lua_rawseti(L, -2, ++k);
        }
        p = nl ? nl + 1 : hend;
      }
      lua_setfield(L, -2, "headers");
    }
    const char *t = b.body + hstart;
    size_t tl = b.body_len - hstart;
    for (size_t i = 0; i < tl; i++) {
      unsigned char c = (unsigned char)t[i];
      int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
               c == '\f' || c == '\v';
      if (!ok) {
        lua_pushliteral(L, "bad_base64");
        lua_setfield(L, -2, "error");
        lua_pushlstring(L, t + i, 1);
        lua_setfield(L, -2, "char");
        set_int(L, "char_line", (lua_Integer)cb_pem_line(d, (size_t)(t + i - d)));
        tl = 0;
        break;
      }
    }
    if (tl == 0 && b.body_len > hstart) {
      lua_pop(L, 1);
      prev_end = pos;
      continue;
    }
    uint8_t *der;
    size_t dlen;
    char err[120];
    if (!strict_b64(t, tl, &der, &dlen, err, sizeof err)) {
      lua_pushliteral(L, "bad_base64");
      lua_setfield(L, -2, "error");
      lua_pushstring(L, err);
      lua_setfield(L, -2, "message");
      lua_pop(L, 1);
      prev_end = pos;
      continue;
    }
    if (dlen == 0) {
      free(der);
      lua_pushliteral(L, "empty");
      lua_setfield(L, -2, "error");
      lua_pop(L, 1);
      prev_end = pos;
      continue;
    }
    lua_pushlstring(L, (const char *)der, dlen);
    free(der);
    lua_setfield(L, -2, "der");
    lua_pop(L, 1);
    prev_end = pos;
  }
  lua_pushlstring(L, d + prev_end, len > prev_end ? len - prev_end : 0);
  return 2;
}

/* pem.labels(data) -> "CERTIFICATE, X509 CRL" (distinct labels, in order) */
static int l_labels(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  cb_pem_push_labels(L, s, len);
  return 1;
}

int luaopen__certbench_pem(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"blocks", l_blocks},       {"text", l_text},         {"encode", l_encode},
      {"b64decode", l_b64decode}, {"b64encode", l_b64encode}, {"armorless", l_armorless},
      {"labels", l_labels},       {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}

/* ---- the first wanted PEM block of a file, decoded to another file in pieces -------------- */

/* A reader over a descriptor with a little lookahead (the armor lines), so that a block is
 * found and decoded whatever the size of the text, with the same rules as cb_pem_next and
 * cb_pem_decode on the whole text. */
typedef struct {
  cb_pem_read_fn read;
  void *ctx;
  int err, eof;
  uint8_t *buf;
  size_t cap, pos, len, chunk;
} pem_rd;

#define PEM_LOOK 128 /* "-----BEGIN " + an 80-byte label + "-----", and the END line */

static size_t rd_avail(pem_rd *r, size_t need) {
  if (r->len - r->pos >= need || r->eof) return r->len - r->pos;
  memmove(r->buf, r->buf + r->pos, r->len - r->pos);
  r->len -= r->pos;
  r->pos = 0;
  while (r->len < need && !r->eof) {
    size_t want = r->cap - r->len < r->chunk ? r->cap - r->len : r->chunk;
    ssize_t n = r->read(r->ctx, r->buf + r->len, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) r->err = errno;
      r->eof = 1;
      break;
    }
    r->len += (size_t)n;
  }
  return r->len - r->pos;
}

/* The base64 decoder: white space dropped, whole quanta decoded by EVP_DecodeBase64 as
 * decode_clean does, padding only in the last quantum of all (checked across pieces). */
typedef struct {
  char q[4096];
  size_t n;
  uint8_t ob[1 << 16];
  size_t on;
  uint64_t flushed, chars, max;
  int fd, padded, werr;
  /* the state at the start of a line that may turn out to be an RFC 1421 header */
  char save_q[4];
  size_t save_n;
  uint64_t save_out, save_chars;
  int save_padded;
} pem_b64;

static int b64_flush(pem_b64 *d) {
  size_t off = 0;
  while (off < d->on) {
    ssize_t w = write(d->fd, d->ob + off, d->on - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      d->werr = w < 0 ? errno : EIO;
      return 0;
    }
    off += (size_t)w;
  }
  d->flushed += d->on;
  d->on = 0;
  return 1;
}

/* b64_decode decodes the first m (a multiple of 4) characters held */
static int b64_decode(pem_b64 *d, size_t m) {
  if (m == 0) return 1;
  if (d->padded) return 0;
  if (d->on + m / 4 * 3 > sizeof d->ob && !b64_flush(d)) return 0;
  size_t olen;
  int ok = EVP_DecodeBase64(d->ob + d->on, &olen, sizeof d->ob - d->on, (const uint8_t *)d->q, m);
  ERR_clear_error();
  if (!ok) return 0;
  d->padded = d->q[m - 1] == '=';
  d->on += olen;
  memmove(d->q, d->q + m, d->n - m);
  d->n -= m;
  if (d->flushed + d->on > d->max) return 0;
  return 1;
}

static int b64_put(pem_b64 *d, char c) {
  if (d->padded) return 0;
  d->q[d->n++] = c;
  d->chars++;
  return d->n < sizeof d->q || b64_decode(d, d->n);
}

static int b64_save(pem_b64 *d) {
  if (!b64_decode(d, d->n - d->n % 4)) return 0;
  memcpy(d->save_q, d->q, d->n);
  d->save_n = d->n;
  d->save_out = d->flushed + d->on;
  d->save_chars = d->chars;
  d->save_padded = d->padded;
  return 1;
}

static int b64_rollback(pem_b64 *d) {
  if (d->save_out >= d->flushed) {
    d->on = (size_t)(d->save_out - d->flushed);
  } else {
    if (ftruncate(d->fd, (off_t)d->save_out) != 0 || lseek(d->fd, (off_t)d->save_out, SEEK_SET) < 0) {
      d->werr = errno;
      return 0;
    }
    d->flushed = d->save_out;
    d->on = 0;
  }
  memcpy(d->q, d->save_q, d->save_n);
  d->n = d->save_n;
  d->chars = d->save_chars;
  d->padded = d->save_padded;
  return 1;
}

static int is_b64(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=';
}

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

enum { B_FIRST, B_B64, B_HSKIP, B_HLS, B_HCONT, B_CAND };

static ssize_t read_fd(void *ctx, void *p, size_t n) {
  return read(*(int *)ctx, p, n);
}

int cb_pem_stream(int in_fd, int out_fd, int (*want)(const char *label, size_t n), size_t chunk, uint64_t max_out,
                  cb_pem_stream_result *res, char *err, size_t errlen) {
  return cb_pem_stream_from(read_fd, &in_fd, out_fd, want, chunk, max_out, res, err, errlen);
}

int cb_pem_stream_from(cb_pem_read_fn in, void *ctx, int out_fd, int (*want)(const char *label, size_t n),
                       size_t chunk, uint64_t max_out, cb_pem_stream_result *res, char *err, size_t errlen) {
  memset(res, 0, sizeof *res);
  pem_rd r = {in, ctx, 0, 0, NULL, 0, 0, 0, chunk ? chunk : (1u << 20)};
  r.cap = r.chunk + PEM_LOOK;
  pem_b64 *d = calloc(1, sizeof *d);
  r.buf = malloc(r.cap);
  int ret = 0, found = 0, at_ls = 1;
  size_t line = 1, begin_line = 0;
  if (!d || !r.buf) {
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  d->fd = out_fd;
  d->max = max_out;
  if (rd_avail(&r, 3) >= 3 && memcmp(r.buf + r.pos, "\xEF\xBB\xBF", 3) == 0) r.pos += 3;
  for (;;) {
    /* between blocks: "-----BEGIN " at the start of a line (after blanks) starts one */
    if (!rd_avail(&r, 1)) break;
    uint8_t c = r.buf[r.pos];
    if (c == '-' && at_ls) {
      size_t a = rd_avail(&r, PEM_LOOK);
      const uint8_t *p = r.buf + r.pos;
      if (a >= 11 && memcmp(p, "-----BEGIN ", 11) == 0) {
        if (found) {
          res->others = 1; /* what follows the block is not read further */
          ret = 1;
          goto done;
        }
        const char *label = (const char *)p + 11;
        size_t la = a - 11 < 85 ? a - 11 : 85;
        const char *dash = find(label, la, "-----", 5);
        size_t dl = dash ? (size_t)(dash - label) : 0;
        begin_line = line;
        if (!dash || dl > 80 || memchr(label, '\n', dl)) goto truncated;
        char endline[100];
        memcpy(endline, "-----END ", 9);
        memcpy(endline + 9, label, dl);
        memcpy(endline + 9 + dl, "-----", 5);
        size_t elen = 14 + dl;
        int wanted = want(label, dl);
        r.pos += 11 + dl + 5;
        at_ls = 0;
        while (rd_avail(&r, 1) && (r.buf[r.pos] == ' ' || r.buf[r.pos] == '\t' || r.buf[r.pos] == '\r')) {
          if (r.buf[r.pos] == '\r') at_ls = 1;
          r.pos++;
        }
        if (rd_avail(&r, 1) && r.buf[r.pos] == '\n') {
          r.pos++;
          line++;
          at_ls = 1;
        }
        if (!wanted) res->others = 1;
        int mode = B_FIRST, line_bad = 0, blank = 0;
        for (;;) {
          if (!rd_avail(&r, 1)) goto truncated;
          c = r.buf[r.pos];
          if (c == '-') {
            a = rd_avail(&r, elen > 11 ? elen : 11);
            p = r.buf + r.pos;
            if (a >= elen && memcmp(p, endline, elen) == 0) {
              r.pos += elen;
              at_ls = 0;
              break;
            }
            if (at_ls && a >= 11 && memcmp(p, "-----BEGIN ", 11) == 0) goto truncated;
          }
          r.pos++;
          if (c == '\n') line++;
          at_ls = c == '\n' || c == '\r' || (at_ls && (c == ' ' || c == '\t'));
          if (!wanted) continue;
          /* the body: RFC 1421 headers skipped as skip_headers does, then base64 */
        again:
          switch (mode) {
          case B_FIRST:
          case B_CAND:
            if (c == ':') {
              if (!b64_rollback(d)) goto bad;
              mode = B_HSKIP;
            } else if (c == '\n') {
              if (line_bad) goto bad;
              mode = B_B64;
            } else if (!is_space(c) && !line_bad && (!is_b64(c) || !b64_put(d, (char)c))) {
              line_bad = 1;
            }
            break;
          case B_B64:
            if (!is_space(c) && (!is_b64(c) || !b64_put(d, (char)c))) goto bad;
            break;
          case B_HSKIP:
            if (c == '\n') mode = B_HLS;
            break;
          case B_HLS:
            if (c == '\n') {
              mode = B_B64;
            } else if (c == ' ' || c == '\t') {
              mode = B_HCONT;
              blank = 1;
            } else {
              if (!b64_save(d)) goto bad;
              mode = B_CAND;
              line_bad = 0;
              goto again;
            }
            break;
          case B_HCONT:
            if (c == '\n') mode = blank ? B_B64 : B_HLS;
            else if (c != ' ' && c != '\t' && c != '\r') blank = 0;
            break;
          }
        }
        if (!wanted) continue;
        if (((mode == B_FIRST || mode == B_CAND) && line_bad) || mode == B_HSKIP || mode == B_HLS || mode == B_HCONT)
          goto bad;
        if (d->n % 4 || !b64_decode(d, d->n) || d->chars == 0 || !b64_flush(d)) goto bad;
        found = 1;
        res->line = begin_line;
        res->der_len = d->flushed;
        continue;
      }
    }
    r.pos++;
    if (c == '\n') line++;
    at_ls = c == '\n' || c == '\r' || (at_ls && (c == ' ' || c == '\t'));
  }
  if (r.err) {
    snprintf(err, errlen, "cannot read: %s", strerror(r.err));
    goto done;
  }
  ret = found ? 1 : -1;
  goto done;
truncated:
  if (r.err) snprintf(err, errlen, "cannot read: %s", strerror(r.err));
  else snprintf(err, errlen, "truncated PEM: no END line for the block at line %zu", begin_line);
  goto done;
bad:
  if (d->werr) snprintf(err, errlen, "cannot write the decoded PEM: %s", strerror(d->werr));
  else if (d->flushed + d->on > d->max) snprintf(err, errlen, "CRL too large (more than %llu bytes decoded)", (unsigned long long)d->max);
  else snprintf(err, errlen, "bad base64 in the PEM block at line %zu", begin_line);
done:
  if (d) OPENSSL_cleanse(d, sizeof *d);
  free(d);
  free(r.buf);
  return ret;
}
