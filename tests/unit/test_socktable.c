/* The socket tables (attach/socktable.c) and the peer lookup built on them
 * (attach/sockpeer.c), on sockets this test opens itself on loopback: each is found by its
 * inode, described as the fd list shows it, and its peer is the other end's inode. */
#include "unit.h"
#include "attach/sockpeer.h"
#include "attach/socktable.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t inode_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static void test_format(void)
{
	char out[80];
	CHECK(socktable_format_inet("0100007F:1F90", out, sizeof(out)) && strcmp(out, "127.0.0.1:8080") == 0);
	CHECK(socktable_format_inet("00000000000000000000000001000000:0050", out, sizeof(out)) &&
	      strcmp(out, "[::1]:80") == 0);
	CHECK(!socktable_format_inet("0100007F", out, sizeof(out)));
	CHECK(!socktable_format_inet("01007F:1F90", out, sizeof(out)));
}

static void test_tcp(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) != 0) {
		UNIT_SKIP("no loopback TCP here");
		return;
	}
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0);

	struct socktable t;
	CHECK(socktable_read(getpid(), &t));
	const struct sockrow *rl = socktable_find(&t, inode_of(l));
	const struct sockrow *rc = socktable_find(&t, inode_of(c));
	const struct sockrow *rs = socktable_find(&t, inode_of(s));
	CHECK(rl && rc && rs);
	if (rl && rc && rs) {
		char d[256], want[256];
		socktable_describe(rl, d, sizeof(d));
		snprintf(want, sizeof(want), "tcp listening on 127.0.0.1:%u", ntohs(a.sin_port));
		CHECKF(strcmp(d, want) == 0, "%s", d);
		socktable_describe(rc, d, sizeof(d));
		CHECKF(strstr(d, "tcp 127.0.0.1:") == d && strstr(d, " ESTABLISHED"), "%s", d);
		CHECK(socktable_tcp_peer(&t, rc) == rs);
		CHECK(socktable_tcp_peer(&t, rs) == rc);
	}
	socktable_free(&t);

	struct sockpeer p;
	sockpeer_find(getpid(), inode_of(c), &p);
	CHECK(p.status == SOCKPEER_FOUND && p.peer_inode == inode_of(s));
	CHECK(p.proto && strcmp(p.proto, "tcp") == 0 && strncmp(p.remote, "127.0.0.1:", 10) == 0);
	sockpeer_find(getpid(), inode_of(l), &p);
	CHECK(p.status == SOCKPEER_NONE);
	sockpeer_find(getpid(), 1, &p);
	CHECK(p.status == SOCKPEER_UNKNOWN && p.why);
	close(c);
	close(s);
	close(l);
}

static void test_unix(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	struct socktable t;
	CHECK(socktable_read(getpid(), &t));
	const struct sockrow *r = socktable_find(&t, inode_of(sv[0]));
	CHECK(r && strcmp(r->proto, "unix") == 0);
	if (r) {
		char d[256];
		socktable_describe(r, d, sizeof(d));
		CHECKF(strcmp(d, "unix (unnamed)") == 0, "%s", d);
	}
	socktable_free(&t);
	struct sockpeer p;
	sockpeer_find(getpid(), inode_of(sv[0]), &p);
	if (p.status == SOCKPEER_UNKNOWN)
		UNIT_SKIP("unix peer: %s", p.why);
	else
		CHECK(p.status == SOCKPEER_FOUND && p.peer_inode == inode_of(sv[1]));
	close(sv[0]);
	close(sv[1]);
}

static void unit_tests(void)
{
	test_format();
	test_tcp();
	test_unix();
}
