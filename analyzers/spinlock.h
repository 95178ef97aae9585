/* A running thread spinning in glibc's pthread_spin_lock: on what, from its registers. */
#ifndef CHANG_SPINLOCK_H
#define CHANG_SPINLOCK_H
#include "model/snapshot.h"

/* When t (not in a syscall) stands in pthread_spin_lock on a spinlock that is taken, set its
 * wait (a spinlock, named, no owner: glibc's spinlock records none) and state; true then. */
bool spinlock_wait(struct snapshot *s, struct task *t);
#endif
