/* File locks (flock, POSIX fcntl, OFD) and who holds them. /proc/locks gives the waiting
 * relation; its pid is -1 for OFD locks and, for flock, the process that took the lock,
 * which may have exited or forked since. The holders are therefore taken from the `lock:`
 * lines of /proc/PID/fdinfo/N, which list the locks held through that open file. */
#ifndef CHANG_FILELOCKS_H
#define CHANG_FILELOCKS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct filelock {
	int id;			/* /proc/locks' number; a waiter carries the id of the lock it waits for */
	bool waiter;		/* a "-> " line */
	char type[8];		/* FLOCK, POSIX, OFDLCK */
	bool write;
	pid_t pid;		/* -1 for OFD */
	unsigned dev_major, dev_minor;
	uint64_t inode;
};

/* Parse /proc/locks text; returns the count, *out malloc'ed. */
size_t filelocks_parse(const char *text, struct filelock **out);
/* Parse one `lock:` line of fdinfo ("lock:\t1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"). */
bool filelocks_parse_line(const char *line, struct filelock *l);
/* The processes holding a lock on the file (dev, inode), other than pid_self, verified in
 * their fdinfo; candidates are the lock's pids from /proc/locks, else every process.
 * Returns the count; *out malloc'ed. */
size_t filelocks_holders(unsigned dev_major, unsigned dev_minor, uint64_t inode, pid_t pid_self, pid_t **out);
#endif
