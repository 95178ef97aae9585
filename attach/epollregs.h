/* What a live process registered with its epoll instances: per target fd, the data word it
 * gave epoll_ctl (/proc/PID/fdinfo/EPFD, "tfd: N events: E data: D"). A Go program puts
 * its runtime's pollDesc for the fd there, which tells which goroutine waits on which fd
 * (go/netpoll.c). Read before the freeze: it costs no pause, and the registrations of
 * connections a goroutine waits on do not change while it waits (a stale one fails the
 * pollDesc's own fd check). */
#ifndef CHANG_EPOLLREGS_H
#define CHANG_EPOLLREGS_H
#include <sys/types.h>
#include "model/snapshot.h"
void epoll_regs_read(pid_t pid, struct snapshot *s);
#endif
