/* crl.c: `_certbench.crl`, CRLs for Lua on the in-place engine of crlengine.c. A certbench.crl
 * object holds the engine (DER spans and a sorted serial index, no object per entry); the DER is
 * either the Lua string it was loaded from, kept alive as the userdata's user value, or a
 * buffer the engine owns (decoded PEM, a file, a CRL built here). A full X509_CRL is made only
 * when another module asks for it (cb_crl_x509, for the trust store). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cb.h"
#include "crlengine.h"
#include "crlscan.h"
#include "ext.h"
#include "loop.h"
#include "objects.h"
#include "pem.h"

#define DEFAULT_MAX_FILE ((lua_Integer)1 << 30)

struct crl_job;

typedef struct {
  cb_crl *e;   /* NULL when closed */
  X509_CRL *x; /* the full object, made on first cb_crl_x509 */
  struct crl_job *job; /* a verify or a write running on the thread pool reads e */
} crl_box;

/* Work on the thread pool that reads the engine (c:verify, c:write). If the box is closed or
 * collected meanwhile (another task closes it, the state closes), the job takes e and frees it
 * when the work is done: the worker thread never reads freed memory. */
typedef struct crl_job {
  cb_crl *e;
  crl_box *box; /* NULL once the box is gone */
  int orphan;   /* the job frees e */
  /* verify */
  EVP_PKEY *key;
  int ok;
  char why[256];
  /* write */
  const char *path; /* on the caller's stack while the job runs */
  int pem, sync, err;
  mode_t mode;
} crl_job;

/* job_start attaches a new job to b, or returns NULL when one runs already (the caller then
 * does the work itself) or memory is short. */
static crl_job *job_start(crl_box *b) {
  if (b->job) return NULL;
  crl_job *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  j->e = b->e;
  j->box = b;
  b->job = j;
  return j;
}

/* job_end detaches j from its box and frees it, and the engine when the box let it go. */
static void job_end(crl_job *j) {
  if (j->box) j->box->job = NULL;
  if (j->orphan) {
    cb_crl_free(j->e);
    free(j->e);
  }
  free(j);
}

static int crl_gc(lua_State *L) {
  crl_box *b = luaL_checkudata(L, 1, CB_CRL_MT);
  if (b->job) {
    /* closed (by another task) or collected (the state closes) while a verify reads the
     * engine on the thread pool: the job frees it when the work is done */
    b->job->orphan = 1;
    b->job->box = NULL;
    b->job = NULL;
    b->e = NULL;
  }
  if (b->e) {
    cb_crl_free(b->e);
    free(b->e);
    b->e = NULL;
  }
  if (b->x) {
    X509_CRL_free(b->x);
    b->x = NULL;
  }
  /* drop the Lua string the DER lived in */
  lua_pushnil(L);
  lua_setiuservalue(L, 1, 1);
  return 0;
}

static crl_box *check_box(lua_State *L, int idx) {
  crl_box *b = luaL_checkudata(L, idx, CB_CRL_MT);
  if (!b->e) luaL_argerror(L, idx, "attempt to use a closed CRL");
  return b;
}

static cb_crl *check(lua_State *L, int idx) {
  return check_box(L, idx)->e;
}

/* check_whole is check for the methods that need the whole DER in memory (to_der, to_pem,
 * text, lookup, the trust store): a CRL from crl.scan_file keeps its entries in its file. */
static cb_crl *check_whole(lua_State *L, int idx, const char *method) {
  cb_crl *e = check(L, idx);
  if (e->scanned)
    luaL_error(L, "crl:%s: a CRL from crl.scan_file keeps its entries in its file (crl.load_file holds it whole)",
               method);
  return e;
}

X509_CRL *cb_crl_x509(lua_State *L, int idx, char *why, size_t len) {
  crl_box *b = check_box(L, idx);
  if (b->e->scanned) {
    snprintf(why, len, "a CRL from crl.scan_file cannot go into a trust store (crl.load_file holds it whole)");
    return NULL;
  }
  if (!b->x) {
    const uint8_t *p = b->e->der;
    b->x = d2i_X509_CRL(NULL, &p, (long)b->e->len);
    if (!b->x) {
      char reason[200];
      cb_ssl_reason(reason, sizeof reason);
      ERR_clear_error();
      snprintf(why, len, "BoringSSL cannot parse this CRL: %s", reason[0] ? reason : "failed");
    }
  }
  return b->x;
}

/* push_crl pushes a CRL object for der[0..len). With str_idx > 0, der points into the Lua
 * string at that index, which the object keeps alive; otherwise der is malloc'd and the object
 * takes it (freed here on failure). On failure pushes nothing and fills err. */
static int push_crl(lua_State *L, const uint8_t *der, size_t len, int str_idx, uint8_t *owned,
                    char *err, size_t errlen) {
  if (str_idx) str_idx = lua_absindex(L, str_idx);
  crl_box *b = cb_newudata(L, sizeof *b, CB_CRL_MT);
  cb_crl *e = malloc(sizeof *e);
  if (!e) {
    free(owned);
    lua_pop(L, 1);
    snprintf(err, errlen, "out of memory");
    return 0;
  }
  if (!cb_crl_parse(e, der, len, owned != NULL, err, errlen)) {
    free(e);
    lua_pop(L, 1);
    return 0;
  }
  b->e = e;
  if (str_idx) {
    lua_pushvalue(L, str_idx);
    lua_setiuservalue(L, -2, 1);
  }
  return 1;
}

/* ---- PEM, base64 (core/pem.c) ------------------------------------------------------------ */

/* all_base64: nothing but base64 characters and white space in [p, end) */
static int all_base64(const char *p, const char *end) {
  for (; p < end; p++)
    if (!memchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n", *p, 69) || !*p)
      return 0;
  return 1;
}

static int is_crl_label(const cb_pem_block *b) {
  return cb_pem_label_is(b, "X509 CRL") || cb_pem_label_is(b, "CRL");
}

/* skip_bom skips a UTF-8 byte order mark; whitespace is left to the PEM reader. */
static const char *skip_bom(const char *p, const char *end) {
  if (end - p >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
    p += 3;
  return p;
}

/* load_one pushes the first CRL found in s[0..n): PEM (first X509 CRL block), DER, or bare
 * base64. str_idx is the Lua string holding s (0 if s is a malloc'd buffer, which load_one then
 * owns). On failure pushes nothing, fills err. */
static int load_one(lua_State *L, const char *s, size_t n, int str_idx, char *owned, char *err,
                    size_t errlen) {
  const char *end = s + n, *p = skip_bom(s, end);
  const char *q = p;
  while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
  if (q < end && (unsigned char)*q == 0x30 && q == p) {
    /* DER: borrowed from the string, or the buffer handed over as it is */
    if (owned && p == owned) return push_crl(L, (const uint8_t *)p, (size_t)(end - p), 0, (uint8_t *)owned, err, errlen);
    if (owned) {
      uint8_t *copy = malloc((size_t)(end - p) + 1);
      if (!copy) {
        free(owned);
        snprintf(err, errlen, "out of memory");
        return 0;
      }
      memcpy(copy, p, (size_t)(end - p));
      free(owned);
      return push_crl(L, copy, (size_t)(end - p), 0, copy, err, errlen);
    }
    return push_crl(L, (const uint8_t *)p, (size_t)(end - p), str_idx, NULL, err, errlen);
  }
  cb_pem_block b;
  size_t pos = (size_t)(p - s);
  int r, any = 0, count = 0;
  while ((r = cb_pem_next(s, n, &pos, &count, &b)) != 0) {
    if (r < 0) break;
    any = 1;
    if (is_crl_label(&b)) {
      size_t dlen, line = cb_pem_line(s, (size_t)(b.label - s));
      uint8_t *der;
      if (!cb_pem_decode(&b, &der, &dlen)) {
        snprintf(err, errlen, "bad base64 in the PEM block at line %zu", line);
        free(owned);
        return 0;
      }
      free(owned);
      if (!push_crl(L, der, dlen, 0, der, err, errlen)) {
        /* say where, the offsets are into the decoded block */
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, " (in the PEM block at line %zu)", line);
        return 0;
      }
      return 1;
    }
  }
  uint8_t *der;
  size_t dlen;
  if (r < 0) {
    snprintf(err, errlen, "truncated PEM: no END line for the block at line %zu",
             cb_pem_line(s, (size_t)(b.label - s)));
  } else if (any) {
    char found[200];
    cb_pem_labels(s, n, found, sizeof found);
    snprintf(err, errlen, "not a CRL (found PEM %s)", found);
  } else if (end - q >= 64 && all_base64(q, end)) {
    /* 64 characters at least: a CRL is never shorter, and short words are not base64 CRLs.
     * Decoded before the buffer is freed: q points into it when it is a file's (crl.load_file;
     * the crl_scan fuzz target found the decoder reading freed memory) */
    int decoded = cb_base64_armorless(q, (size_t)(end - q), &der, &dlen);
    free(owned);
    if (!decoded) {
      snprintf(err, errlen, "bad base64");
      return 0;
    }
    return push_crl(L, der, dlen, 0, der, err, errlen);
  } else if (q == end) {
    snprintf(err, errlen, "not a CRL (empty)");
  } else {
    snprintf(err, errlen, "not a CRL (neither PEM nor DER)");
  }
  free(owned);
  return 0;
}

/* crl.load(data) -> crl | nil, err */
static int l_load(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char err[512];
  if (!load_one(L, s, n, 1, NULL, err, sizeof err)) return cb_fail(L, "crl.load: %s", err);
  return 1;
}

/* crl.load_file(path[, max_bytes]) -> crl | nil, err, errno: the file is read into a buffer the
 * CRL owns, so a 40 MB DER CRL costs 40 MB, not the doubling copies of a Lua string. Not
 * mmap: faster still, but a file truncated in place would kill the process with SIGBUS, and
 * huge pages gave times that varied fourfold between runs. */
static int l_load_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, DEFAULT_MAX_FILE);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cb_fail_errno(L, path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
    close(fd);
    return cb_fail_errno(L, path, e);
  }
  size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536, len = 0;
  if (!S_ISREG(st.st_mode) && (lua_Integer)cap > max + 1) cap = (size_t)max + 1;
  if ((lua_Integer)cap > max + 1) {
    close(fd);
    return cb_fail(L, "%s: file too large (%I bytes, the limit is %I)", path, (lua_Integer)st.st_size, max);
  }
  char *buf = malloc(cap);
  if (!buf) {
    close(fd);
    return cb_fail(L, "%s: out of memory", path);
  }
  for (;;) {
    if (len == cap) {
      if ((lua_Integer)cap > max) {
        free(buf);
        close(fd);
        return cb_fail(L, "%s: file too large (more than %I bytes)", path, max);
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        close(fd);
        return cb_fail(L, "%s: out of memory", path);
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(buf);
      close(fd);
      return cb_fail_errno(L, path, e);
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  if ((lua_Integer)len > max) {
    free(buf);
    return cb_fail(L, "%s: file too large (more than %I bytes)", path, max);
  }
  char err[512];
  const char *p = skip_bom(buf, buf + len);
  if (p != buf && len - (size_t)(p - buf) > 0 && (unsigned char)*p == 0x30) {
    /* a DER after a BOM: move it to the start, so the engine owns a buffer it can free */
    memmove(buf, p, len - (size_t)(p - buf));
    len -= (size_t)(p - buf);
  }
  if (!load_one(L, buf, len, 0, buf, err, sizeof err)) return cb_fail(L, "%s: %s", path, err);
  return 1;
}

static int crl_label(const char *label, size_t n) {
  return (n == 8 && !memcmp(label, "X509 CRL", 8)) || (n == 3 && !memcmp(label, "CRL", 3));
}

/* tmp_file opens a file without a name in dir (O_TMPFILE), or, where the file system has none,
 * a named one removed at once: either way nothing is left behind. */
static int tmp_file(const char *dir) {
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
  char path[4096];
  if (snprintf(path, sizeof path, "%s/.certbench-pem-XXXXXX", dir) >= (int)sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = mkostemp(path, O_CLOEXEC);
  if (fd >= 0) unlink(path);
  return fd;
}

/* A gzip stream whose first bytes were read to tell DER from PEM, read again from its start. */
typedef struct {
  cb_gz *g;
  uint8_t head[1];
  size_t hn, hp;
} gz_peeked;

static ssize_t read_peeked(void *ctx, void *p, size_t n) {
  gz_peeked *k = ctx;
  if (k->hp < k->hn && n) {
    size_t m = k->hn - k->hp < n ? k->hn - k->hp : n;
    memcpy(p, k->head + k->hp, m);
    k->hp += m;
    return (ssize_t)m;
  }
  return cb_gz_read(k->g, p, n);
}

/* scan_gzip: crl.scan_file's gzip path. The file fd (size bytes) is inflated a piece at a time
 * (cb_gz: members one after another are one stream, as gzip -d makes them) into tfd, the
 * temporary file, and tfd is scanned: DER as it is, PEM (a `gzip crl.pem`) through the PEM
 * decoder reading the inflated stream, so the text is never whole anywhere. Closes fd; pushes
 * what l_scan_file returns. */
static int scan_gzip(lua_State *L, crl_box *b, cb_crl *e, const char *path, int fd, uint64_t size, int tfd,
                     const cb_gz_limits *lim, const char *name, size_t chunk, uint64_t max) {
  char err[512];
  const char *code = NULL;
  int er = 0, r = -1;
  char member[257] = "";
  uint64_t der_len = 0;
  size_t line = 0;
  uint8_t *buf = NULL;
  gz_peeked k = {cb_gz_open(fd, size, lim, chunk, name), {0}, 0, 0};
  if (!k.g || !(buf = malloc(chunk ? chunk : (size_t)1 << 20))) {
    code = "nomem";
    snprintf(err, sizeof err, "gzip: out of memory");
    goto done;
  }
  ssize_t n = cb_gz_read(k.g, k.head, 1);
  if (n < 0) goto gzfail;
  k.hn = (size_t)n;
  snprintf(member, sizeof member, "%s", cb_gz_member(k.g));
  if (n == 1 && k.head[0] == 0x30) {
    /* DER: copied out as it comes */
    if (!cb_write_all(tfd, k.head, 1)) goto wfail;
    der_len = 1;
    size_t bn = chunk ? chunk : (size_t)1 << 20;
    while ((n = cb_gz_read(k.g, buf, bn)) > 0) {
      if (!cb_write_all(tfd, buf, (size_t)n)) goto wfail;
      der_len += (uint64_t)n;
    }
    if (n < 0) goto gzfail;
  } else {
    /* PEM, or something else: the first CRL block decoded from the stream */
    cb_pem_stream_result pr;
    int pr_r = cb_pem_stream_from(read_peeked, &k, tfd, crl_label, chunk, max, &pr, err, sizeof err);
    if (cb_gz_error(k.g, NULL, NULL)) goto gzfail;
    if (pr_r < 0) {
      code = "notder";
      snprintf(err, sizeof err, "the inflated data is neither DER nor a PEM CRL");
      goto done;
    }
    if (pr_r == 0) {
      code = "nocrl";
      goto done;
    }
    if (pr.others) {
      /* a bundle: every block counts, read whole */
      code = "bundle";
      snprintf(err, sizeof err, "the inflated PEM has other blocks than its CRL");
      goto done;
    }
    der_len = pr.der_len;
    line = pr.line;
  }
  r = 1;
  goto done;
gzfail:
  snprintf(err, sizeof err, "%s", cb_gz_error(k.g, &code, &er));
  goto done;
wfail:
  er = errno;
  code = "io";
  snprintf(err, sizeof err, "writing the inflated data: %s", strerror(er));
done:
  cb_gz_close(k.g);
  free(buf);
  close(fd);
  if (r == 1) {
    /* cb_crl_scan_fd takes tfd, also when it fails */
    if (!cb_crl_scan_fd(e, tfd, der_len, chunk, err, sizeof err)) {
      free(e);
      lua_pushnil(L);
      if (line) lua_pushfstring(L, "%s: %s (in the PEM block at line %I)", path, err, (lua_Integer)line);
      else lua_pushfstring(L, "%s: %s", path, err);
      lua_pushliteral(L, "nocrl");
      return 3;
    }
    b->e = e;
    if (member[0]) lua_pushstring(L, member);
    else lua_pushboolean(L, 0);
    return 2;
  }
  close(tfd);
  free(e);
  if (er) return cb_fail_errno(L, path, er);
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, err);
  lua_pushstring(L, code ? code : "corrupt");
  return 3;
}

/* crl.scan_file(path[, {max_bytes=, chunk=, tmp_dir=}]) -> crl[, others] | nil, err, errno|"nopem"|"tmp":
 * A PEM CRL (a file not starting with a SEQUENCE) has its first CRL block decoded in pieces to a
 * temporary file without a name in tmp_dir (default $TMPDIR, /tmp), which is then scanned;
 * others is true when the file has other PEM blocks too; "nopem": no CRL block (the file is
 * something else, read it whole), "tmp": no temporary file could be made there.
 * With gzip = {max_total=, max_member=, max_ratio=, ratio_grace=[, name=]} (certbench.archive's
 * limits; name: the stream's in messages when its header has none),
 * a gzip file (1f 8b 08) is inflated the same way to such a file (cb_gz; several members one
 * after another are one stream, as for gzip -d: a CRL may be split across them) and scanned,
 * a gzipped PEM CRL through the PEM decoder reading the inflated stream (scan_gzip); the
 * second result is the file name in the first header, without folders, or false. Its
 * failures carry archive.CODES (max_total, max_ratio, truncated, corrupt...), and "notder"
 * (the content is neither DER nor a PEM CRL), "bundle" (a PEM with other blocks) or "nocrl"
 * (it is no CRL the scan reads: several DER CRLs back to back, say) when the file is
 * something to read whole instead.
 * A DER CRL checked from
 * its file without holding it (cb_crl_scan_fd): the object has every field but keeps the
 * entries in the file, which it holds open; entries(), serials(), write() and fingerprint()
 * read it again. chunk (bytes, at least 64; default 1 MiB) is the size of the pieces read: a
 * file no bigger is parsed whole. */
static int l_scan_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_settop(L, 2);
  static const char *const known[] = {"max_bytes", "chunk", "tmp_dir", "gzip", NULL};
  cb_checkoptions(L, 2, "crl.scan_file", known);
  lua_Integer max = cb_optfield_integer(L, 2, "max_bytes", DEFAULT_MAX_FILE);
  lua_Integer chunk = cb_optfield_integer(L, 2, "chunk", 0);
  luaL_argcheck(L, chunk == 0 || (chunk >= 64 && chunk <= ((lua_Integer)1 << 30)), 2, "chunk must be 64 bytes to 1 GiB");
  /* the gzip limits, checked before anything is opened (an error raises) */
  int have_gz = 0;
  cb_gz_limits lim = {0, 0, 0, 0};
  const char *gz_name = NULL; /* the stream's name in messages when its header has none */
  if (lua_type(L, 2) == LUA_TTABLE && lua_getfield(L, 2, "gzip") != LUA_TNIL) {
    static const char *const lknown[] = {"max_total", "max_member", "max_ratio", "ratio_grace", "name", NULL};
    luaL_argcheck(L, lua_istable(L, -1), 2, "option gzip must be a table of limits");
    cb_checkoptions(L, 3, "crl.scan_file's gzip", lknown);
    lim.max_total = cb_optfield_integer(L, 3, "max_total", -1);
    lim.max_member = cb_optfield_integer(L, 3, "max_member", -1);
    lim.max_ratio = cb_optfield_integer(L, 3, "max_ratio", -1);
    lim.ratio_grace = cb_optfield_integer(L, 3, "ratio_grace", -1);
    luaL_argcheck(L, lim.max_total >= 0 && lim.max_member >= 0 && lim.max_ratio >= 0 && lim.ratio_grace >= 0, 2,
                  "option gzip needs max_total, max_member, max_ratio and ratio_grace (non-negative)");
    gz_name = cb_optfield_string(L, 3, "name", NULL, NULL);
    have_gz = 1;
  }
  lua_settop(L, 2); /* the results go above the object */
  crl_box *b = cb_newudata(L, sizeof *b, CB_CRL_MT);
  cb_crl *e = malloc(sizeof *e);
  if (!e) return cb_fail(L, "%s: out of memory", path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int er = errno;
    free(e);
    return cb_fail_errno(L, path, er);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int er = S_ISDIR(st.st_mode) ? EISDIR : errno;
    close(fd);
    free(e);
    if (!er) return cb_fail(L, "%s: not a regular file (crl.load_file reads pipes and devices)", path);
    return cb_fail_errno(L, path, er);
  }
  if ((lua_Integer)st.st_size > max) {
    close(fd);
    free(e);
    return cb_fail(L, "%s: file too large (%I bytes, the limit is %I)", path, (lua_Integer)st.st_size, max);
  }
  char err[512];
  uint8_t head[3] = {0, 0, 0};
  ssize_t got = pread(fd, head, 3, 0);
  if (got >= 1 && head[0] != 0x30) {
    /* not DER: a PEM CRL is decoded (a gzip one inflated) to a file of its own (no name, 0600,
     * gone with its descriptor on every path) a piece at a time, and that file is scanned */
    const char *dir = cb_optfield_string(L, 2, "tmp_dir", NULL, NULL);
    if (!dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    /* gzip as certbench.archive detects it: the magic and deflate */
    int gz = have_gz && got == 3 && head[0] == 0x1f && head[1] == 0x8b && head[2] == 8;
    int tfd = tmp_file(dir);
    if (tfd < 0) {
      int er = errno;
      close(fd);
      free(e);
      lua_pushnil(L);
      lua_pushfstring(L, "%s: cannot make a temporary file there: %s", dir, strerror(er));
      lua_pushliteral(L, "tmp");
      return 3;
    }
    if (gz) return scan_gzip(L, b, e, path, fd, (uint64_t)st.st_size, tfd, &lim, gz_name, (size_t)chunk, (uint64_t)max);
    cb_pem_stream_result pr;
    int r = cb_pem_stream(fd, tfd, crl_label, (size_t)chunk, (uint64_t)max, &pr, err, sizeof err);
    close(fd);
    if (r <= 0) {
      close(tfd);
      free(e);
      if (r < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: no PEM CRL block", path);
        lua_pushliteral(L, "nopem");
        return 3;
      }
      return cb_fail(L, "%s: %s", path, err);
    }
    if (!cb_crl_scan_fd(e, tfd, pr.der_len, (size_t)chunk, err, sizeof err)) {
      free(e);
      return cb_fail(L, "%s: %s (in the PEM block at line %I)", path, err, (lua_Integer)pr.line);
    }
    b->e = e;
    lua_pushboolean(L, pr.others);
    return 2;
  }
  if (!cb_crl_scan_fd(e, fd, (uint64_t)st.st_size, (size_t)chunk, err, sizeof err)) {
    free(e);
    return cb_fail(L, "%s: %s", path, err);
  }
  b->e = e;
  return 1;
}

/* ---- what one CRL has that another lacks (crl diff) --------------------------------------- */

static void push_cert_issuer(lua_State *L, const cb_crl *e, cb_span s);
static void push_entry(lua_State *L, const cb_crl *e, const cb_crl_entry *en, int ci);

/* A set of serials (minimal INTEGER content), for CRLs whose entries are not in serial order:
 * the serials in an arena (2 length bytes, then the bytes), an open-addressed table of arena
 * offsets. About the serial's length + 10 bytes an entry. */
typedef struct {
  uint8_t *arena;
  size_t used, cap;
  uint32_t *slots; /* arena offset + 1; 0 is empty */
  size_t nslots, count;
} serial_set;

static uint64_t serial_hash(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

static void norm_serial(const uint8_t **p, size_t *n) {
  while (*n > 1 && (((*p)[0] == 0x00 && !((*p)[1] & 0x80)) || ((*p)[0] == 0xff && ((*p)[1] & 0x80)))) {
    (*p)++;
    (*n)--;
  }
}

/* set_find returns the slot of serial p[0..n) (normalized): its entry, or the empty one where
 * it goes. */
static size_t set_find(const serial_set *s, const uint8_t *p, size_t n) {
  size_t mask = s->nslots - 1, i = (size_t)serial_hash(p, n) & mask;
  for (;; i = (i + 1) & mask) {
    uint32_t o = s->slots[i];
    if (!o) return i;
    const uint8_t *q = s->arena + o - 1;
    size_t qn = (size_t)q[0] << 8 | q[1];
    if (qn == n && !memcmp(q + 2, p, n)) return i;
  }
}

static int set_add(serial_set *s, const uint8_t *p, size_t n) {
  if (n > 0xffff) return 0;
  if ((s->count + 1) * 2 > s->nslots) {
    size_t nn = s->nslots ? s->nslots * 2 : 1024;
    uint32_t *old = s->slots;
    size_t on = s->nslots;
    if (!(s->slots = calloc(nn, sizeof *s->slots))) {
      s->slots = old;
      return 0;
    }
    s->nslots = nn;
    for (size_t i = 0; i < on; i++) {
      if (!old[i]) continue;
      const uint8_t *q = s->arena + old[i] - 1;
      s->slots[set_find(s, q + 2, (size_t)q[0] << 8 | q[1])] = old[i];
    }
    free(old);
  }
  size_t i = set_find(s, p, n);
  if (s->slots[i]) return 1;
  if (s->used + n + 2 > s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 65536;
    while (nc < s->used + n + 2) nc *= 2;
    if (nc > UINT32_MAX) return 0;
    uint8_t *na = realloc(s->arena, nc);
    if (!na) return 0;
    s->arena = na;
    s->cap = nc;
  }
  s->arena[s->used] = (uint8_t)(n >> 8);
  s->arena[s->used + 1] = (uint8_t)n;
  memcpy(s->arena + s->used + 2, p, n);
  s->slots[i] = (uint32_t)s->used + 1;
  s->used += n + 2;
  s->count++;
  return 1;
}

/* The state of crl.missing: entries of a (walked by a cursor) whose serial b lacks; b is
 * walked along when both are in serial order (merge), else its serials are a set. */
#define MISSING_MT "certbench.crl.missing"

typedef struct {
  cb_crl_cursor ca, cb;
  int merge, b_done, have_b;
  uint8_t *bser; /* b's current serial (normalized), while merging */
  size_t bn, bcap;
  serial_set set;
} missing_box;

static void missing_free(missing_box *m) {
  cb_crl_cursor_close(&m->ca);
  cb_crl_cursor_close(&m->cb);
  free(m->bser);
  m->bser = NULL;
  free(m->set.arena);
  free(m->set.slots);
  memset(&m->set, 0, sizeof m->set);
}

static int missing_gc(lua_State *L) {
  missing_free(luaL_checkudata(L, 1, MISSING_MT));
  return 0;
}

/* missing_next finds the next entry of a whose serial b lacks: 1 (en, view set), 0 at the
 * end, -1 with err. */
static int missing_next(missing_box *m, const cb_crl *a, const cb_crl *b, cb_crl *view, cb_crl_entry *en,
                        char *err, size_t errlen) {
  for (;;) {
    int r = cb_crl_cursor_next(&m->ca, a, view, en, err, errlen);
    if (r <= 0) return r;
    const uint8_t *s = view->der + en->serial.off;
    size_t sn = en->serial.len;
    norm_serial(&s, &sn);
    if (!m->merge) {
      if (!m->set.nslots || !m->set.slots[set_find(&m->set, s, sn)]) return 1;
      continue;
    }
    /* b's entries up to this serial */
    for (;;) {
      if (!m->have_b) {
        if (m->b_done) return 1;
        cb_crl bv;
        cb_crl_entry be;
        int rb = cb_crl_cursor_next(&m->cb, b, &bv, &be, err, errlen);
        if (rb < 0) return -1;
        if (rb == 0) {
          m->b_done = 1;
          return 1;
        }
        const uint8_t *q = bv.der + be.serial.off;
        size_t qn = be.serial.len;
        norm_serial(&q, &qn);
        if (qn > m->bcap) {
          uint8_t *nb = realloc(m->bser, qn);
          if (!nb) {
            snprintf(err, errlen, "out of memory");
            return -1;
          }
          m->bser = nb;
          m->bcap = qn;
        }
        memcpy(m->bser, q, qn);
        m->bn = qn;
        m->have_b = 1;
      }
      int c = cb_crl_serial_cmp(m->bser, m->bn, s, sn);
      if (c < 0) {
        m->have_b = 0;
        continue;
      }
      if (c == 0) break; /* present: next entry of a (b's stays, for duplicates in a) */
      return 1;
    }
  }
}

static int missing_iter(lua_State *L) {
  crl_box *a = luaL_checkudata(L, lua_upvalueindex(1), CB_CRL_MT);
  crl_box *b = luaL_checkudata(L, lua_upvalueindex(2), CB_CRL_MT);
  missing_box *m = luaL_checkudata(L, lua_upvalueindex(3), MISSING_MT);
  if (!a->e || !b->e) return luaL_error(L, "attempt to use a closed CRL");
  cb_crl view;
  cb_crl_entry en;
  char err[256];
  int r = missing_next(m, a->e, b->e, &view, &en, err, sizeof err);
  if (r < 0) return luaL_error(L, "crl.missing: %s", err);
  if (r == 0) {
    /* the set and buffers now, not when the collector gets to them: crl diff walks the
     * added entries, then the removed ones, each with a set of its own */
    missing_free(m);
    return 0;
  }
  if (en.has_cert_issuer) push_cert_issuer(L, &view, en.cert_issuer);
  push_entry(L, &view, &en, en.has_cert_issuer);
  return 1;
}

/* crl.missing(a, b[, {count = true}]) -> iterator of the entries of a (tables, as c:entries()
 * gives them, in a's order) whose serial b does not have | their number. Both CRLs in serial
 * order (the DER's, as crl.new and most CAs write them): they are walked side by side, in
 * constant memory. Otherwise b's serials are gathered in a set first: about the serial's
 * length + 10 bytes for each entry of b, never the DER. CRLs from crl.scan_file are read from
 * their files again. */
static int l_missing(lua_State *L) {
  cb_crl *a = check(L, 1), *b = check(L, 2);
  static const char *const known[] = {"count", NULL};
  cb_checkoptions(L, 3, "crl.missing", known);
  int count = lua_type(L, 3) == LUA_TTABLE && cb_optfield_boolean(L, 3, "count", 0);
  missing_box *m = cb_newudata(L, sizeof *m, MISSING_MT);
  cb_crl_cursor_open(&m->ca, a);
  m->merge = a->der_sorted && b->der_sorted;
  char err[256];
  if (m->merge) {
    cb_crl_cursor_open(&m->cb, b);
  } else {
    cb_crl_cursor c;
    cb_crl view;
    cb_crl_entry en;
    int r;
    cb_crl_cursor_open(&c, b);
    while ((r = cb_crl_cursor_next(&c, b, &view, &en, err, sizeof err)) > 0) {
      const uint8_t *s = view.der + en.serial.off;
      size_t sn = en.serial.len;
      norm_serial(&s, &sn);
      if (!set_add(&m->set, s, sn)) {
        cb_crl_cursor_close(&c);
        return luaL_error(L, "crl.missing: out of memory (or a serial of over 65535 bytes)");
      }
    }
    cb_crl_cursor_close(&c);
    if (r < 0) return luaL_error(L, "crl.missing: %s", err);
  }
  if (count) {
    cb_crl view;
    cb_crl_entry en;
    lua_Integer n = 0;
    int r;
    while ((r = missing_next(m, a, b, &view, &en, err, sizeof err)) > 0) n++;
    if (r < 0) return luaL_error(L, "crl.missing: %s", err);
    missing_free(m); /* its memory now, not when collected */
    lua_pushinteger(L, n);
    return 1;
  }
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -3);
  lua_pushcclosure(L, missing_iter, 3);
  return 1;
}

/* crl.load_all(data) -> { crl, ... } | nil, err: every X509 CRL block of a PEM bundle (text
 * between blocks ignored), or the DER CRLs of a concatenation. */
static int l_load_all(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n), *end = s + n;
  const char *p = skip_bom(s, end);
  char err[512];
  lua_newtable(L);
  int k = 0;
  if (p < end && (unsigned char)*p == 0x30) {
    while (p < end && (unsigned char)*p == 0x30) {
      CBS cbs, el;
      CBS_init(&cbs, (const uint8_t *)p, (size_t)(end - p));
      size_t len = (size_t)(end - p);
      if (CBS_get_any_asn1_element(&cbs, &el, NULL, NULL)) len = CBS_len(&el);
      if (!push_crl(L, (const uint8_t *)p, len, 1, NULL, err, sizeof err))
        return cb_fail(L, "crl.load_all: DER CRL %d (at byte %I): %s", k + 1, (lua_Integer)(p - s), err);
      lua_rawseti(L, -2, ++k);
      p += len;
      while (p < end && (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t' || *p == 0)) p++;
    }
    if (p < end) return cb_fail(L, "crl.load_all: trailing data at byte %I", (lua_Integer)(p - s));
    return 1;
  }
  cb_pem_block b;
  size_t pos = (size_t)(p - s);
  int r, count = 0;
  while ((r = cb_pem_next(s, n, &pos, &count, &b)) == 1) {
    if (is_crl_label(&b)) {
      size_t dlen;
      uint8_t *der;
      lua_Integer line = (lua_Integer)cb_pem_line(s, (size_t)(b.label - s));
      if (!cb_pem_decode(&b, &der, &dlen)) return cb_fail(L, "crl.load_all: bad base64 in the PEM block at line %I", line);
      if (!push_crl(L, der, dlen, 0, der, err, sizeof err))
        return cb_fail(L, "crl.load_all: the PEM block at line %I: %s", line, err);
      lua_rawseti(L, -2, ++k);
    }
  }
  if (r < 0)
    return cb_fail(L, "crl.load_all: truncated PEM: no END line for the block at line %I",
                   (lua_Integer)cb_pem_line(s, (size_t)(b.label - s)));
  if (k == 0) {
    if (load_one(L, s, n, 1, NULL, err, sizeof err)) {
      lua_rawseti(L, -2, 1);
      return 1;
    }
    return cb_fail(L, "crl.load_all: %s", err);
  }
  return 1;
}

/* ---- fields ------------------------------------------------------------------------------ */

static void push_span(lua_State *L, const cb_crl *e, cb_span s) {
  lua_pushlstring(L, (const char *)e->der + s.off, s.len);
}

static void push_hex(lua_State *L, const uint8_t *p, size_t n, int colons) {
  static const char hx[] = "0123456789ABCDEF";
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    if (colons && i) luaL_addchar(&b, ':');
    luaL_addchar(&b, hx[p[i] >> 4]);
    luaL_addchar(&b, hx[p[i] & 15]);
  }
  luaL_pushresult(&b);
}

static void push_serial(lua_State *L, const uint8_t *p, size_t n) {
  char small[130];
  char *buf = 2 * n + 2 <= sizeof small ? small : lua_newuserdatauv(L, 2 * n + 2, 0);
  size_t len = cb_crl_serial_to_hex(p, n, buf);
  lua_pushlstring(L, buf, len);
  if (buf != small) lua_remove(L, -2);
}

static X509_NAME *issuer_name(const cb_crl *e) {
  const uint8_t *p = e->der + e->issuer.off;
  X509_NAME *nm = d2i_X509_NAME(NULL, &p, e->issuer.len);
  ERR_clear_error();
  return nm;
}

static int m_issuer(lua_State *L) {
  cb_crl *e = check(L, 1);
  X509_NAME *nm = issuer_name(e);
  if (!nm) return cb_fail(L, "crl:issuer: the issuer name cannot be decoded");
  cb_push_name(L, nm);
  return 1;
}

static int m_issuer_der(lua_State *L) {
  cb_crl *e = check(L, 1);
  push_span(L, e, e->issuer);
  return 1;
}

static int m_this_update(lua_State *L) {
  lua_pushinteger(L, check(L, 1)->this_update);
  return 1;
}

static int m_next_update(lua_State *L) {
  cb_crl *e = check(L, 1);
  if (e->has_next_update) lua_pushinteger(L, e->next_update);
  else lua_pushnil(L);
  return 1;
}

static int m_number(lua_State *L) {
  cb_crl *e = check(L, 1);
  if (!e->has_number) { lua_pushnil(L); return 1; }
  push_serial(L, e->der + e->number.off, e->number.len);
  return 1;
}

static int m_delta_base(lua_State *L) {
  cb_crl *e = check(L, 1);
  if (!e->has_delta) { lua_pushnil(L); return 1; }
  push_serial(L, e->der + e->delta_base.off, e->delta_base.len);
  return 1;
}

static int m_is_delta(lua_State *L) {
  lua_pushboolean(L, check(L, 1)->has_delta);
  return 1;
}

static int m_aki(lua_State *L) {
  cb_crl *e = check(L, 1);
  if (!e->has_aki) { lua_pushnil(L); return 1; }
  push_hex(L, e->der + e->aki_keyid.off, e->aki_keyid.len, 0);
  return 1;
}

static int m_version(lua_State *L) {
  lua_pushinteger(L, check(L, 1)->version);
  return 1;
}

static int m_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check(L, 1)->count);
  return 1;
}

static int m_signature_algorithm(lua_State *L) {
  char name[96];
  lua_pushstring(L, cb_crl_sig_alg_name(check(L, 1), name, sizeof name));
  return 1;
}

static int m_to_der(lua_State *L) {
  cb_crl *e = check_whole(L, 1, "to_der");
  lua_pushlstring(L, (const char *)e->der, e->len);
  return 1;
}

static int m_to_pem(lua_State *L) {
  cb_crl *e = check_whole(L, 1, "to_pem");
  cb_push_pem(L, "X509 CRL", e->der, e->len);
  return 1;
}

/* general_names decodes GeneralNames (DER element) into a Lua list of "URI:...", "DirName:..."
 * strings, and, when urls is true, leaves only the URIs. Pushes the table. */
static void push_general_names(lua_State *L, const uint8_t *der, size_t len, int only_uris) {
  const uint8_t *p = der;
  GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, (long)len);
  lua_newtable(L);
  if (!gens) {
    ERR_clear_error();
    return;
  }
  int k = 0;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    if (only_uris) {
      if (g->type != GEN_URI) continue;
      lua_pushlstring(L, (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                      (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier));
    } else {
      BIO *bio = BIO_new(BIO_s_mem());
      const uint8_t *out;
      size_t olen;
      if (!bio) continue;
      GENERAL_NAME_print(bio, g);
      BIO_mem_contents(bio, &out, &olen);
      lua_pushlstring(L, (const char *)out, olen); /* raises only out of memory: bio leaks then */
      BIO_free(bio);
    }
    lua_rawseti(L, -2, ++k);
  }
  GENERAL_NAMES_free(gens);
  ERR_clear_error();
}

static void push_reason_list(lua_State *L, CBS bits) {
  lua_newtable(L);
  int k = 0;
  /* ReasonFlags bit n = reason code n, except that bit 7 is privilegeWithdrawn (code 9)
   * and bit 8 aACompromise (code 10) */
  static const int code_of_bit[9] = {-1, 1, 2, 3, 4, 5, 6, 9, 10};
  for (unsigned bit = 1; bit < 9; bit++) {
    if (CBS_asn1_bitstring_has_bit(&bits, bit)) {
      lua_pushstring(L, cb_crl_reasons[code_of_bit[bit]]);
      lua_rawseti(L, -2, ++k);
    }
  }
}

/* c:issuing_distribution_point() -> { urls=, names=, only_user=, only_ca=, only_attribute=,
 * only_some_reasons=, indirect= } | nil */
static int m_idp(lua_State *L) {
  cb_crl *e = check(L, 1);
  if (!e->has_idp) { lua_pushnil(L); return 1; }
  CBS in, seq;
  CBS_init(&in, e->der + e->idp.off, e->idp.len);
  if (!CBS_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE))
    return cb_fail(L, "crl:issuing_distribution_point: bad extension");
  lua_createtable(L, 0, 8);
  lua_newtable(L);
  lua_setfield(L, -2, "urls");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "only_user");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "only_ca");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "only_attribute");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "indirect");
  while (CBS_len(&seq)) {
    CBS f;
    unsigned tag;
    if (!CBS_get_any_asn1(&seq, &f, &tag)) return cb_fail(L, "crl:issuing_distribution_point: bad extension");
    unsigned num = tag & CBS_ASN1_TAG_NUMBER_MASK;
    int flag = CBS_len(&f) == 1 && CBS_data(&f)[0] != 0;
    if (tag == (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0)) {
      /* distributionPoint: [0] fullName GeneralNames, or [1] nameRelativeToCRLIssuer */
      CBS dpn;
      unsigned dtag;
      size_t hdr;
      if (!CBS_get_any_asn1_element(&f, &dpn, &dtag, &hdr)) continue;
      if (dtag == (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0)) {
        /* re-tag [0] IMPLICIT as a SEQUENCE to decode the GeneralNames */
        uint8_t *tmp = lua_newuserdatauv(L, CBS_len(&dpn), 0);
        memcpy(tmp, CBS_data(&dpn), CBS_len(&dpn));
        tmp[0] = 0x30;
        push_general_names(L, tmp, CBS_len(&dpn), 1);
        lua_setfield(L, -3, "urls");
        push_general_names(L, tmp, CBS_len(&dpn), 0);
        lua_setfield(L, -3, "names");
        lua_pop(L, 1);
      } else {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "relative_name");
      }
    } else if (num == 1) {
      lua_pushboolean(L, flag);
      lua_setfield(L, -2, "only_user");
    } else if (num == 2) {
      lua_pushboolean(L, flag);
      lua_setfield(L, -2, "only_ca");
    } else if (num == 3) {
      push_reason_list(L, f);
      lua_setfield(L, -2, "only_some_reasons");
    } else if (num == 4) {
      lua_pushboolean(L, flag);
      lua_setfield(L, -2, "indirect");
    } else if (num == 5) {
      lua_pushboolean(L, flag);
      lua_setfield(L, -2, "only_attribute");
    }
  }
  return 1;
}

/* c:freshest_crl() -> { url, ... } | nil: where the delta CRLs of this (complete) CRL are
 * published (the Freshest CRL extension, RFC 5280 5.2.6), URIs of its distribution points. */
static int m_freshest_crl(lua_State *L) {
  cb_crl *e = check(L, 1);
  if (!e->has_freshest) {
    lua_pushnil(L);
    return 1;
  }
  const uint8_t *p = e->der + e->freshest.off;
  CRL_DIST_POINTS *dps = d2i_CRL_DIST_POINTS(NULL, &p, (long)e->freshest.len);
  ERR_clear_error();
  if (!dps) return cb_fail(L, "crl:freshest_crl: malformed extension");
  lua_newtable(L);
  int k = 0;
  for (size_t i = 0; i < sk_DIST_POINT_num(dps); i++) {
    DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
    if (!dp->distpoint || dp->distpoint->type != 0) continue;
    GENERAL_NAMES *names = dp->distpoint->name.fullname;
    for (size_t j = 0; j < sk_GENERAL_NAME_num(names); j++) {
      GENERAL_NAME *g = sk_GENERAL_NAME_value(names, j);
      if (g->type != GEN_URI) continue;
      lua_pushlstring(L, (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                      (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier));
      lua_rawseti(L, -2, ++k);
    }
  }
  CRL_DIST_POINTS_free(dps);
  return 1;
}

/* c:extensions() -> { {oid=, name=, critical=, der=, text=}, ... }, as x509:extensions() */
static int m_extensions(lua_State *L) {
  cb_crl *e = check(L, 1);
  STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
  if (!sk) return luaL_error(L, "crl:extensions: out of memory");
  CBS exts;
  CBS_init(&exts, e->der + e->exts.off, e->has_exts ? e->exts.len : 0);
  while (CBS_len(&exts)) {
    CBS el;
    if (!CBS_get_asn1_element(&exts, &el, CBS_ASN1_SEQUENCE)) break;
    const uint8_t *p = CBS_data(&el);
    X509_EXTENSION *x = d2i_X509_EXTENSION(NULL, &p, (long)CBS_len(&el));
    if (!x || !sk_X509_EXTENSION_push(sk, x)) {
      X509_EXTENSION_free(x);
      break;
    }
  }
  ERR_clear_error();
  /* cb_ext_list raises only out of memory; the stack is then lost, as in x509.c */
  cb_ext_list(L, sk);
  sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
  return 1;
}

/* ---- entries ----------------------------------------------------------------------------- */

/* push_cert_issuer pushes the certificateIssuer of an entry: the directoryName as a
 * certbench.name when there is one, else the first name as text ("URI:..."). */
static void push_cert_issuer(lua_State *L, const cb_crl *e, cb_span s) {
  const uint8_t *p = e->der + s.off;
  GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, (long)s.len);
  if (!gens) {
    ERR_clear_error();
    lua_pushnil(L);
    return;
  }
  X509_NAME *dn = NULL;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(gens) && !dn; i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    if (g->type == GEN_DIRNAME) dn = X509_NAME_dup(g->d.directoryName);
  }
  if (dn) {
    GENERAL_NAMES_free(gens);
    cb_push_name(L, dn);
    return;
  }
  GENERAL_NAMES_free(gens);
  push_general_names(L, e->der + s.off, s.len, 0);
  lua_rawgeti(L, -1, 1);
  lua_remove(L, -2);
}

/* push_entry pushes the table of a decoded entry; the certificate issuer (or nil) is on the
 * stack top when ci is nonzero, and is consumed. */
static void push_entry(lua_State *L, const cb_crl *e, const cb_crl_entry *en, int ci) {
  lua_createtable(L, 0, 5);
  push_serial(L, e->der + en->serial.off, en->serial.len);
  lua_setfield(L, -2, "serial");
  lua_pushinteger(L, en->date);
  lua_setfield(L, -2, "date");
  if (en->reason >= 0) {
    lua_pushstring(L, cb_crl_reasons[en->reason]);
    lua_setfield(L, -2, "reason");
  }
  if (en->has_invalidity) {
    lua_pushinteger(L, en->invalidity);
    lua_setfield(L, -2, "invalidity_date");
  }
  if (ci) {
    lua_insert(L, -2);
    lua_setfield(L, -2, "certificate_issuer");
  }
}

/* the iterator of c:entries(): upvalues crl, next offset, current certificate issuer */
static int entries_iter(lua_State *L) {
  crl_box *b = luaL_checkudata(L, lua_upvalueindex(1), CB_CRL_MT);
  if (!b->e) return luaL_error(L, "attempt to use a closed CRL");
  const cb_crl *e = b->e;
  uint32_t off = (uint32_t)lua_tointeger(L, lua_upvalueindex(2)), next;
  if (off >= cb_crl_end(e) || e->count == 0) return 0;
  cb_crl_entry en;
  char err[256];
  if (!cb_crl_entry_at(e, off, &en, &next, err, sizeof err))
    return luaL_error(L, "crl:entries: %s", err);
  lua_pushinteger(L, next);
  lua_replace(L, lua_upvalueindex(2));
  if (en.has_cert_issuer) {
    push_cert_issuer(L, e, en.cert_issuer);
    lua_pushvalue(L, -1);
    lua_replace(L, lua_upvalueindex(3));
  } else {
    lua_pushvalue(L, lua_upvalueindex(3));
  }
  push_entry(L, e, &en, 1);
  return 1;
}

/* A cursor over a scanned CRL's file, as a userdata: its buffer is freed by __gc/__close. */
#define CURSOR_MT "certbench.crl.cursor"

typedef struct {
  cb_crl_cursor c;
} cursor_box;

static int cursor_gc(lua_State *L) {
  cursor_box *cb = luaL_checkudata(L, 1, CURSOR_MT);
  cb_crl_cursor_close(&cb->c);
  return 0;
}

static cursor_box *push_cursor(lua_State *L, const cb_crl *e) {
  cursor_box *cb = cb_newudata(L, sizeof *cb, CURSOR_MT);
  cb_crl_cursor_open(&cb->c, e);
  return cb;
}

/* the iterator of c:entries() and c:serials() on a scanned CRL: upvalues crl, cursor, current
 * certificate issuer, serials only */
static int file_entries_iter(lua_State *L) {
  crl_box *b = luaL_checkudata(L, lua_upvalueindex(1), CB_CRL_MT);
  if (!b->e) return luaL_error(L, "attempt to use a closed CRL");
  cursor_box *cb = luaL_checkudata(L, lua_upvalueindex(2), CURSOR_MT);
  int only_serial = lua_toboolean(L, lua_upvalueindex(4));
  cb_crl view;
  cb_crl_entry en;
  char err[256];
  int r = cb_crl_cursor_next(&cb->c, b->e, &view, &en, err, sizeof err);
  if (r < 0) return luaL_error(L, "crl:%s: %s", only_serial ? "serials" : "entries", err);
  if (r == 0) {
    cb_crl_cursor_close(&cb->c);
    return 0;
  }
  if (only_serial) {
    push_serial(L, view.der + en.serial.off, en.serial.len);
    return 1;
  }
  if (en.has_cert_issuer) {
    push_cert_issuer(L, &view, en.cert_issuer);
    lua_pushvalue(L, -1);
    lua_replace(L, lua_upvalueindex(3));
  } else {
    lua_pushvalue(L, lua_upvalueindex(3));
  }
  push_entry(L, &view, &en, 1);
  return 1;
}

static int file_entries(lua_State *L, const cb_crl *e, int only_serial) {
  lua_pushvalue(L, 1);
  push_cursor(L, e);
  lua_pushnil(L);
  lua_pushboolean(L, only_serial);
  lua_pushcclosure(L, file_entries_iter, 4);
  return 1;
}

/* c:entries() -> iterator over entries in CRL order, each decoded when reached */
static int m_entries(lua_State *L) {
  cb_crl *e = check(L, 1);
  if (e->scanned) return file_entries(L, e, 0);
  lua_pushvalue(L, 1);
  lua_pushinteger(L, cb_crl_first(e));
  lua_pushnil(L);
  lua_pushcclosure(L, entries_iter, 3);
  return 1;
}

static int serials_iter(lua_State *L) {
  crl_box *b = luaL_checkudata(L, lua_upvalueindex(1), CB_CRL_MT);
  if (!b->e) return luaL_error(L, "attempt to use a closed CRL");
  const cb_crl *e = b->e;
  uint32_t off = (uint32_t)lua_tointeger(L, lua_upvalueindex(2));
  if (off >= cb_crl_end(e) || e->count == 0) return 0;
  /* entries were checked at load: headers are well formed */
  CBS in, entry, serial;
  CBS_init(&in, e->der + off, cb_crl_end(e) - off);
  if (!CBS_get_asn1(&in, &entry, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&entry, &serial, CBS_ASN1_INTEGER))
    return luaL_error(L, "crl:serials: bad entry at offset %d", (int)off);
  lua_pushinteger(L, (lua_Integer)(CBS_data(&in) - e->der));
  lua_replace(L, lua_upvalueindex(2));
  push_serial(L, CBS_data(&serial), CBS_len(&serial));
  return 1;
}

/* c:serials() -> iterator over the serials (hex) in CRL order, without building entries */
static int m_serials(lua_State *L) {
  cb_crl *e = check(L, 1);
  if (e->scanned) return file_entries(L, e, 1);
  lua_pushvalue(L, 1);
  lua_pushinteger(L, cb_crl_first(e));
  lua_pushcclosure(L, serials_iter, 2);
  return 1;
}

/* serial_arg reads a serial from a hex string or a certificate into buf (INTEGER content). */
static size_t serial_arg(lua_State *L, int idx, uint8_t *buf, size_t cap) {
  if (lua_type(L, idx) == LUA_TSTRING) {
    size_t n;
    const char *hex = lua_tolstring(L, idx, &n);
    if (n / 2 + 2 > cap) luaL_argerror(L, idx, "serial too long");
    size_t len = cb_crl_serial_from_hex(hex, n, buf);
    if (!len) luaL_argerror(L, idx, "serial is not hexadecimal");
    return len;
  }
  if (luaL_testudata(L, idx, CB_X509_MT)) {
    X509 *x = cb_check_x509(L, idx);
    const ASN1_INTEGER *ai = X509_get0_serialNumber(x);
    uint8_t *der = NULL;
    int n = i2d_ASN1_INTEGER(ai, &der);
    CBS cbs, v;
    size_t len = 0;
    CBS_init(&cbs, der, n > 0 ? (size_t)n : 0);
    if (n > 0 && CBS_get_asn1(&cbs, &v, CBS_ASN1_INTEGER) && CBS_len(&v) <= cap) {
      len = CBS_len(&v);
      memcpy(buf, CBS_data(&v), len);
    }
    OPENSSL_free(der);
    if (!len) luaL_argerror(L, idx, "the certificate's serial cannot be encoded");
    return len;
  }
  luaL_typeerror(L, idx, "serial (hex string) or certbench.x509");
  return 0;
}

/* entry_issuer finds the certificate issuer that applies to the entry at off: its own
 * certificateIssuer, or in an indirect CRL the last one named before it (RFC 5280 5.3.3).
 * Returns 1 and the GeneralNames span, or 0 when it is the CRL's issuer. */
static int entry_issuer(const cb_crl *e, uint32_t off, const cb_crl_entry *en, cb_span *out) {
  if (en->has_cert_issuer) {
    *out = en->cert_issuer;
    return 1;
  }
  if (!e->idp_indirect) return 0;
  cb_span last = {0, 0};
  uint32_t at = cb_crl_first(e), next;
  char err[64];
  while (at < off) {
    cb_crl_entry x;
    if (!cb_crl_entry_at(e, at, &x, &next, err, sizeof err)) break;
    if (x.has_cert_issuer) last = x.cert_issuer;
    at = next;
  }
  *out = last;
  return last.len != 0;
}

/* dirname_of gives the first directoryName of GeneralNames (caller frees), or NULL. */
static X509_NAME *dirname_of(const cb_crl *e, cb_span s) {
  const uint8_t *p = e->der + s.off;
  GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, (long)s.len);
  X509_NAME *dn = NULL;
  for (size_t i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !dn; i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    if (g->type == GEN_DIRNAME) dn = X509_NAME_dup(g->d.directoryName);
  }
  GENERAL_NAMES_free(gens);
  ERR_clear_error();
  return dn;
}

/* c:lookup(serial_hex | cert) -> entry | nil. A certificate must match the serial and the
 * issuer: the CRL's, or for an indirect CRL the entry's certificate issuer. */
static int m_lookup(lua_State *L) {
  const cb_crl *e = check_whole(L, 1, "lookup");
  uint8_t serial[160];
  size_t len = serial_arg(L, 2, serial, sizeof serial), first;
  X509 *cert = luaL_testudata(L, 2, CB_X509_MT) ? cb_check_x509(L, 2) : NULL;
  size_t n = cb_crl_find_range(e, serial, len, &first);
  for (size_t i = first; i < first + n; i++) {
    uint32_t off = e->index[i];
    cb_crl_entry en;
    char err[256];
    if (!cb_crl_entry_at(e, off, &en, NULL, err, sizeof err)) return cb_fail(L, "crl:lookup: %s", err);
    cb_span is;
    int ci = entry_issuer(e, off, &en, &is);
    if (cert) {
      X509_NAME *nm = ci ? dirname_of(e, is) : issuer_name(e);
      int same = nm && X509_NAME_cmp(nm, X509_get_issuer_name(cert)) == 0;
      X509_NAME_free(nm);
      ERR_clear_error();
      if (!same) continue;
    }
    if (ci) push_cert_issuer(L, e, is);
    push_entry(L, e, &en, ci);
    return 1;
  }
  lua_pushnil(L);
  return 1;
}

static void verify_work(void *arg) {
  crl_job *j = arg;
  j->ok = cb_crl_verify(j->e, j->key, j->why, sizeof j->why);
}

static int verify_after(lua_State *L, void *arg) {
  crl_job *j = arg;
  int ok = j->ok;
  char why[sizeof j->why];
  memcpy(why, j->why, sizeof why);
  EVP_PKEY_free(j->key);
  job_end(j);
  if (!L) return 0;
  lua_pushboolean(L, ok);
  if (ok) return 1;
  lua_pushstring(L, why);
  return 2;
}

/* verify_key checks the signature with key (a reference the call takes). Inside a loop task
 * the check runs on the thread pool, so other tasks go on meanwhile (a mirror verifies
 * hundreds of CRLs); elsewhere, here. */
static int verify_key(lua_State *L, crl_box *b, EVP_PKEY *key) {
  crl_job *j;
  if (cb_loop_in_task(L) && (j = job_start(b)) != NULL) {
    j->key = key;
    return cb_loop_queue_work(L, verify_work, verify_after, j);
  }
  char why[256];
  int ok = cb_crl_verify(b->e, key, why, sizeof why);
  EVP_PKEY_free(key);
  lua_pushboolean(L, ok);
  if (ok) return 1;
  lua_pushstring(L, why);
  return 2;
}

/* c:verify(issuer_cert | pkey) -> true | false, reason */
static int m_verify(lua_State *L) {
  crl_box *b = check_box(L, 1);
  const cb_crl *e = b->e;
  EVP_PKEY *key = NULL;
  if (luaL_testudata(L, 2, CB_X509_MT)) {
    X509 *cert = cb_check_x509(L, 2);
    X509_NAME *nm = issuer_name(e);
    if (!nm) {
      lua_pushboolean(L, 0);
      lua_pushstring(L, "the CRL's issuer name cannot be decoded");
      return 2;
    }
    int same = X509_NAME_cmp(nm, X509_get_subject_name(cert)) == 0;
    X509_NAME_free(nm);
    ERR_clear_error();
    if (!same) {
      lua_pushboolean(L, 0);
      lua_pushstring(L, "the CRL's issuer is not the certificate's subject");
      return 2;
    }
    uint32_t ku = X509_get_key_usage(cert);
    if (ku != UINT32_MAX && !(ku & KU_CRL_SIGN)) {
      lua_pushboolean(L, 0);
      lua_pushstring(L, "the issuer certificate's key usage does not allow signing CRLs (no cRLSign)");
      return 2;
    }
    key = X509_get_pubkey(cert);
    if (!key) {
      ERR_clear_error();
      lua_pushboolean(L, 0);
      lua_pushstring(L, "the issuer certificate's public key cannot be decoded");
      return 2;
    }
    return verify_key(L, b, key);
  }
  if (luaL_testudata(L, 2, CB_PKEY_MT)) {
    key = cb_check_pkey(L, 2);
    EVP_PKEY_up_ref(key);
    return verify_key(L, b, key);
  }
  return luaL_typeerror(L, 2, "certbench.x509 or certbench.pkey");
}

/* write_file writes the CRL to a new file (O_EXCL), DER or PEM (encoded a piece at a time: no
 * copy of a big CRL in memory), removing it on failure. Returns 0 or an errno value. Lua-free,
 * for the thread pool too. */
/* CHANGED: write_file's error when a scanned CRL's file no longer holds what was verified */
#define CHANGED (-1)

/* copy_scanned writes a scanned CRL from its file to fd, DER or PEM, a piece at a time, and
 * checks that the bytes are those the scan hashed (the file could have been rewritten in
 * place since: what is written is what was verified, or nothing). Returns 1, or 0 with errno
 * (CHANGED in *changed). */
static int copy_scanned(const cb_crl *e, int fd, int pem, int *changed) {
  enum { LINES = 16384 }; /* pieces of 768 KB: whole 64-character lines */
  size_t piece = LINES * 48;
  uint8_t *in = malloc(piece), digest[32];
  char *txt = pem ? malloc(LINES * 65 + 64) : NULL;
  int ok = in && (!pem || txt);
  if (!ok) errno = ENOMEM;
  SHA256_CTX sha;
  SHA256_Init(&sha);
  if (ok && pem) ok = cb_write_all(fd, txt, cb_pem_armor(txt, "X509 CRL", 0));
  for (uint64_t off = 0; ok && off < e->file_len; off += piece) {
    size_t n = e->file_len - off < piece ? (size_t)(e->file_len - off) : piece;
    if (!cb_crl_file_read(e, in, n, off)) {
      if (!errno) *changed = 1;
      ok = 0;
      break;
    }
    SHA256_Update(&sha, in, n);
    ok = pem ? cb_write_all(fd, txt, cb_pem_lines(txt, in, n)) : cb_write_all(fd, in, n);
  }
  if (ok && pem) ok = cb_write_all(fd, txt, cb_pem_armor(txt, "X509 CRL", 1));
  SHA256_Final(digest, &sha);
  if (ok && memcmp(digest, e->der_sha256, 32) != 0) {
    *changed = 1;
    ok = 0;
  }
  int keep = errno;
  free(in);
  free(txt);
  errno = keep;
  return ok;
}

static int write_file(const cb_crl *e, const char *path, int pem, mode_t mode, int sync) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return errno;
  int ok, changed = 0;
  if (e->scanned) {
    ok = copy_scanned(e, fd, pem, &changed);
  } else if (!pem) {
    ok = cb_write_all(fd, e->der, e->len);
  } else {
    enum { LINES = 1024 };
    char *buf = malloc(LINES * 65 + 64);
    ok = buf != NULL;
    if (!ok) errno = ENOMEM;
    if (ok) ok = cb_write_all(fd, buf, cb_pem_armor(buf, "X509 CRL", 0));
    for (size_t off = 0; ok && off < e->len; off += LINES * 48) {
      size_t n = e->len - off < LINES * 48 ? e->len - off : LINES * 48;
      ok = cb_write_all(fd, buf, cb_pem_lines(buf, e->der + off, n));
    }
    if (ok) ok = cb_write_all(fd, buf, cb_pem_armor(buf, "X509 CRL", 1));
    int keep = errno;
    free(buf);
    errno = keep;
  }
  if (ok && sync) ok = fsync(fd) == 0;
  int err = ok ? 0 : changed ? CHANGED : errno ? errno : EIO;
  if (close(fd) != 0 && !err) err = errno;
  if (err) unlink(path);
  return err;
}

/* fail_write pushes the failure of write_file. */
static int fail_write(lua_State *L, const char *path, int err) {
  if (err == CHANGED)
    return cb_fail(L, "%s: not written: the CRL's file changed since it was read and verified", path);
  return cb_fail_errno(L, path, err);
}

static void write_work(void *arg) {
  crl_job *j = arg;
  j->err = write_file(j->e, j->path, j->pem, j->mode, j->sync);
}

static int write_after(lua_State *L, void *arg) {
  crl_job *j = arg;
  int err = j->err;
  const char *path = j->path;
  job_end(j);
  if (!L) return 0;
  if (err) return fail_write(L, path, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* c:write(path[, {format="der"|"pem", mode=0644, sync=false, async=false}]) -> true | nil, err,
 * errno. A new file (never an existing one: O_EXCL) with the CRL in DER or PEM, written straight
 * from the engine's buffer (no Lua string of a 40 MB CRL); a failed write removes it. async:
 * inside a loop task it is written on the thread pool while the other tasks go on (worth it
 * for big CRLs; a small file costs less than the hand-over). */
static int m_write(lua_State *L) {
  crl_box *b = check_box(L, 1);
  const char *path = luaL_checkstring(L, 2);
  lua_settop(L, 3);
  static const char *const known[] = {"format", "mode", "sync", "async", NULL};
  cb_checkoptions(L, 3, "crl:write", known);
  const char *format = "der";
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "format");
    if (!lua_isnil(L, -1)) format = luaL_checkstring(L, -1);
    lua_pop(L, 1);
  }
  int pem = strcmp(format, "pem") == 0;
  if (!pem && strcmp(format, "der") != 0) return luaL_argerror(L, 3, "format must be \"der\" or \"pem\"");
  mode_t mode = (mode_t)cb_optfield_integer(L, 3, "mode", 0644);
  int sync = cb_optfield_boolean(L, 3, "sync", 0);
  crl_job *j;
  if (cb_optfield_boolean(L, 3, "async", 0) && cb_loop_in_task(L) && (j = job_start(b)) != NULL) {
    j->path = path;
    j->pem = pem;
    j->mode = mode;
    j->sync = sync;
    return cb_loop_queue_work(L, write_work, write_after, j);
  }
  int err = write_file(b->e, path, pem, mode, sync);
  if (err) return fail_write(L, path, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* c:fingerprint([alg="sha256"]) -> "AB:CD:...": the digest of the CRL's DER */
static int m_fingerprint(lua_State *L) {
  const cb_crl *e = check(L, 1);
  const char *alg = luaL_optstring(L, 2, "sha256");
  const EVP_MD *md = cb_md_by_name(alg);
  if (!md && !strcmp(alg, "md5")) md = EVP_md5(); /* a fingerprint, not a signature: fine */
  if (!md) return luaL_argerror(L, 2, "unknown digest (sha1, sha256, sha384, sha512, md5)");
  uint8_t buf[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (e->scanned && md == EVP_sha256()) {
    /* hashed by the scan */
    cb_push_hex(L, e->der_sha256, 32, ':');
    return 1;
  }
  if (e->synthetic) {
    /* the file again, a piece at a time */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t piece = (size_t)1 << 20;
    uint8_t *in = malloc(piece);
    int ok = ctx && in && EVP_DigestInit_ex(ctx, md, NULL);
    for (uint64_t off = 0; ok && off < e->file_len; off += piece) {
      size_t k = e->file_len - off < piece ? (size_t)(e->file_len - off) : piece;
      ok = cb_crl_file_read(e, in, k, off) && EVP_DigestUpdate(ctx, in, k);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, buf, &n);
    free(in);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) return cb_fail(L, "crl:fingerprint: cannot read the CRL's file again");
    cb_push_hex(L, buf, n, ':');
    return 1;
  }
  if (!EVP_Digest(e->der, e->len, buf, &n, md, NULL)) return cb_fail_ssl(L, "crl:fingerprint");
  cb_push_hex(L, buf, n, ':');
  return 1;
}

/* ---- text -------------------------------------------------------------------------------- */


static void bio_exts(BIO *bio, const uint8_t *base, cb_span s, int indent) {
  CBS exts;
  CBS_init(&exts, base + s.off, s.len);
  while (CBS_len(&exts)) {
    CBS el;
    if (!CBS_get_asn1_element(&exts, &el, CBS_ASN1_SEQUENCE)) break;
    const uint8_t *p = CBS_data(&el);
    X509_EXTENSION *ext = d2i_X509_EXTENSION(NULL, &p, (long)CBS_len(&el));
    if (!ext) continue;
    char name[128];
    OBJ_obj2txt(name, sizeof name, X509_EXTENSION_get_object(ext), 0);
    BIO_printf(bio, "%*s%s: %s\n", indent, "", name, X509_EXTENSION_get_critical(ext) ? "critical" : "");
    BIO *val = BIO_new(BIO_s_mem());
    if (val && X509V3_EXT_print(val, ext, 0, indent + 4)) {
      /* some printers start or end with a newline of their own (freshest CRL, AKI) */
      const uint8_t *out;
      size_t olen;
      BIO_mem_contents(val, &out, &olen);
      while (olen && out[0] == '\n') {
        out++;
        olen--;
      }
      BIO_write(bio, out, (int)olen);
      if (olen == 0 || out[olen - 1] != '\n') BIO_printf(bio, "\n");
    } else {
      const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
      BIO_hexdump(bio, ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), indent + 4);
    }
    BIO_free(val);
    X509_EXTENSION_free(ext);
  }
  ERR_clear_error();
}

/* c:text() -> the CRL decoded, in the layout of `openssl crl -text` */
static int m_text(lua_State *L) {
  cb_crl *e = check_whole(L, 1, "text");
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio) return luaL_error(L, "crl:text: out of memory");
  char alg[96];
  cb_crl_sig_alg_name(e, alg, sizeof alg);
  BIO_printf(bio, "Certificate Revocation List (CRL):\n");
  BIO_printf(bio, "        Version %d (0x%x)\n", e->version, e->version - 1);
  BIO_printf(bio, "        Signature Algorithm: %s\n", alg);
  BIO_printf(bio, "        Issuer: ");
  X509_NAME *nm = issuer_name(e);
  if (nm) {
    X509_NAME_print_ex(bio, nm, 0, CB_NAME_PRINT_FLAGS);
    X509_NAME_free(nm);
  }
  BIO_printf(bio, "\n        Last Update: ");
  cb_bio_time(bio, e->this_update);
  BIO_printf(bio, "\n        Next Update: ");
  if (e->has_next_update) cb_bio_time(bio, e->next_update);
  else BIO_printf(bio, "NONE");
  BIO_printf(bio, "\n");
  if (e->has_exts) {
    BIO_printf(bio, "        CRL extensions:\n");
    bio_exts(bio, e->der, e->exts, 12);
  }
  if (e->count == 0) {
    BIO_printf(bio, "No Revoked Certificates.\n");
  } else {
    BIO_printf(bio, "Revoked Certificates:\n");
    uint32_t off = cb_crl_first(e), next;
    char err[256];
    while (off < cb_crl_end(e)) {
      cb_crl_entry en;
      if (!cb_crl_entry_at(e, off, &en, &next, err, sizeof err)) {
        BIO_printf(bio, "    (%s)\n", err);
        break;
      }
      char small[130];
      char *hex = 2 * en.serial.len + 2 <= sizeof small ? small : malloc(2 * en.serial.len + 2);
      if (hex) cb_crl_serial_to_hex(e->der + en.serial.off, en.serial.len, hex);
      BIO_printf(bio, "    Serial Number: %s\n        Revocation Date: ", hex ? hex : "?");
      if (hex != small) free(hex);
      cb_bio_time(bio, en.date);
      BIO_printf(bio, "\n");
      if (en.has_exts) {
        BIO_printf(bio, "        CRL entry extensions:\n");
        bio_exts(bio, e->der, en.exts, 12);
      }
      off = next;
    }
  }
  BIO_printf(bio, "    Signature Algorithm: %s\n    Signature Value:", alg);
  for (size_t i = 0; i < e->sig.len; i++) {
    if (i % 18 == 0) BIO_printf(bio, "\n        ");
    BIO_printf(bio, "%02x%s", e->der[e->sig.off + i], i + 1 < e->sig.len ? ":" : "");
  }
  BIO_printf(bio, "\n");
  const uint8_t *out;
  size_t olen;
  BIO_mem_contents(bio, &out, &olen);
  /* the push may raise only out of memory; free the BIO through a to-be-closed value would be
   * overkill for that */
  lua_pushlstring(L, (const char *)out, olen);
  BIO_free(bio);
  return 1;
}

static int m_tostring(lua_State *L) {
  crl_box *b = luaL_checkudata(L, 1, CB_CRL_MT);
  if (!b->e) {
    lua_pushfstring(L, "certbench.crl (closed): %p", (void *)b);
    return 1;
  }
  char line[256] = "?";
  X509_NAME *nm = issuer_name(b->e);
  if (nm) {
    X509_NAME_oneline(nm, line, sizeof line);
    X509_NAME_free(nm);
  }
  lua_pushfstring(L, "certbench.crl: %s (%I %s)", line, (lua_Integer)b->e->count,
                  b->e->count == 1 ? "entry" : "entries");
  return 1;
}

/* ---- building ---------------------------------------------------------------------------- */

typedef struct {
  uint32_t ser_off; /* into the serial arena */
  uint16_t ser_len;
  int8_t reason;    /* -1: none */
  uint8_t has_inv;
  uint32_t idx;     /* the position given, so equal serials keep their order */
  int64_t date;
  int64_t inv;
} bentry;

static _Thread_local const uint8_t *g_arena; /* qsort has no context argument */

static int cmp_bentry(const void *x, const void *y) {
  const bentry *a = x, *b = y;
  if (a->ser_len != b->ser_len) return a->ser_len < b->ser_len ? -1 : 1;
  int r = memcmp(g_arena + a->ser_off, g_arena + b->ser_off, a->ser_len);
  if (r) return r;
  return a->idx < b->idx ? -1 : 1;
}

static int add_time(CBB *cbb, int64_t t, int generalized) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm)) return 0;
  int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) return 0;
  char buf[32];
  CBB child;
  if (!generalized && year >= 1950 && year < 2050) {
    snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (!CBB_add_asn1(cbb, &child, CBS_ASN1_UTCTIME)) return 0;
  } else {
    snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (!CBB_add_asn1(cbb, &child, CBS_ASN1_GENERALIZEDTIME)) return 0;
  }
  return CBB_add_bytes(&child, (const uint8_t *)buf, strlen(buf)) && CBB_flush(cbb);
}

static int add_integer_bytes(CBB *cbb, const uint8_t *p, size_t n) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_INTEGER) && CBB_add_bytes(&child, p, n) && CBB_flush(cbb);
}

/* add_ext opens an Extension and its extnValue OCTET STRING; the caller writes into *value and
 * flushes cbb. */
static int add_ext(CBB *exts, CBB *ext, CBB *value, const uint8_t *oid, size_t oidlen, int critical) {
  CBB o;
  return CBB_add_asn1(exts, ext, CBS_ASN1_SEQUENCE) && CBB_add_asn1(ext, &o, CBS_ASN1_OBJECT) &&
         CBB_add_bytes(&o, oid, oidlen) && (!critical || CBB_add_asn1_bool(ext, 1)) &&
         CBB_add_asn1(ext, value, CBS_ASN1_OCTETSTRING);
}

static const uint8_t O_CRL_NUMBER[] = {0x55, 0x1d, 0x14};
static const uint8_t O_REASON[] = {0x55, 0x1d, 0x15};
static const uint8_t O_INVALIDITY[] = {0x55, 0x1d, 0x18};
static const uint8_t O_DELTA[] = {0x55, 0x1d, 0x1b};
static const uint8_t O_IDP[] = {0x55, 0x1d, 0x1c};
static const uint8_t O_AKI[] = {0x55, 0x1d, 0x23};
static const uint8_t O_FRESHEST[] = {0x55, 0x1d, 0x2e};

/* add_alg writes the AlgorithmIdentifier for signing with key and md (pss: RSASSA-PSS). */
static int add_alg(CBB *cbb, EVP_PKEY *key, const EVP_MD *md, int pss) {
  CBB alg, p, f, g, h;
  int kt = EVP_PKEY_id(key), nid;
  if (!CBB_add_asn1(cbb, &alg, CBS_ASN1_SEQUENCE)) return 0;
  if (kt == EVP_PKEY_ED25519) return OBJ_nid2cbb(&alg, NID_ED25519) && CBB_flush(cbb);
  if (kt == EVP_PKEY_RSA && pss) {
    if (!OBJ_nid2cbb(&alg, NID_rsassaPss) || !CBB_add_asn1(&alg, &p, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&p, &f, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
        !CBB_add_asn1(&f, &g, CBS_ASN1_SEQUENCE) || !OBJ_nid2cbb(&g, EVP_MD_type(md)) ||
        !CBB_add_asn1(&p, &f, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1) ||
        !CBB_add_asn1(&f, &g, CBS_ASN1_SEQUENCE) || !OBJ_nid2cbb(&g, NID_mgf1) ||
        !CBB_add_asn1(&g, &h, CBS_ASN1_SEQUENCE) || !OBJ_nid2cbb(&h, EVP_MD_type(md)) ||
        !CBB_add_asn1(&p, &f, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 2) ||
        !CBB_add_asn1_uint64(&f, EVP_MD_size(md)))
      return 0;
    return CBB_flush(cbb);
  }
  if (!OBJ_find_sigid_by_algs(&nid, EVP_MD_type(md), kt) || !OBJ_nid2cbb(&alg, nid)) return 0;
  if (kt == EVP_PKEY_RSA && !CBB_add_asn1(&alg, &p, CBS_ASN1_NULL)) return 0;
  return CBB_flush(cbb);
}

static int add_idp(lua_State *L, CBB *exts, int idx) {
  CBB ext, value, seq, f, g, h;
  if (!add_ext(exts, &ext, &value, O_IDP, sizeof O_IDP, 1) || !CBB_add_asn1(&value, &seq, CBS_ASN1_SEQUENCE))
    return 0;
  lua_getfield(L, idx, "urls");
  lua_Integer nurls = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
  if (nurls > 0) {
    if (!CBB_add_asn1(&seq, &f, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
        !CBB_add_asn1(&f, &g, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0)) {
      lua_pop(L, 1);
      return 0;
    }
    for (lua_Integer i = 1; i <= nurls; i++) {
      size_t n;
      lua_geti(L, -1, i);
      const char *url = lua_tolstring(L, -1, &n); /* checked to be strings by crl.lua */
      int ok = url && CBB_add_asn1(&g, &h, CBS_ASN1_CONTEXT_SPECIFIC | 6) &&
               CBB_add_bytes(&h, (const uint8_t *)url, n) && CBB_flush(&g);
      lua_pop(L, 1);
      if (!ok) {
        lua_pop(L, 1);
        return 0;
      }
    }
  }
  lua_pop(L, 1);
  static const char *flags[] = {NULL, "only_user", "only_ca", NULL, "indirect", "only_attribute"};
  for (unsigned tag = 1; tag <= 5; tag++) {
    if (tag == 3) {
      lua_getfield(L, idx, "only_some_reasons"); /* a bit mask from crl.lua */
      lua_Integer mask = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (mask) {
        /* ReasonFlags, a named BIT STRING: DER drops the trailing zero bits */
        uint8_t bytes[2] = {(uint8_t)0, (uint8_t)0};
        int last = -1;
        for (int bit = 0; bit < 9; bit++)
          if (mask & (1 << bit)) {
            bytes[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
            last = bit;
          }
        size_t nb = (size_t)last / 8 + 1;
        uint8_t unused = (uint8_t)(8 * nb - 1 - (size_t)last);
        if (!CBB_add_asn1(&seq, &f, CBS_ASN1_CONTEXT_SPECIFIC | 3) || !CBB_add_u8(&f, unused) ||
            !CBB_add_bytes(&f, bytes, nb))
          return 0;
      }
      continue;
    }
    if (cb_optfield_boolean(L, idx, flags[tag], 0)) {
      if (!CBB_add_asn1(&seq, &f, CBS_ASN1_CONTEXT_SPECIFIC | tag) || !CBB_add_u8(&f, 0xff)) return 0;
    }
  }
  return CBB_flush(exts);
}

/* reason_code maps a reason name (RFC 5280's, any case, or openssl ca's spelling) to its code,
 * -1 if unknown. */
static int reason_code(const char *name) {
  for (int i = 0; i <= 10; i++)
    if (cb_crl_reasons[i] && !strcasecmp(name, cb_crl_reasons[i])) return i;
  if (!strcasecmp(name, "keyTime")) return 1;
  if (!strcasecmp(name, "CAkeyTime")) return 2;
  return -1;
}

/* add_freshest writes the Freshest CRL extension: one distribution point with the URLs of the
 * list at idx (strings, checked by crl.lua). */
static int add_freshest(lua_State *L, CBB *exts, int idx) {
  CBB ext, value, dps, dp, name, full, uri;
  if (!add_ext(exts, &ext, &value, O_FRESHEST, sizeof O_FRESHEST, 0) ||
      !CBB_add_asn1(&value, &dps, CBS_ASN1_SEQUENCE) || !CBB_add_asn1(&dps, &dp, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&dp, &name, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1(&name, &full, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0))
    return 0;
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    lua_rawgeti(L, idx, i);
    const char *url = lua_tolstring(L, -1, &len);
    int ok = url && CBB_add_asn1(&full, &uri, CBS_ASN1_CONTEXT_SPECIFIC | 6) &&
             CBB_add_bytes(&uri, (const uint8_t *)url, len) && CBB_flush(&full);
    lua_pop(L, 1);
    if (!ok) return 0;
  }
  return CBB_flush(exts);
}

static int field_type(lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k);
  return lua_type(L, -1);
}

/* _crl.build{ issuer=x509, key=pkey, this_update=int, next_update=int|nil, number=hex|nil,
 *   delta_base=hex|nil, entries={ {serial=hex, date=int, reason=code|nil,
 *   invalidity_date=int|nil}, ... }, digest=name|nil, pss=bool, idp=table|nil, freshest={urls}|nil,
 *   sort=bool }
 * -> crl | nil, err. crl.lua checks and normalizes the options. */
static int l_build(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  field_type(L, 1, "issuer");
  X509 *issuer = cb_check_x509(L, -1); /* index 2 */
  field_type(L, 1, "key");
  EVP_PKEY *key = cb_check_pkey(L, -1); /* index 3 */
  lua_Integer this_update = cb_optfield_integer(L, 1, "this_update", (lua_Integer)time(NULL));
  int has_next = field_type(L, 1, "next_update") != LUA_TNIL;
  lua_pop(L, 1);
  lua_Integer next_update = cb_optfield_integer(L, 1, "next_update", 0);
  const char *number_hex = cb_optfield_string(L, 1, "number", NULL, NULL);
  const char *delta_hex = cb_optfield_string(L, 1, "delta_base", NULL, NULL);
  const char *digest = cb_optfield_string(L, 1, "digest", NULL, NULL);
  int pss = cb_optfield_boolean(L, 1, "pss", 0);
  int sort = cb_optfield_boolean(L, 1, "sort", 1);
  int has_idp = field_type(L, 1, "idp") == LUA_TTABLE; /* index 4 */
  int ety = field_type(L, 1, "entries");               /* index 5 */
  int has_freshest = field_type(L, 1, "freshest") == LUA_TTABLE; /* index 6 */
  size_t n = ety == LUA_TTABLE ? (size_t)luaL_len(L, 5) : 0;

  int kt = EVP_PKEY_id(key);
  const EVP_MD *md = NULL;
  if (kt == EVP_PKEY_ED25519) {
    if (digest) return cb_fail(L, "crl.new: an Ed25519 key signs without a separate digest");
    if (pss) return cb_fail(L, "crl.new: pss needs an RSA key");
  } else if (kt == EVP_PKEY_RSA || kt == EVP_PKEY_EC) {
    md = EVP_get_digestbyname(digest ? digest : "sha256");
    if (!md || (EVP_MD_type(md) != NID_sha1 && EVP_MD_type(md) != NID_sha224 && EVP_MD_type(md) != NID_sha256 &&
                EVP_MD_type(md) != NID_sha384 && EVP_MD_type(md) != NID_sha512))
      return cb_fail(L, "crl.new: unsupported digest %s", digest ? digest : "?");
    if (pss && kt != EVP_PKEY_RSA) return cb_fail(L, "crl.new: pss needs an RSA key");
  } else {
    return cb_fail(L, "crl.new: cannot sign CRLs with a %s key", OBJ_nid2sn(kt) ? OBJ_nid2sn(kt) : "unknown");
  }
  EVP_PKEY *pub = X509_get_pubkey(issuer);
  int match = pub && EVP_PKEY_cmp(pub, key) == 1;
  EVP_PKEY_free(pub);
  ERR_clear_error();
  if (!match) return cb_fail(L, "crl.new: the key does not match the issuer certificate");

  /* numbers */
  uint8_t number[80], delta[80];
  size_t number_len = 0, delta_len = 0;
  if (number_hex && (strlen(number_hex) > 120 || !(number_len = cb_crl_serial_from_hex(number_hex, strlen(number_hex), number))))
    return luaL_error(L, "crl.new: number must be hexadecimal (at most 60 bytes)");
  if (delta_hex && (strlen(delta_hex) > 120 || !(delta_len = cb_crl_serial_from_hex(delta_hex, strlen(delta_hex), delta))))
    return luaL_error(L, "crl.new: delta_base must be hexadecimal (at most 60 bytes)");

  /* entries, collected into memory Lua owns, so a raise while reading frees it */
  bentry *ents = n ? lua_newuserdatauv(L, n * sizeof *ents, 0) : NULL; /* index 7 if any */
  size_t arena_cap = 0;
  for (size_t i = 0; i < n; i++) {
    lua_geti(L, 5, (lua_Integer)i + 1);
    if (!lua_istable(L, -1)) return luaL_error(L, "crl.new: entries[%I] must be a table", (lua_Integer)i + 1);
    lua_getfield(L, -1, "serial");
    size_t hl = 16;
    if (!(lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0)) {
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "crl.new: entries[%I].serial must be a hex string or a non-negative integer",
                          (lua_Integer)i + 1);
      lua_tolstring(L, -1, &hl);
      if (hl > 256) return luaL_error(L, "crl.new: entries[%I].serial is too long", (lua_Integer)i + 1);
    }
    arena_cap += hl / 2 + 2;
    lua_pop(L, 2);
  }
  uint8_t *arena = n ? lua_newuserdatauv(L, arena_cap, 0) : NULL;
  size_t arena_len = 0;
  for (size_t i = 0; i < n; i++) {
    lua_geti(L, 5, (lua_Integer)i + 1);
    int t = lua_gettop(L);
    size_t hl;
    char ibuf[24];
    const char *hex;
    lua_getfield(L, t, "serial");
    if (lua_type(L, -1) == LUA_TNUMBER) {
      snprintf(ibuf, sizeof ibuf, "%llX", (unsigned long long)lua_tointeger(L, -1));
      hex = ibuf;
      hl = strlen(ibuf);
    } else {
      hex = lua_tolstring(L, -1, &hl);
    }
    size_t sl = cb_crl_serial_from_hex(hex, hl, arena + arena_len);
    if (!sl) return luaL_error(L, "crl.new: entries[%I].serial is not hexadecimal: %s", (lua_Integer)i + 1, hex);
    ents[i].idx = (uint32_t)i;
    ents[i].ser_off = (uint32_t)arena_len;
    ents[i].ser_len = (uint16_t)sl;
    arena_len += sl;
    ents[i].date = cb_optfield_integer(L, t, "date", this_update);
    lua_Integer reason = -1;
    lua_getfield(L, t, "reason");
    if (lua_type(L, -1) == LUA_TSTRING) {
      reason = reason_code(lua_tostring(L, -1));
      if (reason < 0)
        return luaL_error(L, "crl.new: entries[%I].reason: unknown reason '%s'", (lua_Integer)i + 1, lua_tostring(L, -1));
    } else if (!lua_isnil(L, -1)) {
      int ok;
      reason = lua_tointegerx(L, -1, &ok);
      if (!ok || reason < 0 || reason > 10 || reason == 7)
        return luaL_error(L, "crl.new: entries[%I].reason is not a reason code", (lua_Integer)i + 1);
    }
    lua_pop(L, 1);
    ents[i].reason = (int8_t)reason;
    ents[i].has_inv = field_type(L, t, "invalidity_date") != LUA_TNIL;
    lua_pop(L, 1);
    ents[i].inv = cb_optfield_integer(L, t, "invalidity_date", 0);
    lua_settop(L, t - 1);
  }
  if (n && sort) {
    g_arena = arena;
    qsort(ents, n, sizeof *ents, cmp_bentry);
  }

  /* from here no Lua call may raise until cleanup */
  CBB cbb, tbs, seq, child, exts_wrap, exts, ext, value, v2;
  uint8_t *tbs_der = NULL, *sig = NULL, *out = NULL;
  size_t tbs_len = 0, sig_len = 0, out_len = 0;
  const char *what = "crl.new: encoding failed";
  EVP_MD_CTX *ctx = NULL;
  CBB_zero(&cbb);
  if (!CBB_init(&cbb, 256 + n * 48)) goto fail;
  if (!CBB_add_asn1(&cbb, &tbs, CBS_ASN1_SEQUENCE) || !CBB_add_asn1_uint64(&tbs, 1) ||
      !add_alg(&tbs, key, md, pss))
    goto fail;
  {
    uint8_t *nm = NULL;
    int nl = i2d_X509_NAME(X509_get_subject_name(issuer), &nm);
    int ok = nl > 0 && CBB_add_bytes(&tbs, nm, (size_t)nl);
    OPENSSL_free(nm);
    if (!ok) goto fail;
  }
  what = "crl.new: a time is out of range (years 0 to 9999)";
  if (!add_time(&tbs, this_update, 0) || (has_next && !add_time(&tbs, next_update, 0))) goto fail;
  what = "crl.new: encoding failed";
  if (n) {
    if (!CBB_add_asn1(&tbs, &seq, CBS_ASN1_SEQUENCE)) goto fail;
    for (size_t i = 0; i < n; i++) {
      what = "crl.new: an entry's time is out of range (years 0 to 9999)";
      if (!CBB_add_asn1(&seq, &child, CBS_ASN1_SEQUENCE) ||
          !add_integer_bytes(&child, arena + ents[i].ser_off, ents[i].ser_len) ||
          !add_time(&child, ents[i].date, 0))
        goto fail;
      if (ents[i].reason >= 0 || ents[i].has_inv) {
        CBB eexts;
        if (!CBB_add_asn1(&child, &eexts, CBS_ASN1_SEQUENCE)) goto fail;
        if (ents[i].reason >= 0 &&
            (!add_ext(&eexts, &ext, &value, O_REASON, sizeof O_REASON, 0) ||
             !CBB_add_asn1(&value, &v2, CBS_ASN1_ENUMERATED) || !CBB_add_u8(&v2, (uint8_t)ents[i].reason) ||
             !CBB_flush(&eexts)))
          goto fail;
        if (ents[i].has_inv && (!add_ext(&eexts, &ext, &value, O_INVALIDITY, sizeof O_INVALIDITY, 0) ||
                                !add_time(&value, ents[i].inv, 1) || !CBB_flush(&eexts)))
          goto fail;
      }
      if (!CBB_flush(&seq)) goto fail;
    }
    what = "crl.new: encoding failed";
  }
  if (!CBB_add_asn1(&tbs, &exts_wrap, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1(&exts_wrap, &exts, CBS_ASN1_SEQUENCE))
    goto fail;
  {
    /* authorityKeyIdentifier: the issuer's SKI, or the SHA-1 of its key as RFC 5280 4.2.1.2 */
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
    uint8_t hash[SHA_DIGEST_LENGTH];
    const uint8_t *kid;
    size_t kidlen;
    if (ski) {
      kid = ASN1_STRING_get0_data(ski);
      kidlen = (size_t)ASN1_STRING_length(ski);
    } else {
      const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(issuer);
      if (!bits) goto fail;
      SHA1(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), hash);
      kid = hash;
      kidlen = sizeof hash;
    }
    ERR_clear_error();
    if (!add_ext(&exts, &ext, &value, O_AKI, sizeof O_AKI, 0) || !CBB_add_asn1(&value, &v2, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&v2, &child, CBS_ASN1_CONTEXT_SPECIFIC | 0) || !CBB_add_bytes(&child, kid, kidlen) ||
        !CBB_flush(&exts))
      goto fail;
  }
  if (number_len && (!add_ext(&exts, &ext, &value, O_CRL_NUMBER, sizeof O_CRL_NUMBER, 0) ||
                     !add_integer_bytes(&value, number, number_len) || !CBB_flush(&exts)))
    goto fail;
  if (delta_len && (!add_ext(&exts, &ext, &value, O_DELTA, sizeof O_DELTA, 1) ||
                    !add_integer_bytes(&value, delta, delta_len) || !CBB_flush(&exts)))
    goto fail;
  /* add_idp reads the idp table: fields were checked in crl.lua, so reading cannot raise */
  if (has_idp && !add_idp(L, &exts, 4)) goto fail;
  if (has_freshest && !add_freshest(L, &exts, 6)) goto fail;
  if (!CBB_flush(&cbb)) goto fail;

  /* sign tbsCertList */
  tbs_der = (uint8_t *)CBB_data(&cbb);
  tbs_len = CBB_len(&cbb);
  what = "crl.new: signing failed";
  ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  if (!ctx || !EVP_DigestSignInit(ctx, &pctx, md, NULL, key)) goto fail;
  if (pss && (!EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ||
              !EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1) || !EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md)))
    goto fail;
  if (!EVP_DigestSign(ctx, NULL, &sig_len, tbs_der, tbs_len) || !(sig = OPENSSL_malloc(sig_len + 1)) ||
      !EVP_DigestSign(ctx, sig + 1, &sig_len, tbs_der, tbs_len))
    goto fail;
  sig[0] = 0; /* no unused bits */
  {
    CBB outer, crl;
    CBB_zero(&outer);
    uint8_t *whole = NULL;
    size_t whole_len;
    what = "crl.new: encoding failed";
    if (!CBB_init(&outer, tbs_len + sig_len + 64) || !CBB_add_asn1(&outer, &crl, CBS_ASN1_SEQUENCE) ||
        !CBB_add_bytes(&crl, tbs_der, tbs_len) || !add_alg(&crl, key, md, pss)) {
      CBB_cleanup(&outer);
      goto fail;
    }
    if (!CBB_add_asn1(&crl, &child, CBS_ASN1_BITSTRING) || !CBB_add_bytes(&child, sig, sig_len + 1) ||
        !CBB_finish(&outer, &whole, &whole_len)) {
      CBB_cleanup(&outer);
      goto fail;
    }
    /* the engine frees with free(): hand it a malloc'd copy */
    out = malloc(whole_len);
    if (out) memcpy(out, whole, whole_len);
    out_len = whole_len;
    OPENSSL_free(whole);
    if (!out) goto fail;
  }
  CBB_cleanup(&cbb);
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(sig);
  {
    char err[256];
    if (!push_crl(L, out, out_len, 0, out, err, sizeof err)) return cb_fail(L, "crl.new: %s", err);
  }
  return 1;

fail:
  CBB_cleanup(&cbb);
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(sig);
  return cb_fail_ssl(L, what);
}

static const luaL_Reg methods[] = {
    {"issuer", m_issuer},
    {"issuer_der", m_issuer_der},
    {"this_update", m_this_update},
    {"next_update", m_next_update},
    {"number", m_number},
    {"delta_base", m_delta_base},
    {"is_delta", m_is_delta},
    {"aki", m_aki},
    {"issuing_distribution_point", m_idp},
    {"freshest_crl", m_freshest_crl},
    {"signature_algorithm", m_signature_algorithm},
    {"version", m_version},
    {"count", m_count},
    {"entries", m_entries},
    {"serials", m_serials},
    {"lookup", m_lookup},
    {"verify", m_verify},
    {"to_der", m_to_der},
    {"to_pem", m_to_pem},
    {"write", m_write},
    {"fingerprint", m_fingerprint},
    {"text", m_text},
    {"extensions", m_extensions},
    {"close", crl_gc},
    {NULL, NULL}};

static const luaL_Reg metas[] = {
    {"__gc", crl_gc},
    {"__close", crl_gc},
    {"__tostring", m_tostring},
    {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"load", l_load},
    {"load_file", l_load_file},
    {"load_all", l_load_all},
    {"scan_file", l_scan_file},
    {"missing", l_missing},
    {"build", l_build},
    {NULL, NULL}};

int luaopen__certbench_crl(lua_State *L) {
  cb_objects_init(L);
  cb_add_methods(L, CB_CRL_MT, methods, metas);
  static const luaL_Reg cursor_metas[] = {{"__gc", cursor_gc}, {"__close", cursor_gc}, {NULL, NULL}};
  static const luaL_Reg missing_metas[] = {{"__gc", missing_gc}, {"__close", missing_gc}, {NULL, NULL}};
  luaL_newmetatable(L, CURSOR_MT);
  luaL_setfuncs(L, cursor_metas, 0);
  lua_pop(L, 1);
  luaL_newmetatable(L, MISSING_MT);
  luaL_setfuncs(L, missing_metas, 0);
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_createtable(L, 11, 0);
  for (int i = 0; i <= 10; i++) {
    if (!cb_crl_reasons[i]) continue;
    lua_pushstring(L, cb_crl_reasons[i]);
    lua_rawseti(L, -2, i);
  }
  lua_setfield(L, -2, "reasons");
  return 1;
}
