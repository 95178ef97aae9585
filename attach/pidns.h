/* A target in a pid namespace below chang's (a container, `unshare --pid`): its pid and its
 * threads' TIDs there, from the NSpid lines of /proc/PID/status and of each thread's status
 * (the first number is the TID as chang's /proc sees it, the last as the target's own
 * namespace does). Lock words hold the latter; snapshot_tid_from_target maps them. */
#ifndef CHANG_PIDNS_H
#define CHANG_PIDNS_H
#include <sys/types.h>
#include "model/snapshot.h"

/* Set s->ns_pid and each thread's ns_tid when the target's namespace is not chang's; a
 * thread whose NSpid cannot be read is named in a warning (its TID stays unmapped). */
void pidns_fill(pid_t pid, struct snapshot *s);
/* The last NSpid of /proc/PID[/task/TID]/status and how many levels it has (1: chang's own
 * namespace); 0 when unreadable. Exposed for the unit test of the parser. */
int pidns_parse_status(const char *status, pid_t *last);
#endif
