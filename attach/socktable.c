#include "attach/socktable.h"
#include "util/xalloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool socktable_format_inet(const char *hex, char *out, size_t cap)
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

static bool parse_inet(const char *line, const char *proto, struct sockrow *r)
{
	unsigned long long ino;
	if (sscanf(line, "%*d: %127s %63s %x %*s %*s %*s %*s %*s %llu", r->local, r->remote, &r->state, &ino) != 4)
		return false;
	r->proto = proto;
	r->inode = ino;
	return true;
}

static bool parse_unix(const char *line, const char *proto, struct sockrow *r)
{
	/* Num RefCount Protocol Flags Type St Inode [Path] */
	unsigned long long ino = 0;
	r->local[0] = 0;
	if (sscanf(line, "%*s %*s %*s %*s %*s %*s %llu %127s", &ino, r->local) < 1)
		return false;
	r->proto = proto;
	r->inode = ino;
	r->state = 0;
	r->remote[0] = 0;
	return true;
}

static int cmp_inode(const void *a, const void *b)
{
	const struct sockrow *x = a, *y = b;
	return (x->inode > y->inode) - (x->inode < y->inode);
}

bool socktable_read(pid_t pid, struct socktable *t)
{
	static const struct {
		const char *name;
		bool (*parse)(const char *, const char *, struct sockrow *);
	} tables[] = {
		{ "tcp", parse_inet }, { "tcp6", parse_inet }, { "udp", parse_inet },
		{ "udp6", parse_inet }, { "unix", parse_unix },
	};
	size_t cap = 0;
	bool any = false;
	int err = ENOENT;
	t->rows = NULL;
	t->n = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
		char path[64], line[512];
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, tables[i].name);
		FILE *f = fopen(path, "re");
		if (!f) {
			err = errno;
			continue;
		}
		any = true;
		if (fgets(line, sizeof(line), f))	/* the header */
			while (fgets(line, sizeof(line), f)) {
				VEC_RESERVE(t->rows, cap, t->n + 1);
				if (tables[i].parse(line, tables[i].name, &t->rows[t->n]) && t->rows[t->n].inode)
					t->n++;
			}
		fclose(f);
	}
	if (t->n > 1)
		qsort(t->rows, t->n, sizeof(*t->rows), cmp_inode);
	if (!any)
		errno = err;
	return any;
}

const struct sockrow *socktable_find(const struct socktable *t, uint64_t inode)
{
	struct sockrow key = { .inode = inode };
	return t->n ? bsearch(&key, t->rows, t->n, sizeof(*t->rows), cmp_inode) : NULL;
}

const struct sockrow *socktable_tcp_peer(const struct socktable *t, const struct sockrow *me)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct sockrow *w = &t->rows[i];
		if (w->proto[0] == 't' && strcmp(w->local, me->remote) == 0 && strcmp(w->remote, me->local) == 0)
			return w;
	}
	return NULL;
}

static const char *const tcp_states[] = { "", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
	"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING" };

void socktable_describe(const struct sockrow *r, char *out, size_t cap)
{
	if (strcmp(r->proto, "unix") == 0) {
		snprintf(out, cap, "unix %s", r->local[0] ? r->local : "(unnamed)");
		return;
	}
	char l[80], rm[80];
	if (!socktable_format_inet(r->local, l, sizeof(l)) || !socktable_format_inet(r->remote, rm, sizeof(rm))) {
		snprintf(out, cap, "%.3s", r->proto);
		return;
	}
	bool tcp = r->proto[0] == 't';
	const char *sn = tcp && r->state < sizeof(tcp_states) / sizeof(*tcp_states) ? tcp_states[r->state] : "";
	if (tcp && r->state == 0x0A)
		snprintf(out, cap, "%.3s listening on %s", r->proto, l);
	else
		snprintf(out, cap, "%.3s %s -> %s%s%s", r->proto, l, rm, *sn ? " " : "", sn);
}

void socktable_free(struct socktable *t)
{
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}
