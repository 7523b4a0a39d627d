/* secret.c: `_certbench.secret`, passwords held in a buffer that is cleansed when the secret
 * is closed or collected, read from descriptors, files and the terminal (echo off). Lua strings
 * cannot be wiped, so a secret stays a userdata until the crypto call that uses it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cb.h"

#define MAX_SECRET 4096

static int secret_close(lua_State *L) {
  cb_secret *s = luaL_checkudata(L, 1, CB_SECRET_MT);
  if (s->buf) {
    cb_cleanse(s->buf, s->len + 1);
    free(s->buf);
    s->buf = NULL;
    s->len = 0;
  }
  return 0;
}

static cb_secret *check_open(lua_State *L, int idx) {
  cb_secret *s = luaL_checkudata(L, idx, CB_SECRET_MT);
  if (!s->buf) luaL_error(L, "attempt to use a closed secret");
  return s;
}

static int secret_reveal(lua_State *L) {
  cb_secret *s = check_open(L, 1);
  lua_pushlstring(L, s->buf, s->len);
  return 1;
}

static int secret_len(lua_State *L) {
  cb_secret *s = check_open(L, 1);
  lua_pushinteger(L, (lua_Integer)s->len);
  return 1;
}

/* constant time in the length of the shorter secret: this compares a password with its
 * confirmation, not a MAC, but there is no reason to be careless */
static int secret_equals(lua_State *L) {
  cb_secret *a = check_open(L, 1);
  size_t blen;
  const char *b = cb_checkbytes(L, 2, &blen);
  unsigned char diff = (unsigned char)(a->len != blen);
  size_t n = a->len < blen ? a->len : blen;
  for (size_t i = 0; i < n; i++) diff |= (unsigned char)(a->buf[i] ^ b[i]);
  lua_pushboolean(L, diff == 0);
  return 1;
}

static int secret_tostring(lua_State *L) {
  cb_secret *s = luaL_checkudata(L, 1, CB_SECRET_MT);
  lua_pushstring(L, s->buf ? "certbench.secret (hidden)" : "certbench.secret (closed)");
  return 1;
}

/* secret.new(string) -> secret */
static int l_new(lua_State *L) {
  size_t n;
  const char *p = luaL_checklstring(L, 1, &n);
  cb_push_secret(L, p, n);
  return 1;
}

/* read_line reads up to the first newline (dropped, with a CR before it) into buf.
 * Returns the length, or -1 with errno. */
static ssize_t read_line(int fd, char *buf, size_t cap, int *too_long, long *fifo_waited) {
  size_t n = 0;
  *too_long = 0;
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1); /* byte by byte: never consume past the line (stdin is shared) */
    if (fifo_waited && (r > 0 || (r < 0 && errno == EAGAIN))) { /* a writer is there */
      fifo_waited = NULL;
      if (!cb_set_blocking(fd)) return -1;
      if (r < 0) continue;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0 && fifo_waited) { /* a FIFO (O_NONBLOCK) nobody opened for writing yet */
      int w = cb_fifo_no_writer(fd, fifo_waited);
      if (w < 0) return -1;
      if (w == 0) continue;
    }
    if (r == 0 || c == '\n') break;
    if (n + 1 >= cap) {
      /* the password is refused: stop here (a line with no end, /dev/zero, kept it reading
       * for ever) */
      *too_long = 1;
      break;
    }
    buf[n++] = c;
  }
  if (n > 0 && buf[n - 1] == '\r') n--;
  buf[n] = '\0';
  return (ssize_t)n;
}

/* secret.read_fd(fd, what) -> secret | nil, "what: cause" ; the first line */
static int l_read_fd(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  const char *what = luaL_optstring(L, 2, "fd");
  if (fd < 0 || fcntl((int)fd, F_GETFD) < 0) return cb_fail(L, "%s: not an open file descriptor", what);
  char buf[MAX_SECRET];
  int too_long;
  ssize_t n = read_line((int)fd, buf, sizeof buf, &too_long, NULL);
  if (n < 0) {
    int e = errno;
    cb_cleanse(buf, sizeof buf);
    return cb_fail_errno(L, what, e);
  }
  if (too_long) {
    cb_cleanse(buf, sizeof buf);
    return cb_fail(L, "%s: password longer than %d bytes", what, MAX_SECRET - 1);
  }
  cb_push_secret(L, buf, (size_t)n);
  cb_cleanse(buf, sizeof buf);
  return 1;
}

/* secret.read_file(path) -> secret | nil, "path: cause" ; the first line, as openssl's file: */
static int l_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  /* O_NONBLOCK: a FIFO opens at once, with a writer or not (cb_fifo_no_writer bounds the wait) */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return cb_fail_errno(L, path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || (!S_ISFIFO(st.st_mode) && !cb_set_blocking(fd))) {
    int e = errno;
    close(fd);
    return cb_fail_errno(L, path, e);
  }
  long waited = 0;
  char buf[MAX_SECRET];
  int too_long;
  ssize_t n = read_line(fd, buf, sizeof buf, &too_long, S_ISFIFO(st.st_mode) ? &waited : NULL);
  int e = errno;
  close(fd);
  if (n < 0) {
    cb_cleanse(buf, sizeof buf);
    if (e == ETIMEDOUT && S_ISFIFO(st.st_mode)) return cb_fifo_fail(L, path, waited);
    return cb_fail_errno(L, path, e);
  }
  if (too_long) {
    cb_cleanse(buf, sizeof buf);
    return cb_fail(L, "%s: password longer than %d bytes", path, MAX_SECRET - 1);
  }
  cb_push_secret(L, buf, (size_t)n);
  cb_cleanse(buf, sizeof buf);
  return 1;
}

/* secret.prompt(text) -> secret | nil, err ; reads from /dev/tty with echo off */
static int l_prompt(lua_State *L) {
  const char *text = luaL_checkstring(L, 1);
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return cb_fail(L, "no terminal to ask for a password (give one with pass:, env:, file:, fd: or stdin)");
  struct termios old, quiet;
  int have_termios = tcgetattr(fd, &old) == 0;
  if (have_termios) {
    quiet = old;
    quiet.c_lflag &= (tcflag_t)~(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  /* a ^C while echo is off must not leave the terminal silent: block SIGINT/SIGTSTP while
   * reading; read() still returns on the line end. */
  sigset_t block, prev;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTSTP);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &prev);
  if (write(fd, text, strlen(text)) < 0) { /* nothing to do: the read still works */ }
  char buf[MAX_SECRET];
  int too_long;
  ssize_t n = read_line(fd, buf, sizeof buf, &too_long, NULL);
  int e = errno;
  if (have_termios) tcsetattr(fd, TCSAFLUSH, &old);
  if (write(fd, "\n", 1) < 0) { /* as above */ }
  sigprocmask(SIG_SETMASK, &prev, NULL);
  close(fd);
  if (n < 0) {
    cb_cleanse(buf, sizeof buf);
    return cb_fail_errno(L, "/dev/tty", e);
  }
  if (too_long) {
    cb_cleanse(buf, sizeof buf);
    return cb_fail(L, "password longer than %d bytes", MAX_SECRET - 1);
  }
  cb_push_secret(L, buf, (size_t)n);
  cb_cleanse(buf, sizeof buf);
  return 1;
}

/* secret.is_secret(v) -> boolean */
static int l_is_secret(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, CB_SECRET_MT) != NULL);
  return 1;
}

int luaopen__certbench_secret(lua_State *L) {
  static const luaL_Reg methods[] = {{"reveal", secret_reveal}, {"len", secret_len},
                                     {"equals", secret_equals}, {"close", secret_close},
                                     {NULL, NULL}};
  static const luaL_Reg metas[] = {{"__gc", secret_close},        {"__close", secret_close},
                                   {"__tostring", secret_tostring}, {"__len", secret_len},
                                   {NULL, NULL}};
  cb_newclass(L, CB_SECRET_MT, methods, metas);
  static const luaL_Reg fns[] = {{"new", l_new},           {"read_fd", l_read_fd},
                                 {"read_file", l_read_file}, {"prompt", l_prompt},
                                 {"is_secret", l_is_secret}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
