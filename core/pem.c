/* pem.c: PEM blocks in real-world text (see pem.h). */
#include "pem.h"

#include "cb.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <openssl/base64.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>

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

static int decode_clean(const char *s, size_t len, uint8_t **out, size_t *out_len) {
  char *clean = malloc(len + 1);
  size_t n = 0, cap;
  *out = NULL;
  *out_len = 0;
  if (!clean) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') continue;
    clean[n++] = c;
  }
  if (n == 0 || !EVP_DecodedLength(&cap, n)) {
    free(clean);
    return 0;
  }
  uint8_t *buf = malloc(cap ? cap : 1);
  if (!buf) {
    free(clean);
    return 0;
  }
  if (!EVP_DecodeBase64(buf, out_len, cap, (const uint8_t *)clean, n)) {
    free(clean);
    free(buf);
    *out_len = 0;
    return 0;
  }
  free(clean);
  *out = buf;
  return 1;
}

int cb_pem_decode(const cb_pem_block *b, uint8_t **out, size_t *out_len) {
  size_t start = skip_headers(b->body, b->body_len);
  return decode_clean(b->body + start, b->body_len - start, out, out_len);
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

int cb_base64_armorless(const char *data, size_t len, uint8_t **out, size_t *out_len) {
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
  return decode_clean(data + p, len - p, out, out_len);
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

void cb_pem_push_labels(lua_State *L, const char *data, size_t len) {
  /* distinct labels only: a bundle of 40 keys says so once */
  struct { const char *p; size_t n; } seen[8];
  int nseen = 0, count = 0, r;
  size_t pos = 0;
  cb_pem_block blk;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (nseen < 8 && (r = cb_pem_next(data, len, &pos, &count, &blk)) != 0) {
    int dup = blk.label_len == 0;
    for (int i = 0; i < nseen && !dup; i++)
      dup = seen[i].n == blk.label_len && memcmp(seen[i].p, blk.label, blk.label_len) == 0;
    if (dup) continue;
    if (nseen > 0) luaL_addstring(&b, ", ");
    seen[nseen].p = blk.label;
    seen[nseen++].n = blk.label_len;
    luaL_addlstring(&b, blk.label, blk.label_len);
  }
  luaL_pushresult(&b);
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
