#include "attach/fds.h"
#include "attach/procfs.h"
#include "util/xalloc.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

bool fds_format_inet(const char *hex, char *out, size_t cap)
{
	const char *colon = strchr(hex, ':');
	if (!colon)
		return false;
	size_t alen = (size_t)(colon - hex);
	unsigned port = (unsigned)strtoul(colon + 1, NULL, 16);
	char addr[INET6_ADDRSTRLEN];
	if (alen == 8) {
		struct in_addr in;
		in.s_addr = (uint32_t)strtoul(hex, NULL, 16);	/* already network order in memory */
		inet_ntop(AF_INET, &in, addr, sizeof(addr));
		snprintf(out, cap, "%s:%u", addr, port);
	} else if (alen == 32) {
		struct in6_addr in6;
		for (int w = 0; w < 4; w++) {
			char word[9];
			memcpy(word, hex + 8 * w, 8);
			word[8] = 0;
			uint32_t v = (uint32_t)strtoul(word, NULL, 16);
			memcpy(&in6.s6_addr[4 * w], &v, 4);
		}
		inet_ntop(AF_INET6, &in6, addr, sizeof(addr));
		snprintf(out, cap, "[%s]:%u", addr, port);
	} else {
		return false;
	}
	return true;
}

static const char *const tcp_states[] = { "", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
	"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING" };

/* Find the socket with this inode in /proc/PID/net/<proto> and describe it. */
static const char *describe_socket(pid_t pid, unsigned long inode, struct arena *a)
{
	static const char *const protos[] = { "tcp", "tcp6", "udp", "udp6", "unix" };
	char path[64];
	for (size_t p = 0; p < sizeof(protos) / sizeof(*protos); p++) {
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, protos[p]);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		char line[512];
		const char *res = NULL;
		if (!fgets(line, sizeof(line), f)) {	/* header */
			fclose(f);
			continue;
		}
		while (!res && fgets(line, sizeof(line), f)) {
			if (strcmp(protos[p], "unix") == 0) {
				unsigned long ino = 0;
				char upath[256] = "";
				if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %255s", &ino, upath) >= 1 &&
				    ino == inode)
					res = arena_printf(a, "unix %s", upath[0] ? upath : "(unnamed)");
				continue;
			}
			char la[64], ra[64];
			unsigned st;
			unsigned long ino;
			if (sscanf(line, "%*d: %63s %63s %x %*s %*s %*s %*s %*s %lu", la, ra, &st, &ino) != 4 ||
			    ino != inode)
				continue;
			char l[80], r[80];
			if (!fds_format_inet(la, l, sizeof(l)) || !fds_format_inet(ra, r, sizeof(r)))
				continue;
			const char *sn = st < sizeof(tcp_states) / sizeof(*tcp_states) ? tcp_states[st] : "";
			if (protos[p][0] == 'u')
				sn = "";
			if (st == 10 && protos[p][0] == 't')
				res = arena_printf(a, "%.3s listening on %s", protos[p], l);
			else
				res = arena_printf(a, "%.3s %s -> %s%s%s", protos[p], l, r, *sn ? " " : "", sn);
		}
		fclose(f);
		if (res)
			return res;
	}
	return NULL;
}

/* Objects without an inode of their own (epoll instances, eventfds, timerfds: anon inodes)
 * all read the same link text; the kernel's kcmp tells whether two fds are one open file.
 * Compared only within the same text, and only for that kind of object (a pipe or socket
 * carries its inode in the text). */
#define SAME_FILE_MAX 512

static void same_files(pid_t pid, struct fdinfo *v, size_t n)
{
	size_t compared = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].file_fd = v[i].fd;
		if (strncmp(v[i].target, "anon_inode:", 11) != 0)
			continue;
		for (size_t j = 0; j < i && compared < SAME_FILE_MAX * SAME_FILE_MAX; j++) {
			if (v[j].file_fd != v[j].fd || strcmp(v[i].target, v[j].target) != 0)
				continue;
			compared++;
			if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, v[i].fd, v[j].fd) == 0) {
				v[i].file_fd = v[j].fd;
				break;
			}
		}
	}
}

static int cmp_fd(const void *a, const void *b)
{
	const struct fdinfo *x = a, *y = b;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

void fds_read(pid_t pid, struct snapshot *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct fdinfo *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char lp[96], target[4096];
		snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", (int)pid, de->d_name);
		ssize_t l = readlink(lp, target, sizeof(target) - 1);
		if (l < 0)
			continue;
		target[l] = 0;
		VEC_RESERVE(v, cap, n + 1);
		v[n].fd = atoi(de->d_name);
		v[n].target = arena_strdup(&s->arena, target);
		v[n].detail = NULL;
		unsigned long ino;
		if (sscanf(target, "socket:[%lu]", &ino) == 1)
			v[n].detail = describe_socket(pid, ino, &s->arena);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_fd);
	same_files(pid, v, n);
	s->fds = arena_memdup(&s->arena, v, sizeof(*v) * n);
	s->nfds = n;
	free(v);
}
