/* tls.c: `_certbench.tls`, a TLS client handshake with BoringSSL's libssl on the event loop of
 * certbench.loop: a uv_tcp connection, and a BIO pair between the SSL object and the socket
 * (what the network gives is written into one end, what SSL writes is read from it and sent
 * with uv_write), so a handshake is a few callbacks and any number run at once in one thread.
 * Inside a task the caller yields; outside, the loop runs until the handshake is over.
 *
 * Certificates are not judged here: a custom verifier captures the chain as presented and
 * accepts it, so a chain from an unknown CA can still be shown, and core/tls.lua verifies it
 * with certbench.store, with the same verdicts and messages as everywhere else.
 *
 * Ownership (after http.c): a connection lives in C memory pointed to by a box on the caller's
 * stack. Every libuv handle and request it starts counts in `pending`; the memory goes when
 * nothing is pending and the box is collected. A handshake that ends tears its I/O down at
 * once (uv_close); the results stay in the connection until the caller's continuation has
 * pushed them. The loop shuts a connection down when the state closes. */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cb.h"
#include "dynlib.h"
#include "loop.h"
#include "objects.h"

/* BoringSSL's libssl is opened on first use (core/dynlib.h), not linked: it is C++ and brings
 * libstdc++ and libgcc_s, whose loading and relocation cost every command ~1.5 ms of CPU
 * (an empty program linked with and without -lssl, perf stat) although only a TLS handshake
 * uses it. need_ssl() before the first call; its own references to libcrypto.so.0 bind to
 * the BoringSSL the program links (the same soname, already loaded). ssl.h defines a few
 * names as themselves and SSL_get/set_app_data as SSL_get/set_ex_data: each is undefined
 * before it is pointed at the table. */
#define CB_SSL_FUNCS(X) \
  X(SSL_CIPHER_get_name) X(SSL_CIPHER_standard_name) X(SSL_CTX_free) X(SSL_CTX_new) \
  X(SSL_CTX_sess_set_new_cb) X(SSL_CTX_set_max_proto_version) X(SSL_CTX_set_min_proto_version) \
  X(SSL_CTX_set_session_cache_mode) X(SSL_add1_chain_cert) X(SSL_check_private_key) \
  X(SSL_do_handshake) X(SSL_free) X(SSL_get0_alpn_selected) X(SSL_get0_peer_certificates) \
  X(SSL_get_ex_data) X(SSL_get_client_CA_list) X(SSL_get_current_cipher) X(SSL_get_curve_id) \
  X(SSL_get_curve_name) X(SSL_get_error) X(SSL_get_peer_signature_algorithm) \
  X(SSL_get_signature_algorithm_name) X(SSL_get_version) X(SSL_new) X(SSL_read) \
  X(SSL_set_alpn_protos) X(SSL_set_ex_data) X(SSL_set_bio) X(SSL_set_cert_cb) \
  X(SSL_set_connect_state) X(SSL_set_custom_verify) X(SSL_set_info_callback) \
  X(SSL_set_tlsext_host_name) X(SSL_shutdown) X(SSL_use_PrivateKey) X(SSL_use_certificate) \
  X(SSL_version) X(TLS_method)
static struct {
  CB_SSL_FUNCS(CB_DYNLIB_FIELD)
} sslfn;
#define SSL_SYM(f) CB_DYNLIB_SYM(sslfn, f)
static const cb_dynsym ssl_syms[] = {CB_SSL_FUNCS(SSL_SYM){NULL, NULL}};
#undef SSL_SYM
static cb_dynlib libssl = {.soname = "libssl.so.0", .syms = ssl_syms};
#undef SSL_CIPHER_get_name
#define SSL_CIPHER_get_name (*sslfn.SSL_CIPHER_get_name)
#undef SSL_CIPHER_standard_name
#define SSL_CIPHER_standard_name (*sslfn.SSL_CIPHER_standard_name)
#undef SSL_CTX_free
#define SSL_CTX_free (*sslfn.SSL_CTX_free)
#undef SSL_CTX_new
#define SSL_CTX_new (*sslfn.SSL_CTX_new)
#undef SSL_CTX_sess_set_new_cb
#define SSL_CTX_sess_set_new_cb (*sslfn.SSL_CTX_sess_set_new_cb)
#undef SSL_CTX_set_max_proto_version
#define SSL_CTX_set_max_proto_version (*sslfn.SSL_CTX_set_max_proto_version)
#undef SSL_CTX_set_min_proto_version
#define SSL_CTX_set_min_proto_version (*sslfn.SSL_CTX_set_min_proto_version)
#undef SSL_CTX_set_session_cache_mode
#define SSL_CTX_set_session_cache_mode (*sslfn.SSL_CTX_set_session_cache_mode)
#undef SSL_add1_chain_cert
#define SSL_add1_chain_cert (*sslfn.SSL_add1_chain_cert)
#undef SSL_check_private_key
#define SSL_check_private_key (*sslfn.SSL_check_private_key)
#undef SSL_do_handshake
#define SSL_do_handshake (*sslfn.SSL_do_handshake)
#undef SSL_free
#define SSL_free (*sslfn.SSL_free)
#undef SSL_get0_alpn_selected
#define SSL_get0_alpn_selected (*sslfn.SSL_get0_alpn_selected)
#undef SSL_get0_peer_certificates
#define SSL_get0_peer_certificates (*sslfn.SSL_get0_peer_certificates)
#undef SSL_get_ex_data
#define SSL_get_ex_data (*sslfn.SSL_get_ex_data)
#undef SSL_get_client_CA_list
#define SSL_get_client_CA_list (*sslfn.SSL_get_client_CA_list)
#undef SSL_get_current_cipher
#define SSL_get_current_cipher (*sslfn.SSL_get_current_cipher)
#undef SSL_get_curve_id
#define SSL_get_curve_id (*sslfn.SSL_get_curve_id)
#undef SSL_get_curve_name
#define SSL_get_curve_name (*sslfn.SSL_get_curve_name)
#undef SSL_get_error
#define SSL_get_error (*sslfn.SSL_get_error)
#undef SSL_get_peer_signature_algorithm
#define SSL_get_peer_signature_algorithm (*sslfn.SSL_get_peer_signature_algorithm)
#undef SSL_get_signature_algorithm_name
#define SSL_get_signature_algorithm_name (*sslfn.SSL_get_signature_algorithm_name)
#undef SSL_get_version
#define SSL_get_version (*sslfn.SSL_get_version)
#undef SSL_new
#define SSL_new (*sslfn.SSL_new)
#undef SSL_read
#define SSL_read (*sslfn.SSL_read)
#undef SSL_set_alpn_protos
#define SSL_set_alpn_protos (*sslfn.SSL_set_alpn_protos)
#undef SSL_set_ex_data
#define SSL_set_ex_data (*sslfn.SSL_set_ex_data)
#undef SSL_set_bio
#define SSL_set_bio (*sslfn.SSL_set_bio)
#undef SSL_set_cert_cb
#define SSL_set_cert_cb (*sslfn.SSL_set_cert_cb)
#undef SSL_set_connect_state
#define SSL_set_connect_state (*sslfn.SSL_set_connect_state)
#undef SSL_set_custom_verify
#define SSL_set_custom_verify (*sslfn.SSL_set_custom_verify)
#undef SSL_set_info_callback
#define SSL_set_info_callback (*sslfn.SSL_set_info_callback)
#undef SSL_set_tlsext_host_name
#define SSL_set_tlsext_host_name (*sslfn.SSL_set_tlsext_host_name)
#undef SSL_shutdown
#define SSL_shutdown (*sslfn.SSL_shutdown)
#undef SSL_use_PrivateKey
#define SSL_use_PrivateKey (*sslfn.SSL_use_PrivateKey)
#undef SSL_use_certificate
#define SSL_use_certificate (*sslfn.SSL_use_certificate)
#undef SSL_version
#define SSL_version (*sslfn.SSL_version)
#undef TLS_method
#define TLS_method (*sslfn.TLS_method)

/* need_ssl opens libssl, once; raises "tls.handshake: ..." when it cannot (a broken
 * installation, not a failure of the peer). It is opened by path, from the folder of the
 * libcrypto.so.0 in the process, so the two always come from the same BoringSSL; by name,
 * dlopen would search the run path of its caller, which under AddressSanitizer is the
 * sanitizer's interceptor (no run path), not the program. */
static void need_ssl(lua_State *L) {
  static char path[PATH_MAX];
  Dl_info di;
  if (!libssl.state && dladdr((void *)&BIO_new_bio_pair, &di) && di.dli_fname) {
    const char *slash = strrchr(di.dli_fname, '/');
    if (slash && snprintf(path, sizeof path, "%.*s/libssl.so.0", (int)(slash - di.dli_fname),
                          di.dli_fname) < (int)sizeof path)
      libssl.soname = path;
  }
  if (!cb_dynlib_load(&libssl)) luaL_error(L, "tls.handshake: cannot load libssl: %s", libssl.error);
}

#define CONN_MT "certbench.tls.connection"
#define PAIR_BUF (64 * 1024)

enum phase { P_RESOLVE, P_CONNECT, P_HANDSHAKE, P_SETTLE, P_DONE };

typedef struct conn {
  cb_res res; /* first: the resource is the connection */
  cb_loop *loop;
  cb_waiter w;
  int box_alive, finished, linked, gai_active;
  int pending; /* handles to close and requests whose callbacks are due */
  enum phase phase;
  uv_getaddrinfo_t gai;
  struct addrinfo *ai, *ai_next;
  uv_connect_t creq;
  uv_tcp_t *tcp;
  uv_timer_t *timer;
  int settle_timer; /* the timer now waits for the settle time, not the deadline */
  uint64_t deadline; /* uv_now value */
  uint64_t settle_ms;
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *net; /* our end of the pair */
  int eof;
  char connect_err[128];
  /* results */
  const char *code; /* NULL on success */
  char codebuf[48];
  char msg[512];
  int alert_recv, alert_sent; /* -1: none */
  int cert_requested, have_cert, ticket, settled_by;
  STACK_OF(X509) *chain;
  STACK_OF(X509_NAME) *ca_names;
  char peer_ip[64];
  int peer_port;
  char host[256];
  int port;
  uint8_t rbuf[16384];
} conn;

typedef struct {
  conn *c;
} conn_box;

enum { SETTLED_NONE, SETTLED_TICKET, SETTLED_DATA, SETTLED_CLOSE, SETTLED_TIME };

/* ---- alerts -------------------------------------------------------------------------- */

static const char *alert_name(int desc) {
  switch (desc) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 21: return "decryption_failed";
    case 22: return "record_overflow";
    case 30: return "decompression_failure";
    case 40: return "handshake_failure";
    case 41: return "no_certificate";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 60: return "export_restriction";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 111: return "certificate_unobtainable";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 114: return "bad_certificate_hash_value";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    case 121: return "ech_required";
    default: return NULL;
  }
}

/* ---- teardown ------------------------------------------------------------------------- */

static void conn_free(conn *c) {
  if (c->ssl) SSL_free(c->ssl);
  if (c->ctx) SSL_CTX_free(c->ctx);
  if (c->net) BIO_free(c->net);
  if (c->chain) sk_X509_pop_free(c->chain, X509_free);
  if (c->ca_names) sk_X509_NAME_pop_free(c->ca_names, X509_NAME_free);
  if (c->ai) uv_freeaddrinfo(c->ai);
  free(c);
}

static void maybe_free(conn *c) {
  if (c->pending == 0 && !c->box_alive) conn_free(c);
}

static void handle_closed(uv_handle_t *h) {
  conn *c = h->data;
  free(h);
  c->pending--;
  maybe_free(c);
}

static void close_tcp(conn *c) {
  if (!c->tcp) return;
  uv_read_stop((uv_stream_t *)c->tcp);
  uv_close((uv_handle_t *)c->tcp, handle_closed);
  c->tcp = NULL;
}

/* teardown stops every I/O of c; the callbacks still due only count down `pending` */
static void teardown(conn *c) {
  close_tcp(c);
  if (c->timer) {
    uv_close((uv_handle_t *)c->timer, handle_closed);
    c->timer = NULL;
  }
  if (c->gai_active) uv_cancel((uv_req_t *)&c->gai);
  if (c->linked) {
    cb_loop_unlink(c->loop, &c->res);
    c->linked = 0;
  }
}

/* finish ends the handshake (code NULL: success) and wakes the caller */
static void finish(conn *c, const char *code, const char *fmt, ...) {
  if (c->finished) return;
  c->finished = 1;
  c->code = code;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
  }
  c->phase = P_DONE;
  teardown(c);
  cb_loop_wake(&c->w);
}

static void shutdown_res(cb_res *res) {
  conn *c = (conn *)res;
  c->linked = 0; /* the loop took it off its list */
  if (!c->finished) {
    c->finished = 1;
    c->code = "tls";
    snprintf(c->msg, sizeof c->msg, "the event loop is closing");
    teardown(c);
  }
}

/* ---- the TLS side --------------------------------------------------------------------- */

typedef struct {
  uv_write_t req;
  conn *c;
  char data[];
} wreq;

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  conn *c = w->c;
  free(w);
  c->pending--;
  if (status < 0 && status != UV_ECANCELED && !c->finished)
    finish(c, "connect", "%s:%d: sending failed: %s", c->host, c->port, uv_strerror(status));
  maybe_free(c);
}

/* flush sends what SSL wrote into the pair */
static void flush(conn *c) {
  size_t n;
  while (c->tcp && (n = BIO_ctrl_pending(c->net)) > 0) {
    wreq *w = malloc(sizeof *w + n);
    if (!w) {
      finish(c, "tls", "out of memory");
      return;
    }
    int got = BIO_read(c->net, w->data, (int)n);
    if (got <= 0) {
      free(w);
      return;
    }
    w->c = c;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)got);
    int rc = uv_write(&w->req, (uv_stream_t *)c->tcp, &buf, 1, on_written);
    if (rc < 0) {
      free(w);
      finish(c, "connect", "%s:%d: sending failed: %s", c->host, c->port, uv_strerror(rc));
      return;
    }
    c->pending++;
  }
}

static void fail_tls(conn *c, int err) {
  const char *when = c->phase == P_SETTLE ? "right after the TLS handshake" : "during the TLS handshake";
  if (c->alert_recv >= 0) {
    const char *name = alert_name(c->alert_recv);
    ERR_clear_error();
    snprintf(c->codebuf, sizeof c->codebuf, "alert:%s", name ? name : "unknown");
    finish(c, c->codebuf, "%s:%d: the server sent the TLS alert %s (%d) %s", c->host, c->port,
           name ? name : "unknown", c->alert_recv, when);
    return;
  }
  char reason[256];
  cb_ssl_reason(reason, sizeof reason);
  if (err == SSL_ERROR_SSL && reason[0]) {
    finish(c, "tls", "%s:%d: TLS handshake failed: %s", c->host, c->port, reason);
  } else if (c->eof || err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL) {
    finish(c, "tls", "%s:%d: the server closed the connection %s", c->host, c->port, when);
  } else {
    finish(c, "tls", "%s:%d: TLS handshake failed (SSL error %d)", c->host, c->port, err);
  }
}

static void succeed(conn *c, int settled_by) {
  c->settled_by = settled_by;
  /* close_notify: the server sees an orderly end, not a reset */
  SSL_shutdown(c->ssl);
  flush(c);
  ERR_clear_error();
  finish(c, NULL, NULL);
}

static void arm_timer(conn *c, uint64_t ms);

static void handshake_done(conn *c) {
  /* in TLS 1.3 the server judges the client certificate after the client's Finished: a refusal
   * (certificate_required, unknown_ca...) comes after the handshake is over on this side, so
   * when a certificate was asked for, wait for the server's first word: a session ticket (it
   * accepted), an alert (it did not), or the settle time */
  if (SSL_version(c->ssl) >= TLS1_3_VERSION && c->cert_requested && c->settle_ms > 0 &&
      !c->ticket) {
    c->phase = P_SETTLE;
    uv_update_time(cb_loop_uv(c->loop));
    uint64_t now = uv_now(cb_loop_uv(c->loop));
    uint64_t left = c->deadline > now ? c->deadline - now : 0;
    c->settle_timer = 1;
    arm_timer(c, c->settle_ms < left ? c->settle_ms : left);
    return;
  }
  succeed(c, SETTLED_NONE);
}

static void drive(conn *c) {
  while (!c->finished) {
    if (c->phase == P_HANDSHAKE) {
      int r = SSL_do_handshake(c->ssl);
      int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
      flush(c);
      if (c->finished) return;
      if (r == 1) {
        handshake_done(c);
        continue;
      }
      if (err == SSL_ERROR_WANT_READ && !c->eof) return;
      fail_tls(c, err);
      return;
    }
    if (c->phase == P_SETTLE) {
      uint8_t scratch[4096];
      int r = SSL_read(c->ssl, scratch, sizeof scratch);
      int err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
      flush(c);
      if (c->finished) return;
      if (r > 0) {
        succeed(c, SETTLED_DATA);
      } else if (c->ticket) {
        succeed(c, SETTLED_TICKET);
      } else if (err == SSL_ERROR_WANT_READ && !c->eof) {
        return;
      } else if (err == SSL_ERROR_ZERO_RETURN) {
        succeed(c, SETTLED_CLOSE);
      } else {
        fail_tls(c, err);
      }
      return;
    }
    return;
  }
}

static void feed(conn *c, const char *p, size_t n) {
  while (n > 0 && !c->finished) {
    int w = BIO_write(c->net, p, (int)n);
    if (w <= 0) {
      drive(c); /* let SSL take what it has */
      if (c->finished) return;
      w = BIO_write(c->net, p, (int)n);
      if (w <= 0) {
        finish(c, "tls", "%s:%d: the TLS input buffer is full", c->host, c->port);
        return;
      }
    }
    p += w;
    n -= (size_t)w;
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  conn *c = h->data;
  *buf = uv_buf_init((char *)c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  if (c->finished) return;
  if (nread > 0) {
    feed(c, buf->base, (size_t)nread);
    drive(c);
  } else if (nread == UV_EOF) {
    c->eof = 1;
    BIO_shutdown_wr(c->net);
    drive(c);
    if (!c->finished) fail_tls(c, SSL_ERROR_SYSCALL);
  } else if (nread < 0) {
    finish(c, "connect", "%s:%d: receiving failed: %s", c->host, c->port, uv_strerror((int)nread));
  }
}

/* ---- connecting ----------------------------------------------------------------------- */

static void try_connect(conn *c);

static void on_connect(uv_connect_t *req, int status) {
  conn *c = req->data;
  c->pending--;
  if (c->finished) {
    maybe_free(c);
    return;
  }
  if (status < 0) {
    snprintf(c->connect_err, sizeof c->connect_err, "%s", uv_strerror(status));
    close_tcp(c);
    try_connect(c);
    return;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(c->tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      uv_ip6_name(a, c->peer_ip, sizeof c->peer_ip);
      c->peer_port = ntohs(a->sin6_port);
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      uv_ip4_name(a, c->peer_ip, sizeof c->peer_ip);
      c->peer_port = ntohs(a->sin_port);
    }
  }
  uv_tcp_nodelay(c->tcp, 1);
  int rc = uv_read_start((uv_stream_t *)c->tcp, on_alloc, on_read);
  if (rc < 0) {
    finish(c, "connect", "%s:%d: %s", c->host, c->port, uv_strerror(rc));
    return;
  }
  c->phase = P_HANDSHAKE;
  drive(c);
}

/* try_connect connects to the next address of the name (localhost is ::1, then 127.0.0.1) */
static void try_connect(conn *c) {
  while (c->ai_next) {
    struct addrinfo *ai = c->ai_next;
    c->ai_next = ai->ai_next;
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    uv_tcp_t *tcp = malloc(sizeof *tcp);
    if (!tcp) {
      finish(c, "connect", "out of memory");
      return;
    }
    uv_tcp_init(cb_loop_uv(c->loop), tcp);
    tcp->data = c;
    c->pending++;
    c->tcp = tcp;
    c->creq.data = c;
    int rc = uv_tcp_connect(&c->creq, tcp, ai->ai_addr, on_connect);
    if (rc == 0) {
      c->pending++;
      return;
    }
    snprintf(c->connect_err, sizeof c->connect_err, "%s", uv_strerror(rc));
    close_tcp(c);
  }
  finish(c, "connect", "%s:%d: cannot connect: %s", c->host, c->port,
         c->connect_err[0] ? c->connect_err : "no address");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  conn *c = req->data;
  c->pending--;
  c->gai_active = 0;
  if (c->finished) {
    if (res) uv_freeaddrinfo(res);
    maybe_free(c);
    return;
  }
  if (status < 0) {
    finish(c, "connect", "%s:%d: cannot resolve the name: %s", c->host, c->port, uv_strerror(status));
    return;
  }
  c->ai = c->ai_next = res;
  c->phase = P_CONNECT;
  try_connect(c);
}

static void on_timer(uv_timer_t *t) {
  conn *c = t->data;
  if (c->finished) return;
  if (c->settle_timer) {
    succeed(c, SETTLED_TIME);
    return;
  }
  const char *during = c->phase == P_RESOLVE   ? "resolving the name"
                       : c->phase == P_CONNECT ? "connecting"
                                               : "in the TLS handshake";
  finish(c, "timeout", "%s:%d: timed out %s", c->host, c->port, during);
}

static void arm_timer(conn *c, uint64_t ms) {
  if (c->timer) uv_timer_start(c->timer, on_timer, ms, 0);
}

/* ---- callbacks from libssl ------------------------------------------------------------ */

static void on_info(const SSL *ssl, int type, int value) {
  conn *c = SSL_get_app_data(ssl);
  if (!c) return;
  if (type == SSL_CB_READ_ALERT) c->alert_recv = value & 0xff;
  if (type == SSL_CB_WRITE_ALERT) c->alert_sent = value & 0xff;
}

static enum ssl_verify_result_t on_verify(SSL *ssl, uint8_t *out_alert) {
  (void)out_alert;
  conn *c = SSL_get_app_data(ssl);
  const STACK_OF(CRYPTO_BUFFER) *bufs = SSL_get0_peer_certificates(ssl);
  if (!c || !bufs) return ssl_verify_ok;
  if (c->chain) sk_X509_pop_free(c->chain, X509_free);
  c->chain = sk_X509_new_null();
  for (size_t i = 0; c->chain && i < sk_CRYPTO_BUFFER_num(bufs); i++) {
    X509 *x = X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(bufs, i));
    if (!x) {
      /* a certificate libssl could read but X509 cannot: keep the others, say so later */
      ERR_clear_error();
      continue;
    }
    if (!sk_X509_push(c->chain, x)) X509_free(x);
  }
  return ssl_verify_ok; /* judged in tls.lua with certbench.store */
}

static int on_cert_request(SSL *ssl, void *arg) {
  (void)arg;
  conn *c = SSL_get_app_data(ssl);
  if (!c) return 1;
  c->cert_requested = 1;
  const STACK_OF(X509_NAME) *names = SSL_get_client_CA_list(ssl);
  if (names && !c->ca_names) {
    c->ca_names = sk_X509_NAME_new_null();
    for (size_t i = 0; c->ca_names && i < sk_X509_NAME_num(names); i++) {
      X509_NAME *n = X509_NAME_dup(sk_X509_NAME_value(names, i));
      if (n && !sk_X509_NAME_push(c->ca_names, n)) X509_NAME_free(n);
    }
  }
  return 1;
}

static int on_new_session(SSL *ssl, SSL_SESSION *sess) {
  (void)sess;
  conn *c = SSL_get_app_data(ssl);
  if (c) c->ticket = 1;
  return 0; /* not kept */
}

/* ---- Lua ------------------------------------------------------------------------------ */

static int conn_gc(lua_State *L) {
  conn_box *box = luaL_checkudata(L, 1, CONN_MT);
  conn *c = box->c;
  if (!c) return 0;
  box->c = NULL;
  c->box_alive = 0;
  if (!c->finished) { /* the state is closing, or a wait was abandoned */
    c->finished = 1;
    c->phase = P_DONE;
    teardown(c);
  }
  maybe_free(c);
  return 0;
}

static int version_of(lua_State *L, const char *s) {
  if (!s) return 0;
  if (!strcmp(s, "TLSv1")) return TLS1_VERSION;
  if (!strcmp(s, "TLSv1.1")) return TLS1_1_VERSION;
  if (!strcmp(s, "TLSv1.2")) return TLS1_2_VERSION;
  if (!strcmp(s, "TLSv1.3")) return TLS1_3_VERSION;
  return luaL_error(L, "tls.handshake: unknown TLS version '%s' (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)", s);
}

static void push_names(lua_State *L, const STACK_OF(X509_NAME) *names) {
  lua_createtable(L, names ? (int)sk_X509_NAME_num(names) : 0, 0);
  for (size_t i = 0; names && i < sk_X509_NAME_num(names); i++) {
    X509_NAME *n = X509_NAME_dup(sk_X509_NAME_value(names, i));
    if (!n) continue;
    lua_checkstack(L, 2);
    cb_push_name(L, n);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v || !*v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}

/* push_result pushes the table of what the handshake showed (also after a failure) */
static void push_result(lua_State *L, conn *c) {
  lua_createtable(L, 0, 16);
  SSL *ssl = c->ssl;
  int complete = c->code == NULL;
  if (complete) {
    set_str(L, "version", SSL_get_version(ssl));
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    if (cipher) {
      set_str(L, "cipher", SSL_CIPHER_get_name(cipher));
      set_str(L, "cipher_standard_name", SSL_CIPHER_standard_name(cipher));
    }
    const uint8_t *alpn;
    unsigned alen;
    SSL_get0_alpn_selected(ssl, &alpn, &alen);
    if (alen) {
      lua_pushlstring(L, (const char *)alpn, alen);
      lua_setfield(L, -2, "alpn");
    }
    uint16_t group = SSL_get_curve_id(ssl);
    if (group) set_str(L, "group", SSL_get_curve_name(group));
    uint16_t sigalg = SSL_get_peer_signature_algorithm(ssl);
    if (sigalg) set_str(L, "server_signature", SSL_get_signature_algorithm_name(sigalg, 0));
    set_bool(L, "session_ticket", c->ticket);
    static const char *const settled[] = {NULL, "ticket", "data", "close", "time"};
    set_str(L, "settled_by", settled[c->settled_by]);
  }
  lua_createtable(L, c->chain ? (int)sk_X509_num(c->chain) : 0, 0);
  for (size_t i = 0; c->chain && i < sk_X509_num(c->chain); i++) {
    X509 *x = sk_X509_value(c->chain, i);
    X509_up_ref(x);
    lua_checkstack(L, 2);
    cb_push_x509(L, x);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "chain");
  set_bool(L, "client_cert_requested", c->cert_requested);
  set_bool(L, "client_cert_sent", c->cert_requested && c->have_cert);
  if (c->cert_requested) {
    push_names(L, c->ca_names);
    lua_setfield(L, -2, "client_ca_names");
  }
  set_str(L, "peer_address", c->peer_ip);
  if (c->peer_port) {
    lua_pushinteger(L, c->peer_port);
    lua_setfield(L, -2, "peer_port");
  }
  if (c->alert_recv >= 0) set_str(L, "alert_received", alert_name(c->alert_recv));
  if (c->alert_sent >= 0) set_str(L, "alert_sent", alert_name(c->alert_sent));
  set_bool(L, "handshake_complete", complete);
}

static int handshake_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  conn *c = (conn *)ctx;
  if (c->code) {
    lua_pushnil(L);
    lua_pushstring(L, c->msg);
    lua_pushstring(L, c->code);
    push_result(L, c);
    return 4;
  }
  push_result(L, c);
  return 1;
}

#define CHECK(x, what)                                                        \
  do {                                                                        \
    if (!(x)) return cb_fail_ssl(L, "tls.handshake: " what);                  \
  } while (0)

/* handshake(opts) -> result | nil, err, code, partial. opts (normalised by tls.lua): host, port,
 * sni (string or nil), alpn (wire format), cert, key, chain (list), timeout_ms, settle_ms,
 * min_version, max_version */
static int l_handshake(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  size_t hlen;
  const char *host = cb_optfield_string(L, 1, "host", NULL, &hlen);
  if (!host || !hlen || hlen >= 256) return luaL_error(L, "tls.handshake: 'host' must be a name or an address");
  lua_Integer port = cb_optfield_integer(L, 1, "port", 0);
  if (port < 1 || port > 65535) return luaL_error(L, "tls.handshake: 'port' must be 1 to 65535");
  lua_Integer timeout_ms = cb_optfield_integer(L, 1, "timeout_ms", 30000);
  lua_Integer settle_ms = cb_optfield_integer(L, 1, "settle_ms", 1000);
  const char *sni = cb_optfield_string(L, 1, "sni", NULL, NULL);
  size_t alpn_len = 0;
  const char *alpn = cb_optfield_string(L, 1, "alpn", NULL, &alpn_len);
  int minv = version_of(L, cb_optfield_string(L, 1, "min_version", "TLSv1.2", NULL));
  int maxv = version_of(L, cb_optfield_string(L, 1, "max_version", "TLSv1.3", NULL));
  lua_getfield(L, 1, "cert");
  X509 *cert = lua_isnil(L, -1) ? NULL : cb_check_x509(L, -1);
  lua_getfield(L, 1, "key");
  EVP_PKEY *key = lua_isnil(L, -1) ? NULL : cb_check_pkey(L, -1);
  lua_pop(L, 2);
  if ((cert == NULL) != (key == NULL)) return luaL_error(L, "tls.handshake: 'cert' and 'key' go together");

  cb_loop *loop = cb_loop_get(L);
  if (!cb_loop_can_wait(L, loop, "tls.handshake")) return lua_error(L);
  need_ssl(L);

  conn_box *box = cb_newudata(L, sizeof *box, CONN_MT); /* index 2, for the whole wait */
  conn *c = calloc(1, sizeof *c);
  if (!c) return luaL_error(L, "tls.handshake: out of memory");
  box->c = c;
  c->box_alive = 1;
  c->loop = loop;
  c->w.loop = loop;
  c->w.ref = LUA_NOREF;
  c->alert_recv = c->alert_sent = -1;
  c->settle_ms = (uint64_t)(settle_ms > 0 ? settle_ms : 0);
  memcpy(c->host, host, hlen + 1);
  c->port = (int)port;
  c->phase = P_DONE;

  c->ctx = SSL_CTX_new(TLS_method());
  CHECK(c->ctx, "cannot create a TLS context");
  CHECK(SSL_CTX_set_min_proto_version(c->ctx, (uint16_t)minv) &&
            SSL_CTX_set_max_proto_version(c->ctx, (uint16_t)maxv),
        "bad TLS versions");
  SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(c->ctx, on_new_session);
  c->ssl = SSL_new(c->ctx);
  CHECK(c->ssl, "cannot create a TLS connection");
  SSL_set_app_data(c->ssl, c);
  SSL_set_connect_state(c->ssl);
  SSL_set_custom_verify(c->ssl, SSL_VERIFY_PEER, on_verify);
  SSL_set_info_callback(c->ssl, on_info);
  SSL_set_cert_cb(c->ssl, on_cert_request, NULL);
  if (sni) CHECK(SSL_set_tlsext_host_name(c->ssl, sni), "bad server name (SNI)");
  if (alpn && alpn_len)
    CHECK(SSL_set_alpn_protos(c->ssl, (const uint8_t *)alpn, alpn_len) == 0, "bad ALPN list");
  if (cert) {
    CHECK(SSL_use_certificate(c->ssl, cert) && SSL_use_PrivateKey(c->ssl, key),
          "cannot use the client certificate");
    if (!SSL_check_private_key(c->ssl)) {
      ERR_clear_error();
      lua_pushnil(L);
      lua_pushliteral(L, "tls.handshake: the client key does not match the client certificate");
      lua_pushliteral(L, "config");
      return 3;
    }
    if (lua_getfield(L, 1, "chain") == LUA_TTABLE) {
      for (lua_Integer i = 1;; i++) {
        if (lua_geti(L, -1, i) == LUA_TNIL) {
          lua_pop(L, 1);
          break;
        }
        CHECK(SSL_add1_chain_cert(c->ssl, cb_check_x509(L, -1)), "cannot add a chain certificate");
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
    c->have_cert = 1;
  }
  BIO *inner = NULL;
  CHECK(BIO_new_bio_pair(&inner, PAIR_BUF, &c->net, PAIR_BUF), "cannot create the BIO pair");
  SSL_set_bio(c->ssl, inner, inner);

  /* from here on the loop owns the I/O */
  c->timer = malloc(sizeof *c->timer);
  if (!c->timer) return luaL_error(L, "tls.handshake: out of memory");
  uv_timer_init(cb_loop_uv(loop), c->timer);
  c->timer->data = c;
  c->pending++;
  c->res.shutdown = shutdown_res;
  cb_loop_link(loop, &c->res);
  c->linked = 1;
  uv_update_time(cb_loop_uv(loop));
  c->deadline = uv_now(cb_loop_uv(loop)) + (uint64_t)(timeout_ms > 0 ? timeout_ms : 1);
  arm_timer(c, (uint64_t)(timeout_ms > 0 ? timeout_ms : 1));

  char portstr[8];
  snprintf(portstr, sizeof portstr, "%d", (int)port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  c->gai.data = c;
  c->phase = P_RESOLVE;
  int rc = uv_getaddrinfo(cb_loop_uv(loop), &c->gai, on_resolved, c->host, portstr, &hints);
  if (rc < 0) {
    c->phase = P_DONE;
    finish(c, "connect", "%s:%d: cannot resolve the name: %s", c->host, c->port, uv_strerror(rc));
    return handshake_k(L, LUA_OK, (lua_KContext)c);
  }
  c->pending++;
  c->gai_active = 1;
  return cb_loop_block(L, &c->w, "tls.handshake", handshake_k, (lua_KContext)c);
}

/* alert_name(n) -> the TLS alert's name (RFC 8446 spelling) or nil */
static int l_alert_name(lua_State *L) {
  const char *n = alert_name((int)luaL_checkinteger(L, 1));
  if (n) lua_pushstring(L, n);
  else lua_pushnil(L);
  return 1;
}

int luaopen__certbench_tls(lua_State *L) {
  cb_objects_init(L);
  cb_loop_get(L);
  cb_newclass(L, CONN_MT, NULL, (const luaL_Reg[]){{"__gc", conn_gc}, {NULL, NULL}});
  static const luaL_Reg fns[] = {{"handshake", l_handshake}, {"alert_name", l_alert_name}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
