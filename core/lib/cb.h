/* cb.h: helpers shared by every C module of certbench.
 *
 * Conventions (see ../shared/CONVENTIONS.md):
 *  - a failure of the world returns nil, "what: cause"[, code] to Lua (cb_fail*);
 *  - a programming error (wrong argument type) raises (luaL_argerror & co);
 *  - userdata boxes are pushed zeroed first, the resource attached afterwards,
 *    and __gc/__close is one idempotent function. */
#ifndef CERTBENCH_CB_H
#define CERTBENCH_CB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <lua.h>
#include <lauxlib.h>

#define CB_VERSION "0.1.0"

/* CB_FILE_MAX: the one cap on a local file (or standard input) certbench holds in memory to
 * read it: a certificate bundle, a key, a PFX, a CRL bundle or archive, whatever a command is
 * given by path. Lua reads it as fs.FILE_MAX (core/fs.c exports it; fs.read's default). It does
 * not cap downloads (certbench.downloads' max_size, --max-size) nor a CRL read in pieces from its
 * file (crl.scan_file, crl.load_file), which never holds the file. 256 MiB: a bundle of every
 * public CA is a few MiB; it is the largest of the separate caps it replaced (show, convert and
 * certbench.detect had 256 MiB; store, x509 and pkcs12 64 MiB; vcs check 4 MiB), so no file read
 * before is refused now. */
#define CB_FILE_MAX ((int64_t)256 << 20)

/* CB_NAME_PRINT_FLAGS: the X509_NAME_print_ex flags of the openssl-style text dumps (x509:text,
 * csr:text, the CRL's): OpenSSL 3's default -nameopt oneline with UTF-8 kept (utf8,-esc_msb), the
 * form of name:text() (core/name.lua), so a name reads the same in a dump and in every command.
 * C1 controls come out raw: what prints a dump escapes them (ui.escape{lines = true}). */
#define CB_NAME_PRINT_FLAGS ((XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT)

/* cb_size_text writes "256 MiB", "64 KiB", "1 GiB" or "1234 bytes" (the largest unit that
 * divides v) into buf; returns buf. The one way a size limit is named in a message. */
const char *cb_size_text(char *buf, size_t n, int64_t v);

/* cb_fail pushes nil and a formatted message; returns 2 (for `return cb_fail(...)`). */
int cb_fail(lua_State *L, const char *fmt, ...);

/* cb_fail_errno pushes nil, "what: strerror(err)", err; returns 3. */
int cb_fail_errno(lua_State *L, const char *what, int err);

/* cb_fail_ssl pushes nil and "what: <reason of the first BoringSSL error> (LIB_R_REASON)",
 * clears BoringSSL's error queue; returns 2. With an empty queue, "what: failed". */
int cb_fail_ssl(lua_State *L, const char *what);

/* cb_ssl_reason formats the oldest queued BoringSSL error into buf (or "" if none) and
 * clears the queue. Returns buf. */
const char *cb_ssl_reason(char *buf, size_t len);

/* cb_newudata pushes a zeroed userdata of size sz with the metatable tname. */
void *cb_newudata(lua_State *L, size_t sz, const char *tname);

/* cb_newclass registers metatable tname with methods (in __index) and metamethods,
 * leaves nothing on the stack. methods and metas may be NULL. */
void cb_newclass(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *metas);

/* cb_checkbytes returns the bytes of a string argument, or of a certbench.secret
 * userdata (a password), without copying. */
const char *cb_checkbytes(lua_State *L, int idx, size_t *len);

/* cb_optsecret is cb_checkbytes for an optional password argument: NULL when nil/none. */
const char *cb_optsecret(lua_State *L, int idx, size_t *len);

/* cb_optfield_* read an optional field of the options table at idx. */
const char *cb_optfield_string(lua_State *L, int idx, const char *k, const char *def, size_t *len);
lua_Integer cb_optfield_integer(lua_State *L, int idx, const char *k, lua_Integer def);
int cb_optfield_boolean(lua_State *L, int idx, const char *k, int def);
/* cb_checkoptions raises when the options table at idx (nil: none) has a key that known (a
 * NULL-terminated list) lacks, naming where ("fs.write") and the key; the message is made by
 * certbench.options.check, the one check of options tables (with its did-you-mean). */
void cb_checkoptions(lua_State *L, int idx, const char *where, const char *const known[]);

/* cb_cleanse wipes memory so the compiler cannot drop it (OPENSSL_cleanse). */
void cb_cleanse(void *p, size_t n);

/* The secret type, shared by certbench.secret and the crypto modules. */
#define CB_SECRET_MT "certbench.secret"
typedef struct {
  char *buf;      /* owned, cleansed before free */
  size_t len;
} cb_secret;
/* cb_push_secret pushes a new secret holding a copy of p[0..n); the caller cleanses p. */
cb_secret *cb_push_secret(lua_State *L, const char *p, size_t n);

/* cb_write_all writes n bytes to fd, going on after short writes and EINTR. Returns 1, or 0
 * with errno set. */
int cb_write_all(int fd, const void *p, size_t n);

/* Reading a FIFO: open it O_NONBLOCK (it opens at once, with a writer or not); while
 * cb_fifo_reading is set, a read() of 0 bytes means "no writer yet": call cb_fifo_no_writer,
 * which waits up to CB_FIFO_WAIT seconds ($CERTBENCH_FIFO_WAIT) and returns 0 (read again), 1
 * (a writer came and left without writing: end of file) or -1 (none came; errno ETIMEDOUT).
 * EAGAIN or data means a writer is there: cb_set_blocking and read on as from any file.
 * open(2) of a FIFO nobody writes blocks for ever (so does `openssl x509 -in FIFO`): a command
 * given a forgotten FIFO fails naming it instead (cb_fifo_fail). 30 s, as the CA lock and the
 * downloads wait by default. On Linux a non-blocking read of a FIFO returns 0 while no writer
 * has it open and EAGAIN when one has but wrote nothing yet; poll() says POLLHUP once a writer
 * came and went, and nothing while none ever came. */
#define CB_FIFO_WAIT 30
int cb_fifo_no_writer(int fd, long *waited_ms);
/* cb_set_blocking clears O_NONBLOCK; 1 on success, 0 with errno. */
int cb_set_blocking(int fd);
/* cb_fifo_fail: nil, "path: a FIFO that no process opened for writing (waited N s)" */
int cb_fifo_fail(lua_State *L, const char *path, long waited_ms);

/* cb_fault kills the process with SIGKILL when $CERTBENCH_FAULT names this point (a word such
 * as "fs.write:before-rename"; the variable may list several, separated by commas), so
 * crash-safety tests can stop the program exactly between two steps. Costs one getenv when
 * unset. */
void cb_fault(const char *point);
/* cb_fault_set tells whether $CERTBENCH_FAULT names point: for the few points that make a
 * path fail instead of killing (fs.key:no-tmpfile takes the fallback of a file system without
 * O_TMPFILE, which none of the file systems a test can mount lacks; objects.box fails the
 * allocation of every key, certificate, request and name box). */
int cb_fault_set(const char *point);

/* cb_gz inflates the gzip file in_fd (in_size bytes, the base of the ratio) a piece at a time as
 * the caller reads it (cb_gz_read; chunk bytes of the file read at once, 0: 1 MiB), under
 * certbench.archive's limits (max_total, max_member, max_ratio past ratio_grace) and with its
 * codes. Members that follow one another (`cat a.gz b.gz`) are one stream, as gzip -d and
 * certbench.archive inflate them; zero padding after the last is allowed. Memory: the piece
 * read and zlib's window, whatever the size.
 * cb_gz_open returns NULL when out of memory; messages name the stream by the file name in its
 * header, else fallback (NULL: "data"). cb_gz_read returns the bytes put in p (at most
 * n), 0 at the end, -1 on failure: cb_gz_error then gives the message ("gzip: NAME: corrupt
 * data ...", "zip bomb? ...") with *code one of archive.CODES ("max_total", "max_member",
 * "max_ratio", "truncated", "corrupt", "nomem") or "io" (errno in *er); NULL before a failure.
 * cb_gz_member gives the last path element of the first header's file name ("" when it has
 * none or it is not read yet), as certbench.archive names the member. cb_gz_close frees it
 * (NULL: nothing) and leaves in_fd open. */
typedef struct {
  long long max_total, max_member, max_ratio, ratio_grace;
} cb_gz_limits;
typedef struct cb_gz cb_gz;
cb_gz *cb_gz_open(int in_fd, uint64_t in_size, const cb_gz_limits *lim, size_t chunk, const char *fallback);
ssize_t cb_gz_read(cb_gz *g, void *p, size_t n);
const char *cb_gz_error(const cb_gz *g, const char **code, int *er);
const char *cb_gz_member(cb_gz *g);
void cb_gz_close(cb_gz *g);

/* The root directory of the installation (the folder holding core/ and plugins/):
 * $CERTBENCH_HOME, else the parent of the folder of the program or of certbench.so. */
const char *cb_root_dir(void);
/* Set by the program (main.c) to /proc/self/exe before the first cb_root_dir(). */
extern const char *cb_program_path;

#endif
