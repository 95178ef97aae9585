/* Who likely holds a lock that records no owner (Rust's std locks, spinlocks): a guess from
 * the other threads' stacks, registers and code, always labelled with its evidence. */
#ifndef CHANG_LIKELY_HOLDERS_H
#define CHANG_LIKELY_HOLDERS_H
#include "model/snapshot.h"

/* Set likely_owner and evidence on every wait marked holder_inferable that one thread
 * stands out for; the evidence also says when several threads could hold it. */
void infer_likely_holders(struct snapshot *s);
#endif
