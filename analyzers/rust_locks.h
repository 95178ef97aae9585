/* Rust's std::sync locks (futex-based since Rust 1.62: Mutex, RwLock, Condvar, Once), told
 * by the std function that waits, which record no owner. */
#ifndef CHANG_RUST_LOCKS_H
#define CHANG_RUST_LOCKS_H
#include "model/snapshot.h"

/* When t's futex wait (on uaddr, sleeping while the word is val) is one of Rust std's lock
 * waits, fill w (kind, object, its name, a detail; never an owner, which Rust does not
 * record; holder_inferable for the locks) and return true. */
bool rust_lock_wait(struct snapshot *s, const struct task *t, struct wait *w, uint64_t uaddr, uint32_t val);
#endif
