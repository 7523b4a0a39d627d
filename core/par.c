/* par.c: see par.h. */
#include "par.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cb_par_threads(void) {
  const char *env = getenv("CERTBENCH_THREADS");
  long n = 0;
  if (env && *env) {
    char *end;
    n = strtol(env, &end, 10);
    if (*end || n < 1) n = 0;
  }
  if (n == 0) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
  }
  return n > CB_PAR_MAX ? CB_PAR_MAX : (int)n;
}

/* take returns the next item to run, or n when there is none any more; called locked */
static size_t take(cb_par *p, int helper) {
  for (;;) {
    if (p->stop || p->next >= p->n) return p->n;
    if (p->next < p->ready) return p->next++;
    if (!helper) return p->n; /* the caller never waits: it publishes */
    p->waiting++;
    pthread_cond_wait(&p->cv, &p->mu);
    p->waiting--;
  }
}

static void *helper(void *arg) {
  cb_par *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    size_t i = take(p, 1);
    if (i >= p->n) break;
    pthread_mutex_unlock(&p->mu);
    p->fn(p->ctx, i);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

void cb_par_start(cb_par *p, size_t n, cb_par_fn fn, void *ctx) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->n = n;
  p->fn = fn;
  p->ctx = ctx;
  p->live = 1;
  size_t want = (size_t)cb_par_threads() - 1, cap = n > 1 ? n - 1 : 0;
  if (want > cap) want = cap;
  for (size_t t = 0; t < want; t++) {
    if (pthread_create(&p->threads[p->nthreads], NULL, helper, p) != 0) break;
    p->nthreads++;
  }
}

void cb_par_publish(cb_par *p, size_t ready) {
  pthread_mutex_lock(&p->mu);
  if (ready > p->n) ready = p->n;
  if (ready > p->ready) {
    p->ready = ready;
    if (p->waiting) pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
}

static void release(cb_par *p) {
  for (int t = 0; t < p->nthreads; t++) pthread_join(p->threads[t], NULL);
  p->nthreads = 0;
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  p->live = 0;
}

void cb_par_finish(cb_par *p) {
  if (!p->live) return;
  cb_par_publish(p, p->n);
  pthread_mutex_lock(&p->mu);
  for (;;) {
    size_t i = take(p, 0);
    if (i >= p->n) break;
    pthread_mutex_unlock(&p->mu);
    p->fn(p->ctx, i);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  release(p);
}

void cb_par_cancel(cb_par *p) {
  if (!p->live) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  release(p);
}

void cb_par_run(size_t n, cb_par_fn fn, void *ctx) {
  cb_par p;
  cb_par_start(&p, n, fn, ctx);
  cb_par_finish(&p);
}
