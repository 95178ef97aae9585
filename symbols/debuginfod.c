#include "symbols/debuginfod.h"
#include "util/xalloc.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* libdebuginfod's interface (elfutils/debuginfod.h, declared here so that building chang
 * needs no -dev package for a library it loads only when present). */
typedef struct debuginfod_client debuginfod_client;
typedef int (*debuginfod_progressfn_t)(debuginfod_client *c, long a, long b);

static struct {
	pthread_mutex_t mu;
	char *urls;		/* DEBUGINFOD_URLS as chang found it; NULL: none */
	bool disabled, allowed, loaded, load_failed;
	char load_error[256];
	char dead[200];		/* why the servers were given up on in this run, "" while not */
	unsigned timeout_s;
	debuginfod_client *client;
	debuginfod_client *(*begin)(void);
	void (*end)(debuginfod_client *);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	int (*find_executable)(debuginfod_client *, const unsigned char *, int, char **);
	void (*set_progressfn)(debuginfod_client *, debuginfod_progressfn_t);
	/* progress of the fetch under way */
	const char *label, *kind;
	long last_bytes;
	struct timespec last_change;
	bool shown;
} di = { .mu = PTHREAD_MUTEX_INITIALIZER };

#define SONAME "libdebuginfod.so.1"
#define DEFAULT_TIMEOUT_S 10

void debuginfod_init(void)
{
	const char *u = getenv("DEBUGINFOD_URLS");
	if (u && *u)
		di.urls = xstrdup(u);
	unsetenv("DEBUGINFOD_URLS");
	const char *t = getenv("DEBUGINFOD_TIMEOUT");
	long v = t ? strtol(t, NULL, 10) : 0;
	di.timeout_s = v > 0 ? (unsigned)v : DEFAULT_TIMEOUT_S;
}

void debuginfod_env_for_child(bool on)
{
	if (on && di.urls)
		setenv("DEBUGINFOD_URLS", di.urls, 1);
	else
		unsetenv("DEBUGINFOD_URLS");
}

void debuginfod_disable(void)
{
	di.disabled = true;
}

void debuginfod_allow(void)
{
	di.allowed = true;
}

const char *debuginfod_urls(void)
{
	return di.disabled ? NULL : di.urls;
}

#ifdef CHANG_STATIC
bool debuginfod_usable(void)
{
	return false;
}

const char *debuginfod_support(void)
{
	return "debuginfod: not in this static build (libdebuginfod cannot be loaded by a static program)";
}

int debuginfod_fetch(enum debuginfod_kind kind, const unsigned char *id, int len, const char *label,
		     char **path, char *why, size_t cap)
{
	return -2;
}
#else
bool debuginfod_usable(void)
{
	return !di.disabled;
}

const char *debuginfod_support(void)
{
	static char line[320];
	void *h = dlopen(SONAME, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		h = dlopen(SONAME, RTLD_LAZY);
	if (h)
		dlclose(h);
	snprintf(line, sizeof(line), "debuginfod: %s (loaded at run time with dlopen; %s)",
		 h ? "available" : "not available", h ? SONAME " found" : SONAME " not found: install libdebuginfod1");
	return line;
}

/* Under di.mu. */
static bool load(void)
{
	if (di.loaded || di.load_failed)
		return di.loaded;
	void *h = dlopen(SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(di.load_error, sizeof(di.load_error), "not tried: %s cannot be loaded (install libdebuginfod1)", SONAME);
		di.load_failed = true;
		return false;
	}
	*(void **)&di.begin = dlsym(h, "debuginfod_begin");
	*(void **)&di.end = dlsym(h, "debuginfod_end");
	*(void **)&di.find_debuginfo = dlsym(h, "debuginfod_find_debuginfo");
	*(void **)&di.find_executable = dlsym(h, "debuginfod_find_executable");
	*(void **)&di.set_progressfn = dlsym(h, "debuginfod_set_progressfn");
	if (!di.begin || !di.end || !di.find_debuginfo || !di.find_executable) {
		snprintf(di.load_error, sizeof(di.load_error), "not tried: %s lacks the client functions", SONAME);
		di.load_failed = true;
		return false;
	}
	di.loaded = true;
	return true;
}

static double since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Called by the library about once a second while a fetch runs (also while it connects):
 * the progress line, and the end of a fetch that has moved no byte for the timeout. */
static int progress(debuginfod_client *c, long a, long b)
{
	if (a != di.last_bytes) {
		di.last_bytes = a;
		clock_gettime(CLOCK_MONOTONIC, &di.last_change);
	}
	if (isatty(STDERR_FILENO)) {
		if (b > 0)
			fprintf(stderr, "\rchang: debuginfod: fetching the %s of %s: %ld of %ld KiB\033[K", di.kind,
				di.label, a / 1024, b / 1024);
		else
			fprintf(stderr, "\rchang: debuginfod: fetching the %s of %s: %ld KiB\033[K", di.kind, di.label,
				a / 1024);
		di.shown = true;
	}
	return since(&di.last_change) > (double)di.timeout_s;
}

static const char *basename_of(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p ? p : "?";
}

int debuginfod_fetch(enum debuginfod_kind kind, const unsigned char *id, int len, const char *label,
		     char **path, char *why, size_t cap)
{
	if (di.disabled || !di.urls || !di.allowed || len <= 0)
		return -2;
	pthread_mutex_lock(&di.mu);
	int fd = -1;
	if (!load()) {
		snprintf(why, cap, "%s", di.load_error);
		goto out;
	}
	if (di.dead[0]) {
		snprintf(why, cap, "not tried: %s", di.dead);
		goto out;
	}
	if (!di.client) {
		/* the library's own timeout (time to the first byte), unless the user set one */
		char t[16];
		snprintf(t, sizeof(t), "%u", di.timeout_s);
		setenv("DEBUGINFOD_TIMEOUT", t, 0);
		/* one try: a retry would double the wait for a dead server */
		setenv("DEBUGINFOD_RETRY_LIMIT", "0", 0);
		di.client = di.begin();
		if (!di.client) {
			snprintf(why, cap, "not tried: the debuginfod client could not start");
			goto out;
		}
		if (di.set_progressfn)
			di.set_progressfn(di.client, progress);
	}
	di.kind = kind == DEBUGINFOD_EXECUTABLE ? "executable" : "debug info";
	di.label = basename_of(label);
	di.last_bytes = -1;
	di.shown = false;
	clock_gettime(CLOCK_MONOTONIC, &di.last_change);
	struct timespec t0 = di.last_change;
	char *got = NULL;
	/* The library reads the servers from the environment at each query. */
	setenv("DEBUGINFOD_URLS", di.urls, 1);
	int rc = kind == DEBUGINFOD_EXECUTABLE ? di.find_executable(di.client, id, len, &got)
					       : di.find_debuginfo(di.client, id, len, &got);
	unsetenv("DEBUGINFOD_URLS");
	if (di.shown)
		fprintf(stderr, "\r\033[K");
	if (rc >= 0) {
		fd = rc;
		*path = got ? got : xstrdup("(debuginfod cache)");
		goto out;
	}
	free(got);
	double took = since(&t0);
	switch (-rc) {
	case ENOENT:
		snprintf(why, cap, "not found on the servers (%s)", di.urls);
		break;
	case ECANCELED:
	case ETIME:
	case ETIMEDOUT:
		snprintf(di.dead, sizeof(di.dead), "the servers (%s) timed out after %.0f s", di.urls, took);
		snprintf(why, cap, "%s", di.dead);
		break;
	default:
		/* unreachable, refused, unresolvable: the same for every later module */
		snprintf(di.dead, sizeof(di.dead), "the servers (%s) failed: %s", di.urls, strerror(-rc));
		snprintf(why, cap, "%s", di.dead);
		break;
	}
out:
	pthread_mutex_unlock(&di.mu);
	return fd;
}
#endif
