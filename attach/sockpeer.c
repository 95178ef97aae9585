#include "attach/sockpeer.h"
#include "attach/socktable.h"
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sockpeer_unix_peer(uint64_t inode, uint64_t *peer)
{
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (s < 0)
		return -1;
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = (uint32_t)inode,
		       .udiag_show = UDIAG_SHOW_PEER, .udiag_cookie = { ~0u, ~0u } },
	};
	struct timeval tv = { 1, 0 };	/* never hang on a kernel that does not answer */
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(s, &req, sizeof(req), 0) != (ssize_t)sizeof(req)) {
		int err = errno;
		close(s);
		errno = err;
		return -1;
	}
	long buf[2048];
	ssize_t n = recv(s, buf, sizeof(buf), 0);
	int err = errno;
	close(s);
	if (n < 0) {
		errno = err;
		return -1;
	}
	*peer = 0;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			errno = e->error ? -e->error : ENOENT;
			return -1;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		const struct unix_diag_msg *m = NLMSG_DATA(h);
		if (m->udiag_ino != (uint32_t)inode)
			continue;
		int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
		for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4)
				*peer = *(uint32_t *)RTA_DATA(a);
		return 0;
	}
	errno = ENOENT;
	return -1;
}

void sockpeer_find(pid_t pid, uint64_t inode, struct sockpeer *out)
{
	memset(out, 0, sizeof(*out));
	struct socktable t;
	if (!socktable_read(pid, &t)) {
		out->status = SOCKPEER_UNKNOWN;
		out->why = "the process's socket tables could not be read";
		return;
	}
	const struct sockrow *me = socktable_find(&t, inode);
	if (!me) {
		socktable_free(&t);
		out->status = SOCKPEER_UNKNOWN;
		out->why = "not in the process's socket tables";
		return;
	}
	out->proto = me->proto;	/* static strings: they outlive the table */
	if (strcmp(me->proto, "unix") == 0) {
		snprintf(out->local, sizeof(out->local), "%s", me->local);
		socktable_free(&t);
		uint64_t peer;
		if (sockpeer_unix_peer(inode, &peer) != 0) {
			out->status = SOCKPEER_UNKNOWN;
			out->why = errno == EPROTONOSUPPORT || errno == ENOENT ? "sock_diag for unix sockets is not available"
				   : "the sock_diag query failed";
			return;
		}
		out->status = peer ? SOCKPEER_FOUND : SOCKPEER_NONE;
		out->peer_inode = peer;
		return;
	}
	socktable_format_inet(me->local, out->local, sizeof(out->local));
	socktable_format_inet(me->remote, out->remote, sizeof(out->remote));
	/* 0A: listening, 07: closed/unconnected UDP; a remote of port 0 has no peer */
	if (me->proto[0] == 'u' || me->state == 0x0A || strstr(me->remote, ":0000")) {
		out->status = SOCKPEER_NONE;
	} else {
		const struct sockrow *peer = socktable_tcp_peer(&t, me);
		out->status = peer ? SOCKPEER_FOUND : SOCKPEER_UNMATCHED;
		out->peer_inode = peer ? peer->inode : 0;
	}
	socktable_free(&t);
}
