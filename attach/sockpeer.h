/* From a socket a process holds to the socket at the other end, as the kernel knows it:
 * unix sockets through sock_diag's UNIX_DIAG_PEER (the peer's inode), TCP through the
 * target's own network namespace (/proc/PID/net/tcp and tcp6: the row whose local and
 * remote addresses are ours swapped). The peer's owner is then found by its inode
 * (attach/procscan). One piece of code for every caller: cross-process waits and the
 * network findings. */
#ifndef CHANG_SOCKPEER_H
#define CHANG_SOCKPEER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum sockpeer_status {
	SOCKPEER_FOUND,		/* peer_inode set */
	SOCKPEER_NONE,		/* no peer: listening, unconnected, UDP */
	SOCKPEER_UNMATCHED,	/* connected, but the other end is not in this namespace (another host
				 * or container) */
	SOCKPEER_UNKNOWN,	/* not found in the tables, or sock_diag is not available */
};

struct sockpeer {
	enum sockpeer_status status;
	const char *proto;	/* "unix", "tcp", "tcp6", "udp", "udp6" */
	char local[80], remote[80];	/* "127.0.0.1:8080"; unix: the bound path or "" */
	uint64_t peer_inode;
	const char *why;	/* UNKNOWN: the reason, for the report */
};

/* Look the socket with this inode up, from process pid's view of the network. */
void sockpeer_find(pid_t pid, uint64_t inode, struct sockpeer *out);
/* The peer inode of a unix socket via sock_diag; 0 when it has none, -1 when the netlink
 * query failed (errno set). Exposed for the tests. */
int sockpeer_unix_peer(uint64_t inode, uint64_t *peer);
#endif
