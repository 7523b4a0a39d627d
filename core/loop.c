/* loop.c: `_certbench.loop`, the libuv loop of a Lua state and the primitives of its
 * coroutine tasks. The tasks themselves (spawn, wait, all, pool) are in core/loop.lua; this
 * file owns everything libuv sees.
 *
 * Rules kept here, after luv's bugs (#437, #701, #99):
 *  - libuv handles live in malloc'd memory, never in a Lua object, and are freed only in
 *    their uv_close callback; a Lua box that points to one only detaches in __gc;
 *  - the loop keeps the main thread (LUA_RIDX_MAINTHREAD) and holds waiting coroutines by
 *    registry references;
 *  - libuv callbacks reach Lua only through lua_resume (tasks) or loop_pcall (a message
 *    handler adds the traceback): nothing raised there can unwind through uv_run;
 *  - once the state is closing no callback calls Lua; the loop's __gc closes every handle,
 *    drains the thread pool and closes the libuv loop. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "cb.h"
#include "loop.h"

#define LOOP_KEY "certbench.loop"
#define LOOP_MT "certbench.loop.state"
#define HANDLE_MT "certbench.loop.handle"
#define WORK_MT "certbench.loop.work"

struct cb_loop {
  uv_loop_t *uv;     /* malloc'd; freed by the __gc of this box */
  lua_State *L;      /* the main thread */
  uv_idle_t *idle;   /* runs the ready queue while it is not empty */
  int *ready;        /* ring of registry references to tasks to resume */
  size_t rhead, rlen, rcap;
  lua_State *current; /* the task being resumed */
  int depth;          /* 1 while uv_run runs */
  int closing;
  cb_res head;        /* resources to close at shutdown */
  int on_error_ref;   /* Lua function reporting errors nobody waits for */
  size_t resumes;     /* statistics */
};

/* ---- resources ------------------------------------------------------------------------ */

void cb_loop_link(cb_loop *loop, cb_res *res) {
  res->next = loop->head.next;
  res->prev = &loop->head;
  loop->head.next->prev = res;
  loop->head.next = res;
}

void cb_loop_unlink(cb_loop *loop, cb_res *res) {
  (void)loop;
  if (!res->next) return;
  res->prev->next = res->next;
  res->next->prev = res->prev;
  res->next = res->prev = NULL;
}

uv_loop_t *cb_loop_uv(cb_loop *loop) { return loop->uv; }
int cb_loop_closing(const cb_loop *loop) { return loop->closing; }

/* ---- reporting ------------------------------------------------------------------------ */

static int msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* report hands msg (top of the main stack, popped) to loop.on_error, else to stderr. */
static void report(cb_loop *loop) {
  lua_State *L = loop->L;
  if (loop->on_error_ref != LUA_NOREF && !loop->closing) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, loop->on_error_ref);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 0, 0) == LUA_OK) return;
  }
  fprintf(stderr, "certbench: error in the event loop: %s\n", lua_tostring(L, -1));
  lua_pop(L, 1);
}

/* loop_pcall calls the function under nargs arguments on the main stack, protected, with a
 * traceback; an error is reported and dropped. Every plain Lua callback goes through here. */
static void loop_pcall(cb_loop *loop, int nargs) {
  lua_State *L = loop->L;
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msgh);
  lua_insert(L, base);
  if (lua_pcall(L, nargs, 0, base) != LUA_OK) report(loop);
  lua_remove(L, base);
}

/* ---- the ready queue ------------------------------------------------------------------ */

static void on_idle(uv_idle_t *h);

/* ready_push queues the task held by ref for resumption; takes the reference. */
static int ready_push(cb_loop *loop, int ref) {
  if (loop->rlen == loop->rcap) {
    size_t ncap = loop->rcap ? loop->rcap * 2 : 64;
    int *n = malloc(ncap * sizeof *n);
    if (!n) return 0;
    for (size_t i = 0; i < loop->rlen; i++) n[i] = loop->ready[(loop->rhead + i) % loop->rcap];
    free(loop->ready);
    loop->ready = n;
    loop->rcap = ncap;
    loop->rhead = 0;
  }
  loop->ready[(loop->rhead + loop->rlen) % loop->rcap] = ref;
  loop->rlen++;
  if (!uv_is_active((uv_handle_t *)loop->idle)) uv_idle_start(loop->idle, on_idle);
  return 1;
}

static void resume_ref(cb_loop *loop, int ref) {
  lua_State *L = loop->L;
  if (!lua_checkstack(L, 4)) {
    fprintf(stderr, "certbench: event loop: out of stack, a task is lost\n");
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref); /* anchors the coroutine while it runs */
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  lua_State *co = lua_tothread(L, -1);
  if (!co || (lua_status(co) == LUA_OK && lua_gettop(co) == 0)) { /* dead: nothing to do */
    lua_pop(L, 1);
    return;
  }
  lua_State *prev = loop->current;
  loop->current = co;
  loop->resumes++;
  int nres = 0;
  int st = lua_resume(co, L, 0, &nres);
  loop->current = prev;
  if (st == LUA_OK || st == LUA_YIELD) {
    lua_pop(co, nres);
  } else {
    /* the task wrapper of loop.lua catches the task's own errors: this is a failure of the
     * wrapper itself (out of memory) or of a coroutine resumed by mistake */
    const char *msg = lua_tostring(co, -1);
    luaL_traceback(L, co, msg ? msg : "(error object is not a string)", 0);
    lua_pushfstring(L, "a task died: %s", lua_tostring(L, -1));
    lua_remove(L, -2);
    report(loop);
  }
  lua_pop(L, 1);
}

static void on_idle(uv_idle_t *h) {
  cb_loop *loop = h->data;
  if (loop->closing) return;
  /* only the tasks queued before this pass: the ones they wake wait for the next iteration,
   * so I/O is polled between generations */
  size_t n = loop->rlen;
  while (n-- > 0 && loop->rlen > 0) {
    int ref = loop->ready[loop->rhead];
    loop->rhead = (loop->rhead + 1) % loop->rcap;
    loop->rlen--;
    resume_ref(loop, ref);
  }
  if (loop->rlen == 0) uv_idle_stop(h);
}

/* ---- waiting -------------------------------------------------------------------------- */

int cb_loop_can_wait(lua_State *L, cb_loop *loop, const char *what) {
  if (loop->closing) {
    lua_pushfstring(L, "%s: the event loop is closed", what);
    return 0;
  }
  if (loop->depth == 0) return 1; /* run the loop right here */
  if (L == loop->current) {
    if (lua_isyieldable(L)) return 1;
    lua_pushfstring(L, "%s: this task cannot wait here (inside a C call that does not allow "
                       "yields: a __gc, table.sort, string.gsub callback...)", what);
    return 0;
  }
  lua_pushfstring(L, "%s: cannot wait outside a loop task while the loop runs (run it in "
                     "loop.spawn, or in the task itself rather than a coroutine of its own)", what);
  return 0;
}

/* run_sync runs the loop until *flag (or until nothing is left to run). */
static void run_sync(cb_loop *loop, int *flag) {
  loop->depth++;
  while (!*flag)
    if (uv_run(loop->uv, UV_RUN_ONCE) == 0 && !*flag) break;
  loop->depth--;
}

int cb_loop_block(lua_State *L, cb_waiter *w, const char *what, lua_KFunction k,
                  lua_KContext ctx) {
  cb_loop *loop = w->loop;
  if (!cb_loop_can_wait(L, loop, what)) return lua_error(L);
  if (loop->depth > 0) {
    lua_pushthread(L);
    w->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    w->flag = NULL;
    return lua_yieldk(L, 0, ctx, k);
  }
  int done = 0;
  w->ref = LUA_NOREF;
  w->flag = &done;
  run_sync(loop, &done);
  if (!done) {
    w->flag = NULL;
    return luaL_error(L, "%s: the event loop has nothing left to run, the wait can never end",
                      what);
  }
  return k(L, LUA_YIELD, ctx);
}

void cb_loop_wake(cb_waiter *w) {
  if (w->flag) {
    *w->flag = 1;
    w->flag = NULL;
  }
  if (w->ref != LUA_NOREF && w->ref != LUA_REFNIL) {
    int ref = w->ref;
    w->ref = LUA_NOREF;
    if (w->loop->closing) return; /* the registry goes with the state */
    if (!ready_push(w->loop, ref)) {
      fprintf(stderr, "certbench: event loop: out of memory, a task is lost\n");
      luaL_unref(w->loop->L, LUA_REGISTRYINDEX, ref);
    }
  }
}

/* ---- the loop of a state -------------------------------------------------------------- */

static void free_handle(uv_handle_t *h) { free(h); }

static void close_stray(uv_handle_t *h, void *arg) {
  (void)arg;
  /* every handle is owned by a resource closed above; one left over is a bug, but leaking
   * it beats freeing memory we do not own */
  if (!uv_is_closing(h)) {
    fprintf(stderr, "certbench: event loop: closing a stray %s handle\n",
            uv_handle_type_name(h->type));
    uv_close(h, NULL);
  }
}

static int loop_gc(lua_State *L) {
  cb_loop *loop = luaL_checkudata(L, 1, LOOP_MT);
  if (!loop->uv || loop->closing) return 0;
  loop->closing = 1;
  while (loop->head.next != &loop->head) {
    cb_res *r = loop->head.next;
    cb_loop_unlink(loop, r);
    r->shutdown(r);
  }
  if (loop->idle) uv_close((uv_handle_t *)loop->idle, free_handle);
  loop->idle = NULL;
  uv_walk(loop->uv, close_stray, NULL);
  if (loop->depth > 0) {
    /* the state closes from inside a task (os.exit(code, true) in a callback): uv_run is
     * not reentrant, so the close callbacks cannot run; the process is ending, and leaking
     * the loop is the only safe choice */
    loop->uv = NULL;
    return 0;
  }
  uv_run(loop->uv, UV_RUN_DEFAULT); /* close callbacks, and work still in the thread pool */
  if (uv_loop_close(loop->uv) == 0) free(loop->uv);
  loop->uv = NULL;
  free(loop->ready);
  loop->ready = NULL;
  loop->rlen = loop->rcap = 0;
  return 0;
}

static int create_loop(lua_State *L) {
  cb_loop *loop = cb_newudata(L, sizeof *loop, LOOP_MT);
  loop->head.next = loop->head.prev = &loop->head;
  loop->on_error_ref = LUA_NOREF;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  loop->L = lua_tothread(L, -1);
  lua_pop(L, 1);
  uv_loop_t *uv = malloc(sizeof *uv);
  uv_idle_t *idle = malloc(sizeof *idle);
  if (!uv || !idle) {
    free(uv);
    free(idle);
    return luaL_error(L, "loop: out of memory");
  }
  int rc = uv_loop_init(uv);
  if (rc != 0) {
    free(uv);
    free(idle);
    return luaL_error(L, "loop: cannot create the event loop: %s", uv_strerror(rc));
  }
  uv_idle_init(uv, idle);
  idle->data = loop;
  loop->uv = uv;
  loop->idle = idle;
  return 1;
}

cb_loop *cb_loop_get(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LOOP_KEY) == LUA_TUSERDATA) {
    cb_loop *loop = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return loop;
  }
  lua_pop(L, 1);
  cb_newclass(L, LOOP_MT, NULL, (const luaL_Reg[]){{"__gc", loop_gc}, {NULL, NULL}});
  create_loop(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LOOP_KEY);
  cb_loop *loop = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return loop;
}

int cb_loop_in_task(lua_State *L) {
  int t = lua_getfield(L, LUA_REGISTRYINDEX, LOOP_KEY);
  cb_loop *loop = t == LUA_TUSERDATA ? lua_touserdata(L, -1) : NULL;
  lua_pop(L, 1);
  return loop && !loop->closing && loop->depth > 0 && L == loop->current && lua_isyieldable(L);
}

/* ---- sleep ---------------------------------------------------------------------------- */

typedef struct {
  cb_res res; /* first: the resource is the sleeper */
  uv_timer_t timer;
  cb_waiter w;
} sleeper;

static void sleeper_closed(uv_handle_t *h) { free(h->data); }

static void sleeper_shutdown(cb_res *res) {
  sleeper *s = (sleeper *)res;
  uv_close((uv_handle_t *)&s->timer, sleeper_closed);
}

static void on_sleep(uv_timer_t *t) {
  sleeper *s = t->data;
  cb_loop_unlink(s->w.loop, &s->res);
  cb_loop_wake(&s->w);
  uv_close((uv_handle_t *)t, sleeper_closed);
}

static int sleep_k(lua_State *L, int status, lua_KContext ctx) {
  (void)L, (void)status, (void)ctx;
  return 0;
}

/* loop.sleep(seconds): a task yields; outside a task the loop runs until the time is up. */
static int l_sleep(lua_State *L) {
  lua_Number secs = luaL_checknumber(L, 1);
  luaL_argcheck(L, secs >= 0 && secs < 1e9, 1, "seconds out of range");
  cb_loop *loop = cb_loop_get(L);
  if (!cb_loop_can_wait(L, loop, "loop.sleep")) return lua_error(L);
  if (secs == 0) {
    if (loop->depth == 0) {
      loop->depth++;
      uv_run(loop->uv, UV_RUN_NOWAIT);
      loop->depth--;
      return 0;
    }
    /* let the other ready tasks run first */
    lua_pushthread(L);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (!ready_push(loop, ref)) {
      luaL_unref(L, LUA_REGISTRYINDEX, ref);
      return luaL_error(L, "loop.sleep: out of memory");
    }
    return lua_yield(L, 0);
  }
  sleeper *s = calloc(1, sizeof *s);
  if (!s) return luaL_error(L, "loop.sleep: out of memory");
  s->w.loop = loop;
  s->w.ref = LUA_NOREF;
  uv_timer_init(loop->uv, &s->timer);
  s->timer.data = s;
  s->res.shutdown = sleeper_shutdown;
  cb_loop_link(loop, &s->res);
  uv_update_time(loop->uv); /* the cached time is stale after Lua ran a while */
  uv_timer_start(&s->timer, on_sleep, (uint64_t)ceil(secs * 1000), 0);
  return cb_loop_block(L, &s->w, "loop.sleep", sleep_k, 0);
}

/* ---- timers and signal watchers ------------------------------------------------------- */

enum { H_OPEN, H_CLOSING, H_CLOSED };

typedef struct {
  cb_res res;
  union {
    uv_handle_t handle;
    uv_timer_t timer;
    uv_signal_t signal;
  } u;
  cb_loop *loop;
  int fn_ref;   /* the Lua callback */
  int self_ref; /* the box, so an open handle is never collected */
  int state;
  int box_alive;
  int repeat;
  int signum;
} lhandle;

typedef struct {
  lhandle *h;
} lhandle_box;

static void lhandle_closed(uv_handle_t *uh) {
  lhandle *h = uh->data;
  h->state = H_CLOSED;
  if (!h->box_alive) free(h);
}

/* lhandle_close stops h and releases its references; the box may go afterwards. */
static void lhandle_close(lhandle *h) {
  if (h->state != H_OPEN) return;
  h->state = H_CLOSING;
  cb_loop_unlink(h->loop, &h->res);
  if (!h->loop->closing) {
    luaL_unref(h->loop->L, LUA_REGISTRYINDEX, h->fn_ref);
    luaL_unref(h->loop->L, LUA_REGISTRYINDEX, h->self_ref);
  }
  h->fn_ref = h->self_ref = LUA_NOREF;
  uv_close(&h->u.handle, lhandle_closed);
}

static void lhandle_shutdown(cb_res *res) {
  lhandle_close((lhandle *)res);
}

static const struct {
  const char *name;
  int num;
} signals[] = {{"SIGINT", SIGINT},   {"SIGTERM", SIGTERM}, {"SIGHUP", SIGHUP},
               {"SIGQUIT", SIGQUIT}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
               {"SIGWINCH", SIGWINCH}};

static const char *signal_name(int num) {
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (signals[i].num == num) return signals[i].name;
  return "?";
}

static void lhandle_call(lhandle *h, int with_signal) {
  cb_loop *loop = h->loop;
  lua_State *L = loop->L;
  if (loop->closing || h->state != H_OPEN || !lua_checkstack(L, 4)) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->fn_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->self_ref);
  if (with_signal) lua_pushstring(L, signal_name(h->signum));
  loop_pcall(loop, with_signal ? 2 : 1);
}

static void on_timer(uv_timer_t *t) {
  lhandle *h = t->data;
  lhandle_call(h, 0);
  if (!h->repeat) lhandle_close(h);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  lhandle_call(s->data, 1);
}

static lhandle_box *check_handle(lua_State *L) {
  return luaL_checkudata(L, 1, HANDLE_MT);
}

/* lhandle_new pushes a box with a new handle around the function at fn_idx. */
static lhandle *lhandle_new(lua_State *L, cb_loop *loop, int fn_idx) {
  lhandle_box *box = cb_newudata(L, sizeof *box, HANDLE_MT);
  lhandle *h = calloc(1, sizeof *h);
  if (!h) luaL_error(L, "loop: out of memory");
  h->loop = loop;
  h->box_alive = 1;
  h->fn_ref = h->self_ref = LUA_NOREF;
  box->h = h;
  lua_pushvalue(L, fn_idx);
  h->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, -1);
  h->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  h->res.shutdown = lhandle_shutdown;
  h->u.handle.data = h;
  return h;
}

static uint64_t to_ms(lua_State *L, int idx) {
  lua_Number s = luaL_checknumber(L, idx);
  luaL_argcheck(L, s >= 0 && s < 1e9, idx, "seconds out of range");
  return (uint64_t)ceil(s * 1000);
}

/* loop.timer(first, every, fn) -> handle: fn(handle) after first seconds, then every
 * `every` seconds (0: once, and the handle closes itself). */
static int l_timer(lua_State *L) {
  uint64_t first = to_ms(L, 1), every = to_ms(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  cb_loop *loop = cb_loop_get(L);
  if (loop->closing) return luaL_error(L, "loop.timer: the event loop is closed");
  lhandle *h = lhandle_new(L, loop, 3);
  uv_timer_init(loop->uv, &h->u.timer);
  h->repeat = every > 0;
  cb_loop_link(loop, &h->res);
  uv_update_time(loop->uv);
  uv_timer_start(&h->u.timer, on_timer, first, every);
  return 1;
}

/* loop.signal(name, fn) -> handle: fn(handle, name) for each delivery of the signal. The
 * watcher does not keep loop.run() going: it only matters while something else runs. */
static int l_signal(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  int signum = 0;
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (!strcmp(name, signals[i].name) || !strcmp(name, signals[i].name + 3)) signum = signals[i].num;
  if (!signum) return luaL_argerror(L, 1, lua_pushfstring(L, "unknown signal '%s'", name));
  cb_loop *loop = cb_loop_get(L);
  if (loop->closing) return luaL_error(L, "loop.signal: the event loop is closed");
  lhandle *h = lhandle_new(L, loop, 2);
  uv_signal_init(loop->uv, &h->u.signal);
  h->signum = signum;
  cb_loop_link(loop, &h->res);
  int rc = uv_signal_start(&h->u.signal, on_signal, signum);
  if (rc != 0) {
    lhandle_close(h);
    return luaL_error(L, "loop.signal: %s: %s", name, uv_strerror(rc));
  }
  uv_unref(&h->u.handle);
  return 1;
}

static int handle_close(lua_State *L) {
  lhandle_box *box = check_handle(L);
  if (box->h) lhandle_close(box->h);
  return 0;
}

static int handle_active(lua_State *L) {
  lhandle_box *box = check_handle(L);
  lua_pushboolean(L, box->h && box->h->state == H_OPEN);
  return 1;
}

static int handle_gc(lua_State *L) {
  lhandle_box *box = check_handle(L);
  lhandle *h = box->h;
  if (!h) return 0;
  box->h = NULL;
  h->box_alive = 0;
  if (h->state == H_OPEN) lhandle_close(h); /* only when the state closes: refs keep it */
  else if (h->state == H_CLOSED) free(h);
  return 0;
}

/* ---- work on the thread pool ---------------------------------------------------------- */

typedef struct {
  uv_work_t req;
  cb_waiter w;
  void (*work)(void *);
  int (*after)(lua_State *, void *);
  void *arg;
  int in_flight, consumed, box_alive;
} job;

typedef struct {
  job *j;
} job_box;

static void job_release(job *j) {
  if (!j->consumed) {
    j->consumed = 1;
    j->after(NULL, j->arg);
  }
}

static void job_run(uv_work_t *req) {
  job *j = req->data;
  j->work(j->arg);
}

static void job_done(uv_work_t *req, int status) {
  (void)status;
  job *j = req->data;
  j->in_flight = 0;
  if (!j->box_alive) { /* nobody waits any more */
    job_release(j);
    free(j);
    return;
  }
  cb_loop_wake(&j->w);
}

static int job_gc(lua_State *L) {
  job_box *box = luaL_checkudata(L, 1, WORK_MT);
  job *j = box->j;
  if (!j) return 0;
  box->j = NULL;
  j->box_alive = 0;
  if (!j->in_flight) {
    job_release(j);
    free(j);
  }
  return 0;
}

static int job_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  job *j = (job *)ctx;
  j->consumed = 1;
  return j->after(L, j->arg);
}

/* job_prepare: protected part of cb_loop_queue_work, so that a raise here still lets the
 * caller's after() release arg. Pushes the box. */
static int job_prepare(lua_State *L) {
  cb_loop *loop = cb_loop_get(L);
  job_box *box = cb_newudata(L, sizeof *box, WORK_MT);
  job *j = calloc(1, sizeof *j);
  if (!j) return luaL_error(L, "loop.work: out of memory");
  j->w.loop = loop;
  j->w.ref = LUA_NOREF;
  j->box_alive = 1;
  j->req.data = j;
  box->j = j;
  return 1;
}

int cb_loop_queue_work(lua_State *L, void (*work)(void *arg), int (*after)(lua_State *L, void *arg),
                       void *arg) {
  if (!lua_checkstack(L, 4)) {
    after(NULL, arg);
    return luaL_error(L, "loop.work: stack overflow");
  }
  lua_pushcfunction(L, job_prepare);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    after(NULL, arg);
    return lua_error(L);
  }
  job_box *box = lua_touserdata(L, -1); /* stays on the stack across the wait */
  job *j = box->j;
  j->work = work;
  j->after = after;
  j->arg = arg;
  /* from here on the box's __gc releases arg; not inside the pcall, which cannot yield */
  if (!cb_loop_can_wait(L, j->w.loop, "loop.work")) {
    job_release(j);
    return lua_error(L);
  }
  int rc = uv_queue_work(cb_loop_uv(j->w.loop), &j->req, job_run, job_done);
  if (rc != 0) {
    job_release(j);
    return luaL_error(L, "loop.work: %s", uv_strerror(rc));
  }
  j->in_flight = 1;
  return cb_loop_block(L, &j->w, "loop.work", job_k, (lua_KContext)j);
}

/* loop.sha256(data) -> 32 bytes, hashed on the thread pool: the demonstration of
 * cb_loop_queue_work, and what a big CRL's signature check looks like. */
typedef struct {
  const unsigned char *data;
  size_t len;
  unsigned char md[SHA256_DIGEST_LENGTH];
} sha_job;

static void sha_work(void *arg) {
  sha_job *s = arg;
  SHA256(s->data, s->len, s->md);
}

static int sha_after(lua_State *L, void *arg) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  memcpy(md, ((sha_job *)arg)->md, sizeof md);
  free(arg);
  if (!L) return 0;
  lua_pushlstring(L, (const char *)md, sizeof md);
  return 1;
}

static int l_sha256(lua_State *L) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len); /* stays at index 1 during the work */
  sha_job *s = malloc(sizeof *s);
  if (!s) return luaL_error(L, "loop.sha256: out of memory");
  s->data = (const unsigned char *)data;
  s->len = len;
  return cb_loop_queue_work(L, sha_work, sha_after, s);
}

/* ---- primitives for loop.lua ---------------------------------------------------------- */

/* ready(co): queue a task (new or suspended in suspend()) for resumption */
static int l_ready(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTHREAD);
  cb_loop *loop = cb_loop_get(L);
  if (loop->closing) return luaL_error(L, "loop: the event loop is closed");
  lua_settop(L, 1);
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (!ready_push(loop, ref)) {
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    return luaL_error(L, "loop: out of memory");
  }
  return 0;
}

/* suspend(): the current task yields until someone calls ready() on it */
static int l_suspend(lua_State *L) {
  cb_loop *loop = cb_loop_get(L);
  if (loop->depth == 0 || L != loop->current || !lua_isyieldable(L))
    return luaL_error(L, "loop: suspend outside a task");
  return lua_yield(L, 0);
}

/* mode() -> "task" | "sync" | nil, message: how a blocking call would wait here */
static int l_mode(lua_State *L) {
  const char *what = luaL_optstring(L, 1, "loop");
  cb_loop *loop = cb_loop_get(L);
  if (!cb_loop_can_wait(L, loop, what)) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushstring(L, loop->depth > 0 ? "task" : "sync");
  return 1;
}

static int check_not_running(lua_State *L, cb_loop *loop, const char *what) {
  if (loop->closing) return luaL_error(L, "%s: the event loop is closed", what);
  if (loop->depth > 0) return luaL_error(L, "%s: the loop is already running (inside a task, wait on tasks instead)", what);
  return 0;
}

/* run(): run the loop until nothing is left */
static int l_run(lua_State *L) {
  cb_loop *loop = cb_loop_get(L);
  check_not_running(L, loop, "loop.run");
  loop->depth++;
  uv_run(loop->uv, UV_RUN_DEFAULT);
  loop->depth--;
  return 0;
}

/* run_once() -> alive: one iteration, blocking for I/O if nothing is ready */
static int l_run_once(lua_State *L) {
  cb_loop *loop = cb_loop_get(L);
  check_not_running(L, loop, "loop.run_once");
  loop->depth++;
  int alive = uv_run(loop->uv, UV_RUN_ONCE);
  loop->depth--;
  lua_pushboolean(L, alive != 0 || loop->rlen > 0);
  return 1;
}

/* now() -> seconds of a monotonic clock (nanosecond resolution) */
static int l_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)uv_hrtime() / 1e9);
  return 1;
}

static void count_handle(uv_handle_t *h, void *arg) {
  int *n = arg;
  if (!uv_is_closing(h)) n[0]++;
  if (uv_is_active(h) && uv_has_ref(h)) n[1]++;
}

/* stats() -> {handles, active, ready, resources, resumes}: open handles, those keeping
 * loop.run going, tasks ready to resume, resources to close at exit, resumes so far */
static int l_stats(lua_State *L) {
  cb_loop *loop = cb_loop_get(L);
  int n[2] = {0, 0};
  if (loop->uv) uv_walk(loop->uv, count_handle, n);
  int res = 0;
  for (cb_res *r = loop->head.next; r != &loop->head; r = r->next) res++;
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, n[0]);
  lua_setfield(L, -2, "handles");
  lua_pushinteger(L, n[1]);
  lua_setfield(L, -2, "active");
  lua_pushinteger(L, (lua_Integer)loop->rlen);
  lua_setfield(L, -2, "ready");
  lua_pushinteger(L, res);
  lua_setfield(L, -2, "resources");
  lua_pushinteger(L, (lua_Integer)loop->resumes);
  lua_setfield(L, -2, "resumes");
  return 1;
}

/* on_error(fn): fn(message) reports errors nobody waits for (nil: stderr) */
static int l_on_error(lua_State *L) {
  cb_loop *loop = cb_loop_get(L);
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_unref(L, LUA_REGISTRYINDEX, loop->on_error_ref);
  loop->on_error_ref = LUA_NOREF;
  if (!lua_isnoneornil(L, 1)) {
    lua_settop(L, 1);
    loop->on_error_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return 0;
}

int luaopen__certbench_loop(lua_State *L) {
  cb_loop_get(L);
  cb_newclass(L, HANDLE_MT,
              (const luaL_Reg[]){{"close", handle_close}, {"active", handle_active}, {NULL, NULL}},
              (const luaL_Reg[]){{"__gc", handle_gc}, {"__close", handle_close}, {NULL, NULL}});
  cb_newclass(L, WORK_MT, NULL, (const luaL_Reg[]){{"__gc", job_gc}, {NULL, NULL}});
  static const luaL_Reg fns[] = {
      {"ready", l_ready},   {"suspend", l_suspend}, {"mode", l_mode},
      {"run", l_run},       {"run_once", l_run_once}, {"sleep", l_sleep},
      {"timer", l_timer},   {"signal", l_signal},   {"sha256", l_sha256},
      {"now", l_now},       {"stats", l_stats},     {"on_error", l_on_error},
      {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
