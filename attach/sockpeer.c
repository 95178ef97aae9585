#include "attach/sockpeer.h"
#include "attach/fds.h"
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

/* One row of /proc/PID/net/tcp*: local, remote (procfs hex), state and inode. */
struct row {
	char l[64], r[64];
	unsigned st;
	unsigned long long ino;
};

static bool next_row(FILE *f, struct row *w)
{
	char line[512];
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d: %63s %63s %x %*s %*s %*s %*s %*s %llu", w->l, w->r, &w->st, &w->ino) == 4)
			return true;
	return false;
}

static bool find_inet(pid_t pid, uint64_t inode, struct sockpeer *out)
{
	static const char *const protos[] = { "tcp", "tcp6", "udp", "udp6" };
	for (size_t p = 0; p < sizeof(protos) / sizeof(*protos); p++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, protos[p]);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		struct row w, me;
		bool found = false;
		while (!found && next_row(f, &w))
			found = w.ino == inode;
		if (!found) {
			fclose(f);
			continue;
		}
		me = w;
		out->proto = protos[p];
		fds_format_inet(me.l, out->local, sizeof(out->local));
		fds_format_inet(me.r, out->remote, sizeof(out->remote));
		/* 0A: listening, 07: closed/unconnected UDP; a remote of port 0 has no peer */
		if (protos[p][0] == 'u' || me.st == 0x0A || strstr(me.r, ":0000")) {
			out->status = SOCKPEER_NONE;
			fclose(f);
			return true;
		}
		rewind(f);
		out->status = SOCKPEER_UNMATCHED;
		while (next_row(f, &w))
			if (strcmp(w.l, me.r) == 0 && strcmp(w.r, me.l) == 0 && w.ino) {
				out->status = SOCKPEER_FOUND;
				out->peer_inode = w.ino;
				break;
			}
		fclose(f);
		return true;
	}
	return false;
}

static bool find_unix(pid_t pid, uint64_t inode, struct sockpeer *out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/unix", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long ino = 0;
		char upath[256] = "";
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %llu %255s", &ino, upath) >= 1 && ino == inode) {
			found = true;
			snprintf(out->local, sizeof(out->local), "%s", upath);
		}
	}
	fclose(f);
	if (!found)
		return false;
	out->proto = "unix";
	uint64_t peer;
	if (sockpeer_unix_peer(inode, &peer) != 0) {
		out->status = SOCKPEER_UNKNOWN;
		out->why = errno == EPROTONOSUPPORT || errno == ENOENT ? "sock_diag for unix sockets is not available"
			   : "the sock_diag query failed";
		return true;
	}
	out->status = peer ? SOCKPEER_FOUND : SOCKPEER_NONE;
	out->peer_inode = peer;
	return true;
}

void sockpeer_find(pid_t pid, uint64_t inode, struct sockpeer *out)
{
	memset(out, 0, sizeof(*out));
	if (find_inet(pid, inode, out) || find_unix(pid, inode, out))
		return;
	out->status = SOCKPEER_UNKNOWN;
	out->why = "not in the process's socket tables";
}
