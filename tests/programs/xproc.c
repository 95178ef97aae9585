/* Two processes that hang on each other, or do not, through the kernel's objects:
 *   pipe-waitpid  the parent waits for its child to exit before reading the child's output;
 *                 the child blocks writing to the full pipe (the classic subprocess deadlock)
 *   flock         each process holds one flock and waits for the other's
 *   unix          client and server each wait to read from the other over a socketpair
 *   tcp           the same over a TCP connection on 127.0.0.1
 *   pshared       two process-shared mutexes in shared memory taken in opposite orders
 *   fork-lock     the child of a fork waits for a mutex another thread of the parent held when
 *                 it forked (attach to the child: READY prints the child second)
 *   other-user    pipe-waitpid, the child running as user nobody and the parent as daemon
 *                 (started as root): a chang running as daemon cannot read the child
 *   upstream      six threads wait for answers from one upstream (the child) that accepts
 *                 their connections and never answers
 *   pipeline      a producer and a consumer moving data through a pipe: healthy
 *   accept        a server idle in accept(): healthy
 * Prints "READY <parent pid> <child pid>" once the child exists and both are about to block;
 * the parent is the process a test attaches to. The child ends with the parent (PDEATHSIG). */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn(void (*child)(void *), void *arg)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		child(arg);
		_exit(0);
	}
	return pid;
}

static void announce(pid_t child)
{
	printf("READY %d %d\n", (int)getpid(), (int)child);
	fflush(stdout);
}

/* ---- pipe-waitpid ---- */
static int out_pipe[2];

static void pipe_child(void *arg)
{
	(void)arg;
	close(out_pipe[0]);
	static char block[65536];
	memset(block, 'x', sizeof(block));
	for (;;)
		if (write(out_pipe[1], block, sizeof(block)) < 0)
			_exit(1);
}

__attribute__((noinline)) static void wait_for_child(pid_t child)
{
	int st;
	waitpid(child, &st, 0);	/* before reading: the child never finishes writing */
	__asm__ volatile("" ::: "memory");
}

static void pipe_waitpid(void)
{
	if (pipe(out_pipe) != 0)
		exit(1);
	pid_t c = spawn(pipe_child, NULL);
	close(out_pipe[1]);
	announce(c);
	wait_for_child(c);
}

/* ---- other-user: as pipe-waitpid, across two users ---- */
static void other_user_child(void *arg)
{
	(void)arg;
	if (setgid(65534) != 0 || setuid(65534) != 0)	/* nobody */
		_exit(1);
	pipe_child(NULL);
}

static void other_user(void)
{
	if (pipe(out_pipe) != 0)
		exit(1);
	pid_t c = spawn(other_user_child, NULL);
	close(out_pipe[1]);
	if (setgid(1) != 0 || setuid(1) != 0)	/* daemon */
		exit(1);
	prctl(PR_SET_DUMPABLE, 1);	/* a process that changed its ids is not traceable otherwise */
	announce(c);
	wait_for_child(c);
}

/* ---- flock ---- */
static char lock_a[256], lock_b[256];
static int go_pipe[2];

static void take(const char *first, const char *second, int signal_fd, int wait_fd)
{
	int a = open(first, O_RDWR | O_CREAT, 0600), b = open(second, O_RDWR | O_CREAT, 0600);
	if (a < 0 || b < 0 || flock(a, LOCK_EX) != 0)
		_exit(1);
	char c = 1;
	if (signal_fd >= 0 && write(signal_fd, &c, 1) != 1)
		_exit(1);
	if (wait_fd >= 0 && read(wait_fd, &c, 1) != 1)
		_exit(1);
	flock(b, LOCK_EX);	/* each holds one and waits for the other's */
}

static void flock_child(void *arg)
{
	(void)arg;
	/* takes B, tells the parent, then wants A */
	take(lock_b, lock_a, go_pipe[1], -1);
}

static void flock_cycle(const char *dir)
{
	snprintf(lock_a, sizeof(lock_a), "%s/a.lock", dir);
	snprintf(lock_b, sizeof(lock_b), "%s/b.lock", dir);
	if (pipe(go_pipe) != 0)
		exit(1);
	int a = open(lock_a, O_RDWR | O_CREAT, 0600);
	if (a < 0 || flock(a, LOCK_EX) != 0)
		exit(1);
	pid_t c = spawn(flock_child, NULL);
	char x;
	if (read(go_pipe[0], &x, 1) != 1)	/* the child holds B */
		exit(1);
	announce(c);
	int b = open(lock_b, O_RDWR | O_CREAT, 0600);
	flock(b, LOCK_EX);
}

/* ---- unix / tcp: mutual read ---- */
static int sock_fd;

__attribute__((noinline)) static void wait_for_reply(int fd)
{
	char buf[64];
	if (read(fd, buf, sizeof(buf)) < 0)	/* each side waits for the other to speak first */
		_exit(1);
	__asm__ volatile("" ::: "memory");
}

static void reader_child(void *arg)
{
	(void)arg;
	wait_for_reply(sock_fd);
}

static void unix_mutual(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		exit(1);
	sock_fd = sv[1];
	pid_t c = spawn(reader_child, NULL);
	close(sv[1]);
	announce(c);
	wait_for_reply(sv[0]);
}

static void tcp_mutual(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) != 0)
		exit(1);
	int cs = socket(AF_INET, SOCK_STREAM, 0);
	if (cs < 0 || connect(cs, (struct sockaddr *)&a, sizeof(a)) != 0)
		exit(1);
	int ss = accept(ls, NULL, NULL);
	if (ss < 0)
		exit(1);
	close(ls);
	sock_fd = cs;
	pid_t c = spawn(reader_child, NULL);
	close(cs);
	announce(c);
	wait_for_reply(ss);
}

/* ---- pshared: AB-BA across processes ---- */
static pthread_mutex_t *shm;	/* [0] = A, [1] = B, in memory both processes share */

static void pshared_child(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&shm[1]);
	char c = 1;
	if (write(go_pipe[1], &c, 1) != 1 || read(out_pipe[0], &c, 1) != 1)
		_exit(1);
	pthread_mutex_lock(&shm[0]);
}

static void pshared_cycle(void)
{
	shm = mmap(NULL, 2 * sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	if (shm == MAP_FAILED || pthread_mutex_init(&shm[0], &at) || pthread_mutex_init(&shm[1], &at) ||
	    pipe(go_pipe) || pipe(out_pipe))
		exit(1);
	pthread_mutex_lock(&shm[0]);
	pid_t c = spawn(pshared_child, NULL);
	char x = 1;
	if (read(go_pipe[0], &x, 1) != 1 || write(out_pipe[1], &x, 1) != 1)	/* the child holds B; go on */
		exit(1);
	announce(c);
	pthread_mutex_lock(&shm[1]);
}

/* ---- fork-lock: a lock held by another thread of the parent when it forked ---- */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static int held_pipe[2];

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held);
	char c = 1;
	if (write(held_pipe[1], &c, 1) != 1)
		exit(1);
	pause();
	return NULL;
}

static void fork_child(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held);	/* its owner is a thread of the parent: never released here */
}

static void fork_lock(void)
{
	pthread_t t;
	char c;
	if (pipe(held_pipe) || pthread_create(&t, NULL, holder, NULL) || read(held_pipe[0], &c, 1) != 1)
		exit(1);
	pid_t child = spawn(fork_child, NULL);
	announce(child);
	pause();
}

/* ---- upstream: many requests to one peer that never answers ---- */
#define UPSTREAM_CLIENTS 6
static struct sockaddr_in upstream_addr;
static int upstream_listener;

static void upstream_child(void *arg)
{
	(void)arg;
	for (int i = 0; i < UPSTREAM_CLIENTS; i++)
		if (accept(upstream_listener, NULL, NULL) < 0)
			_exit(1);
	pause();	/* holds every connection, answers none */
}

static int connected;
static pthread_mutex_t connected_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t connected_cv = PTHREAD_COND_INITIALIZER;

static void *request(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&upstream_addr, sizeof(upstream_addr)) != 0)
		exit(1);
	pthread_mutex_lock(&connected_mu);
	connected++;
	pthread_cond_broadcast(&connected_cv);
	pthread_mutex_unlock(&connected_mu);
	wait_for_reply(fd);
	return NULL;
}

static void upstream(void)
{
	upstream_listener = socket(AF_INET, SOCK_STREAM, 0);
	upstream_addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(upstream_addr);
	if (upstream_listener < 0 || bind(upstream_listener, (struct sockaddr *)&upstream_addr, al) != 0 ||
	    listen(upstream_listener, UPSTREAM_CLIENTS) != 0 ||
	    getsockname(upstream_listener, (struct sockaddr *)&upstream_addr, &al) != 0)
		exit(1);
	pid_t c = spawn(upstream_child, NULL);
	close(upstream_listener);
	pthread_t t[UPSTREAM_CLIENTS];
	for (int i = 0; i < UPSTREAM_CLIENTS; i++)
		if (pthread_create(&t[i], NULL, request, NULL) != 0)
			exit(1);
	pthread_mutex_lock(&connected_mu);
	while (connected < UPSTREAM_CLIENTS)
		pthread_cond_wait(&connected_cv, &connected_mu);
	pthread_mutex_unlock(&connected_mu);
	announce(c);
	pthread_join(t[0], NULL);
}

/* ---- healthy ---- */
static void producer(void *arg)
{
	(void)arg;
	close(out_pipe[0]);
	char buf[4096];
	memset(buf, 'y', sizeof(buf));
	for (;;)
		if (write(out_pipe[1], buf, sizeof(buf)) < 0)
			_exit(0);
}

static void pipeline(void)
{
	if (pipe(out_pipe) != 0)
		exit(1);
	pid_t c = spawn(producer, NULL);
	close(out_pipe[1]);
	announce(c);
	char buf[4096];
	volatile unsigned long sum = 0;
	for (;;) {
		ssize_t n = read(out_pipe[0], buf, sizeof(buf));
		if (n <= 0)
			exit(0);
		for (ssize_t i = 0; i < n; i++)	/* some work per block: the consumer is busy too */
			sum += (unsigned char)buf[i] * (unsigned long)i;
	}
}

static void idle_child(void *arg)
{
	(void)arg;
	pause();
}

static void accept_idle(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1) != 0)
		exit(1);
	pid_t c = spawn(idle_child, NULL);
	announce(c);
	accept(ls, NULL, NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "pipe-waitpid") == 0)
		pipe_waitpid();
	else if (strcmp(mode, "flock") == 0 && argc > 2)
		flock_cycle(argv[2]);
	else if (strcmp(mode, "unix") == 0)
		unix_mutual();
	else if (strcmp(mode, "tcp") == 0)
		tcp_mutual();
	else if (strcmp(mode, "other-user") == 0)
		other_user();
	else if (strcmp(mode, "upstream") == 0)
		upstream();
	else if (strcmp(mode, "pshared") == 0)
		pshared_cycle();
	else if (strcmp(mode, "fork-lock") == 0)
		fork_lock();
	else if (strcmp(mode, "pipeline") == 0)
		pipeline();
	else if (strcmp(mode, "accept") == 0)
		accept_idle();
	else
		fprintf(stderr, "usage: xproc pipe-waitpid|flock DIR|unix|tcp|pshared|fork-lock|pipeline|accept\n");
	return 1;
}
