#include "analyzers/describe.h"
#include <stdio.h>
#include <string.h>

const char *describe_object_name(const struct snapshot *s, uint64_t addr, const char *symbol,
				 struct arena *a)
{
	if (symbol)
		return symbol;
	const struct mapping *m = s ? snapshot_mapping_at(s, addr) : NULL;
	if (m && m->path && strcmp(m->path, "[stack]") == 0)
		return arena_printf(a, "stack %#llx", (unsigned long long)addr);
	/* Static data of a file without symbols for it (stripped): say whose data it is. */
	if (m && m->path && m->path[0] == '/') {
		const char *base = strrchr(m->path, '/') + 1;
		return arena_printf(a, "%#llx in %s", (unsigned long long)addr, base);
	}
	return arena_printf(a, "heap %#llx", (unsigned long long)addr);
}

const char *describe_thread(const struct task *t, pid_t tid, struct arena *a)
{
	const char *name = t && t->name && *t->name ? arena_printf(a, "thread %d \"%s\"", (int)t->tid, t->name)
						   : arena_printf(a, "thread %d", (int)(t ? t->tid : tid));
	if (t && t->cgo_goroutine)
		return arena_printf(a, "%s (goroutine %llu's C call)", name,
				    (unsigned long long)t->cgo_goroutine->goid);
	return name;
}

static const char *fd_object(const struct wait *w, struct arena *a)
{
	if (w->fd < 0)
		return NULL;
	if (w->fd_target)
		return arena_printf(a, "fd %d (%s)", w->fd, w->fd_target);
	return arena_printf(a, "fd %d", w->fd);
}

const char *describe_wait_object(const struct snapshot *s, const struct wait *w, struct arena *a)
{
	switch (w->kind) {
	case WAIT_MUTEX: case WAIT_RWLOCK: case WAIT_CONDVAR: case WAIT_SEMAPHORE:
	case WAIT_BARRIER: case WAIT_FUTEX: case WAIT_ONCE: case WAIT_SPINLOCK:
		if (!w->address)
			return wait_kind_name(w->kind);
		return arena_printf(a, "%s %s", wait_kind_name(w->kind),
				    describe_object_name(s, w->address, w->symbol, a));
	case WAIT_JOIN:
		if (w->owner_tid)
			return describe_thread(s ? snapshot_find_task(s, w->owner_tid) : NULL,
					       w->owner_tid, a);
		return "a thread";
	case WAIT_READ: case WAIT_WRITE: case WAIT_RECV: case WAIT_SEND: case WAIT_ACCEPT:
	case WAIT_CONNECT: case WAIT_POLL: case WAIT_EPOLL: case WAIT_SELECT:
		return fd_object(w, a);
	default:
		return NULL;
	}
}

const char *describe_plain_function(const char *fn, char *buf, size_t cap)
{
	if (!fn || cap == 0)
		return "";
	while (*fn == '_')
		fn++;
	size_t n = strcspn(fn, "@");
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, fn, n);
	buf[n] = 0;
	return buf;
}

bool describe_is_runtime_module(const struct module *m)
{
	if (!m || !m->name)
		return false;
	const char *base = strrchr(m->name, '/');
	base = base ? base + 1 : m->name;
	static const char *const prefixes[] = { "libc.so", "libc-", "libpthread", "ld-linux", "ld-musl-", "libc.musl-",
		"ld64.so", "libstdc++", "libgcc_s", "libm.so", "libdl", "librt" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++)
		if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* Library code inlined into the program (std::mutex::lock, __gthread_mutex_lock) is not
 * where the program waits either. */
static bool runtime_function(const char *fn)
{
	if (!fn)
		return false;
	return strncmp(fn, "std::", 5) == 0 || strncmp(fn, "__gthread", 9) == 0 ||
	       strncmp(fn, "__gnu_cxx::", 11) == 0 || strncmp(fn, "void std::", 10) == 0;
}

const struct sym_frame *describe_wait_site(const struct task *t)
{
	if (!t->syms)
		return NULL;
	const struct sym_frame *first = NULL;
	for (int i = 0; i < t->npcs; i++) {
		const struct pcsym *ps = t->syms[i];
		if (!ps)
			continue;
		for (int k = 0; k < ps->nframes; k++) {
			const struct sym_frame *f = &ps->frames[k];
			if (!first && f->function)
				first = f;
			if (!f->function || describe_is_runtime_module(ps->module) ||
			    runtime_function(f->function))
				continue;
			return f;
		}
	}
	return first;
}

const char *describe_site(const struct task *t, struct arena *a)
{
	const struct sym_frame *f = describe_wait_site(t);
	if (f && f->file) {
		const char *base = strrchr(f->file, '/');
		return arena_printf(a, "%s (%s:%d)", f->function, base ? base + 1 : f->file, f->line);
	}
	if (f)
		return f->function;
	if (t->npcs > 0)
		return arena_printf(a, "%#llx", (unsigned long long)t->pcs[0]);
	return NULL;
}

static const char *syscall_call(const struct wait *w, struct arena *a)
{
	return arena_printf(a, "%s()", w->syscall ? w->syscall : wait_kind_name(w->kind));
}

const char *describe_doing(const struct snapshot *s, const struct task *t, struct arena *a)
{
	const struct wait *w = t->wait;
	if (!w)
		return t->state ? t->state : "running";
	const char *obj = describe_wait_object(s, w, a);
	const char *owner = NULL;
	if (w->owner_known && w->owner_tid && w->kind != WAIT_JOIN)
		owner = describe_thread(s ? snapshot_find_task(s, w->owner_tid) : NULL, w->owner_tid, a);
	switch (w->kind) {
	case WAIT_MUTEX:
	case WAIT_RWLOCK:
		if (owner)
			return arena_printf(a, "waiting for %s held by %s%s", obj,
					    w->kind == WAIT_RWLOCK ? "writer " : "", owner);
		return arena_printf(a, "waiting for %s%s%s%s", obj, w->detail ? " (" : "",
				    w->detail ? w->detail : "", w->detail ? ")" : "");
	case WAIT_CONDVAR: case WAIT_SEMAPHORE: case WAIT_FUTEX:
		return arena_printf(a, "waiting on %s", obj);
	case WAIT_BARRIER:
		return arena_printf(a, "waiting at %s", obj);
	case WAIT_JOIN:
		return arena_printf(a, "waiting to join %s", obj);
	case WAIT_SLEEP:
		return arena_printf(a, "sleeping in %s", syscall_call(w, a));
	case WAIT_SIGNAL:
		return arena_printf(a, "waiting for a signal in %s", syscall_call(w, a));
	case WAIT_WAITPID:
		return arena_printf(a, "waiting for a child process in %s", syscall_call(w, a));
	case WAIT_FILELOCK:
		return arena_printf(a, "waiting for a file lock in %s%s%s", syscall_call(w, a), obj ? " on " : "",
				    obj ? obj : "");
	case WAIT_POLL: case WAIT_EPOLL: case WAIT_SELECT:
		return arena_printf(a, "waiting in %s%s%s%s", syscall_call(w, a), obj ? " on " : "",
				    obj ? obj : "", w->idle ? " (idle)" : "");
	default:
		return arena_printf(a, "blocked in %s%s%s", syscall_call(w, a), obj ? " on " : "",
				    obj ? obj : "");
	}
}
