/* Every socket a process can see in its network namespace, read once from /proc/PID/net/
 * (tcp, tcp6, udp, udp6, unix) and found by inode. One reader for both users: the fd
 * descriptions (attach/fds.c: one read for all of a process's sockets, not one per socket:
 * a server with 10,000 connections would otherwise read the tables 10,000 times) and the
 * socket-to-peer lookup (attach/sockpeer.c). */
#ifndef CHANG_SOCKTABLE_H
#define CHANG_SOCKTABLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sockrow {
	const char *proto;	/* "tcp", "tcp6", "udp", "udp6", "unix" */
	uint64_t inode;
	unsigned state;		/* the kernel's TCP state number (0x0A listening); unix: 0 */
	char local[128], remote[64];	/* inet: procfs hex "0100007F:1F90"; unix: the path or "" */
};

struct socktable {
	struct sockrow *rows;	/* sorted by inode */
	size_t n;
};

/* Read pid's view of the tables; false (errno set) when none could be read. */
bool socktable_read(pid_t pid, struct socktable *t);
const struct sockrow *socktable_find(const struct socktable *t, uint64_t inode);
/* The TCP row at the other end of this connection (local and remote swapped), or NULL. */
const struct sockrow *socktable_tcp_peer(const struct socktable *t, const struct sockrow *me);
/* "tcp 127.0.0.1:5 -> 127.0.0.1:8080 ESTABLISHED", "tcp listening on …", "unix /run/x". */
void socktable_describe(const struct sockrow *r, char *out, size_t cap);
void socktable_free(struct socktable *t);
/* "0100007F:1F90" (procfs, little-endian words) -> "127.0.0.1:8080"; false if malformed. */
bool socktable_format_inet(const char *hex, char *out, size_t cap);
#endif
