/* Wording shared by finding summaries and the reports, so that a lock, a thread or a wait
 * site is named the same way in every sentence chang prints about it. Reads the model only. */
#ifndef CHANG_DESCRIBE_H
#define CHANG_DESCRIBE_H
#include "model/snapshot.h"
#include "util/arena.h"

/* The object's name: its symbol ("lock_a", "forks[2]"), else "stack 0x…" or "heap 0x…". */
const char *describe_object_name(const struct snapshot *s, uint64_t addr, const char *symbol,
				 struct arena *a);
/* What a wait is on, with its kind: "mutex lock_a", "condvar heap 0x…", "pipe:[123]",
 * "fd 7", "thread 812 "holder"" (join); NULL for waits on no object (sleep, signal). */
const char *describe_wait_object(const struct snapshot *s, const struct wait *w, struct arena *a);
/* thread 812 "holder" */
const char *describe_thread(const struct task *t, pid_t tid, struct arena *a);
/* The frame a task waits in: the first that is not C library or C++ runtime code (so
 * queue_put rather than pthread_cond_wait), else the innermost; NULL when unsymbolized. */
const struct sym_frame *describe_wait_site(const struct task *t);
/* "queue_put (bqueue.c:25)", "queue_put", or "0x55d0c1234" when unsymbolized; NULL if
 * the task has no stack at all. */
const char *describe_site(const struct task *t, struct arena *a);
/* "blocked in read() on pipe:[4711]", "waiting for mutex lock_a held by thread 3",
 * "sleeping in nanosleep()", "running": what the task is doing, without its location. */
const char *describe_doing(const struct snapshot *s, const struct task *t, struct arena *a);
/* A function name without glibc's internal underscores and symbol versions, for matching:
 * "___pthread_mutex_lock@@GLIBC_2.2.5" -> "pthread_mutex_lock". Writes into buf. */
const char *describe_plain_function(const char *fn, char *buf, size_t cap);
/* Whether a module is the C library, the dynamic loader or the C++/gcc runtime. */
bool describe_is_runtime_module(const struct module *m);
#endif
