/* http.c: `_certbench.http`, HTTP(S) and LDAP transfers with libcurl (the GnuTLS build)
 * driven by the event loop of certbench.loop through curl's multi-socket interface: curl
 * says which sockets to watch (CURLMOPT_SOCKETFUNCTION -> uv_poll) and when to call it back
 * (CURLMOPT_TIMERFUNCTION -> uv_timer); a request yields its task until curl reports it done,
 * so any number of transfers share one thread. Never curl_easy_perform.
 *
 * Ownership: a request lives in C memory pointed to by a box on the requester's stack. While
 * it is in flight the engine lists it; when it is done the requester's continuation reads it;
 * the box's __gc frees it (taking it out of curl first if it is still in flight, which only
 * happens when the state closes). The engine itself belongs to the loop, which shuts it down
 * before closing libuv. Options and policy (defaults, allowed schemes) are in core/http.lua. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* the calls go through pointers (below): curl's type-checking macros would wrap them */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <openssl/base64.h>

#include "cb.h"
#include "dynlib.h"
#include "loop.h"

/* libcurl is opened on first use (core/lib/dynlib.h): need_curl() before the first call. The
 * run-time name of Debian's GnuTLS build (libcurl4-gnutls), the one the headers describe. */
#define CB_CURL_FUNCS(X)                                                                    \
  X(curl_global_init) X(curl_version_info) X(curl_easy_init) X(curl_easy_cleanup)         \
  X(curl_easy_setopt) X(curl_easy_getinfo) X(curl_easy_strerror) X(curl_multi_init)       \
  X(curl_multi_cleanup) X(curl_multi_setopt) X(curl_multi_add_handle)                     \
  X(curl_multi_remove_handle) X(curl_multi_assign) X(curl_multi_info_read)                \
  X(curl_multi_socket_action) X(curl_multi_socket_all) X(curl_multi_strerror)             \
  X(curl_slist_append) X(curl_slist_free_all)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* curl_multi_socket_all: see kick */
static struct {
  CB_CURL_FUNCS(CB_DYNLIB_FIELD)
} curlfn;
#pragma GCC diagnostic pop
#define CURL_SYM(f) CB_DYNLIB_SYM(curlfn, f)
static const cb_dynsym curl_syms[] = {CB_CURL_FUNCS(CURL_SYM){NULL, NULL}};
#undef CURL_SYM
static cb_dynlib libcurl = {.soname = "libcurl-gnutls.so.4", .syms = curl_syms};
/* curl.h makes these three macros that check the argument count; calls go through the table */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init (*curlfn.curl_global_init)
#define curl_version_info (*curlfn.curl_version_info)
#define curl_easy_init (*curlfn.curl_easy_init)
#define curl_easy_cleanup (*curlfn.curl_easy_cleanup)
#define curl_easy_setopt (*curlfn.curl_easy_setopt)
#define curl_easy_getinfo (*curlfn.curl_easy_getinfo)
#define curl_easy_strerror (*curlfn.curl_easy_strerror)
#define curl_multi_init (*curlfn.curl_multi_init)
#define curl_multi_cleanup (*curlfn.curl_multi_cleanup)
#define curl_multi_setopt (*curlfn.curl_multi_setopt)
#define curl_multi_add_handle (*curlfn.curl_multi_add_handle)
#define curl_multi_remove_handle (*curlfn.curl_multi_remove_handle)
#define curl_multi_assign (*curlfn.curl_multi_assign)
#define curl_multi_info_read (*curlfn.curl_multi_info_read)
#define curl_multi_socket_action (*curlfn.curl_multi_socket_action)
#define curl_multi_socket_all (*curlfn.curl_multi_socket_all)
#define curl_multi_strerror (*curlfn.curl_multi_strerror)
#define curl_slist_append (*curlfn.curl_slist_append)
#define curl_slist_free_all (*curlfn.curl_slist_free_all)

/* need_curl opens libcurl and starts it, once; raises "http: ..." when it cannot (a missing
 * library is a broken installation, not a failure of the network). */
static void need_curl(lua_State *L) {
  static int started;
  if (started) return;
  if (!cb_dynlib_load(&libcurl)) luaL_error(L, "http: cannot load libcurl: %s", libcurl.error);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) luaL_error(L, "http: libcurl failed to start");
  started = 1;
}

#define STATE_KEY "certbench.http.state"
#define REQ_MT "certbench.http.request"
#define MAX_HEADER_BYTES (256 * 1024)
#define PROTOCOLS "http,https,ldap,ldaps"

typedef struct sock sock;
typedef struct req req;

typedef struct {
  cb_res res; /* first */
  cb_loop *loop;
  CURLM *multi;
  uv_timer_t *timer;
  uv_timer_t *kick; /* see on_kick */
  req *reqs;        /* in flight */
  sock *socks;      /* watched */
  int running;
  int ldaps_running;
  int closing;
} engine;

struct sock {
  uv_poll_t poll;
  engine *e;
  curl_socket_t fd;
  int ldaps;
  sock *prev, *next;
};

struct req {
  req *prev, *next;
  engine *e;
  CURL *easy;
  cb_waiter w;
  int in_flight, box_alive;
  int ldaps;
  CURLcode result;
  char errbuf[CURL_ERROR_SIZE];
  struct curl_slist *headers;
  char *url;
  /* the body, in memory or in a temporary file next to `path` */
  char *body;
  size_t len, cap;
  curl_off_t received, max_size;
  int fd;
  char *path, *tmp;
  /* with to_file_over: the body stays in memory up to this many bytes, then spills to the
   * file (a big download never sits in memory; a small one never costs a file) */
  curl_off_t spill_over;
  int spill;
  /* the header block of the last response */
  char *hdr;
  size_t hlen, hcap;
  const char *abort_code; /* why a callback stopped the transfer */
  char abort_msg[200];
};

typedef struct {
  req *r;
} req_box;

/* ---- the engine ----------------------------------------------------------------------- */

static void free_handle(uv_handle_t *h) { free(h); }

static void sock_close(sock *k) {
  engine *e = k->e;
  if (k->prev) k->prev->next = k->next;
  else e->socks = k->next;
  if (k->next) k->next->prev = k->prev;
  uv_poll_stop(&k->poll);
  uv_close((uv_handle_t *)&k->poll, free_handle);
}

static void req_unlink(req *r) {
  engine *e = r->e;
  if (r->prev) r->prev->next = r->next;
  else e->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
  r->in_flight = 0;
  if (--e->running == 0) uv_unref((uv_handle_t *)e->timer);
  if (r->ldaps && --e->ldaps_running == 0) uv_timer_stop(e->kick);
}

static void req_free(req *r) {
  if (r->easy) curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->headers);
  if (r->fd >= 0) close(r->fd);
  if (r->tmp) unlink(r->tmp);
  free(r->tmp);
  free(r->path);
  free(r->url);
  free(r->body);
  free(r->hdr);
  free(r);
}

static void check_done(engine *e) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(e->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL *easy = m->easy_handle;
    CURLcode result = m->data.result; /* m is invalid after remove_handle */
    req *r = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
    curl_multi_remove_handle(e->multi, easy);
    if (!r) continue;
    r->result = result;
    req_unlink(r);
    cb_loop_wake(&r->w);
  }
}

static void on_poll(uv_poll_t *p, int status, int events) {
  sock *k = p->data;
  engine *e = k->e;
  if (e->closing) return;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  int running;
  curl_multi_socket_action(e->multi, k->fd, flags, &running); /* may close k: freed later */
  check_done(e);
}

static void on_timeout(uv_timer_t *t) {
  engine *e = t->data;
  if (e->closing) return;
  int running;
  curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(e);
}

/* on_kick works around libcurl bug #9580 (fixed in 8.6.0): over ldaps, libcurl 7.88 stops
 * watching the socket while it waits for the answer to its bind, data the TLS layer already
 * holds included, and sets no timer: curl_easy_perform gets out of it because it polls with
 * a timeout of its own and then runs every transfer; the socket interface would wait until
 * the transfer times out. So while ldaps transfers run, every transfer is given a turn each
 * 20 ms with curl_multi_socket_all (a transfer with nothing to do just returns). */
static void on_kick(uv_timer_t *t) {
  engine *e = t->data;
  if (e->closing) return;
  int running;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  curl_multi_socket_all(e->multi, &running);
#pragma GCC diagnostic pop
  check_done(e);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  engine *e = userp;
  sock *k = socketp;
  if (e->closing) return 0;
  if (what == CURL_POLL_REMOVE) {
    if (k) {
      curl_multi_assign(e->multi, s, NULL);
      sock_close(k);
    }
    return 0;
  }
  if (!k) {
    k = calloc(1, sizeof *k);
    if (!k) return -1;
    if (uv_poll_init_socket(cb_loop_uv(e->loop), &k->poll, s) != 0) {
      free(k);
      return -1;
    }
    k->e = e;
    k->fd = s;
    k->poll.data = k;
    req *r = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
    k->ldaps = r && r->ldaps;
    k->next = e->socks;
    if (e->socks) e->socks->prev = k;
    e->socks = k;
    curl_multi_assign(e->multi, s, k);
  }
  int ev = 0;
  if (what & CURL_POLL_IN) ev |= UV_READABLE;
  if (what & CURL_POLL_OUT) ev |= UV_WRITABLE;
  uv_poll_start(&k->poll, ev, on_poll);
  return 0;
}

static int on_curl_timer(CURLM *multi, long ms, void *userp) {
  (void)multi;
  engine *e = userp;
  if (e->closing) return 0;
  if (ms < 0) uv_timer_stop(e->timer);
  else uv_timer_start(e->timer, on_timeout, (uint64_t)ms, 0);
  return 0;
}

static void engine_shutdown(cb_res *res) {
  engine *e = (engine *)res;
  while (e->reqs) {
    req *r = e->reqs;
    curl_multi_remove_handle(e->multi, r->easy);
    req_unlink(r); /* the box frees it */
  }
  e->closing = 1;
  while (e->socks) sock_close(e->socks);
  curl_multi_cleanup(e->multi);
  uv_close((uv_handle_t *)e->timer, free_handle);
  uv_close((uv_handle_t *)e->kick, free_handle);
  free(e);
}

static engine *get_engine(lua_State *L, cb_loop *loop) {
  lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
  engine *e = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (e) return e;
  need_curl(L);
  e = calloc(1, sizeof *e);
  uv_timer_t *t = malloc(sizeof *t), *kick = malloc(sizeof *kick);
  CURLM *multi = curl_multi_init();
  if (!e || !t || !kick || !multi) {
    free(e);
    free(t);
    free(kick);
    if (multi) curl_multi_cleanup(multi);
    luaL_error(L, "http: cannot start the transfer engine (out of memory)");
    return NULL;
  }
  e->loop = loop;
  e->multi = multi;
  e->timer = t;
  uv_timer_init(cb_loop_uv(loop), t);
  uv_unref((uv_handle_t *)t);
  t->data = e;
  e->kick = kick;
  uv_timer_init(cb_loop_uv(loop), kick);
  uv_unref((uv_handle_t *)kick);
  kick->data = e;
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, e);
  e->res.shutdown = engine_shutdown;
  cb_loop_link(loop, &e->res);
  lua_pushlightuserdata(L, e);
  lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
  return e;
}

/* ---- curl callbacks of a request ------------------------------------------------------ */

static int grow(char **buf, size_t *cap, size_t need, size_t first) {
  if (need <= *cap) return 1;
  size_t n = *cap ? *cap : first;
  while (n < need) n *= 2;
  char *p = realloc(*buf, n);
  if (!p) return 0;
  *buf = p;
  *cap = n;
  return 1;
}

static size_t abort_with(req *r, const char *code, const char *fmt, long long v) {
  r->abort_code = code;
  snprintf(r->abort_msg, sizeof r->abort_msg, fmt, v);
  return 0; /* less than given: curl stops with CURLE_WRITE_ERROR */
}

static int open_temp(req *r);

/* spill: the body so far moves from memory to the temporary file, which takes the rest */
static size_t spill(req *r) {
  r->spill = 0;
  if (!open_temp(r) || !cb_write_all(r->fd, r->body, r->len)) {
    r->abort_code = "io";
    snprintf(r->abort_msg, sizeof r->abort_msg, "%s: cannot write the download next to it: %s",
             r->path, strerror(errno));
    return 0;
  }
  free(r->body);
  r->body = NULL;
  r->len = r->cap = 0;
  return 1;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud) {
  req *r = ud;
  size_t len = size * n;
  if (r->received + (curl_off_t)len > r->max_size)
    return abort_with(r, "too_large", "body over max_size (%lld bytes)", (long long)r->max_size);
  if (r->spill) {
    curl_off_t cl = -1;
    if (r->cap == 0) curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (cl > r->spill_over || r->received + (curl_off_t)len > r->spill_over) {
      if (!spill(r)) return 0;
    }
  }
  if (r->fd >= 0) {
    if (!cb_write_all(r->fd, p, len)) {
      r->abort_code = "io";
      /* named by the target file, as spill() does: the temporary name is ours, not the user's */
      snprintf(r->abort_msg, sizeof r->abort_msg, "%s: cannot write the download next to it: %s",
               r->path, strerror(errno));
      return 0;
    }
  } else {
    if (r->cap == 0) {
      /* a big CRL should cost its size once, not the next power of two */
      curl_off_t cl = -1;
      curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
      if (cl > 0 && cl <= r->max_size && (r->body = malloc((size_t)cl))) r->cap = (size_t)cl;
    }
    if (!grow(&r->body, &r->cap, r->len + len, 16384))
      return abort_with(r, "memory", "out of memory after %lld bytes", (long long)r->len);
    memcpy(r->body + r->len, p, len);
    r->len += len;
  }
  r->received += (curl_off_t)len;
  return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  req *r = ud;
  size_t len = size * n;
  if (len >= 5 && !memcmp(p, "HTTP/", 5)) r->hlen = 0; /* a new response: redirect, 100 */
  if (r->hlen + len > MAX_HEADER_BYTES)
    return abort_with(r, "too_large", "response headers over %lld bytes", MAX_HEADER_BYTES);
  if (!grow(&r->hdr, &r->hcap, r->hlen + len, 1024))
    return abort_with(r, "memory", "out of memory in the headers (%lld bytes)", (long long)r->hlen);
  memcpy(r->hdr + r->hlen, p, len);
  r->hlen += len;
  return len;
}

/* ---- results -------------------------------------------------------------------------- */

static const char *code_of(req *r) {
  switch (r->result) {
  case CURLE_OPERATION_TIMEDOUT: return "timeout";
  case CURLE_FILESIZE_EXCEEDED: return "too_large";
  case CURLE_PARTIAL_FILE: return "truncated";
  case CURLE_TOO_MANY_REDIRECTS: return "redirect";
  case CURLE_URL_MALFORMAT: return "url";
  case CURLE_OUT_OF_MEMORY: return "memory";
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR: return "connect";
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_USE_SSL_FAILED: return "tls";
  case CURLE_LDAP_CANNOT_BIND:
  case CURLE_LDAP_SEARCH_FAILED:
  case CURLE_LDAP_INVALID_URL: return "ldap";
  case CURLE_WRITE_ERROR: return r->abort_code ? r->abort_code : "io";
  case CURLE_UNSUPPORTED_PROTOCOL: {
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    return status >= 300 && status < 400 ? "redirect" : "protocol";
  }
  default: return "protocol";
  }
}

/* header_value finds a field of the last response's header block; NULL if absent. */
static const char *header_value(req *r, const char *name, size_t *vlen) {
  size_t nlen = strlen(name);
  const char *p = r->hdr, *end = r->hdr + r->hlen;
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end;
    if ((size_t)(le - p) > nlen && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
      const char *v = p + nlen + 1;
      while (v < le && (*v == ' ' || *v == '\t')) v++;
      while (le > v && (le[-1] == '\r' || le[-1] == ' ')) le--;
      *vlen = (size_t)(le - v);
      return v;
    }
    p = eol ? eol + 1 : end;
  }
  return NULL;
}

static int finish_file(req *r, int commit, char *err, size_t errlen);

static int push_failure(lua_State *L, req *r) {
  if (r->fd >= 0) finish_file(r, 0, NULL, 0); /* the previous copy stays, no temporary left */
  const char *code = code_of(r);
  const char *why = r->abort_code && r->result == CURLE_WRITE_ERROR ? r->abort_msg
                    : r->errbuf[0]                                  ? r->errbuf
                                                                    : curl_easy_strerror(r->result);
  size_t n = strlen(why);
  while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == '.' || why[n - 1] == ' ')) n--;
  luaL_Buffer b;
  lua_pushnil(L);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, r->url);
  luaL_addstring(&b, ": ");
  if (r->result == CURLE_FILESIZE_EXCEEDED) {
    size_t cllen = 0;
    const char *cl = header_value(r, "content-length", &cllen);
    char tmp[160];
    if (cl && cllen < 40)
      snprintf(tmp, sizeof tmp, "Content-Length announces %.*s bytes, over max_size (%lld)",
               (int)cllen, cl, (long long)r->max_size);
    else
      snprintf(tmp, sizeof tmp, "body over max_size (%lld bytes)", (long long)r->max_size);
    luaL_addstring(&b, tmp);
  } else if (!strcmp(code, "redirect") && r->result == CURLE_UNSUPPORTED_PROTOCOL) {
    size_t llen = 0;
    const char *loc = header_value(r, "location", &llen);
    luaL_addstring(&b, "redirect to a forbidden location");
    if (loc) {
      luaL_addchar(&b, ' ');
      luaL_addlstring(&b, loc, llen < 300 ? llen : 300);
    }
    luaL_addstring(&b, " (only http, https, ldap and ldaps are followed)");
  } else {
    luaL_addlstring(&b, why, n);
  }
  luaL_pushresult(&b);
  lua_pushstring(L, code);
  return 3;
}

/* push_headers parses the header block of the last response into a table (lower-case
 * names; repeated fields joined with ", "); returns the reason phrase via reason/rlen. */
static void push_headers(lua_State *L, req *r, const char **reason, size_t *rlen) {
  lua_newtable(L);
  int t = lua_gettop(L);
  lua_pushnil(L); /* t + 1: the name of the last field, for folded lines */
  *reason = NULL;
  *rlen = 0;
  const char *p = r->hdr, *end = r->hdr + r->hlen;
  int first = 1;
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *next = eol ? eol + 1 : end;
    const char *le = eol ? eol : end;
    if (le > p && le[-1] == '\r') le--;
    if (first) {
      first = 0;
      const char *sp = memchr(p, ' ', (size_t)(le - p));
      if (sp) sp = memchr(sp + 1, ' ', (size_t)(le - sp - 1));
      if (sp) {
        *reason = sp + 1;
        *rlen = (size_t)(le - sp - 1);
      }
    } else if (le > p && (*p == ' ' || *p == '\t')) {
      if (!lua_isnil(L, t + 1)) { /* an obsolete folded line continues the last field */
        const char *v = p;
        while (v < le && (*v == ' ' || *v == '\t')) v++;
        lua_pushvalue(L, t + 1);
        lua_pushvalue(L, t + 1);
        lua_rawget(L, t);
        lua_pushliteral(L, " ");
        lua_pushlstring(L, v, (size_t)(le - v));
        lua_concat(L, 3);
        lua_rawset(L, t);
      }
    } else {
      const char *colon = memchr(p, ':', (size_t)(le - p));
      if (colon && colon > p) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (const char *q = p; q < colon; q++) luaL_addchar(&b, (char)tolower((unsigned char)*q));
        luaL_pushresult(&b);
        lua_pushvalue(L, -1);
        lua_replace(L, t + 1);
        const char *v = colon + 1, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        lua_pushvalue(L, -1);
        if (lua_rawget(L, t) == LUA_TSTRING) {
          lua_pushliteral(L, ", ");
          lua_pushlstring(L, v, (size_t)(ve - v));
          lua_concat(L, 3);
        } else {
          lua_pop(L, 1);
          lua_pushlstring(L, v, (size_t)(ve - v));
        }
        lua_rawset(L, t);
      }
    }
    p = next;
  }
  lua_settop(L, t);
}

/* finish_file: commit the temporary file to its path, or drop it. 1 on success. */
static int finish_file(req *r, int commit, char *err, size_t errlen) {
  int ok = 1;
  if (commit) {
    if (fsync(r->fd) != 0 || fchmod(r->fd, 0644) != 0) ok = 0;
  }
  if (close(r->fd) != 0) ok = 0;
  r->fd = -1;
  if (commit && ok && rename(r->tmp, r->path) == 0) {
    free(r->tmp);
    r->tmp = NULL;
    char dir[PATH_MAX];
    const char *slash = strrchr(r->path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == r->path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - r->path), r->path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    return 1;
  }
  if (commit) snprintf(err, errlen, "%s: %s", r->path, strerror(errno));
  unlink(r->tmp);
  free(r->tmp);
  r->tmp = NULL;
  return !commit;
}

static int push_response(lua_State *L, req *r) {
  if (r->result != CURLE_OK) return push_failure(L, r);
  long status = 0, redirects = 0;
  curl_off_t total_us = 0, filetime = -1;
  char *url = NULL, *scheme = NULL, *ctype = NULL;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_COUNT, &redirects);
  curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us);
  curl_easy_getinfo(r->easy, CURLINFO_FILETIME_T, &filetime);
  curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url);
  curl_easy_getinfo(r->easy, CURLINFO_SCHEME, &scheme);
  curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
  int is_http = scheme && !strncasecmp(scheme, "http", 4);

  lua_createtable(L, 0, 12);
  if (r->fd >= 0) {
    char err[PATH_MAX + 100];
    int commit = is_http ? status == 200 : 1;
    if (!finish_file(r, commit, err, sizeof err)) {
      lua_pushnil(L);
      lua_pushstring(L, err);
      lua_pushliteral(L, "io");
      return 3;
    }
    if (commit) {
      lua_pushstring(L, r->path);
      lua_setfield(L, -2, "file");
    }
  } else {
    lua_pushlstring(L, r->body ? r->body : "", r->len);
    lua_setfield(L, -2, "body");
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
  }
  lua_pushinteger(L, (lua_Integer)r->received);
  lua_setfield(L, -2, "size");
  if (is_http) {
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    const char *reason;
    size_t rlen;
    push_headers(L, r, &reason, &rlen);
    lua_setfield(L, -2, "headers");
    if (reason) {
      lua_pushlstring(L, reason, rlen);
      lua_setfield(L, -2, "reason");
    }
  } else {
    lua_newtable(L);
    lua_setfield(L, -2, "headers");
  }
  if (scheme) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *q = scheme; *q; q++) luaL_addchar(&b, (char)tolower((unsigned char)*q));
    luaL_pushresult(&b);
    lua_setfield(L, -2, "protocol");
  }
  lua_pushstring(L, url ? url : r->url);
  lua_setfield(L, -2, "url");
  lua_pushinteger(L, redirects);
  lua_setfield(L, -2, "redirects");
  lua_pushnumber(L, (lua_Number)total_us / 1e6);
  lua_setfield(L, -2, "time");
  if (filetime >= 0) {
    lua_pushinteger(L, (lua_Integer)filetime);
    lua_setfield(L, -2, "last_modified");
  }
  if (ctype) {
    lua_pushstring(L, ctype);
    lua_setfield(L, -2, "content_type");
  }
  return 1;
}

static int req_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  req *r = (req *)ctx;
  int n = push_response(L, r);
  /* early: the box may stay around until the next collection, which counts only Lua's own
   * memory (a mirror run of 5,000 sources kept 60 MB of header buffers alive this way) */
  curl_easy_cleanup(r->easy);
  r->easy = NULL;
  free(r->hdr);
  r->hdr = NULL;
  r->hlen = r->hcap = 0;
  return n;
}

static int req_gc(lua_State *L) {
  req_box *box = luaL_checkudata(L, 1, REQ_MT);
  req *r = box->r;
  if (!r) return 0;
  box->r = NULL;
  r->box_alive = 0;
  if (r->in_flight) { /* the state is closing, or a synchronous wait was abandoned */
    curl_multi_remove_handle(r->e->multi, r->easy);
    req_unlink(r);
  }
  req_free(r);
  return 0;
}

/* ---- http.request --------------------------------------------------------------------- */

static char *xstrdup(lua_State *L, const char *s) {
  char *d = strdup(s);
  if (!d) luaL_error(L, "http: out of memory");
  return d;
}

/* open_temp creates the temporary file next to r->path, mode 0600 until committed. 0 with
 * errno set when it cannot. */
static int open_temp(req *r) {
  const char *path = r->path;
  size_t n = strlen(path) + 32;
  char *tmp = malloc(n);
  if (!tmp) {
    errno = ENOMEM;
    return 0;
  }
  const char *slash = strrchr(path, '/');
  if (slash) snprintf(tmp, n, "%.*s/.%s.XXXXXX.part", (int)(slash - path), path, slash + 1);
  else snprintf(tmp, n, ".%s.XXXXXX.part", path);
  r->tmp = tmp;
  r->fd = mkostemps(tmp, 5, O_CLOEXEC);
  if (r->fd < 0) {
    int e = errno;
    free(r->tmp);
    r->tmp = NULL;
    errno = e;
    return 0;
  }
  return 1;
}

#define SETOPT(o, v)                                                                         \
  do {                                                                                       \
    CURLcode rc_ = curl_easy_setopt(r->easy, o, v);                                          \
    if (rc_ != CURLE_OK) return luaL_error(L, "http: %s: %s", #o, curl_easy_strerror(rc_)); \
  } while (0)

/* request(opts) -> response | nil, err, code. opts is normalised by http.lua: url, method,
 * body, headers (a list of "Name: value"), connect_timeout_ms, timeout_ms, low_speed_limit,
 * low_speed_time, max_size, max_redirects, ca_file, ca_path, insecure, if_modified_since,
 * user_agent, to_file, to_file_over, proxy, no_proxy, verbose. */
static int l_request(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  cb_loop *loop = cb_loop_get(L);
  if (!cb_loop_can_wait(L, loop, "http")) return lua_error(L);
  engine *e = get_engine(L, loop);
  const char *url = cb_optfield_string(L, 1, "url", NULL, NULL);
  if (!url) return luaL_error(L, "http: option 'url' missing");

  req_box *box = cb_newudata(L, sizeof *box, REQ_MT); /* index 2, for the whole wait */
  req *r = calloc(1, sizeof *r);
  if (!r) return luaL_error(L, "http: out of memory");
  r->fd = -1;
  r->e = e;
  r->box_alive = 1;
  r->w.loop = loop;
  r->w.ref = LUA_NOREF;
  box->r = r;
  r->url = xstrdup(L, url);
  r->easy = curl_easy_init();
  if (!r->easy) return luaL_error(L, "http: cannot create a transfer");

  SETOPT(CURLOPT_URL, url);
  SETOPT(CURLOPT_PRIVATE, (char *)r);
  SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_PROTOCOLS_STR, PROTOCOLS);
  SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, PROTOCOLS);
  SETOPT(CURLOPT_WRITEFUNCTION, on_write);
  SETOPT(CURLOPT_WRITEDATA, r);
  SETOPT(CURLOPT_HEADERFUNCTION, on_header);
  SETOPT(CURLOPT_HEADERDATA, r);
  SETOPT(CURLOPT_FILETIME, 1L);
  r->ldaps = !strncasecmp(url, "ldaps:", 6) &&
             curl_version_info(CURLVERSION_NOW)->version_num < 0x080600;
  if (!strncasecmp(url, "ldap", 4) && curl_version_info(CURLVERSION_NOW)->version_num < 0x080500) {
    /* libcurl before 8.5.0 leaks the LDAP state of a connection it reuses (curl PR #12166):
     * one connection per LDAP request, closed after it */
    SETOPT(CURLOPT_FRESH_CONNECT, 1L);
    SETOPT(CURLOPT_FORBID_REUSE, 1L);
  }

  lua_Integer max_redirects = cb_optfield_integer(L, 1, "max_redirects", 5);
  SETOPT(CURLOPT_FOLLOWLOCATION, max_redirects > 0 ? 1L : 0L);
  SETOPT(CURLOPT_MAXREDIRS, (long)max_redirects);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)cb_optfield_integer(L, 1, "connect_timeout_ms", 10000));
  SETOPT(CURLOPT_TIMEOUT_MS, (long)cb_optfield_integer(L, 1, "timeout_ms", 60000));
  lua_Integer ls_limit = cb_optfield_integer(L, 1, "low_speed_limit", 0);
  if (ls_limit > 0) {
    SETOPT(CURLOPT_LOW_SPEED_LIMIT, (long)ls_limit);
    SETOPT(CURLOPT_LOW_SPEED_TIME, (long)cb_optfield_integer(L, 1, "low_speed_time", 30));
  }
  r->max_size = (curl_off_t)cb_optfield_integer(L, 1, "max_size", (lua_Integer)64 << 20);
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, r->max_size);

  const char *s;
  if ((s = cb_optfield_string(L, 1, "user_agent", NULL, NULL))) SETOPT(CURLOPT_USERAGENT, s);
  const char *ca_file = cb_optfield_string(L, 1, "ca_file", NULL, NULL);
  const char *ca_path = cb_optfield_string(L, 1, "ca_path", NULL, NULL);
  if (ca_file) SETOPT(CURLOPT_CAINFO, ca_file);
  /* a given CA is the only trust: libcurl would add its default folder (/etc/ssl/certs) */
  if (ca_file || ca_path) SETOPT(CURLOPT_CAPATH, ca_path);
  if ((s = cb_optfield_string(L, 1, "proxy", NULL, NULL))) SETOPT(CURLOPT_PROXY, s);
  if ((s = cb_optfield_string(L, 1, "no_proxy", NULL, NULL))) SETOPT(CURLOPT_NOPROXY, s);
  if (cb_optfield_boolean(L, 1, "insecure", 0)) {
    SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (cb_optfield_boolean(L, 1, "verbose", 0)) SETOPT(CURLOPT_VERBOSE, 1L);
  lua_Integer ims = cb_optfield_integer(L, 1, "if_modified_since", -1);
  if (ims >= 0) {
    SETOPT(CURLOPT_TIMECONDITION, (long)CURL_TIMECOND_IFMODSINCE);
    SETOPT(CURLOPT_TIMEVALUE_LARGE, (curl_off_t)ims);
  }

  const char *method = cb_optfield_string(L, 1, "method", "GET", NULL);
  size_t blen = 0;
  const char *body = cb_optfield_string(L, 1, "body", NULL, &blen);
  if (body) {
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    SETOPT(CURLOPT_COPYPOSTFIELDS, body);
  }
  if (!strcmp(method, "HEAD")) SETOPT(CURLOPT_NOBODY, 1L);
  else if (!strcmp(method, "POST") && body) { /* POSTFIELDS made it a POST */
  } else if (strcmp(method, "GET") != 0 || body) SETOPT(CURLOPT_CUSTOMREQUEST, method);

  if (lua_getfield(L, 1, "headers") == LUA_TTABLE) {
    for (lua_Integer i = 1;; i++) {
      if (lua_geti(L, -1, i) == LUA_TNIL) {
        lua_pop(L, 1);
        break;
      }
      const char *h = lua_tostring(L, -1);
      if (!h) return luaL_error(L, "http: headers must be strings");
      struct curl_slist *n = curl_slist_append(r->headers, h);
      if (!n) return luaL_error(L, "http: out of memory");
      r->headers = n;
      lua_pop(L, 1);
    }
    SETOPT(CURLOPT_HTTPHEADER, r->headers);
  }
  lua_pop(L, 1);

  lua_Integer over = cb_optfield_integer(L, 1, "to_file_over", -1);
  if ((s = cb_optfield_string(L, 1, "to_file", NULL, NULL))) r->path = xstrdup(L, s);
  if (s && over >= 0) {
    r->spill = 1;
    r->spill_over = (curl_off_t)over;
  } else if (s && !open_temp(r)) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: cannot create a temporary file next to it: %s", s, strerror(errno));
    lua_pushliteral(L, "io");
    return 3;
  }

  CURLMcode mc = curl_multi_add_handle(e->multi, r->easy);
  if (mc != CURLM_OK) return luaL_error(L, "http: %s", curl_multi_strerror(mc));
  r->in_flight = 1;
  r->next = e->reqs;
  if (e->reqs) e->reqs->prev = r;
  e->reqs = r;
  if (e->running++ == 0) uv_ref((uv_handle_t *)e->timer);
  if (r->ldaps && e->ldaps_running++ == 0) uv_timer_start(e->kick, on_kick, 20, 20);
  return cb_loop_block(L, &r->w, "http", req_k, (lua_KContext)r);
}

/* ---- LDAP results --------------------------------------------------------------------- */

/* attr_eq compares attribute descriptions without their options (";binary"), ignoring case. */
static int attr_eq(const char *a, size_t alen, const char *b, size_t blen) {
  const char *sa = memchr(a, ';', alen), *sb = memchr(b, ';', blen);
  if (sa) alen = (size_t)(sa - a);
  if (sb) blen = (size_t)(sb - b);
  return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* ldap_values(body[, attribute]) -> {value, ...} | nil, err: the values in the text libcurl
 * makes of an LDAP search result ("DN: dn\n\tattr: text\n\tattr:: base64\n\n"), base64
 * decoded, in order; only those of attribute when given. */
static int l_ldap_values(lua_State *L) {
  size_t len, alen = 0;
  const char *p = luaL_checklstring(L, 1, &len);
  const char *attr = luaL_optlstring(L, 2, NULL, &alen);
  const char *end = p + len;
  lua_newtable(L);
  lua_Integer n = 0, line = 0;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end;
    line++;
    if (le > p && le[-1] == '\r') le--;
    if (le == p || (le - p >= 3 && !memcmp(p, "DN:", 3))) {
      /* an empty line or the start of an entry */
    } else if (*p == '\t') {
      const char *name = p + 1;
      const char *colon = memchr(name, ':', (size_t)(le - name));
      if (!colon) return cb_fail(L, "ldap_values: line %I: no ':' after the attribute name", line);
      size_t nlen = (size_t)(colon - name);
      int b64 = colon + 1 < le && colon[1] == ':';
      const char *v = colon + 1 + b64;
      if (v < le && *v == ' ') v++;
      size_t vlen = (size_t)(le - v);
      if (!attr || attr_eq(name, nlen, attr, alen)) {
        if (b64) {
          size_t max;
          if (!EVP_DecodedLength(&max, vlen))
            return cb_fail(L, "ldap_values: line %I: bad base64 length", line);
          luaL_Buffer b;
          uint8_t *out = (uint8_t *)luaL_buffinitsize(L, &b, max ? max : 1);
          size_t olen;
          if (!EVP_DecodeBase64(out, &olen, max, (const uint8_t *)v, vlen))
            return cb_fail(L, "ldap_values: line %I: bad base64", line);
          luaL_pushresultsize(&b, olen);
        } else {
          lua_pushlstring(L, v, vlen);
        }
        lua_rawseti(L, -2, ++n);
      }
    } else {
      return cb_fail(L, "ldap_values: line %I: not a DN or an attribute line", line);
    }
    p = eol ? eol + 1 : end;
  }
  return 1;
}

/* info() -> {version=, ssl=, protocols={name=true}} of the libcurl in use */
static int l_info(lua_State *L) {
  need_curl(L);
  curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, d->version);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, d->ssl_version ? d->ssl_version : "");
  lua_setfield(L, -2, "ssl");
  lua_newtable(L);
  for (const char *const *p = d->protocols; p && *p; p++) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, *p);
  }
  lua_setfield(L, -2, "protocols");
  return 1;
}

/* active() -> transfers in flight, watched sockets */
static int l_active(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
  engine *e = cb_loop_closing(cb_loop_get(L)) ? NULL : lua_touserdata(L, -1); /* freed */
  lua_pop(L, 1);
  int socks = 0;
  if (e)
    for (sock *k = e->socks; k; k = k->next) socks++;
  lua_pushinteger(L, e ? e->running : 0);
  lua_pushinteger(L, socks);
  return 2;
}

int luaopen__certbench_http(lua_State *L) {
  cb_loop_get(L);
  cb_newclass(L, REQ_MT, NULL, (const luaL_Reg[]){{"__gc", req_gc}, {NULL, NULL}});
  static const luaL_Reg fns[] = {{"request", l_request},
                                 {"ldap_values", l_ldap_values},
                                 {"info", l_info},
                                 {"active", l_active},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
