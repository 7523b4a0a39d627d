/* archive.c: `_certbench.archive`, the containers CRLs and certificates arrive in: ZIP
 * (libzip, read from memory), GZIP (zlib), tar (plain, or compressed with gzip, bzip2 or xz)
 * and lone bzip2/xz files (libarchive, loaded on first use), PEM text, DER and PKCS#7
 * SignedData (.p7c/.p7b).
 *
 * Archives come from the network, so every byte of output is paid for: a reader inflates in
 * chunks and checks the limits of a shared budget after each one (member size, total size,
 * ratio per member and overall, measured on the bytes actually consumed), so a zip bomb stops
 * after about a megabyte of output instead of allocating what its headers announce.
 * Policy (defaults, nesting, naming, what counts as a CRL) lives in core/archive.lua. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zip.h>
#include <zlib.h>

#include <openssl/base64.h>
#include <openssl/bytestring.h>

#include "cb.h"
#include "pem.h"
#include "dynlib.h"

/* libzip is opened on first use (core/lib/dynlib.h): need_zip() before the first call. */
#define CB_ZIP_FUNCS(X) \
  X(zip_close) X(zip_compression_method_supported) X(zip_dir_add) X(zip_discard)               \
  X(zip_error_code_zip) X(zip_error_fini) X(zip_error_init) X(zip_error_strerror)              \
  X(zip_fclose) X(zip_file_add) X(zip_file_get_error) X(zip_file_set_mtime)                    \
  X(zip_file_strerror) X(zip_fopen_index) X(zip_fread) X(zip_get_num_entries)                  \
  X(zip_open_from_source) X(zip_set_file_compression) X(zip_source_buffer)                     \
  X(zip_source_buffer_create) X(zip_source_close) X(zip_source_free) X(zip_source_keep)        \
  X(zip_source_open) X(zip_source_read) X(zip_source_stat) X(zip_stat_index)                   \
  X(zip_stat_init) X(zip_strerror) X(zip_libzip_version)
static struct {
  CB_ZIP_FUNCS(CB_DYNLIB_FIELD)
} zipfn;
#define ZIP_SYM(f) CB_DYNLIB_SYM(zipfn, f)
static const cb_dynsym zip_syms[] = {CB_ZIP_FUNCS(ZIP_SYM){NULL, NULL}};
#undef ZIP_SYM
static cb_dynlib libzip = {.soname = "libzip.so.4", .syms = zip_syms};
#define zip_close (*zipfn.zip_close)
#define zip_compression_method_supported (*zipfn.zip_compression_method_supported)
#define zip_dir_add (*zipfn.zip_dir_add)
#define zip_discard (*zipfn.zip_discard)
#define zip_error_code_zip (*zipfn.zip_error_code_zip)
#define zip_error_fini (*zipfn.zip_error_fini)
#define zip_error_init (*zipfn.zip_error_init)
#define zip_error_strerror (*zipfn.zip_error_strerror)
#define zip_fclose (*zipfn.zip_fclose)
#define zip_file_add (*zipfn.zip_file_add)
#define zip_file_get_error (*zipfn.zip_file_get_error)
#define zip_file_set_mtime (*zipfn.zip_file_set_mtime)
#define zip_file_strerror (*zipfn.zip_file_strerror)
#define zip_fopen_index (*zipfn.zip_fopen_index)
#define zip_fread (*zipfn.zip_fread)
#define zip_get_num_entries (*zipfn.zip_get_num_entries)
#define zip_open_from_source (*zipfn.zip_open_from_source)
#define zip_set_file_compression (*zipfn.zip_set_file_compression)
#define zip_source_buffer (*zipfn.zip_source_buffer)
#define zip_source_buffer_create (*zipfn.zip_source_buffer_create)
#define zip_source_close (*zipfn.zip_source_close)
#define zip_source_free (*zipfn.zip_source_free)
#define zip_source_keep (*zipfn.zip_source_keep)
#define zip_source_open (*zipfn.zip_source_open)
#define zip_source_read (*zipfn.zip_source_read)
#define zip_source_stat (*zipfn.zip_source_stat)
#define zip_stat_index (*zipfn.zip_stat_index)
#define zip_stat_init (*zipfn.zip_stat_init)
#define zip_strerror (*zipfn.zip_strerror)
#define zip_libzip_version (*zipfn.zip_libzip_version)

/* need_zip opens libzip once; 1, or 0 with msg ("zip: cannot load libzip: ..."). */
static int need_zip(char *msg, size_t len) {
  if (cb_dynlib_load(&libzip)) return 1;
  snprintf(msg, len, "zip: cannot load libzip: %s", libzip.error);
  return 0;
}

#define BUDGET_MT "certbench.archive.budget"
#define READER_MT "certbench.archive.reader"
#define ZIPW_MT "certbench.archive.zipwriter"
#define CHUNK ((size_t)64 * 1024)
#define MSG_MAX 512

/* 1.2.840.113549.1.7.2, pkcs7-signedData */
static const uint8_t OID_SIGNED_DATA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};

/* ---- failures --------------------------------------------------------------------------- */

/* A failure of a reader: its message and its code, one of the stable codes core/archive.lua
 * lists (callers decide on the code, never on the message). */
typedef struct {
  char msg[MSG_MAX];
  const char *code;
} arerr;

/* seterr formats e's message and sets its code; returns 0 (for `return seterr(...)`). */
__attribute__((format(printf, 3, 4))) static int seterr(arerr *e, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  e->code = code;
  return 0;
}

/* push_err pushes nil, e's message, e's code: 3 results. */
static int push_err(lua_State *L, const arerr *e) {
  lua_pushnil(L);
  lua_pushstring(L, e->msg);
  lua_pushstring(L, e->code);
  return 3;
}

/* fail_code pushes nil, a message formatted as lua_pushfstring does (%I, %s, %d), and code:
 * 3 results. */
static int fail_code(lua_State *L, const char *code, const char *fmt, ...) {
  va_list ap;
  lua_pushnil(L);
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_pushstring(L, code);
  return 3;
}

/* ---- limits ---------------------------------------------------------------------------- */

typedef struct {
  lua_Integer max_members, max_total, max_member, max_ratio, ratio_grace;
  lua_Integer input; /* size of the outermost data, the base of the overall ratio */
  lua_Integer members, total;
} budget;

/* c.budget(max_members, max_total, max_member, max_ratio, ratio_grace, input) -> budget */
static int l_budget(lua_State *L) {
  budget *b = cb_newudata(L, sizeof *b, BUDGET_MT);
  b->max_members = luaL_checkinteger(L, 1);
  b->max_total = luaL_checkinteger(L, 2);
  b->max_member = luaL_checkinteger(L, 3);
  b->max_ratio = luaL_checkinteger(L, 4);
  b->ratio_grace = luaL_checkinteger(L, 5);
  b->input = luaL_checkinteger(L, 6);
  return 1;
}

/* budget:used() -> members, total */
static int l_budget_used(lua_State *L) {
  budget *b = luaL_checkudata(L, 1, BUDGET_MT);
  lua_pushinteger(L, b->members);
  lua_pushinteger(L, b->total);
  return 2;
}

/* over_limit checks a member being inflated: out bytes produced so far from in bytes of
 * compressed input. Returns 1 and an error naming the member and the limit when one is
 * exceeded (its code: the limit's name). Ratios apply past ratio_grace bytes, so small
 * compressible files pass. */
static int over_limit(const budget *b, const char *name, uint64_t out, uint64_t in, arerr *e) {
  char sz[32];
  uint64_t total = (uint64_t)b->total + out;
  if (out > (uint64_t)b->max_member) {
    seterr(e, "max_member", "member %s is larger than %s (max_member)", name,
             cb_size_text(sz, sizeof sz, b->max_member));
    return 1;
  }
  if (total > (uint64_t)b->max_total) {
    seterr(e, "max_total", "zip bomb? the archive inflates past %s in total (max_total), at member %s",
             cb_size_text(sz, sizeof sz, b->max_total), name);
    return 1;
  }
  if (out > (uint64_t)b->ratio_grace &&
      (double)out > (double)b->max_ratio * (double)(in ? in : 1)) {
    seterr(e, "max_ratio", "zip bomb? member %s inflates past %lld:1 (max_ratio)", name,
             (long long)b->max_ratio);
    return 1;
  }
  if (total > (uint64_t)b->ratio_grace &&
      (double)total > (double)b->max_ratio * (double)(b->input ? b->input : 1)) {
    seterr(e, "max_ratio", "zip bomb? the archive inflates past %lld:1 overall (max_ratio), at member %s",
             (long long)b->max_ratio, name);
    return 1;
  }
  return 0;
}

/* ---- output buffer ---------------------------------------------------------------------- */

typedef struct {
  unsigned char *p;
  size_t len, cap;
} outbuf;

/* out_reserve makes room for n more bytes, growing geometrically from a small start (never
 * by what a header announces) up to limit: the limits are checked after every chunk, so a
 * member never holds more than max_member + CHUNK bytes. */
static int out_reserve(outbuf *o, size_t n, size_t limit) {
  if (o->cap - o->len >= n) return 1;
  size_t cap = o->cap ? o->cap : CHUNK;
  while (cap - o->len < n) {
    if (cap > SIZE_MAX / 2) return 0;
    cap *= 2;
  }
  if (cap > limit && o->len + n <= limit) cap = limit;
  unsigned char *p = realloc(o->p, cap);
  if (!p) return 0;
  o->p = p;
  o->cap = cap;
  return 1;
}

static void out_free(outbuf *o) {
  free(o->p);
  o->p = NULL;
  o->len = o->cap = 0;
}

static size_t out_limit(const budget *b) {
  uint64_t lim = (uint64_t)b->max_member + CHUNK;
  return lim > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)lim;
}

/* ---- readers ---------------------------------------------------------------------------- */

enum { K_ZIP = 1, K_GZIP = 2, K_TAR = 3 };

/* ---- libarchive, loaded on first use ------------------------------------------------------- */

/* Only tar and the compressors zlib does not cover need libarchive, so it is opened the first
 * time a tar, bzip2 or xz file is read, through core/lib/dynlib.h as libzip is (libarchive13
 * depends on OpenSSL's libcrypto.so.3: dynlib's isolation keeps it off BoringSSL). */
#define LA_FUNCS(X) \
  X(archive_read_new) X(archive_read_support_filter_all) X(archive_read_support_format_tar) \
  X(archive_read_support_format_raw) X(archive_read_open_memory) X(archive_read_next_header) \
  X(archive_read_data) X(archive_read_free) X(archive_error_string) X(archive_format) \
  X(archive_filter_bytes) X(archive_entry_pathname) X(archive_entry_filetype)

static struct {
  LA_FUNCS(CB_DYNLIB_FIELD)
} la;
#define LA_SYM(f) CB_DYNLIB_SYM(la, f)
static const cb_dynsym la_syms[] = {LA_FUNCS(LA_SYM){NULL, NULL}};
#undef LA_SYM
static cb_dynlib libarchive = {.soname = "libarchive.so.13", .syms = la_syms};

typedef struct {
  int kind;
  int done;
  zip_t *za;
  zip_file_t *zf;
  zip_int64_t next, count;
  z_stream z;
  int z_live;
  outbuf out;
  unsigned char *inbuf;
  const char *data; /* the archive, kept alive by uservalue 1 */
  size_t len;
  struct archive *ar; /* K_TAR */
} reader;

static void reader_release(reader *r) {
  if (r->ar) la.archive_read_free(r->ar);
  r->ar = NULL;
  if (r->zf) zip_fclose(r->zf);
  r->zf = NULL;
  if (r->za) zip_discard(r->za);
  r->za = NULL;
  if (r->z_live) inflateEnd(&r->z);
  r->z_live = 0;
  out_free(&r->out);
  free(r->inbuf);
  r->inbuf = NULL;
}

static int l_reader_gc(lua_State *L) {
  reader *r = luaL_checkudata(L, 1, READER_MT);
  reader_release(r);
  r->done = 1;
  return 0;
}

/* has_eocd: an end of central directory record is where one can be (the last 64 KiB and
 * 22 bytes), so a zip libzip calls "not a zip" is one whose central directory is broken. */
static int has_eocd(const char *data, size_t len) {
  size_t from = len > 65557 ? len - 65557 : 0;
  const char *end = data + len, *p = data + from;
  while ((p = memmem(p, (size_t)(end - p), "PK\5\6", 4)) != NULL) {
    if (end - p >= 22) return 1;
    p++;
  }
  return 0;
}

/* zip_error_text turns libzip's error at open into ours. data: the archive (NULL if none). */
static void zip_error_text(zip_error_t *ze, arerr *e, const char *data, size_t len) {
  int code = zip_error_code_zip(ze);
  switch (code) {
  case ZIP_ER_NOZIP:
    if (data && has_eocd(data, len))
      seterr(e, "corrupt", "zip: bad central directory (%s)", zip_error_strerror(ze));
    else
      seterr(e, "truncated", "zip: not a zip archive, or truncated (no end of central directory)");
    break;
  case ZIP_ER_EXISTS:
    seterr(e, "corrupt", "zip: bad central directory (two members with the same name)");
    break;
  case ZIP_ER_INCONS:
  case ZIP_ER_EOF:
  case ZIP_ER_READ:
  case ZIP_ER_SEEK:
    seterr(e, "corrupt", "zip: bad central directory (%s)", zip_error_strerror(ze));
    break;
  case ZIP_ER_MEMORY:
    seterr(e, "nomem", "zip: %s", zip_error_strerror(ze));
    break;
  default:
    seterr(e, "corrupt", "zip: %s", zip_error_strerror(ze));
  }
}

/* c.reader(data, kind, budget, prefix, fallback) -> reader | nil, err, code
 * Member names are prefix .. (name in the zip | gzip FNAME | fallback). */
static int l_reader(lua_State *L) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len);
  static const char *const kinds[] = {"zip", "gzip", "tar", NULL};
  int kind = luaL_checkoption(L, 2, NULL, kinds) + 1;
  luaL_checkudata(L, 3, BUDGET_MT);
  luaL_checkstring(L, 4);
  luaL_checkstring(L, 5);
  reader *r = lua_newuserdatauv(L, sizeof *r, 4);
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, READER_MT);
  for (int i = 1; i <= 4; i++) {
    lua_pushvalue(L, i == 1 ? 1 : i + 1);
    lua_setiuservalue(L, -2, i);
  }
  r->kind = kind;
  r->data = data;
  r->len = len;
  if (kind == K_ZIP) {
    arerr e;
    if (!need_zip(e.msg, sizeof e.msg)) {
      e.code = "unavailable";
      return push_err(L, &e);
    }
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
    if (!src) {
      zip_error_text(&ze, &e, NULL, 0);
      zip_error_fini(&ze);
      return push_err(L, &e);
    }
    /* read-only, and never a password: certbench does not read encrypted archives */
    r->za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!r->za) {
      zip_source_free(src);
      zip_error_text(&ze, &e, data, len);
      zip_error_fini(&ze);
      return push_err(L, &e);
    }
    zip_error_fini(&ze);
    r->count = zip_get_num_entries(r->za, 0);
  } else if (kind == K_TAR) {
    if (!cb_dynlib_load(&libarchive)) return fail_code(L, "unavailable", "tar: %s", libarchive.error);
    /* tar in any of libarchive's compressions; "raw" for a lone bzip2 or xz file (libarchive
     * tries it last, after tar has declined) */
    if (!(r->ar = la.archive_read_new())) return fail_code(L, "nomem", "tar: out of memory");
    if (la.archive_read_support_filter_all(r->ar) != ARCHIVE_OK ||
        la.archive_read_support_format_tar(r->ar) != ARCHIVE_OK ||
        la.archive_read_support_format_raw(r->ar) != ARCHIVE_OK ||
        la.archive_read_open_memory(r->ar, data, len) != ARCHIVE_OK) {
      const char *e = la.archive_error_string(r->ar);
      lua_pushfstring(L, "tar: %s", e ? e : "cannot read the archive");
      reader_release(r);
      lua_pushnil(L);
      lua_insert(L, -2);
      lua_pushliteral(L, "corrupt");
      return 3;
    }
  }
  return 1;
}

/* reader_budget and reader_uv_string fetch the uservalues: 2 the budget, 3 the prefix,
 * 4 the fallback name. */
static budget *reader_budget(lua_State *L, int idx) {
  lua_getiuservalue(L, idx, 2);
  budget *b = lua_touserdata(L, -1);
  lua_pop(L, 1); /* the reader keeps it alive */
  return b;
}

static const char *reader_uv_string(lua_State *L, int idx, int n) {
  lua_getiuservalue(L, idx, n);
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1);
  return s;
}

/* gz_basename: the last path element of the header's FNAME ("" when absent). FNAME is an
 * untrusted label: no folders from it. */
static const char *gz_basename(gz_header *head) {
  if (head->done != 1 || !head->name) return "";
  head->name[head->name_max] = '\0';
  const char *s = (const char *)head->name, *slash = strrchr(s, '/');
  return slash ? slash + 1 : s;
}

/* inflate_gzip inflates the whole gzip stream of r->data into r->out under the budget's
 * limits, checked after every chunk. Returns 1, or 0 with e. */
static int inflate_gzip(reader *r, budget *b, const char *prefix, const char *fallback,
                        gz_header *head, arerr *e) {
  const unsigned char *in = (const unsigned char *)r->data;
  size_t n = r->len, off = 0;
  char name[MSG_MAX / 2];
  int named = 0;
  snprintf(name, sizeof name, "%s%s", prefix, fallback);
  for (;;) {
    if (r->z.avail_in == 0 && off < n) {
      size_t piece = n - off > (size_t)1 << 30 ? (size_t)1 << 30 : n - off;
      r->z.next_in = (unsigned char *)in + off;
      r->z.avail_in = (uInt)piece;
      off += piece;
    }
    if (!out_reserve(&r->out, CHUNK, out_limit(b))) {
      return seterr(e, "nomem", "gzip: out of memory inflating %s", name);
    }
    r->z.next_out = r->out.p + r->out.len;
    r->z.avail_out = (uInt)CHUNK;
    int ret = inflate(&r->z, Z_NO_FLUSH);
    size_t produced = CHUNK - r->z.avail_out;
    r->out.len += produced;
    size_t consumed = off - r->z.avail_in;
    if (!named && head->done == 1) {
      /* messages name the member as next() will */
      const char *base = gz_basename(head);
      if (base[0]) snprintf(name, sizeof name, "%s%s", prefix, base);
      named = 1;
    }
    if (over_limit(b, name, r->out.len, consumed, e)) return 0;
    if (ret == Z_STREAM_END) {
      /* concatenated members inflate to one file, as gunzip does; zero padding after the
       * last member (tape blocks) is allowed, anything else is not */
      size_t rest = n - consumed;
      const unsigned char *p = in + consumed;
      if (rest >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        inflateReset(&r->z);
        r->z.avail_in = 0;
        off = consumed;
        continue;
      }
      for (size_t i = 0; i < rest; i++)
        if (p[i] != 0) {
          return seterr(e, "corrupt", "gzip: %s: trailing garbage after the compressed data", name);
        }
      return 1;
    }
    if (ret == Z_OK || ret == Z_BUF_ERROR) {
      if (r->z.avail_in == 0 && off >= n && produced == 0) {
        return seterr(e, "truncated", "truncated gzip stream (%s)", name);
      }
      continue;
    }
    return seterr(e, ret == Z_MEM_ERROR ? "nomem" : "corrupt", "gzip: %s: corrupt data (%s)", name,
                  ret == Z_MEM_ERROR ? "out of memory" : r->z.msg ? r->z.msg : "inflate failed");
  }
}

/* cb_gz (cb.h): inflate_gzip's loop over a file instead of memory, handing each piece to the
 * caller as it asks, so a gzip CRL is never held whole. The same budget and over_limit, so the
 * same limits give the same codes as certbench.archive; members that follow one another are one
 * stream, as in inflate_gzip and gzip -d. */
struct cb_gz {
  int fd, live, named, eof, done, failed, er;
  budget b;
  arerr e;
  z_stream z;
  gz_header head;
  char fname[257], name[MSG_MAX / 2];
  unsigned char *ib;
  size_t chunk;
  uint64_t rd, out;
};

cb_gz *cb_gz_open(int in_fd, uint64_t in_size, const cb_gz_limits *lim, size_t chunk, const char *fallback) {
  cb_gz *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->fd = in_fd;
  g->b = (budget){.max_members = 1, .max_total = lim->max_total, .max_member = lim->max_member,
                  .max_ratio = lim->max_ratio, .ratio_grace = lim->ratio_grace, .input = (lua_Integer)in_size};
  g->chunk = chunk ? chunk : (size_t)1 << 20;
  snprintf(g->name, sizeof g->name, "%s", fallback && *fallback ? fallback : "data");
  g->head.name = (Bytef *)g->fname;
  g->head.name_max = sizeof g->fname - 1;
  if (!(g->ib = malloc(g->chunk)) || inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
    free(g->ib);
    free(g);
    return NULL;
  }
  g->live = 1;
  inflateGetHeader(&g->z, &g->head);
  return g;
}

void cb_gz_close(cb_gz *g) {
  if (!g) return;
  if (g->live) inflateEnd(&g->z);
  free(g->ib);
  free(g);
}

/* gz_fill reads the next piece of the file when the input is used up. Returns 1, 0 on an
 * error (set). */
static int gz_fill(cb_gz *g) {
  while (g->z.avail_in == 0 && !g->eof) {
    ssize_t n = read(g->fd, g->ib, g->chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      g->er = errno;
      seterr(&g->e, "io", "%s", strerror(errno));
      return 0;
    }
    if (n == 0) g->eof = 1;
    g->z.next_in = g->ib;
    g->z.avail_in = (uInt)n;
    g->rd += (uint64_t)n;
  }
  return 1;
}

static ssize_t gz_failed(cb_gz *g) {
  g->failed = 1;
  errno = g->er ? g->er : EIO;
  return -1;
}

ssize_t cb_gz_read(cb_gz *g, void *p, size_t n) {
  if (g->failed) return gz_failed(g);
  if (g->done || n == 0) return 0;
  if (n > (size_t)1 << 30) n = (size_t)1 << 30;
  for (;;) {
    if (!gz_fill(g)) return gz_failed(g);
    g->z.next_out = p;
    g->z.avail_out = (uInt)n;
    int ret = inflate(&g->z, Z_NO_FLUSH);
    size_t produced = n - g->z.avail_out;
    g->out += produced;
    if (!g->named && g->head.done == 1) {
      const char *base = gz_basename(&g->head);
      if (base[0]) snprintf(g->name, sizeof g->name, "%s", base);
      g->named = 1;
    }
    /* the limits before the bytes are handed over: nothing past them is used */
    if (over_limit(&g->b, g->name, g->out, g->rd - g->z.avail_in, &g->e)) return gz_failed(g);
    if (ret == Z_STREAM_END) {
      /* what follows: another member right after is more of the stream (the header of the
       * first names it), zero padding after the last is allowed, anything else is garbage */
      for (size_t k = 0;; k++) {
        if (!gz_fill(g)) return gz_failed(g);
        if (g->z.avail_in == 0) {
          g->done = 1;
          break;
        }
        unsigned char c = *g->z.next_in;
        if (k == 0 && c == 0x1f) {
          if (inflateReset(&g->z) != Z_OK) {
            seterr(&g->e, "nomem", "gzip: %s: out of memory", g->name);
            return gz_failed(g);
          }
          break;
        }
        g->z.next_in++;
        g->z.avail_in--;
        if (c == 0) continue;
        seterr(&g->e, "corrupt", "gzip: %s: trailing garbage after the compressed data", g->name);
        return gz_failed(g);
      }
      if (produced || g->done) return (ssize_t)produced;
      continue;
    }
    if (ret == Z_OK || ret == Z_BUF_ERROR) {
      if (produced) return (ssize_t)produced;
      if (g->z.avail_in == 0 && g->eof) {
        seterr(&g->e, "truncated", "truncated gzip stream (%s)", g->name);
        return gz_failed(g);
      }
      continue;
    }
    seterr(&g->e, ret == Z_MEM_ERROR ? "nomem" : "corrupt", "gzip: %s: corrupt data (%s)", g->name,
           ret == Z_MEM_ERROR ? "out of memory" : g->z.msg ? g->z.msg : "inflate failed");
    return gz_failed(g);
  }
}

const char *cb_gz_member(cb_gz *g) {
  return g->named && g->head.done == 1 ? gz_basename(&g->head) : "";
}

const char *cb_gz_error(const cb_gz *g, const char **code, int *er) {
  if (!g->failed) return NULL;
  if (code) *code = g->e.code;
  if (er) *er = g->er;
  return g->e.msg;
}

/* next for a gzip reader: the one member, the whole inflated stream. */
static int gzip_next(lua_State *L, reader *r, budget *b) {
  const char *prefix = reader_uv_string(L, 1, 3);
  const char *fallback = reader_uv_string(L, 1, 4);
  char fname[257];
  arerr e;
  gz_header head;
  r->done = 1;
  memset(&head, 0, sizeof head);
  memset(fname, 0, sizeof fname);
  head.name = (Bytef *)fname;
  head.name_max = sizeof fname - 1;
  if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK) return fail_code(L, "nomem", "gzip: out of memory");
  r->z_live = 1;
  inflateGetHeader(&r->z, &head);
  int ok = inflate_gzip(r, b, prefix, fallback, &head, &e);
  inflateEnd(&r->z);
  r->z_live = 0;
  if (!ok) {
    out_free(&r->out);
    return push_err(L, &e);
  }
  const char *base = gz_basename(&head);
  lua_pushfstring(L, "%s%s", prefix, base[0] ? base : fallback);
  lua_pushlstring(L, (const char *)r->out.p, r->out.len);
  b->members++;
  b->total += (lua_Integer)r->out.len;
  out_free(&r->out);
  return 2;
}

/* zip_inflate reads member i of r->za into r->out: stored and deflated members through our
 * own zlib loop over the raw bytes (so the ratio is measured on the compressed bytes really
 * consumed), other methods libzip supports through zip_fread, measured against the
 * compressed size of the central directory, which libzip bounds by the archive. */
static int zip_inflate(reader *r, budget *b, zip_uint64_t i, const zip_stat_t *st,
                       const char *name, arerr *e) {
  int method = (st->valid & ZIP_STAT_COMP_METHOD) ? st->comp_method : ZIP_CM_STORE;
  int own = method == ZIP_CM_STORE || method == ZIP_CM_DEFLATE;
  if (!own && !zip_compression_method_supported(method, 0)) {
    return seterr(e, "unsupported", "zip: member %s uses compression method %d, which is not supported",
                  name, method);
  }
  r->zf = zip_fopen_index(r->za, i, own ? ZIP_FL_COMPRESSED : 0);
  if (!r->zf) {
    return seterr(e, "corrupt", "zip: member %s: %s", name, zip_strerror(r->za));
  }
  if (!r->inbuf && !(r->inbuf = malloc(CHUNK))) return seterr(e, "nomem", "zip: out of memory reading %s", name);
  uint64_t in_total = 0;
  int eof = 0;
  uLong crc = crc32(0, NULL, 0);
  if (method == ZIP_CM_DEFLATE) {
    memset(&r->z, 0, sizeof r->z);
    if (inflateInit2(&r->z, -MAX_WBITS) != Z_OK) return seterr(e, "nomem", "zip: out of memory reading %s", name);
    r->z_live = 1;
  }
  for (;;) {
    if (method != ZIP_CM_DEFLATE) {
      /* stored, or decompressed by libzip: read straight into the output */
      if (!out_reserve(&r->out, CHUNK, out_limit(b))) goto nomem;
      zip_int64_t got = zip_fread(r->zf, r->out.p + r->out.len, CHUNK);
      if (got < 0) goto readerr;
      if (got == 0) break;
      crc = crc32(crc, r->out.p + r->out.len, (uInt)got);
      r->out.len += (size_t)got;
      in_total = own ? r->out.len
                     : ((st->valid & ZIP_STAT_COMP_SIZE) ? st->comp_size : (uint64_t)r->len);
      if (over_limit(b, name, r->out.len, in_total, e)) return 0;
      continue;
    }
    if (r->z.avail_in == 0 && !eof) {
      zip_int64_t got = zip_fread(r->zf, r->inbuf, CHUNK);
      if (got < 0) goto readerr;
      if (got == 0) eof = 1;
      r->z.next_in = r->inbuf;
      r->z.avail_in = (uInt)got;
      in_total += (uint64_t)got;
    }
    if (!out_reserve(&r->out, CHUNK, out_limit(b))) goto nomem;
    r->z.next_out = r->out.p + r->out.len;
    r->z.avail_out = (uInt)CHUNK;
    int ret = inflate(&r->z, Z_NO_FLUSH);
    size_t produced = CHUNK - r->z.avail_out;
    crc = crc32(crc, r->out.p + r->out.len, (uInt)produced);
    r->out.len += produced;
    if (over_limit(b, name, r->out.len, in_total - r->z.avail_in, e)) return 0;
    if (ret == Z_STREAM_END) break;
    if (ret == Z_BUF_ERROR || ret == Z_OK) {
      if (eof && r->z.avail_in == 0 && produced == 0) {
        return seterr(e, "truncated", "zip: member %s: truncated compressed data", name);
      }
      continue;
    }
    return seterr(e, ret == Z_MEM_ERROR ? "nomem" : "corrupt", "zip: member %s: corrupt compressed data (%s)", name,
                  ret == Z_MEM_ERROR ? "out of memory" : r->z.msg ? r->z.msg : "inflate failed");
  }
  if (r->z_live) inflateEnd(&r->z);
  r->z_live = 0;
  zip_fclose(r->zf);
  r->zf = NULL;
  if (own) {
    /* libzip checks these when it decompresses; for raw reads it is our job */
    if ((st->valid & ZIP_STAT_SIZE) && st->size != r->out.len) {
      return seterr(e, "corrupt", "zip: member %s: inflates to %llu bytes, the central directory says %llu",
                    name, (unsigned long long)r->out.len, (unsigned long long)st->size);
    }
    if ((st->valid & ZIP_STAT_CRC) && st->crc != (zip_uint32_t)crc)
      return seterr(e, "corrupt", "zip: member %s: CRC mismatch (corrupt data)", name);
  }
  return 1;
nomem:
  return seterr(e, "nomem", "zip: out of memory reading %s", name);
readerr:
  switch (zip_error_code_zip(zip_file_get_error(r->zf))) {
  case ZIP_ER_CRC:
    return seterr(e, "corrupt", "zip: member %s: CRC mismatch (corrupt data)", name);
  case ZIP_ER_EOF:
    return seterr(e, "truncated", "zip: member %s: truncated or corrupt data (%s)", name,
                  zip_file_strerror(r->zf));
  case ZIP_ER_READ:
  case ZIP_ER_INCONS:
    return seterr(e, "corrupt", "zip: member %s: truncated or corrupt data (%s)", name,
                  zip_file_strerror(r->zf));
  case ZIP_ER_MEMORY:
    return seterr(e, "nomem", "zip: member %s: %s", name, zip_file_strerror(r->zf));
  default:
    return seterr(e, "corrupt", "zip: member %s: %s", name, zip_file_strerror(r->zf));
  }
}

/* push_member pushes the member read into r->out (name already pushed), counts it in the
 * budget and frees the buffer: 2 results. */
static int push_member(lua_State *L, reader *r, budget *b) {
  lua_pushlstring(L, (const char *)r->out.p, r->out.len);
  b->members++;
  b->total += (lua_Integer)r->out.len;
  out_free(&r->out);
  return 2;
}

/* fail_release ends the reader (its resources freed first) and returns nil, msg, code. */
static int fail_release(lua_State *L, reader *r, const arerr *e) {
  r->done = 1;
  reader_release(r);
  return push_err(L, e);
}

static int zip_next(lua_State *L, reader *r, budget *b) {
  const char *prefix = reader_uv_string(L, 1, 3);
  arerr e;
  while (r->next < r->count) {
    zip_uint64_t i = (zip_uint64_t)r->next++;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(r->za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) {
      r->done = 1;
      return fail_code(L, "corrupt", "zip: bad central directory (entry %d: %s)", (int)i, zip_strerror(r->za));
    }
    size_t nl = strlen(st.name);
    if (nl > 0 && st.name[nl - 1] == '/') continue; /* a folder */
    const char *name = lua_pushfstring(L, "%s%s", prefix, st.name);
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
      r->done = 1;
      return fail_code(L, "encrypted", "zip: member %s is encrypted; certbench does not read encrypted archives",
                     name);
    }
    if (b->members >= b->max_members) {
      r->done = 1;
      return fail_code(L, "max_members", "the archive has more than %I members (max_members), at member %s",
                     b->max_members, name);
    }
    if (!zip_inflate(r, b, i, &st, name, &e)) return fail_release(L, r, &e);
    return push_member(L, r, b);
  }
  r->done = 1;
  reader_release(r);
  return 0;
}

/* tar_next: the next regular file of a tar (or the one stream of a lone bzip2/xz file). A
 * member that is not a regular file (a link, a device) comes back as name, "", what it is:
 * the caller reports it instead of dropping it. */
static int tar_next(lua_State *L, reader *r, budget *b) {
  const char *prefix = reader_uv_string(L, 1, 3), *fallback = reader_uv_string(L, 1, 4);
  arerr fail;
  for (;;) {
    struct archive_entry *e;
    int rc = la.archive_read_next_header(r->ar, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      const char *es = la.archive_error_string(r->ar);
      seterr(&fail, "corrupt", "tar: %s", es ? es : "corrupt archive");
      return fail_release(L, r, &fail);
    }
    int raw = la.archive_format(r->ar) == ARCHIVE_FORMAT_RAW;
    const char *path = la.archive_entry_pathname(e);
    const char *name = lua_pushfstring(L, "%s%s", prefix, raw || !path ? fallback : path);
    unsigned type = la.archive_entry_filetype(e);
    if (type == AE_IFDIR) {
      lua_pop(L, 1);
      continue;
    }
    if (b->members >= b->max_members) {
      r->done = 1;
      reader_release(r);
      return fail_code(L, "max_members", "the archive has more than %I members (max_members), at member %s",
                     b->max_members, name);
    }
    if (type != AE_IFREG && !raw) {
      b->members++;
      lua_pushliteral(L, "");
      lua_pushstring(L, type == AE_IFLNK ? "a symbolic link" : type == AE_IFCHR || type == AE_IFBLK
                                                               ? "a device" : type == AE_IFIFO ? "a FIFO"
                                                               : "not a regular file");
      return 3;
    }
    int64_t in0 = la.archive_filter_bytes(r->ar, 0);
    for (;;) {
      if (!out_reserve(&r->out, CHUNK, out_limit(b))) {
        seterr(&fail, "nomem", "tar: out of memory reading %s", name);
        return fail_release(L, r, &fail);
      }
      la_ssize_t got = la.archive_read_data(r->ar, r->out.p + r->out.len, CHUNK);
      if (got < 0) {
        const char *es = la.archive_error_string(r->ar);
        seterr(&fail, "corrupt", "tar: member %s: %s", name, es ? es : "truncated or corrupt data");
        return fail_release(L, r, &fail);
      }
      if (got == 0) break;
      r->out.len += (size_t)got;
      /* compressed bytes consumed for this member: the ratio is measured on what was read */
      int64_t in = la.archive_filter_bytes(r->ar, 0) - in0;
      if (over_limit(b, name, r->out.len, in > 0 ? (uint64_t)in : 1, &fail)) return fail_release(L, r, &fail);
    }
    return push_member(L, r, b);
  }
  r->done = 1;
  reader_release(r);
  return 0;
}

/* reader:next() -> name, data[, not_a_file] | nothing at the end | nil, err, code */
static int l_reader_next(lua_State *L) {
  reader *r = luaL_checkudata(L, 1, READER_MT);
  if (r->done) return 0;
  budget *b = reader_budget(L, 1);
  if (r->kind == K_GZIP) {
    if (b->members >= b->max_members) {
      r->done = 1;
      return fail_code(L, "max_members", "the archive has more than %I members (max_members), at member %s%s",
                     b->max_members, reader_uv_string(L, 1, 3), reader_uv_string(L, 1, 4));
    }
    return gzip_next(L, r, b);
  }
  if (r->kind == K_TAR) return tar_next(L, r, b);
  return zip_next(L, r, b);
}

/* ---- content detection ------------------------------------------------------------------ */

static int has_signed_data_oid(CBS *content) {
  CBS oid;
  return CBS_get_asn1(content, &oid, CBS_ASN1_OBJECT) &&
         CBS_mem_equal(&oid, OID_SIGNED_DATA, sizeof OID_SIGNED_DATA);
}

/* der_whole: the data is exactly one BER/DER element with a definite length. */
static int der_whole(const uint8_t *p, size_t n, CBS *contents, unsigned *tag) {
  CBS cbs, elem;
  size_t hl;
  int ber, indef;
  CBS_init(&cbs, p, n);
  if (!CBS_get_any_ber_asn1_element(&cbs, &elem, tag, &hl, &ber, &indef) || indef ||
      CBS_len(&cbs) != 0)
    return 0;
  CBS_init(contents, CBS_data(&elem) + hl, CBS_len(&elem) - hl);
  return 1;
}

static int is_pkcs7_label(const char *s, size_t n) {
  return (n == 5 && !memcmp(s, "PKCS7", 5)) || (n == 3 && !memcmp(s, "CMS", 3)) ||
         (n == 19 && !memcmp(s, "PKCS #7 SIGNED DATA", 19));
}

/* c.detect(data) -> "zip" | "gzip" | "tar" | "bzip2" | "xz" | "pem" | "der" | "pkcs7" | "unknown" */
static int l_detect(lua_State *L) {
  size_t n;
  const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
  const char *kind = "unknown";
  CBS contents;
  unsigned tag;
  if (n >= 4 && p[0] == 'P' && p[1] == 'K' &&
      ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6) || (p[2] == 7 && p[3] == 8))) {
    kind = "zip";
  } else if (n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8) {
    kind = "gzip";
  } else if (n >= 512 && !memcmp(p + 257, "ustar", 5)) {
    kind = "tar"; /* POSIX ustar, GNU and pax tar all have the magic at 257 */
  } else if (n >= 4 && !memcmp(p, "BZh", 3) && p[3] >= '1' && p[3] <= '9') {
    kind = "bzip2";
  } else if (n >= 6 && !memcmp(p, "\xFD" "7zXZ\0", 6)) {
    kind = "xz";
  } else if (n >= 2 && p[0] == 0x30 && p[1] == 0x80) {
    /* indefinite lengths are BER, which only PKCS#7 from Windows uses */
    CBS cbs;
    CBS_init(&cbs, p + 2, n - 2);
    if (has_signed_data_oid(&cbs)) kind = "pkcs7";
  } else if (n >= 2 && p[0] == 0x30 && der_whole(p, n, &contents, &tag) &&
             tag == CBS_ASN1_SEQUENCE) {
    kind = has_signed_data_oid(&contents) ? "pkcs7" : "der";
  } else {
    cb_pem_block b;
    size_t pos = 0;
    int count = 0;
    if (cb_pem_next((const char *)p, n, &pos, &count, &b) != 0)
      kind = is_pkcs7_label(b.label, b.label_len) ? "pkcs7" : "pem";
  }
  lua_pushstring(L, kind);
  return 1;
}

/* ---- DER and PKCS#7 --------------------------------------------------------------------- */

/* der_kind_of classifies one DER SEQUENCE by shape, without parsing it as an object:
 * a CRL's tbsCertList has [INTEGER] AlgorithmIdentifier Name Time, a certificate's
 * tbsCertificate [0] INTEGER AlgorithmIdentifier Name Validity(SEQUENCE). */
static const char *der_kind_of(const uint8_t *p, size_t n) {
  CBS cbs, top, tbs, skip;
  CBS_init(&cbs, p, n);
  if (!CBS_get_asn1(&cbs, &top, CBS_ASN1_SEQUENCE) || CBS_len(&cbs) != 0) return "other";
  if (CBS_peek_asn1_tag(&top, CBS_ASN1_OBJECT)) {
    CBS copy = top;
    return has_signed_data_oid(&copy) ? "pkcs7" : "other";
  }
  if (!CBS_get_asn1(&top, &tbs, CBS_ASN1_SEQUENCE)) return "other";
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 0) &&
      !CBS_get_any_asn1(&tbs, &skip, NULL))
    return "other";
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_INTEGER) && !CBS_get_asn1(&tbs, &skip, CBS_ASN1_INTEGER))
    return "other";
  if (!CBS_get_asn1(&tbs, &skip, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&tbs, &skip, CBS_ASN1_SEQUENCE))
    return "other";
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_UTCTIME) || CBS_peek_asn1_tag(&tbs, CBS_ASN1_GENERALIZEDTIME))
    return "crl";
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_SEQUENCE)) return "cert";
  return "other";
}

/* c.der_kind(der) -> "crl" | "cert" | "pkcs7" | "other" */
static int l_der_kind(lua_State *L) {
  size_t n;
  const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
  lua_pushstring(L, der_kind_of(p, n));
  return 1;
}

/* c.der_split(data) -> { der, ... } when data is one or more whole DER SEQUENCEs back to back
 * (what concatenated gzip members of DER files inflate to), else nil. */
static int l_der_split(lua_State *L) {
  size_t n;
  const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
  CBS cbs, elem;
  CBS_init(&cbs, p, n);
  if (n == 0) return 0;
  lua_newtable(L);
  int count = 0;
  while (CBS_len(&cbs) > 0) {
    if (!CBS_get_asn1_element(&cbs, &elem, CBS_ASN1_SEQUENCE)) return 0;
    lua_pushlstring(L, (const char *)CBS_data(&elem), CBS_len(&elem));
    lua_rawseti(L, -2, ++count);
  }
  return 1;
}

/* ber_get reads one BER element from cbs: elem is all of it, contents what is inside. An
 * indefinite length has no count to trust, so its end is found by walking the children up to
 * the end-of-contents octets; depth bounds the walk on hostile input. */
static int ber_get(CBS *cbs, CBS *elem, CBS *contents, unsigned *tag, int depth) {
  const uint8_t *start = CBS_data(cbs);
  CBS e;
  size_t hl;
  int ber, indef;
  if (depth > 64 || !CBS_get_any_ber_asn1_element(cbs, &e, tag, &hl, &ber, &indef)) return 0;
  if (!indef) {
    *elem = e;
    CBS_init(contents, CBS_data(&e) + hl, CBS_len(&e) - hl);
    return 1;
  }
  const uint8_t *inner = CBS_data(cbs);
  for (;;) {
    if (CBS_len(cbs) >= 2 && CBS_data(cbs)[0] == 0 && CBS_data(cbs)[1] == 0) {
      CBS_init(contents, inner, (size_t)(CBS_data(cbs) - inner));
      CBS_skip(cbs, 2);
      CBS_init(elem, start, (size_t)(CBS_data(cbs) - start));
      return 1;
    }
    CBS child, cc;
    unsigned ct;
    if (!ber_get(cbs, &child, &cc, &ct, depth + 1)) return 0;
  }
}

/* ber_expect reads the next element, which must have tag want, and gives its contents. */
static int ber_expect(CBS *cbs, CBS *contents, unsigned want) {
  CBS elem;
  unsigned tag;
  return ber_get(cbs, &elem, contents, &tag, 0) && tag == want;
}

/* push_sequences pushes, as a list, every SEQUENCE element of a SET OF CHOICE (the other
 * choices, attribute certificates and otherRevInfo, are not what callers ask for). */
static int push_sequences(lua_State *L, CBS *set) {
  lua_newtable(L);
  int count = 0;
  while (CBS_len(set) > 0) {
    CBS elem, contents;
    unsigned tag;
    if (!ber_get(set, &elem, &contents, &tag, 0)) return 0;
    if (tag != CBS_ASN1_SEQUENCE) continue;
    lua_pushlstring(L, (const char *)CBS_data(&elem), CBS_len(&elem));
    lua_rawseti(L, -2, ++count);
  }
  return 1;
}

/* parse_signed_data finds the certificates [0] and crls [1] of a ContentInfo holding
 * SignedData, in DER or in BER with indefinite lengths (as some Windows tools write it).
 * Returns 1 (absent fields become empty), 0 when it is not one. */
static int parse_signed_data(const uint8_t *p, size_t n, CBS *certs, CBS *crls) {
  CBS cbs, ci, content, sd, skip;
  CBS_init(&cbs, p, n);
  CBS_init(certs, NULL, 0);
  CBS_init(crls, NULL, 0);
  if (!ber_expect(&cbs, &ci, CBS_ASN1_SEQUENCE) || CBS_len(&cbs) != 0 ||
      !has_signed_data_oid(&ci) ||
      !ber_expect(&ci, &content, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 0) ||
      !ber_expect(&content, &sd, CBS_ASN1_SEQUENCE) ||
      !ber_expect(&sd, &skip, CBS_ASN1_INTEGER) ||   /* version */
      !ber_expect(&sd, &skip, CBS_ASN1_SET) ||       /* digestAlgorithms */
      !ber_expect(&sd, &skip, CBS_ASN1_SEQUENCE))    /* encapContentInfo */
    return 0;
  if (CBS_peek_asn1_tag(&sd, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 0) &&
      !ber_expect(&sd, certs, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 0))
    return 0;
  if (CBS_peek_asn1_tag(&sd, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 1) &&
      !ber_expect(&sd, crls, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 1))
    return 0;
  return 1;
}

/* c.pkcs7(data) -> { certs = {der...}, crls = {der...} } | nil, err, "format"
 * Slices the bytes in place: nothing is parsed as a certificate or a CRL. */
static int l_pkcs7(lua_State *L) {
  size_t n;
  const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
  CBS certs, crls;
  if (!parse_signed_data(p, n, &certs, &crls))
    return fail_code(L, "format", "pkcs7: not a PKCS#7 SignedData structure");
  lua_createtable(L, 0, 2);
  if (!push_sequences(L, &certs)) return fail_code(L, "format", "pkcs7: bad certificates field");
  lua_setfield(L, -2, "certs");
  if (!push_sequences(L, &crls)) return fail_code(L, "format", "pkcs7: bad crls field");
  lua_setfield(L, -2, "crls");
  return 1;
}

/* ---- writers ---------------------------------------------------------------------------- */

/* c.gzip(data[, {name=, level=6, mtime=0}]) -> bytes */
static int l_gzip(lua_State *L) {
  size_t n, nl;
  luaL_checktype(L, 1, LUA_TSTRING);
  const char *data = lua_tolstring(L, 1, &n);
  static const char *const known[] = {"name", "level", "mtime", NULL};
  cb_checkoptions(L, 2, "archive.gzip", known);
  const char *name = cb_optfield_string(L, 2, "name", NULL, &nl);
  lua_Integer level = cb_optfield_integer(L, 2, "level", 6);
  lua_Integer mtime = cb_optfield_integer(L, 2, "mtime", 0);
  luaL_argcheck(L, level >= 0 && level <= 9, 2, "level must be 0..9");
  char fname[256];
  if (name) {
    luaL_argcheck(L, nl < sizeof fname && !memchr(name, '\0', nl), 2,
                  "name must be shorter than 256 bytes, without NUL");
    memcpy(fname, name, nl + 1);
  }
  z_stream z;
  memset(&z, 0, sizeof z);
  gz_header head;
  memset(&head, 0, sizeof head);
  head.name = name ? (Bytef *)fname : Z_NULL;
  head.time = (uLong)mtime;
  head.os = 3; /* Unix */
  /* the output lives in Lua memory so nothing leaks if pushing it raises; nothing between
   * deflateInit2 and deflateEnd can raise */
  /* above zlib's deflateBound for incompressible data, header and trailer included */
  size_t cap = n + (n >> 3) + (n >> 6) + 64 + (name ? nl : 0);
  luaL_Buffer b;
  unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, cap);
  if (deflateInit2(&z, (int)level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return luaL_error(L, "gzip: out of memory");
  deflateSetHeader(&z, &head);
  size_t off = 0;
  int ret;
  z.next_out = out;
  z.avail_out = (uInt)(cap > UINT_MAX ? UINT_MAX : cap);
  do {
    if (z.avail_in == 0 && off < n) {
      size_t piece = n - off > (size_t)1 << 30 ? (size_t)1 << 30 : n - off;
      z.next_in = (unsigned char *)data + off;
      z.avail_in = (uInt)piece;
      off += piece;
    }
    ret = deflate(&z, off < n ? Z_NO_FLUSH : Z_FINISH);
  } while (ret == Z_OK && z.avail_out > 0);
  size_t len = (size_t)(z.next_out - out);
  deflateEnd(&z);
  if (ret != Z_STREAM_END) return luaL_error(L, "gzip: deflate failed (%d)", ret);
  luaL_pushresultsize(&b, len);
  return 1;
}

typedef struct {
  zip_t *za;
  zip_source_t *src;
} zipwriter;

static int l_zipwriter_gc(lua_State *L) {
  zipwriter *w = luaL_checkudata(L, 1, ZIPW_MT);
  if (w->za) zip_discard(w->za);
  w->za = NULL;
  if (w->src) zip_source_free(w->src);
  w->src = NULL;
  return 0;
}

static int zipw_fail(lua_State *L, zipwriter *w, const char *what) {
  lua_pushnil(L);
  lua_pushfstring(L, "zip: %s: %s", what, w->za ? zip_strerror(w->za) : "failed");
  return 2;
}

/* c.zip(entries[, {mtime=}]) -> bytes | nil, err
 * entries: { {name=, data=[, method="deflate"|"store"][, level=]}, ... }; a name ending in
 * "/" is a folder (no data). Types are checked before libzip is touched. */
static int l_zip(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  static const char *const known[] = {"mtime", NULL};
  cb_checkoptions(L, 2, "archive.zip", known);
  lua_Integer mtime = cb_optfield_integer(L, 2, "mtime", (lua_Integer)time(NULL));
  lua_Integer count = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= count; i++) {
    lua_geti(L, 1, i);
    if (!lua_istable(L, -1)) return luaL_error(L, "zip: entry %d must be a table", (int)i);
    lua_getfield(L, -1, "name");
    size_t nl = 0;
    const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &nl) : NULL;
    if (!name || nl == 0 || memchr(name, '\0', nl))
      return luaL_error(L, "zip: entry %d: name must be a non-empty string", (int)i);
    lua_getfield(L, -2, "data");
    if (!(nl > 0 && name[nl - 1] == '/') && lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "zip: entry %d (%s): data must be a string", (int)i, name);
    lua_getfield(L, -3, "method");
    const char *m = lua_tostring(L, -1);
    if (!lua_isnil(L, -1) && (!m || (strcmp(m, "deflate") && strcmp(m, "store"))))
      return luaL_error(L, "zip: entry %d (%s): method must be \"deflate\" or \"store\"",
                        (int)i, name);
    lua_pop(L, 4);
  }
  if (count == 0) {
    /* libzip removes an archive left empty; an empty zip is its end record alone */
    static const char eocd[22] = {'P', 'K', 5, 6};
    lua_pushlstring(L, eocd, sizeof eocd);
    return 1;
  }
  char msg[MSG_MAX];
  if (!need_zip(msg, sizeof msg)) return cb_fail(L, "%s", msg);
  zipwriter *w = cb_newudata(L, sizeof *w, ZIPW_MT);
  zip_error_t ze;
  zip_error_init(&ze);
  w->src = zip_source_buffer_create(NULL, 0, 0, &ze);
  if (w->src) {
    zip_source_keep(w->src); /* our reference outlives the archive's */
    w->za = zip_open_from_source(w->src, ZIP_TRUNCATE, &ze);
    if (!w->za) zip_source_free(w->src); /* the archive's reference, which it did not take */
  }
  if (!w->za) {
    lua_pushnil(L);
    lua_pushfstring(L, "zip: %s", zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return 2;
  }
  zip_error_fini(&ze);
  for (lua_Integer i = 1; i <= count; i++) {
    lua_geti(L, 1, i);
    lua_getfield(L, -1, "name");
    lua_getfield(L, -2, "data");
    lua_getfield(L, -3, "method");
    lua_Integer level = cb_optfield_integer(L, lua_absindex(L, -4), "level", 0);
    size_t nl, dl;
    const char *name = lua_tolstring(L, -3, &nl);
    const char *data = lua_tolstring(L, -2, &dl); /* the entries table keeps both alive */
    const char *m = lua_tostring(L, -1);
    zip_int64_t idx;
    if (name[nl - 1] == '/') {
      idx = zip_dir_add(w->za, name, ZIP_FL_ENC_UTF_8);
      if (idx < 0) return zipw_fail(L, w, name);
    } else {
      zip_source_t *s = zip_source_buffer(w->za, data, dl, 0);
      if (!s) return zipw_fail(L, w, name);
      idx = zip_file_add(w->za, name, s, ZIP_FL_ENC_UTF_8);
      if (idx < 0) {
        zip_source_free(s);
        return zipw_fail(L, w, name);
      }
      int method = m && !strcmp(m, "store") ? ZIP_CM_STORE : ZIP_CM_DEFLATE;
      if (zip_set_file_compression(w->za, (zip_uint64_t)idx, method, (zip_uint32_t)level) != 0)
        return zipw_fail(L, w, name);
    }
    if (zip_file_set_mtime(w->za, (zip_uint64_t)idx, (time_t)mtime, 0) != 0)
      return zipw_fail(L, w, name);
    lua_pop(L, 4);
  }
  if (zip_close(w->za) != 0) return zipw_fail(L, w, "writing the archive");
  w->za = NULL;
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(w->src, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
      zip_source_open(w->src) != 0)
    return cb_fail(L, "zip: cannot read back the archive");
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, st.size ? st.size : 1);
  zip_int64_t got = zip_source_read(w->src, out, st.size);
  zip_source_close(w->src);
  if (got < 0 || (zip_uint64_t)got != st.size) return cb_fail(L, "zip: cannot read back the archive");
  luaL_pushresultsize(&b, (size_t)got);
  return 1;
}

/* c.libzip_version() -> the version of the libzip in use (opens it) | nil, err */
static int l_libzip_version(lua_State *L) {
  char msg[MSG_MAX];
  if (!need_zip(msg, sizeof msg)) return cb_fail(L, "%s", msg);
  lua_pushstring(L, zip_libzip_version());
  return 1;
}

/* ---- module ----------------------------------------------------------------------------- */

int luaopen__certbench_archive(lua_State *L) {
  static const luaL_Reg budget_methods[] = {{"used", l_budget_used}, {NULL, NULL}};
  static const luaL_Reg reader_methods[] = {{"next", l_reader_next}, {"close", l_reader_gc},
                                            {NULL, NULL}};
  static const luaL_Reg reader_metas[] = {{"__gc", l_reader_gc}, {"__close", l_reader_gc},
                                          {NULL, NULL}};
  static const luaL_Reg zipw_metas[] = {{"__gc", l_zipwriter_gc}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {
      {"budget", l_budget},   {"reader", l_reader},       {"detect", l_detect},
      {"der_kind", l_der_kind}, {"der_split", l_der_split},
      {"pkcs7", l_pkcs7},     {"gzip", l_gzip},           {"zip", l_zip},
      {"libzip_version", l_libzip_version}, {NULL, NULL}};
  cb_newclass(L, BUDGET_MT, budget_methods, NULL);
  cb_newclass(L, READER_MT, reader_methods, reader_metas);
  cb_newclass(L, ZIPW_MT, NULL, zipw_metas);
  luaL_newlib(L, funcs);
  return 1;
}
