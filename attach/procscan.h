/* Lookups across every process of the machine, from /proc, without stopping anything: who
 * holds an open pipe or socket (by inode, and which end), which process a TID belongs to,
 * a process's children. Used to follow a wait out of the target into the processes it
 * waits for. The fd table scan is done once per run and kept. */
#ifndef CHANG_PROCSCAN_H
#define CHANG_PROCSCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fd_owner {
	pid_t pid;
	int fd;
	int accmode;		/* O_RDONLY, O_WRONLY or O_RDWR, from fdinfo's flags */
};

struct procscan;

struct procscan *procscan_new(void);
void procscan_free(struct procscan *ps);

/* Every (pid, fd) whose /proc/PID/fd/FD reads "KIND:[INODE]" (kind "pipe" or "socket");
 * returns the count, *out points into ps (valid until procscan_free). */
size_t procscan_inode_owners(struct procscan *ps, const char *kind, uint64_t inode, const struct fd_owner **out);
/* Processes whose fd tables could not be read (another user, no capability): their pids. */
size_t procscan_unreadable(struct procscan *ps, const pid_t **out);
/* The process (thread group) TID belongs to, or 0 when no process has that thread. */
pid_t procscan_tid_owner(pid_t tid);
/* The children of pid (PPid == pid); malloc'ed array, count returned. */
size_t procscan_children(pid_t pid, pid_t **out);
/* The command name of pid ("?" when gone); into buf. */
const char *procscan_comm(pid_t pid, char *buf, size_t cap);
/* "pipe:[123]" -> kind "pipe", inode 123; false for other link texts. */
bool procscan_parse_anon(const char *link, char *kind, size_t cap, uint64_t *inode);
#endif
