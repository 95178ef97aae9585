/* A healthy event-loop server as memcached, nginx or libevent programs are built: N worker
 * threads, each in epoll_wait on an epoll instance of its own (watching an eventfd nobody
 * writes), a listener in accept() on 127.0.0.1, a housekeeping thread that sleeps, and main
 * in epoll_wait too. Nothing here is a hang: chang must report no finding.
 * Usage: event_loops [N] (default 16). Prints "PORT p", then READY. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "ready.h"

static int listen_fd;

static int new_loop(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int ev = eventfd(0, EFD_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN, .data.fd = ev };
	if (ep < 0 || ev < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) != 0)
		exit(1);
	return ep;
}

static void run_loop(int ep)
{
	struct epoll_event e[8];
	for (;;)
		epoll_wait(ep, e, 8, -1);
}

static void *worker(void *a)
{
	int ep = new_loop();
	ready_arrive();
	run_loop(ep);
	return a;
}

static void *listener(void *a)
{
	ready_arrive();
	for (;;) {
		int c = accept(listen_fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
	return a;
}

static void *housekeeper(void *a)
{
	ready_arrive();
	for (;;) {
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
	}
	return a;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 16;
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(listen_fd, 16) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &len) != 0)
		return 1;
	int ep = new_loop();
	pthread_t t;
	for (int i = 0; i < n; i++)
		pthread_create(&t, NULL, worker, NULL);
	pthread_create(&t, NULL, listener, NULL);
	pthread_create(&t, NULL, housekeeper, NULL);
	printf("PORT %d\n", ntohs(sa.sin_port));
	ready_wait_and_announce(n + 2);
	run_loop(ep);
}
