/* loop.h: the event loop of a Lua state, for C modules that wait on libuv (certbench.http)
 * or run CPU work off the loop thread.
 *
 * One libuv loop per Lua state, created on first use and closed when the state closes.
 * Lua code runs as coroutine tasks (certbench.loop.spawn); a C function that has to wait
 * calls cb_loop_block, which yields the current task, or, when no loop is running (a plain
 * script), runs the loop itself until the wait is over. Either way the C function then
 * continues in its continuation, in the caller's own thread, so whatever it pushes or raises
 * there is the caller's business: libuv callbacks never push results into a coroutine and
 * never call Lua unprotected. */
#ifndef CERTBENCH_LOOP_H
#define CERTBENCH_LOOP_H

#include <lua.h>
#include <uv.h>

typedef struct cb_loop cb_loop;

/* A resource the loop must close when the state closes (a timer, a signal watcher, the
 * HTTP engine). shutdown() closes the libuv handles with callbacks that never call Lua;
 * cb_loop_unlink() takes the resource off the list when it is closed normally. */
typedef struct cb_res {
  struct cb_res *prev, *next;
  void (*shutdown)(struct cb_res *res);
} cb_res;

/* A waiter for one event: set up by cb_loop_block, completed by cb_loop_wake. It lives in
 * C memory owned by the waiting operation, which must keep it until cb_loop_wake. */
typedef struct cb_waiter {
  cb_loop *loop;
  int ref;   /* registry reference to the waiting task, or LUA_NOREF */
  int *flag; /* when the loop was run synchronously: set to 1 on wake */
} cb_waiter;

/* cb_loop_get returns the loop of L's state, creating it on first use. Raises on failure. */
cb_loop *cb_loop_get(lua_State *L);

/* cb_loop_uv returns the libuv loop. */
uv_loop_t *cb_loop_uv(cb_loop *loop);

/* cb_loop_closing is true once the state is closing: callbacks must not call Lua then. */
int cb_loop_closing(const cb_loop *loop);

/* cb_loop_link puts res on the loop's list of resources to close at shutdown. */
void cb_loop_link(cb_loop *loop, cb_res *res);
void cb_loop_unlink(cb_loop *loop, cb_res *res);

/* cb_loop_can_wait returns 1 if L may call cb_loop_block now. Otherwise it leaves a message
 * on L (not raised) and returns 0. what names the caller in the message. */
int cb_loop_can_wait(lua_State *L, cb_loop *loop, const char *what);

/* cb_loop_block waits until cb_loop_wake(w) and then returns k(L, LUA_YIELD, ctx): use it as
 * `return cb_loop_block(L, w, what, k, ctx);` at the end of a lua_CFunction. Inside a task
 * it yields (the values on L's stack survive); outside, it runs the loop until woken. It
 * raises when it cannot wait here (inside a loop callback that is not a task, or in a task
 * that cannot yield). If it raises, w was never armed. */
int cb_loop_block(lua_State *L, cb_waiter *w, const char *what, lua_KFunction k,
                  lua_KContext ctx);

/* cb_loop_wake ends the wait of w, from a libuv callback. The task resumes on the next
 * loop iteration, never from inside the callback. Safe on a waiter never armed (ref
 * LUA_NOREF, flag NULL) and idempotent. */
void cb_loop_wake(cb_waiter *w);

/* cb_loop_in_task is true when L is a task of a running loop that may yield now: there,
 * cb_loop_queue_work lets the other tasks run while the work is done. Elsewhere (a plain
 * script, a callback) a function is better off doing short work itself. Never creates the
 * loop. */
int cb_loop_in_task(lua_State *L);

/* cb_loop_queue_work runs work(arg) on libuv's thread pool, then after(L, arg) in the
 * caller's thread, which pushes the results and returns their count: use it as
 * `return cb_loop_queue_work(L, work, after, arg);`. Inside a task the task yields while the
 * work runs; outside, the loop runs until it is done. after() is called exactly once and owns
 * arg: it must release it (before anything that may raise); it is called with L == NULL when
 * the results are no longer wanted (the state is closing) and must then only release arg.
 * Whatever work() reads from Lua (a string argument) must stay on the caller's stack, which
 * it does: the frame of the C function survives the yield. When it cannot wait here it
 * calls after(NULL, arg) and raises. */
int cb_loop_queue_work(lua_State *L, void (*work)(void *arg), int (*after)(lua_State *L, void *arg),
                       void *arg);

#endif
