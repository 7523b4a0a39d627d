/* fs.c: `_certbench.fs`, files written the way keys and CA databases need: atomically
 * (temporary file in the same folder, fsync, rename, fsync of the folder), with their mode
 * set at open, exclusively when asked, and folder locks with flock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cb.h"
#include "loop.h"

#define LOCK_MT "certbench.fs.lock"

/* dir_of copies the folder part of path into out ("." when there is none). */
static void dir_of(const char *path, char *out, size_t len) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(out, len, ".");
  else if (slash == path) snprintf(out, len, "/");
  else snprintf(out, len, "%.*s", (int)(slash - path), path);
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  int ok = fsync(fd) == 0 || errno == EINVAL; /* some file systems cannot sync folders */
  int e = errno;
  close(fd);
  errno = e;
  return ok;
}

/* fs.read(path[, max_bytes]) -> data | nil, "path: cause", errno. max_bytes defaults to
 * CB_FILE_MAX, the one cap on a local file; over it, "path: file too large (N bytes, over
 * certbench's limit of 256 MiB for a file it reads whole)", one line naming the file and the cap.
 * A FIFO: cb_fifo_no_writer. */
static int l_read(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, (lua_Integer)CB_FILE_MAX);
  char cap[32];
  cb_size_text(cap, sizeof cap, max);
  /* O_NONBLOCK: a FIFO opens at once, with a writer or not (cb_fifo_no_writer); any
   * other file is blocking again once fstat has said what it is */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return cb_fail_errno(L, path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return cb_fail_errno(L, path, e);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return cb_fail_errno(L, path, EISDIR);
  }
  if (S_ISREG(st.st_mode) && st.st_size > max) {
    close(fd);
    return cb_fail(L, "%s: file too large (%I bytes, over certbench's limit of %s for a file it reads whole)",
                   path, (lua_Integer)st.st_size, cap);
  }
  int fifo = S_ISFIFO(st.st_mode); /* still O_NONBLOCK: no writer seen yet */
  long waited = 0;
  if (!fifo && !cb_set_blocking(fd)) {
    int e = errno;
    close(fd);
    return cb_fail_errno(L, path, e);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_Integer total = 0;
  for (;;) {
    char *p = luaL_prepbuffer(&b);
    ssize_t r = read(fd, p, LUAL_BUFFERSIZE);
    if (r < 0 && fifo && errno == EAGAIN) r = -2; /* a writer, nothing written yet */
    if (r < 0 && r != -2) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return cb_fail_errno(L, path, e);
    }
    if (r == 0 && fifo) {
      int w = cb_fifo_no_writer(fd, &waited);
      if (w < 0) {
        close(fd);
        return cb_fifo_fail(L, path, waited);
      }
      if (w == 0) continue;
    }
    if (fifo && r != 0) { /* a writer is there: block for its data from now on */
      fifo = 0;
      if (!cb_set_blocking(fd)) {
        int e = errno;
        close(fd);
        return cb_fail_errno(L, path, e);
      }
      if (r == -2) continue;
    }
    if (r == 0) break;
    total += r;
    if (total > max) {
      close(fd);
      return cb_fail(L, "%s: file too large (over certbench's limit of %s for a file it reads whole)", path, cap);
    }
    luaL_addsize(&b, (size_t)r);
  }
  close(fd);
  luaL_pushresult(&b);
  return 1;
}

/* --- one way out: fs.write and fs.writer ---
 *
 * Where a path is written depends on what it names (out_open):
 *  - "-": standard output, written in place;
 *  - a character device, a FIFO or a socket (also through a symbolic link, so /dev/stdout
 *    works): opened (a socket: connected) and written in place. Renaming a file over it
 *    would replace /dev/null with a regular file, or a FIFO a reader waits on;
 *  - a block device or a folder: refused;
 *  - else (a regular file, nothing, a symbolic link to a regular file or to nothing): a
 *    temporary file in the same folder, fsync, rename over path, fsync of the folder. A
 *    symbolic link is itself replaced (rename replaces the name, never its target): its
 *    target is left as it was, so a link planted where a file is written redirects nothing.
 * A private key (opts.key) is written to an unnamed file (O_TMPFILE) that gets a name only
 * when it is whole (linkat): a crash leaves no named plaintext copy. Where the file system
 * has no O_TMPFILE, a named temporary file of the pattern ".<base>.certbench-key.<12 hex>.tmp",
 * locked (flock) while its writer lives; each key written into a folder first removes the
 * leftovers of that pattern that no live writer holds (clean_key_leftovers). */

enum { OUT_REPLACE, OUT_INPLACE, OUT_STDOUT };

/* What a replaced file's publication waits for (the sync option):
 *   SYNC_NONE  nothing: atomic for the processes that read it, not across a power cut
 *   SYNC_DATA  ("atomic") fsync of the file before the rename: after a power cut the name holds
 *              the old file or the whole new one (without it, ext4 and xfs may show the new name
 *              on an empty or short file), but the rename itself may be lost: the old file
 *   SYNC_NAME  (true, the default) that and an fsync of the folder after the rename: the new
 *              file is durable when the call returns */
enum { SYNC_NONE, SYNC_DATA, SYNC_NAME };

/* stdout_taken: this process has opened its standard output as an output target ("-", or a
 * device, FIFO or socket that is the same file as descriptor 1, such as /dev/stdout). The CLI
 * then sends its report (text, --json, --quiet's list) to stderr, so that what a pipe reads is
 * the data asked for and nothing else (`ca issue --out - | openssl x509`). Read by
 * fs.stdout_taken(). */
static int stdout_taken;

/* same_as_stdout: st is the file descriptor 1 is open on */
static int same_as_stdout(const struct stat *st) {
  struct stat o;
  return fstat(STDOUT_FILENO, &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

typedef struct {
  int kind, fd, exclusive, sync, key, unnamed;
  char path[PATH_MAX], tmp[PATH_MAX + 64];
} out_file;

#define KEY_TAG ".certbench-key."

/* temp_name fills tmp with a fresh random name next to path: ".<base>.<12 hex>.tmp", or for a
 * key ".<base>.certbench-key.<12 hex>.tmp" (the pattern clean_key_leftovers removes). */
static void temp_name(const char *path, int key, char *tmp, size_t len) {
  char dir[PATH_MAX];
  dir_of(path, dir, sizeof dir);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  uint8_t rnd[6];
  RAND_bytes(rnd, sizeof rnd);
  snprintf(tmp, len, "%s/.%s%s%02x%02x%02x%02x%02x%02x.tmp", dir, base, key ? KEY_TAG : ".",
           rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
}

/* make_temp opens a new file next to path with O_EXCL and the final mode, so the file is
 * never visible with wider permissions than asked. Fills tmp; returns the fd or -1. */
static int make_temp(const char *path, int key, mode_t mode, char *tmp, size_t len) {
  for (int tries = 0; tries < 100; tries++) {
    temp_name(path, key, tmp, len);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

/* is_key_leftover: ".<something>.certbench-key.<12 hex>.tmp" */
static int is_key_leftover(const char *name) {
  size_t n = strlen(name), tag = strlen(KEY_TAG);
  if (name[0] != '.' || n < 1 + 1 + tag + 12 + 4) return 0;
  if (strcmp(name + n - 4, ".tmp") != 0) return 0;
  const char *hex = name + n - 4 - 12;
  for (int i = 0; i < 12; i++)
    if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) return 0;
  return strncmp(hex - tag, KEY_TAG, tag) == 0;
}

/* clean_key_leftovers removes from dir the named temporary key files a killed writer left:
 * regular files of our pattern, owned by us, that no live writer holds locked. */
static void clean_key_leftovers(const char *dir) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!is_key_leftover(de->d_name)) continue;
    int fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        flock(fd, LOCK_EX | LOCK_NB) == 0)
      unlinkat(dfd, de->d_name, 0);
    close(fd);
  }
  closedir(d);
}

/* make_key_temp opens the unnamed file of a key in path's folder (O_TMPFILE), or where the
 * file system has none a named temporary file of the key pattern; both locked (flock) until
 * closed, so clean_key_leftovers never takes a live one. Returns the fd or -1. */
static int make_key_temp(out_file *o, mode_t mode) {
  char dir[PATH_MAX];
  dir_of(o->path, dir, sizeof dir);
  clean_key_leftovers(dir);
  int fd = -1;
  if (cb_fault_set("fs.key:no-tmpfile")) errno = EOPNOTSUPP;
  else fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (fd >= 0) {
    o->unnamed = 1;
  } else {
    /* EOPNOTSUPP (the file system), EISDIR or EINVAL (a kernel before 3.11) */
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return -1;
    fd = make_temp(o->path, 1, mode, o->tmp, sizeof o->tmp);
    if (fd < 0) return -1;
  }
  flock(fd, LOCK_EX | LOCK_NB);
  return fd;
}

/* connect_socket connects to the Unix socket path (stream, else datagram). fd or -1. */
static int connect_socket(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int types[] = {SOCK_STREAM, SOCK_DGRAM};
  int e = 0;
  for (int i = 0; i < 2; i++) {
    int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return fd;
    e = errno;
    close(fd);
    if (e != EPROTOTYPE) break;
  }
  errno = e;
  return -1;
}

/* out_open prepares o to write path (see the top of this section). Returns 0, or an errno
 * value; *why is set for a refusal that no errno names. */
static int out_open(out_file *o, const char *path, mode_t mode, int key, int exclusive,
                    int sync, const char **why) {
  *why = NULL;
  memset(o, 0, sizeof *o);
  o->fd = -1;
  o->key = key;
  o->sync = sync;
  o->exclusive = exclusive;
  if (strlen(path) >= sizeof o->path) return ENAMETOOLONG;
  snprintf(o->path, sizeof o->path, "%s", path);
  if (strcmp(path, "-") == 0) {
    fflush(stdout); /* what Lua printed before comes first */
    o->kind = OUT_STDOUT;
    o->fd = STDOUT_FILENO;
    stdout_taken = 1;
    return 0;
  }
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (S_ISBLK(st.st_mode)) {
      *why = "is a block device: not written";
      return EINVAL;
    }
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
      o->kind = OUT_INPLACE;
      o->fd = S_ISSOCK(st.st_mode) ? connect_socket(path)
                                   : open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (o->fd < 0) return errno;
      /* /dev/null is a device stdout may be open on too, and writing it mixes nothing */
      if (same_as_stdout(&st) && !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))) stdout_taken = 1;
      return 0;
    }
  }
  o->kind = OUT_REPLACE;
  struct stat lst;
  if (exclusive && lstat(path, &lst) == 0) return EEXIST;
  o->fd = key ? make_key_temp(o, mode) : make_temp(path, 0, mode, o->tmp, sizeof o->tmp);
  /* open(2) applies the umask; a mode wider than asked is impossible, and the caller's mode
   * for a key (0600) is kept exactly. */
  return o->fd < 0 ? errno : 0;
}

/* out_abort ends o without publishing: a temporary file is gone, an old file untouched. */
static void out_abort(out_file *o) {
  if (o->kind != OUT_STDOUT && o->fd >= 0) close(o->fd);
  if (o->kind == OUT_REPLACE && o->tmp[0]) unlink(o->tmp);
  o->fd = -1;
  o->tmp[0] = '\0';
}

/* out_fail records a failure of o: it is aborted; returns the errno value of the failure. */
static int out_fail(out_file *o) {
  int e = errno;
  out_abort(o);
  return e;
}

/* link_unnamed gives the unnamed file fd the name path (linkat through /proc, which needs no
 * privilege, unlike AT_EMPTY_PATH). Returns 0 or -1 with errno. */
static int link_unnamed(int fd, const char *path) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

/* out_commit publishes o. For a replaced file: fsync when sync, then rename over path, or
 * link() when exclusive so that even a file a racing writer made meanwhile is never replaced,
 * then fsync of the folder. An unnamed key file is linked to path (exclusive) or to a
 * temporary name of the key pattern renamed over path. o is closed whatever happens. Returns 0
 * or an errno value; *published tells whether path is the new file all the same (only the
 * folder's fsync failed: the error concerns the folder). */
static int out_commit(out_file *o, int *published) {
  *published = 0;
  if (o->kind == OUT_STDOUT) {
    *published = 1;
    return 0;
  }
  if (o->kind == OUT_INPLACE) {
    int e = close(o->fd) == 0 ? 0 : errno;
    o->fd = -1;
    *published = !e;
    return e;
  }
  if (o->sync && fsync(o->fd) != 0) return out_fail(o);
  if (o->unnamed) {
    cb_fault("fs.key:written");
    if (o->exclusive) {
      if (link_unnamed(o->fd, o->path) != 0) return out_fail(o);
    } else {
      int r = -1;
      for (int tries = 0; tries < 100; tries++) {
        temp_name(o->path, 1, o->tmp, sizeof o->tmp);
        r = link_unnamed(o->fd, o->tmp);
        if (r == 0 || errno != EEXIST) break;
      }
      if (r != 0) {
        o->tmp[0] = '\0';
        return out_fail(o);
      }
      cb_fault("fs.key:linked");
      if (rename(o->tmp, o->path) != 0) return out_fail(o);
    }
    o->tmp[0] = '\0';
    close(o->fd); /* after the rename: the lock keeps clean_key_leftovers off the named copy */
    o->fd = -1;
  } else {
    /* the descriptor stays open until the rename: a key's lock keeps clean_key_leftovers off
     * the named copy */
    if (o->key) cb_fault("fs.key:written");
    cb_fault("fs.write:before-rename");
    if (o->exclusive) {
      if (link(o->tmp, o->path) != 0) return out_fail(o);
      unlink(o->tmp);
    } else if (rename(o->tmp, o->path) != 0) {
      return out_fail(o);
    }
    o->tmp[0] = '\0';
    int r = close(o->fd);
    o->fd = -1;
    if (r != 0) { /* a write the file system reports only now: the published file is bad */
      *published = 1;
      return errno;
    }
  }
  *published = 1;
  char dir[PATH_MAX];
  dir_of(o->path, dir, sizeof dir);
  if (o->sync == SYNC_NAME && !fsync_dir(dir)) return errno;
  return 0;
}

/* opt_sync reads the sync option of fs.write and fs.writer at idx: true (the default) SYNC_NAME,
 * "atomic" SYNC_DATA, false SYNC_NONE; anything else raises. */
static int opt_sync(lua_State *L, int idx, const char *fn) {
  if (lua_type(L, idx) != LUA_TTABLE) return SYNC_NAME;
  lua_getfield(L, idx, "sync");
  int t = lua_type(L, -1), v = SYNC_NAME;
  if (t == LUA_TBOOLEAN) v = lua_toboolean(L, -1) ? SYNC_NAME : SYNC_NONE;
  else if (t == LUA_TSTRING && strcmp(lua_tostring(L, -1), "atomic") == 0) v = SYNC_DATA;
  else if (t != LUA_TNIL) luaL_error(L, "%s: sync must be true, false or \"atomic\"", fn);
  lua_pop(L, 1);
  return v;
}

/* out_result pushes the Lua result of out_commit: true, or nil, "path: cause", errno (the
 * folder's name when only its fsync failed). */
static int out_result(lua_State *L, const char *path, int e, int published) {
  if (!e) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (published) {
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    return cb_fail_errno(L, dir, e);
  }
  return cb_fail_errno(L, path, e);
}

/* out_open_result pushes the failure of out_open. */
static int out_open_fail(lua_State *L, const char *path, int e, const char *why) {
  if (why) return cb_fail(L, "%s: %s", path, why);
  return cb_fail_errno(L, path, e);
}

/* fs.write(path, data[, {mode=0644, exclusive=false, sync=true|"atomic"|false, key=false}])
 *   -> true | nil, err, errno
 * One way out (see above). exclusive: fail with EEXIST when path exists (published with
 * link(), so even a racing writer cannot be overwritten). key: the unnamed-file path. */
static int l_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *data = cb_checkbytes(L, 2, &n);
  static const char *const known[] = {"mode", "exclusive", "sync", "key", NULL};
  cb_checkoptions(L, 3, "fs.write", known);
  mode_t mode = (mode_t)cb_optfield_integer(L, 3, "mode", 0644);
  int exclusive = cb_optfield_boolean(L, 3, "exclusive", 0);
  int sync = opt_sync(L, 3, "fs.write");
  int key = cb_optfield_boolean(L, 3, "key", 0);
  out_file o;
  const char *why;
  int e = out_open(&o, path, mode, key, exclusive, sync, &why);
  if (e) return out_open_fail(L, path, e, why);
  if (!cb_write_all(o.fd, data, n)) return cb_fail_errno(L, path, out_fail(&o));
  int published;
  e = out_commit(&o, &published);
  return out_result(L, path, e, published);
}

/* --- streaming writer --- */

#define WRITER_MT "certbench.fs.writer"
#define WRITER_BUF (64 * 1024)

/* An fs.writer: fs.write's target, filled by many writes. live from out_open until commit or
 * abort; err is the first failure, after which the temporary file is already gone and every
 * call repeats that error. */
typedef struct {
  int live, err;
  size_t used;
  out_file o;
  char buf[WRITER_BUF];
} fs_writer;

static fs_writer *check_writer(lua_State *L) {
  fs_writer *w = luaL_checkudata(L, 1, WRITER_MT);
  if (!w->live) luaL_error(L, "attempt to use a closed fs.writer");
  return w;
}

/* writer_fail records the first failure (errno) and removes the temporary file. Returns 0. */
static int writer_fail(fs_writer *w) {
  w->err = out_fail(&w->o);
  return 0;
}

/* writer_put appends n bytes, through the buffer unless they fill it. Returns 1, or 0 after
 * writer_fail. */
static int writer_put(fs_writer *w, const char *p, size_t n) {
  if (w->used + n <= WRITER_BUF) {
    memcpy(w->buf + w->used, p, n);
    w->used += n;
    return 1;
  }
  if (w->used > 0 && !cb_write_all(w->o.fd, w->buf, w->used)) return writer_fail(w);
  w->used = 0;
  if (n >= WRITER_BUF) return cb_write_all(w->o.fd, p, n) ? 1 : writer_fail(w);
  memcpy(w->buf, p, n);
  w->used = n;
  return 1;
}

/* writer_abort ends a live writer: closes and removes its temporary file. */
static void writer_abort(fs_writer *w) {
  if (!w->live) return;
  out_abort(&w->o);
  w->live = 0;
  cb_cleanse(w->buf, w->used);
  w->used = 0;
}

/* w:write(s, ...) -> w | nil, err, errno */
static int writer_write(lua_State *L) {
  fs_writer *w = check_writer(L);
  int top = lua_gettop(L);
  for (int i = 2; i <= top; i++) luaL_checkstring(L, i);
  for (int i = 2; i <= top && !w->err; i++) {
    size_t n;
    const char *p = lua_tolstring(L, i, &n);
    writer_put(w, p, n);
  }
  if (w->err) return cb_fail_errno(L, w->o.path, w->err);
  lua_settop(L, 1);
  return 1;
}

/* w:flush() -> w | nil, err, errno: the buffered bytes written and, for a file that is synced,
 * its data on disk, without publishing it. Several files that must appear together (outputs:
 * key, certificate and chain of one pfx split) flush all before committing any: a full disk
 * or an I/O error then fails while every old file is still in place. */
static int writer_flush(lua_State *L) {
  fs_writer *w = check_writer(L);
  if (!w->err && w->used > 0 && !cb_write_all(w->o.fd, w->buf, w->used)) writer_fail(w);
  cb_cleanse(w->buf, w->used);
  w->used = 0;
  if (!w->err && w->o.kind != OUT_STDOUT && w->o.kind != OUT_INPLACE && w->o.sync &&
      fsync(w->o.fd) != 0)
    writer_fail(w);
  if (w->err) return cb_fail_errno(L, w->o.path, w->err);
  lua_settop(L, 1);
  return 1;
}

/* w:commit() -> true | nil, err, errno: the file appears under its name only now */
static int writer_commit(lua_State *L) {
  fs_writer *w = check_writer(L);
  if (!w->err && w->used > 0 && !cb_write_all(w->o.fd, w->buf, w->used)) writer_fail(w);
  cb_cleanse(w->buf, w->used);
  w->used = 0;
  if (w->err) return cb_fail_errno(L, w->o.path, w->err);
  int published, e = out_commit(&w->o, &published);
  if (e && !published) w->err = e;
  else w->live = 0;
  return out_result(L, w->o.path, e, published);
}

/* w:abort() -> true: nothing of the writer stays behind, the old file (if any) is untouched */
static int writer_abort_m(lua_State *L) {
  writer_abort(check_writer(L));
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close: an uncommitted writer is aborted; a finished one is left alone. */
static int writer_release(lua_State *L) {
  writer_abort(luaL_checkudata(L, 1, WRITER_MT));
  return 0;
}

static int writer_tostring(lua_State *L) {
  fs_writer *w = luaL_checkudata(L, 1, WRITER_MT);
  if (w->live) lua_pushfstring(L, WRITER_MT " (%s)", w->o.path);
  else lua_pushliteral(L, WRITER_MT " (closed)");
  return 1;
}

/* fs.writer(path[, {mode=0644, exclusive=false, sync=true|"atomic"|false, key=false}]) -> w | nil, err, errno
 * fs.write in pieces, for a document too large to hold whole: the writes go to fs.write's
 * target (a temporary file next to path, the mode set at open; or the device, FIFO, socket or
 * standard output written in place), and w:commit() publishes it as fs.write does. */
static int l_writer(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  static const char *const known[] = {"mode", "exclusive", "sync", "key", NULL};
  cb_checkoptions(L, 2, "fs.writer", known);
  mode_t mode = (mode_t)cb_optfield_integer(L, 2, "mode", 0644);
  int exclusive = cb_optfield_boolean(L, 2, "exclusive", 0);
  int sync = opt_sync(L, 2, "fs.writer");
  int key = cb_optfield_boolean(L, 2, "key", 0);
  fs_writer *w = cb_newudata(L, sizeof *w, WRITER_MT);
  w->o.fd = -1;
  const char *why;
  int e = out_open(&w->o, path, mode, key, exclusive, sync, &why);
  if (e) return out_open_fail(L, path, e, why);
  w->live = 1;
  return 1;
}

/* fs.target(path) -> "replace" | "inplace" | "stdout": how fs.write would write path (the
 * rules at the top of this section), for callers that write several files as one step. */
static int l_target(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (strcmp(path, "-") == 0) lua_pushliteral(L, "stdout");
  else if (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
    lua_pushliteral(L, "inplace");
  else lua_pushliteral(L, "replace");
  return 1;
}

/* fs.stdout_taken() -> true when an output target of this process was its standard output
 * (see stdout_taken) */
static int l_stdout_taken(lua_State *L) {
  lua_pushboolean(L, stdout_taken);
  return 1;
}

/* fs.append(path, data[, {mode=0644, sync=true}]) -> true | nil, err
 * One write(2) on an O_APPEND descriptor, then fdatasync: a record is either wholly in the
 * file or (after a crash during the call) possibly a torn tail, which readers must detect.
 * append, pwrite, create and a lock file never follow a symbolic link in the last component
 * (O_NOFOLLOW: ELOOP): they write inside folders certbench owns (a CA's index.txt and
 * journal), where a planted link must not have its target written. */
static int l_append(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *data = luaL_checklstring(L, 2, &n);
  static const char *const known[] = {"mode", "sync", NULL};
  cb_checkoptions(L, 3, "fs.append", known);
  mode_t mode = (mode_t)cb_optfield_integer(L, 3, "mode", 0644);
  int sync = cb_optfield_boolean(L, 3, "sync", 1);
  int created = access(path, F_OK) != 0;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return cb_fail_errno(L, path, errno);
  if (!cb_write_all(fd, data, n) || (sync && fdatasync(fd) != 0)) {
    int e = errno;
    close(fd);
    return cb_fail_errno(L, path, e);
  }
  if (close(fd) != 0) return cb_fail_errno(L, path, errno);
  if (created && sync) {
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    fsync_dir(dir);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.mkdir(path[, {mode=0755, parents=true}]) -> true | nil, err */
static int l_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  static const char *const known[] = {"mode", "parents", NULL};
  cb_checkoptions(L, 2, "fs.mkdir", known);
  mode_t mode = (mode_t)cb_optfield_integer(L, 2, "mode", 0755);
  int parents = cb_optfield_boolean(L, 2, "parents", 1);
  char buf[PATH_MAX];
  if (strlen(path) >= sizeof buf) return cb_fail_errno(L, path, ENAMETOOLONG);
  snprintf(buf, sizeof buf, "%s", path);
  if (parents) {
    for (char *p = buf + 1; *p; p++) {
      if (*p != '/') continue;
      *p = '\0';
      if (mkdir(buf, 0755) != 0 && errno != EEXIST) return cb_fail_errno(L, buf, errno);
      *p = '/';
    }
  }
  if (mkdir(buf, mode) != 0) {
    struct stat st;
    if (!(errno == EEXIST && parents && stat(buf, &st) == 0 && S_ISDIR(st.st_mode)))
      return cb_fail_errno(L, path, errno);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* fs.list(path) -> { names, sorted, without . and .. } | nil, err */
static int l_list(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d = opendir(path);
  if (!d) return cb_fail_errno(L, path, errno);
  size_t n = 0, cap = 64;
  char **names = malloc(cap * sizeof *names);
  struct dirent *de;
  while (names && (de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (n == cap) {
      char **nn = realloc(names, (cap *= 2) * sizeof *names);
      if (!nn) break;
      names = nn;
    }
    names[n] = strdup(de->d_name);
    if (!names[n]) break;
    n++;
  }
  closedir(d);
  if (!names) return luaL_error(L, "out of memory");
  qsort(names, n, sizeof *names, cmp_str);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, names[i]); /* may raise on OOM; leaking a few names then is acceptable */
    lua_rawseti(L, -2, (lua_Integer)i + 1);
    free(names[i]);
  }
  free(names);
  return 1;
}

static const char *type_name(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "directory";
  if (S_ISLNK(m)) return "link";
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISSOCK(m)) return "socket";
  if (S_ISCHR(m) || S_ISBLK(m)) return "device";
  return "other";
}

/* fs.stat(path[, {follow=true}]) -> {type, size, mode, mtime, ctime_ns, uid, gid, ino, dev} | nil, err, errno
 * ino and dev tell a file replaced by rename from the same file grown by appends; ctime_ns (the
 * last change of the file or its inode, in nanoseconds) tells a file written over in the second
 * it was last read, or copied with an older mtime kept (cp -p, rsync -t), which mtime cannot. */
static int l_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  static const char *const known[] = {"follow", NULL};
  cb_checkoptions(L, 2, "fs.stat", known);
  int follow = cb_optfield_boolean(L, 2, "follow", 1);
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return cb_fail_errno(L, path, errno);
  lua_createtable(L, 0, 9);
  lua_pushstring(L, type_name(st.st_mode));
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.st_mtime);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, (lua_Integer)st.st_ctim.tv_sec * 1000000000 + (lua_Integer)st.st_ctim.tv_nsec);
  lua_setfield(L, -2, "ctime_ns");
  lua_pushinteger(L, (lua_Integer)st.st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st.st_gid);
  lua_setfield(L, -2, "gid");
  lua_pushinteger(L, (lua_Integer)st.st_ino);
  lua_setfield(L, -2, "ino");
  lua_pushinteger(L, (lua_Integer)st.st_dev);
  lua_setfield(L, -2, "dev");
  return 1;
}

/* fs.remove(path) -> true | nil, err ; removes a file or an empty folder */
static int l_remove(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (unlink(path) != 0) {
    /* Linux says EISDIR for a folder, POSIX allows EPERM */
    if ((errno != EISDIR && errno != EPERM) || rmdir(path) != 0) return cb_fail_errno(L, path, errno);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.rename(from, to[, {sync=true}]) -> true | nil, err ; durable when sync */
static int l_rename(lua_State *L) {
  const char *from = luaL_checkstring(L, 1);
  const char *to = luaL_checkstring(L, 2);
  static const char *const known[] = {"sync", NULL};
  cb_checkoptions(L, 3, "fs.rename", known);
  int sync = cb_optfield_boolean(L, 3, "sync", 1);
  if (rename(from, to) != 0) return cb_fail_errno(L, to, errno);
  if (sync) {
    char dir[PATH_MAX];
    dir_of(to, dir, sizeof dir);
    fsync_dir(dir);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* sync_one makes one file (fdatasync: its data and what is needed to read them back, size and
 * blocks included) or one folder (fsync: its entries) durable. Returns 0 or an errno value;
 * EINVAL (a file system that cannot sync this kind of file, such as some folders) is not one. */
static int sync_one(const char *path, int data) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  int r = data && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdatasync(fd) : fsync(fd);
  int e = r != 0 && errno != EINVAL ? errno : 0;
  close(fd);
  return e;
}

/* fs.sync(path | {path, ...}) -> true | nil, err, errno
 * One path: fsync of a file or a folder. A list: the files and folders named, and nothing else
 * of the file system (unlike fs.syncfs, which also waits for every other program's data): the
 * write-back of every regular file is started first (sync_file_range(SYNC_FILE_RANGE_WRITE)),
 * so that the file system allocates all their blocks before the first sync, which then commits
 * them together (one journal commit on ext4/xfs for a batch, not one per file); then each is
 * made durable in the list's order (fdatasync for files, fsync for folders), and the first
 * failure is returned, naming its file. Opened one at a time: any number of paths. */
static int l_sync(lua_State *L) {
  if (!lua_istable(L, 1)) {
    const char *path = luaL_checkstring(L, 1);
    int e = sync_one(path, 0);
    if (e) return cb_fail_errno(L, path, e);
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    if (!lua_isstring(L, -1)) return luaL_error(L, "fs.sync: item %d of the list is not a path", (int)i);
    lua_pop(L, 1);
  }
  if (n > 1) {
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, 1, i);
      int fd = open(lua_tostring(L, -1), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      lua_pop(L, 1);
      if (fd < 0) continue; /* named by the sync below */
      struct stat st;
      /* only a hint: the syncs below are what make the files durable */
      if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
      close(fd);
    }
  }
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    const char *path = lua_tostring(L, -1);
    int e = sync_one(path, 1);
    if (e) return cb_fail_errno(L, path, e);
    lua_pop(L, 1);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.truncate(path, size) -> true | nil, err ; cuts a torn tail after a crash */
static int l_truncate(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer size = luaL_checkinteger(L, 2);
  luaL_argcheck(L, size >= 0, 2, "size must not be negative");
  if (truncate(path, (off_t)size) != 0) return cb_fail_errno(L, path, errno);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char out[PATH_MAX];
  if (!realpath(path, out)) return cb_fail_errno(L, path, errno);
  lua_pushstring(L, out);
  return 1;
}

/* fs.tmpdir([prefix]) -> a new private folder under $TMPDIR or /tmp */
static int l_tmpdir(lua_State *L) {
  const char *prefix = luaL_optstring(L, 1, "certbench");
  const char *base = getenv("TMPDIR");
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s/%s.XXXXXX", base && *base ? base : "/tmp", prefix);
  if (!mkdtemp(buf)) return cb_fail_errno(L, buf, errno);
  lua_pushstring(L, buf);
  return 1;
}

/* create_file writes a new file (O_EXCL) whole; on failure it removes what it made and
 * returns the errno value, else 0. Lua-free, for the thread pool too. */
static int create_file(const char *path, const char *data, size_t n, mode_t mode, int sync) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return errno;
  if (!cb_write_all(fd, data, n) || (sync && fsync(fd) != 0)) {
    int e = errno;
    close(fd);
    unlink(path);
    return e;
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(path);
    return e;
  }
  return 0;
}

typedef struct {
  const char *path, *data; /* on the caller's stack while the job runs */
  size_t n;
  mode_t mode;
  int sync, err;
} create_job;

static void create_work(void *arg) {
  create_job *j = arg;
  j->err = create_file(j->path, j->data, j->n, j->mode, j->sync);
}

static int create_after(lua_State *L, void *arg) {
  create_job *j = arg;
  int e = j->err;
  const char *path = j->path;
  free(j);
  if (!L) return 0;
  if (e) return cb_fail_errno(L, path, e);
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.create(path, data[, {mode=0644, sync=false, async=false}]) -> true | nil, err, errno
 * A new file written in place, without a temporary name: O_EXCL, so an existing file is never
 * touched. For files of which a torn copy can be recognised and removed after a crash (a
 * certificate that does not parse), or that get their final name later (rename), where
 * fs.write's temporary file and rename cost too much. A failed write removes the partial file.
 * async: inside a loop task the file is written on the thread pool while other tasks run (file
 * creation costs a file system's allocator time that the loop need not wait for). */
static int l_create(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *data = luaL_checklstring(L, 2, &n);
  static const char *const known[] = {"mode", "sync", "async", NULL};
  cb_checkoptions(L, 3, "fs.create", known);
  mode_t mode = (mode_t)cb_optfield_integer(L, 3, "mode", 0644);
  int sync = cb_optfield_boolean(L, 3, "sync", 0);
  if (cb_optfield_boolean(L, 3, "async", 0) && cb_loop_in_task(L)) {
    create_job *j = malloc(sizeof *j);
    if (!j) return luaL_error(L, "fs.create: out of memory");
    *j = (create_job){path, data, n, mode, sync, 0};
    return cb_loop_queue_work(L, create_work, create_after, j);
  }
  int e = create_file(path, data, n, mode, sync);
  if (e) return cb_fail_errno(L, path, e);
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.pwrite(path, offset, data[, {mode=0644, sync=true}]) -> true | nil, err, errno
 * Overwrites bytes in place (the file is created when missing, and its folder synced then),
 * then fdatasync: one sync for a small record rewritten often, such as a journal. A record
 * within one disk sector is written whole or not at all in practice; readers still check it. */
static int l_pwrite(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer off = luaL_checkinteger(L, 2);
  size_t n;
  const char *data = luaL_checklstring(L, 3, &n);
  static const char *const known[] = {"mode", "sync", NULL};
  cb_checkoptions(L, 4, "fs.pwrite", known);
  mode_t mode = (mode_t)cb_optfield_integer(L, 4, "mode", 0644);
  int sync = cb_optfield_boolean(L, 4, "sync", 1);
  luaL_argcheck(L, off >= 0, 2, "offset must not be negative");
  int created = access(path, F_OK) != 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return cb_fail_errno(L, path, errno);
  const char *p = data;
  size_t left = n;
  off_t at = (off_t)off;
  while (left > 0) {
    ssize_t w = pwrite(fd, p, left, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return cb_fail_errno(L, path, e);
    }
    p += w;
    at += w;
    left -= (size_t)w;
  }
  if ((sync && fdatasync(fd) != 0) || close(fd) != 0) {
    int e = errno;
    close(fd);
    return cb_fail_errno(L, path, e);
  }
  if (created && sync) {
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    fsync_dir(dir);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.syncfs(path) -> true | nil, err: makes every file of the file system holding path durable
 * with one call (syncfs(2)): the group commit of many new files, cheaper than one fsync each. */
static int l_syncfs(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cb_fail_errno(L, path, errno);
  if (syncfs(fd) != 0) {
    int e = errno;
    close(fd);
    return cb_fail_errno(L, path, e);
  }
  close(fd);
  lua_pushboolean(L, 1);
  return 1;
}

/* make_link makes path a hard link to target (symbolic: a symlink whose text is target). With
 * replace, an existing path is replaced atomically: the link is made under a temporary name
 * and renamed over it, so a reader sees the old entry or the new, never none. Returns 0 or an
 * errno value. */
static int make_link(const char *target, const char *path, int symbolic, int replace, int sync) {
  int r = symbolic ? symlink(target, path) : link(target, path);
  if (r != 0 && errno == EEXIST && replace && !symbolic) {
    /* rename() of two names of one file does nothing and would leave the temporary name */
    struct stat a, b;
    if (stat(target, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
      return 0;
    errno = EEXIST;
  }
  if (r != 0 && errno == EEXIST && replace) {
    char tmp[PATH_MAX + 64];
    for (int tries = 0; tries < 100; tries++) {
      temp_name(path, 0, tmp, sizeof tmp);
      r = symbolic ? symlink(target, tmp) : link(target, tmp);
      if (r == 0 || errno != EEXIST) break;
    }
    if (r != 0) return errno;
    if (rename(tmp, path) != 0) {
      int e = errno;
      unlink(tmp);
      return e;
    }
  } else if (r != 0) {
    return errno;
  }
  if (sync) {
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    if (!fsync_dir(dir)) return errno;
  }
  return 0;
}

/* fs.link(target, path[, {replace=false, sync=true}]) -> true | nil, err, errno
 * A hard link: path becomes a second name of the file target (same inode, no copy). */
static int l_link(lua_State *L) {
  const char *target = luaL_checkstring(L, 1);
  const char *path = luaL_checkstring(L, 2);
  static const char *const known[] = {"replace", "sync", NULL};
  cb_checkoptions(L, 3, "fs.link", known);
  int replace = cb_optfield_boolean(L, 3, "replace", 0);
  int sync = cb_optfield_boolean(L, 3, "sync", 1);
  int e = make_link(target, path, 0, replace, sync);
  if (e) return cb_fail_errno(L, e == ENOENT && access(target, F_OK) != 0 ? target : path, e);
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.symlink(target, path[, {replace=false, sync=true}]) -> true | nil, err, errno
 * A symbolic link whose text is target, taken relative to path's folder unless absolute (the
 * target need not exist). */
static int l_symlink(lua_State *L) {
  const char *target = luaL_checkstring(L, 1);
  const char *path = luaL_checkstring(L, 2);
  static const char *const known[] = {"replace", "sync", NULL};
  cb_checkoptions(L, 3, "fs.symlink", known);
  int replace = cb_optfield_boolean(L, 3, "replace", 0);
  int sync = cb_optfield_boolean(L, 3, "sync", 1);
  int e = make_link(target, path, 1, replace, sync);
  if (e) return cb_fail_errno(L, path, e);
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.readlink(path) -> target | nil, err, errno (EINVAL: path is not a symbolic link) */
static int l_readlink(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char buf[PATH_MAX];
  ssize_t n = readlink(path, buf, sizeof buf);
  if (n < 0) return cb_fail_errno(L, path, errno);
  if ((size_t)n == sizeof buf) return cb_fail_errno(L, path, ENAMETOOLONG);
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

/* fs.fault(point): the crash point of cb_fault for code written in Lua */
static int l_fault(lua_State *L) {
  cb_fault(luaL_checkstring(L, 1));
  return 0;
}

/* --- private folders: a state folder certbench owns, used through a descriptor --- */

#define DIR_MT "certbench.fs.dir"

/* A folder opened once (O_NOFOLLOW) and checked (a folder, owned by this user, mode 0700),
 * then reached only through its descriptor: its files are named "/proc/self/fd/N/<name>",
 * which the kernel resolves from the open folder itself, never again from its path. So a
 * folder swapped for a symbolic link after the check, or a tmp/ that is one, redirects
 * nothing: every call that takes a path (the http download, the spool, fs.write) stays in the
 * folder that was checked. */
typedef struct {
  int fd;
  char proc[32];
  char *name; /* the path as the user knows it, for messages */
} fs_dir;

static int is_plain_name(const char *s) {
  return s[0] && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* open_private opens name (relative to at) as a private folder, made (mode 0700) when
 * missing. Returns the fd, or -1 with msg filled. */
static int open_private(int at, const char *name, const char *shown, char *msg, size_t len) {
  if (mkdirat(at, name, 0700) != 0 && errno != EEXIST) {
    snprintf(msg, len, "%s: %s", shown, strerror(errno));
    return -1;
  }
  int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    struct stat lst;
    if ((e == ELOOP || e == ENOTDIR) && fstatat(at, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode))
      snprintf(msg, len, "%s: is a symbolic link: refused (the state folder must be a real folder)", shown);
    else snprintf(msg, len, "%s: %s", shown, strerror(e));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(msg, len, "%s: %s", shown, strerror(errno));
    close(fd);
    return -1;
  }
  if (st.st_uid != geteuid()) {
    snprintf(msg, len, "%s: owned by uid %ld, not by this user (uid %ld): refused", shown,
             (long)st.st_uid, (long)geteuid());
    close(fd);
    return -1;
  }
  /* a folder an older version made 0755: nobody else may read the state or take the lock */
  if ((st.st_mode & 077) != 0 && fchmod(fd, st.st_mode & 0700) != 0) {
    snprintf(msg, len, "%s: %s", shown, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static fs_dir *check_dir(lua_State *L) {
  fs_dir *d = luaL_checkudata(L, 1, DIR_MT);
  if (d->fd < 0) luaL_error(L, "attempt to use a closed " DIR_MT);
  return d;
}

/* push_dir pushes a new dir object for fd (owned) named shown. */
static int push_dir(lua_State *L, int fd, const char *shown) {
  fs_dir *d = cb_newudata(L, sizeof *d, DIR_MT);
  d->fd = -1;
  d->name = strdup(shown);
  if (!d->name) {
    close(fd);
    return luaL_error(L, "out of memory");
  }
  d->fd = fd;
  snprintf(d->proc, sizeof d->proc, "/proc/self/fd/%d", fd);
  return 1;
}

/* fs.private_dir(path) -> d | nil, err
 * path made (0700) if missing, then opened without following a symbolic link; refused when
 * it is one, or not a folder, or not owned by this user; made 0700 when it was wider. */
static int l_private_dir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char msg[PATH_MAX + 200];
  int fd = open_private(AT_FDCWD, path, path, msg, sizeof msg);
  if (fd < 0) return cb_fail(L, "%s", msg);
  return push_dir(L, fd, path);
}

/* d:path([name]) -> "/proc/self/fd/N[/name]"; name must be a plain name (raises otherwise) */
static int dir_path(lua_State *L) {
  fs_dir *d = check_dir(L);
  const char *name = luaL_optstring(L, 2, NULL);
  if (!name) {
    lua_pushstring(L, d->proc);
    return 1;
  }
  luaL_argcheck(L, is_plain_name(name), 2, "not a plain name");
  lua_pushfstring(L, "%s/%s", d->proc, name);
  return 1;
}

/* d:sub(name) -> d2 | nil, err: the private folder name inside d (same checks) */
static int dir_sub(lua_State *L) {
  fs_dir *d = check_dir(L);
  const char *name = luaL_checkstring(L, 2);
  luaL_argcheck(L, is_plain_name(name), 2, "not a plain name");
  lua_pushfstring(L, "%s/%s", d->name, name);
  const char *shown = lua_tostring(L, -1);
  char msg[PATH_MAX + 200];
  int fd = open_private(d->fd, name, shown, msg, sizeof msg);
  if (fd < 0) return cb_fail(L, "%s", msg);
  return push_dir(L, fd, shown);
}

/* d:name() -> the path as given, for messages */
static int dir_name(lua_State *L) {
  fs_dir *d = luaL_checkudata(L, 1, DIR_MT);
  lua_pushstring(L, d->name ? d->name : "?");
  return 1;
}

/* d:shown(text) -> text with d's /proc names turned back into the path as given */
static int dir_shown(lua_State *L) {
  fs_dir *d = luaL_checkudata(L, 1, DIR_MT);
  const char *s = luaL_checkstring(L, 2);
  if (d->fd < 0 || !d->name) {
    lua_settop(L, 2);
    return 1;
  }
  /* with the slash: /proc/self/fd/5 must not match in /proc/self/fd/57 */
  lua_pushfstring(L, "%s/", d->proc);
  lua_pushfstring(L, "%s/", d->name);
  luaL_gsub(L, s, lua_tostring(L, -2), lua_tostring(L, -1));
  return 1;
}

static int dir_release(lua_State *L) {
  fs_dir *d = luaL_checkudata(L, 1, DIR_MT);
  if (d->fd >= 0) close(d->fd);
  d->fd = -1;
  free(d->name);
  d->name = NULL;
  return 0;
}

static int dir_tostring(lua_State *L) {
  fs_dir *d = luaL_checkudata(L, 1, DIR_MT);
  if (d->fd >= 0) lua_pushfstring(L, DIR_MT " (%s)", d->name);
  else lua_pushliteral(L, DIR_MT " (closed)");
  return 1;
}

/* --- locks --- */

typedef struct {
  int fd;
  char *path;
} fs_lock;

static int lock_release(lua_State *L) {
  fs_lock *lk = luaL_checkudata(L, 1, LOCK_MT);
  if (lk->fd >= 0) {
    flock(lk->fd, LOCK_UN);
    close(lk->fd);
    lk->fd = -1;
  }
  free(lk->path);
  lk->path = NULL;
  return 0;
}

static int lock_tostring(lua_State *L) {
  fs_lock *lk = luaL_checkudata(L, 1, LOCK_MT);
  if (lk->fd >= 0) lua_pushfstring(L, "certbench.fs.lock (%s)", lk->path);
  else lua_pushliteral(L, "certbench.fs.lock (released)");
  return 1;
}

static int lock_held(lua_State *L) {
  fs_lock *lk = luaL_checkudata(L, 1, LOCK_MT);
  lua_pushboolean(L, lk->fd >= 0);
  return 1;
}

/* fs.lock(path[, {shared=false, wait=true, timeout=seconds, pid=false}]) -> lock | nil, err
 * path may be a folder (the folder itself is locked) or a file (created 0600 if missing, never
 * through a symbolic link). pid: the holder writes its process id into the lock file, and a
 * process that cannot take the lock names it ("locked by process N").
 * Use with `local lk <close> = assert(fs.lock(dir))`. The lock dies with the process, so a
 * crash never leaves a stale lock behind. */
static int l_lock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  static const char *const known[] = {"shared", "wait", "pid", "timeout", NULL};
  cb_checkoptions(L, 2, "fs.lock", known);
  int shared = cb_optfield_boolean(L, 2, "shared", 0);
  int wait = cb_optfield_boolean(L, 2, "wait", 1);
  int pid_note = cb_optfield_boolean(L, 2, "pid", 0);
  lua_Integer timeout_ms = -1;
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_getfield(L, 2, "timeout");
    if (!lua_isnil(L, -1)) timeout_ms = (lua_Integer)(luaL_checknumber(L, -1) * 1000);
    lua_pop(L, 1);
  }
  fs_lock *lk = cb_newudata(L, sizeof *lk, LOCK_MT);
  lk->fd = -1;
  lk->path = strdup(path);
  if (!lk->path) return luaL_error(L, "out of memory");
  struct stat st;
  int fd;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  else fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return cb_fail_errno(L, path, errno);
  int op = (shared ? LOCK_SH : LOCK_EX);
  if (!wait || timeout_ms >= 0) op |= LOCK_NB;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (flock(fd, op) == 0) break;
    int e = errno;
    if (e == EINTR) continue;
    if (e == EWOULDBLOCK && timeout_ms > 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      lua_Integer elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (elapsed < timeout_ms) {
        struct timespec d = {0, 10 * 1000000};
        nanosleep(&d, NULL);
        continue;
      }
    }
    if (e == EWOULDBLOCK) {
      /* the holder wrote its process id into a lock file (opts.pid): name it */
      char buf[32] = {0};
      long pid = 0;
      struct stat fst;
      if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && pread(fd, buf, sizeof buf - 1, 0) > 0)
        pid = strtol(buf, NULL, 10);
      close(fd);
      char waited[64] = "";
      if (timeout_ms > 0) snprintf(waited, sizeof waited, " (waited %.0f s)", timeout_ms / 1000.0);
      char who[64] = "another process";
      if (pid > 0) snprintf(who, sizeof who, "process %ld", pid);
      return cb_fail(L, "%s: locked by %s%s", path, who, waited);
    }
    close(fd);
    return cb_fail_errno(L, path, e);
  }
  if (pid_note && !shared) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) < 0) { /* a hint only */ }
  }
  lk->fd = fd;
  return 1;
}

int luaopen__certbench_fs(lua_State *L) {
  static const luaL_Reg lock_methods[] = {{"unlock", lock_release}, {"held", lock_held}, {NULL, NULL}};
  static const luaL_Reg lock_metas[] = {
      {"__gc", lock_release}, {"__close", lock_release}, {"__tostring", lock_tostring}, {NULL, NULL}};
  cb_newclass(L, LOCK_MT, lock_methods, lock_metas);
  static const luaL_Reg writer_methods[] = {
      {"write", writer_write}, {"flush", writer_flush}, {"commit", writer_commit},
      {"abort", writer_abort_m}, {NULL, NULL}};
  static const luaL_Reg writer_metas[] = {
      {"__gc", writer_release}, {"__close", writer_release}, {"__tostring", writer_tostring}, {NULL, NULL}};
  cb_newclass(L, WRITER_MT, writer_methods, writer_metas);
  static const luaL_Reg dir_methods[] = {
      {"path", dir_path}, {"sub", dir_sub}, {"name", dir_name}, {"shown", dir_shown},
      {"close", dir_release}, {NULL, NULL}};
  static const luaL_Reg dir_metas[] = {
      {"__gc", dir_release}, {"__close", dir_release}, {"__tostring", dir_tostring}, {NULL, NULL}};
  cb_newclass(L, DIR_MT, dir_methods, dir_metas);
  static const luaL_Reg fns[] = {
      {"read", l_read},       {"write", l_write},   {"append", l_append}, {"mkdir", l_mkdir},
      {"list", l_list},       {"stat", l_stat},     {"remove", l_remove}, {"rename", l_rename},
      {"sync", l_sync},       {"truncate", l_truncate}, {"realpath", l_realpath},
      {"tmpdir", l_tmpdir},   {"lock", l_lock},     {"fault", l_fault},   {"create", l_create},
      {"pwrite", l_pwrite},   {"syncfs", l_syncfs}, {"link", l_link},     {"symlink", l_symlink},
      {"readlink", l_readlink}, {"writer", l_writer}, {"target", l_target}, {"stdout_taken", l_stdout_taken}, {"private_dir", l_private_dir}, {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_pushinteger(L, (lua_Integer)CB_FILE_MAX);
  lua_setfield(L, -2, "FILE_MAX");
  return 1;
}
