/* x86_64 Linux syscall numbers to names: a blocked thread is described by the call it sits
 * in, and orig_rax or /proc/N/task/T/syscall only give the number. These are chang's
 * numbering for every architecture: other tables are translated into it by name. */
#ifndef CHANG_SYSCALLS_H
#define CHANG_SYSCALLS_H

#define SYS_NR_READ 0
#define SYS_NR_WRITE 1
#define SYS_NR_POLL 7
#define SYS_NR_PREAD64 17
#define SYS_NR_PWRITE64 18
#define SYS_NR_READV 19
#define SYS_NR_WRITEV 20
#define SYS_NR_SELECT 23
#define SYS_NR_PAUSE 34
#define SYS_NR_NANOSLEEP 35
#define SYS_NR_SENDFILE 40
#define SYS_NR_CONNECT 42
#define SYS_NR_ACCEPT 43
#define SYS_NR_SENDTO 44
#define SYS_NR_RECVFROM 45
#define SYS_NR_SENDMSG 46
#define SYS_NR_RECVMSG 47
#define SYS_NR_WAIT4 61
#define SYS_NR_FCNTL 72
#define SYS_NR_FLOCK 73
#define SYS_NR_RT_SIGTIMEDWAIT 128
#define SYS_NR_RT_SIGSUSPEND 130
#define SYS_NR_FUTEX 202
#define SYS_NR_EPOLL_WAIT 232
#define SYS_NR_CLOCK_NANOSLEEP 230
#define SYS_NR_WAITID 247
#define SYS_NR_PSELECT6 270
#define SYS_NR_PPOLL 271
#define SYS_NR_SPLICE 275
#define SYS_NR_EPOLL_PWAIT 281
#define SYS_NR_ACCEPT4 288
#define SYS_NR_PREADV 295
#define SYS_NR_PWRITEV 296
#define SYS_NR_RECVMMSG 299
#define SYS_NR_SENDMMSG 307
#define SYS_NR_PREADV2 327
#define SYS_NR_PWRITEV2 328
#define SYS_NR_EPOLL_PWAIT2 441
#define SYS_NR_FUTEX_WAITV 449

/* "read", "futex", ...; NULL for a number this table does not know. */
const char *syscall_name(long nr);
/* The number (x86_64's, chang's numbering) of the call with number nr in the generic table
 * (aarch64's), -1 for a number that names no call. */
long syscall_from_generic(long nr);
/* nr in architecture a's own numbering (what /proc/N/task/T/syscall says) in chang's. */
struct arch;
long syscall_from_arch(const struct arch *a, long nr);
#endif
