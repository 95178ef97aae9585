/* The one model every stage shares: a snapshot of a process's tasks, their stacks, the
 * modules those stacks run in, what each task waits on, and the findings drawn from that.
 * Capture fills tasks/mappings/modules, unwind/ fills pcs, symbols/ fills syms,
 * analyzers/ fill waits and findings, report/ only reads. */
#ifndef CHANG_SNAPSHOT_H
#define CHANG_SNAPSHOT_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/arch.h"
#include "util/arena.h"
#include "util/strmap.h"

struct target;
struct symbolizer;

enum source_kind { SOURCE_ATTACH, SOURCE_CORE };

/* The C library the target runs on (symbols/libc_id.h tells it): lock words are read
 * only with that library's rules. */
enum libc_kind { LIBC_UNKNOWN = 0, LIBC_GLIBC, LIBC_MUSL };
const char *libc_kind_name(enum libc_kind k);

/* One line of /proc/PID/maps or one NT_FILE entry (plus anonymous mappings for lives). */
struct mapping {
	uint64_t start, end, offset;
	char perms[5];		/* "r-xp" */
	uint64_t inode;
	const char *path;	/* NULL for anonymous */
	bool dumped;		/* core: bytes present in the core file */
};

/* An ELF object mapped into the target (executable or shared library). */
struct module {
	const char *name;	/* path as the target mapped it */
	const char *file;	/* path chang opened, or NULL when missing */
	uint64_t start, end;	/* lowest and highest address of its mappings */
	uint64_t bias;		/* load bias, known once the ELF is open */
	unsigned char build_id[40];
	int build_id_len;	/* from the file; 0 if none */
	unsigned char target_build_id[40];
	int target_build_id_len;	/* as recorded in the target's memory, 0 if unknown */
	bool missing, mismatched;
	/* What symbols/ found to name its code, for the modules a stack runs in
	 * (symbols_known): DWARF, a full symbol table (.symtab, in the file or its debug
	 * file), the dynamic one, MiniDebugInfo (.gnu_debugdata). */
	bool symbols_known, has_debuginfo, has_symtab, has_dynsym, has_minidebuginfo;
	/* The Debian package that installed its file ("libevent-2.1-7"), looked up only for a
	 * module without a full symbol table whose file matches the target's build-id; its
	 * symbols are in PACKAGE-dbgsym. NULL when not looked up or not found. */
	const char *package;
	/* What the debuginfod servers (DEBUGINFOD_URLS) supplied for it: "debug info",
	 * "executable" or "executable and debug info"; and why a fetch for it failed. NULL when
	 * nothing was fetched or asked (symbols/debuginfod.h). */
	const char *debuginfod_fetched;
	const char *debuginfod_error;
	void *dwfl_module;	/* owned by symbols/ */
};

/* Where a frame's function name came from, which says how far it can be trusted. */
enum sym_source {
	SYM_SYMTAB = 0,		/* a full symbol table (.symtab), or Go's pclntab */
	SYM_DWARF,		/* debug information */
	SYM_DYNSYM,		/* the dynamic symbol table: exported functions only */
	SYM_MINIDEBUGINFO,	/* .gnu_debugdata: an xz-compressed ELF holding a .symtab */
};
const char *sym_source_name(enum sym_source src);

/* What symbols/ makes of one PC: one physical frame, expanded into its inlined callees.
 * frames[0] is the innermost (the deepest inlined call), the last is the physical function. */
struct sym_frame {
	const char *function;	/* demangled, NULL if unknown */
	/* When function is NULL, a partial table's nearest symbol below the PC, which lies
	 * past the symbol's extent (or it has none): a guess, often another function, so
	 * never in function, where analyzers take names for evidence. NULL otherwise. */
	const char *near_symbol;
	enum sym_source source;	/* of function or near_symbol */
	const char *mangled;	/* linkage name when it differs, else NULL */
	const char *file;	/* NULL if no line info */
	int line;
	uint64_t func_entry;	/* address of the physical function, 0 if unknown */
	bool inlined;
};

/* The function name of a signal frame (the return into the C library's rt_sigreturn
 * trampoline, __restore_rt), as gdb prints it; analyzers/ add the signal's name after it
 * where the frame on the stack tells ("<signal handler called> (SIGHUP)"). */
#define SIGNAL_FRAME_FUNCTION "<signal handler called>"

struct pcsym {
	uint64_t pc;		/* as it stands in the stack */
	/* The address symbolized: pc for the innermost frame of a thread (where it is now),
	 * pc-1 for return addresses (the call instruction), as Go's CallersFrames does. */
	uint64_t lookup_pc;
	struct module *module;	/* NULL if the PC is in no module */
	int nframes;
	struct sym_frame *frames;
};

enum wait_kind {
	WAIT_NONE = 0,
	WAIT_MUTEX, WAIT_RWLOCK, WAIT_CONDVAR, WAIT_SEMAPHORE, WAIT_BARRIER, WAIT_JOIN,
	WAIT_SLEEP, WAIT_READ, WAIT_WRITE, WAIT_RECV, WAIT_SEND, WAIT_ACCEPT, WAIT_CONNECT,
	WAIT_POLL, WAIT_EPOLL, WAIT_SELECT, WAIT_FUTEX, WAIT_SIGNAL, WAIT_WAITPID,
	WAIT_SYSCALL, WAIT_CHANNEL, WAIT_FILELOCK,
	WAIT_ONCE,		/* a one-time initialisation another thread is running (Rust's Once) */
	WAIT_SPINLOCK,		/* spinning in user space, not in the kernel */
	WAIT__COUNT
};
const char *wait_kind_name(enum wait_kind k);

/* What a blocked task waits on, filled by analyzers/. */
struct wait {
	enum wait_kind kind;
	uint64_t address;	/* the object (lock base, condvar, ...); 0 when none */
	const char *symbol;	/* "lock_a", "forks[2]", "jobs+0x40", or NULL (heap) */
	pid_t owner_tid;	/* holder, 0 when none or unknown */
	bool owner_known;	/* the object records an owner (mutex, rwlock writer, join) */
	/* The lock records that its owner exited holding it, and no longer which thread that
	 * was (musl clears the TID of a dead owner's mutex and sets its owner-died bit). */
	bool owner_died;
	int fd;			/* -1 when not an fd wait */
	const char *fd_target;	/* "pipe:[123]", "socket 127.0.0.1:80 -> ...", a path; NULL if unknown */
	int fd_file;		/* fd waits: the lowest fd open on the same file (kcmp), which tells
				 * apart objects whose link text is shared (every epoll instance is
				 * anon_inode:[eventpoll]); the fd itself when unknown, else -1 */
	const char *syscall;	/* the syscall name the task is in, or NULL */
	const char *detail;	/* one human sentence of extra facts, or NULL */
	bool idle;		/* an event loop or worker waiting for work: not a hang suspect */
	bool restarted;		/* an earlier stop left it in restart_syscall; syscall names the
				 * call it continues */
	/* Locks that record no owner (Rust's std locks, spinlocks): analyzers/ may infer the
	 * thread that likely holds it from that thread's code and stack. owner_tid stays 0:
	 * likely_owner is a guess, evidence says on what it rests ("its stack holds a pointer
	 * to the lock (a guard)"). holder_inferable marks the waits to infer for. */
	bool holder_inferable;
	pid_t likely_owner;
	/* How much evidence names it: 1 (a pointer to the lock, or code that took its address),
	 * 2 or 3 (code that handed it to a lock function, or both kinds). */
	int likely_strength;
	const char *evidence;
};

enum task_kind { TASK_THREAD, TASK_GOROUTINE };

/* A channel or sync object that goroutines block on, shared by all its waiters (go/). */
struct go_object {
	enum wait_kind kind;	/* WAIT_CHANNEL, WAIT_MUTEX, WAIT_RWLOCK, WAIT_JOIN (WaitGroup),
				 * WAIT_CONDVAR (a sync.Cond: address is the global holding or being it) */
	const char *type;	/* "chan string", "sync.Mutex", "sync.RWMutex", "sync.WaitGroup" */
	uint64_t address;
	const char *symbol;	/* the global holding or being it ("main.logCh"), NULL for heap */
	uint64_t holder;	/* channels: the address of the global holding it, 0 when none */
	/* channels */
	uint64_t qcount, capacity;
	bool closed;
	int senders, receivers;	/* goroutines queued on sendq / recvq */
	/* sync objects: decoded state word, e.g. "locked, 101 waiters"; waiters from the
	 * runtime's semaphore table */
	const char *state;
	bool locked;
	int sema_waiters;
};

/* A goroutine's code used an object others wait on: the Go runtime records no owner, no
 * consumer and no one who will call Done, so this is the evidence there is. */
enum go_ref_how {
	GO_REF_ADDRESS,		/* took its address (or loaded the global holding it) */
	GO_REF_LOCKED,		/* locked the mutex and had not unlocked it */
	GO_REF_RECEIVED,	/* received from the channel (runtime.chanrecv1/2) */
	GO_REF_SENT,		/* sent on it (runtime.chansend1) */
	GO_REF_CLOSED,		/* closed it */
	GO_REF_SELECTED,	/* used it in a select */
	GO_REF_ADDED,		/* WaitGroup.Add / Done on it */
	GO_REF_SIGNALED,	/* sync.Cond Signal / Broadcast on it */
};

struct go_ref {
	const struct go_object *o;
	unsigned hows;		/* 1 << enum go_ref_how, for each thing its code did with it */
	const char *function;	/* the current function whose code did it */
	uint64_t at;		/* the instruction */
};

/* A word of the target that stays as it was while a goroutine stays in its wait, and its
 * value at the capture (masked): a live second look re-reads it without stopping the
 * process. */
struct watch_word {
	uint64_t addr, value, mask;
	unsigned size;		/* 1, 4 or 8 bytes, little-endian */
};

struct go_label {
	const char *key, *value;
};

/* What the Go runtime records about a goroutine; NULL for threads. */
struct goroutine_info {
	uint64_t g;		/* address of its runtime.g */
	const char *status;	/* as Go prints it: "chan send", "running", "syscall", "sleep" */
	const char *wait_reason;	/* the runtime's wait reason, NULL when not waiting */
	bool scan, locked_to_thread;
	int64_t wait_minutes;	/* Go's "N minutes" (set only once a GC saw it blocked); -1 unknown */
	const char *created_by;	/* function of the go statement; NULL for the main goroutine */
	const char *created_file;
	int created_line;
	uint64_t created_off;	/* gopc - entry of created_by */
	uint64_t parent_goid;	/* 0 when the runtime does not record it (before Go 1.21) */
	struct go_label *labels;	/* pprof labels, sorted by key */
	int nlabels;
	const char *labels_text;	/* Go's rendering {"k":"v", ...}; NULL without labels */
	const struct go_object *object;	/* what it blocks on, when go/ could tell */
	const char *object_op;	/* "sending on", "receiving from", "selecting on", "locking", ... */
	/* Locks it likely holds: global mutexes its blocked function locked before the call it
	 * blocks in and did not unlock (a guess from the code; sync.Mutex records no owner). */
	const struct go_object **likely_holds;
	int nlikely_holds;
	/* What its current functions did, in their code before where each is now, with the
	 * objects others wait on (go/holders.c): evidence of who would release them. */
	const struct go_ref *refs;
	int nrefs;
	/* What must stay unchanged while it stays in this wait: its g's status (less the GC's
	 * scan bit), wait reason, saved SP and PC and sudog list, the state words of its
	 * object, its fd's pollDesc slot (go/watch.c). NULL for goroutines no finding can be
	 * about (no object, no fd). */
	struct watch_word *watch;
	int nwatch;
	/* Per pcs[k] of a physical (not inlined) frame: its argument words as Go's debug=2
	 * prints them ("0xc000010000, {0x1, 0x2}, 0x3?"); NULL when unknown or inlined. */
	const char **args;
};

struct task {
	enum task_kind kind;
	pid_t tid;
	pid_t ns_tid;		/* its TID in the target's own pid namespace, when that differs; else 0 */
	uint64_t goid;		/* goroutines only */
	const struct goroutine_info *go;	/* goroutines only */
	const char *name;	/* comm */
	char kstate;		/* kernel state letter from stat/prpsinfo: R S D T t Z X, '?' */
	bool have_regs;
	struct regs regs;	/* the target's architecture's (regs.arch), when have_regs */
	/* Syscall the task sits in, in chang's numbering, which is x86_64's whatever the target's
	 * architecture (model/syscalls.h; an aarch64 number is translated by name): from
	 * orig_rax, /proc/.../syscall, or on aarch64 the code at the PC and x8; -1 if none. */
	long syscall_nr;
	uint64_t syscall_args[6];
	/* aarch64: the call had already returned at the stop (the PC is past its svc, not
	 * rewound to it), so x0 holds its return value and syscall_args[0], the
	 * first argument, is unknown (0). */
	bool syscall_returned;
	/* Filled by unwind/. */
	uint64_t *pcs;		/* pcs[0] is the current PC, then return addresses */
	int npcs;
	/* Per pcs[i]: found by scanning the stack for return addresses (unwind/scan.c), not
	 * by CFI; NULL when every frame came from CFI (or the frame pointer). */
	const bool *scanned;
	bool truncated;		/* the walk hit --max-frames */
	const char *unwind_error;	/* why the walk stopped early, or NULL */
	/* Filled by symbols/: one entry per pcs[i]; frame offsets are lookup_pc - func_entry. */
	const struct pcsym **syms;
	/* Filled by analyzers/. */
	const char *state;	/* "running", "runnable", or a wait kind name, "stopped", "zombie" */
	struct wait *wait;	/* NULL when not waiting */
	int group;		/* index into snapshot.groups */
	/* Threads of a Go target: the goroutine whose C call (cgo) runs on this thread, whose
	 * Go frames continue this thread's native ones past runtime.asmcgocall; NULL none. */
	const struct task *cgo_goroutine;
};

struct group {
	int count;
	struct task **tasks;	/* count entries, in tid order */
	const uint64_t *pcs;	/* the shared stack (of tasks[0]) */
	int npcs;
};

enum finding_kind {
	FINDING_DEADLOCK, FINDING_SELF_DEADLOCK, FINDING_ABANDONED_LOCK,
	FINDING_BLOCKING_CHAIN, FINDING_MASS_BLOCKING,
	FINDING_SIGNAL_UNSAFE,	/* a signal handler blocked in what a handler must not call */
	FINDING__COUNT
};
const char *finding_kind_name(enum finding_kind k);

struct finding_lock {
	enum wait_kind kind;
	uint64_t address;
	const char *symbol;
	pid_t owner_tid;
	bool owner_inferred;	/* owner_tid is a likely holder, not a recorded one */
	const char *evidence;	/* why it is thought to hold it, when inferred */
	pid_t *waiters;
	int nwaiters;
};

/* One step of a Go blocking chain: goroutines waiting on an object, and the goroutine that
 * would release it (its likely holder, consumer, or the one to call Done), which is the
 * next step; the root, last, has no one after it. */
struct chain_link {
	uint64_t goid;		/* the goroutine (the first of count) */
	int count;		/* goroutines waiting on the object the same way */
	const char *op;		/* "sending on", "locking", "waiting for" */
	const struct go_object *object;	/* NULL when the root waits on nothing go/ could name */
	const char *site;	/* "main.consume (main.go:40)" */
	uint64_t next_goid;	/* 0 at the root */
	const char *relation;	/* what the next one is to the object: "likely receives from it" */
	bool inferred;		/* every edge here is: the Go runtime records none of these */
	const char *evidence;
};

struct finding {
	enum finding_kind kind;
	int seq;		/* 1-based number within its kind: "deadlock#1" */
	const char *summary;	/* one sentence */
	pid_t *tids;
	int ntids;
	struct finding_lock *locks;	/* deadlock cycle in order, or the lock concerned */
	int nlocks;
	pid_t root_tid;		/* blocking-chain */
	struct wait object;	/* mass-blocking: the shared object */
	int count;		/* mass-blocking */
	bool maybe_normal;	/* e.g. an idle worker pool */
	uint64_t *goids;	/* Go targets: the goroutines concerned (tids stay for threads) */
	int ngoids;
	bool inferred;		/* drawn from circumstantial evidence (Go mutexes record no owner) */
	/* Live targets: its threads were seen unchanged (same waits, no CPU time, no wake-ups)
	 * over a second look this many ms after the capture; 0 when not looked at (cores, and
	 * findings proven by owner fields). */
	int confirmed_ms;
	/* Across processes: the processes involved (the target among them), and for each of
	 * tids the process it belongs to. NULL/0 for a finding inside the target. */
	pid_t *pids;
	int npids;
	pid_t *tid_pids;
	const char *evidence;	/* inferred findings: what the inference rests on, or NULL */
	struct chain_link *chain;	/* Go blocking chains and cycles, step by step */
	int nchain;
};

/* An open file descriptor of a live target (from /proc/PID/fd and fdinfo). */
struct fdinfo {
	int fd;
	const char *target;	/* "pipe:[123]", "socket:[456]" or a path */
	const char *detail;	/* "tcp 127.0.0.1:8080 -> 127.0.0.1:5555", or NULL */
	int file_fd;		/* the lowest fd open on the same open file (kcmp), else fd */
};

/* Waits that leave the process (live targets; attach/xproc.c reads them from /proc without
 * stopping the other processes): a thread of the target, or of a process its waits lead to,
 * waits for another process. */
struct xedge {
	pid_t pid, tid;		/* the waiting thread */
	pid_t to_pid;		/* the process waited for */
	pid_t to_tid;		/* the thread, when the object names one (a mutex owner); else 0 */
	const char *object;	/* "pipe:[123]", "unix socket", "tcp 127.0.0.1:5000 -> ...", "/tmp/a.lock", "child" */
	const char *relation;	/* what to_pid is to the object: "holds the write end", "holds the lock" */
	const char *evidence;	/* NULL when proven by the kernel or an owner field the waiting
				 * frame vouches for; else why the edge is believed (inferred) */
};

/* A thread of a process in the cross-process picture, as /proc shows it. */
struct xthread {
	pid_t tid;
	char kstate;		/* R S D T Z ... */
	bool blocked;		/* asleep in a system call, the same one at a second look */
	const char *doing;	/* "write() on pipe:[123]", "wait4(-1)", "running", ... */
	long syscall_nr;	/* the call it sleeps in, -1 if none */
	uint64_t arg0;
};

struct xprocess {
	pid_t pid;
	const char *comm;
	bool target;		/* the captured process itself (its threads are in tasks) */
	bool unreadable;	/* another user's and no capability: named, not read */
	bool gone;		/* exited while being read */
	struct xthread *threads;
	int nthreads;
};

/* Phase timings and counts for --stats. */
struct snapshot_stats {
	/* prepare: reading /proc before the freeze; inspect: after the thaw (names, fds,
	 * module files) */
	double t_prepare, t_freeze, t_copy, t_detach, t_inspect, t_unwind, t_symbolize, t_analyze,
		t_write;
	uint64_t bytes_copied;
	size_t frames, distinct_pcs;
};

/* attach --save-core: the core written from the capture's own freeze. */
struct saved_core {
	const char *path;
	const char *size_kind;	/* "mini" or "full" */
	uint64_t size;		/* bytes of the file (compressed, when it is) */
	uint64_t pause_ns;	/* what reading for it added to the target's pause */
	const char *error;	/* why no core was written, or NULL */
};

/* The signal that made a core (pr_cursig of its first thread, details from NT_SIGINFO). */
struct core_signal {
	int signo;
	bool have_info;		/* NT_SIGINFO was there and is about this signal */
	int code;		/* si_code: <= 0 sent by a process (SI_USER, SI_TKILL, ...), > 0 by the kernel */
	bool have_sender;	/* si_pid/si_uid mean something (sent by a process) */
	pid_t sender_pid;
	uid_t sender_uid;
	bool have_addr;		/* si_addr means something (SIGSEGV, SIGBUS, SIGILL, SIGFPE from a fault) */
	uint64_t addr;
	pid_t tid;		/* the thread that took it: the first NT_PRSTATUS */
};

struct snapshot {
	struct arena arena;
	enum source_kind source;
	pid_t pid;
	/* The target's architecture: the host's for attach, the core's for a core. */
	const struct arch *arch;
	/* A target in a pid namespace below chang's (a container): its pid there (NSpid), and
	 * each task's ns_tid. 0 when it shares chang's namespace or it is not known. */
	pid_t ns_pid;
	/* The debuginfod servers symbols/ may ask for missing files (DEBUGINFOD_URLS), NULL when
	 * none (unset, --no-debuginfod, or no client library). */
	const char *debuginfod_urls;
	bool debuginfod_possible;	/* this chang could ask servers (a dynamic build, no --no-debuginfod) */
	/* Every thread of that namespace (of every process in it), its TID there and chang's:
	 * a lock word may name a thread of another process of the container. */
	struct ns_tid_map { pid_t ns, host; } *ns_tids;
	size_t nns_tids;
	const char *executable;	/* path as the target knows it */
	enum libc_kind libc;	/* its C library */
	const char *libc_evidence;	/* what told it ("interpreter /lib/ld-musl-x86_64.so.1"), or why unknown */
	const char *cmdline;
	uint64_t capture_time_ns;	/* CLOCK_REALTIME at freeze (attach) or core mtime */
	uint64_t pause_ns;	/* freeze to last detach; 0 for cores */
	bool job_stopped;	/* the process was in a job-control stop */
	bool not_atomic;	/* --no-stop: threads were read one at a time, without stopping */

	struct task *tasks;	/* OS threads, sorted by tid */
	size_t ntasks;
	/* Go targets: goroutines read from the runtime (kind TASK_GOROUTINE, sorted by goid),
	 * unwound and symbolized by go/ itself; NULL otherwise. When present, groups are
	 * groups of goroutines, as in Go's own profiles. */
	struct task *goroutines;
	size_t ngoroutines;
	const char *go_version;	/* "go1.19.8", or NULL for a native target */
	/* A Go target whose goroutines could not be read (or failed the checks of a version
	 * newer than chang knows): why; its threads are all the report has. NULL otherwise. */
	const char *go_error;
	struct mapping *maps;
	size_t nmaps;
	struct module *modules;
	size_t nmodules;

	struct fdinfo *fds;	/* live only; sorted by fd */
	size_t nfds;

	/* A live Go target's registrations with its epoll instances, read before the freeze
	 * (attach/epollregs.h): go/ finds from them which goroutine waits on which fd. */
	struct epoll_reg { int epfd, fd; uint64_t data; } *epoll_regs;
	size_t nepoll_regs;

	/* Waits across processes (live only): every process the target's waits lead to. */
	struct xprocess *xprocs;
	size_t nxprocs;
	struct xedge *xedges;
	size_t nxedges;
	bool xproc_followed;	/* the edges were looked for (a live capture) */
	double xproc_confirm_ms;	/* how long after the first reading the second look was */

	struct pcsym **pcsyms;	/* distinct PCs, filled by symbols/ */
	size_t npcsyms;

	struct group *groups;
	size_t ngroups;
	struct finding *findings;
	size_t nfindings;

	const char **warnings;
	size_t nwarnings, warnings_cap;
	struct strmap warning_set;	/* the warnings said, to say each once */

	const struct saved_core *saved_core;	/* NULL unless a core was asked for */
	/* Cores: the signal that made it, NULL when none did (gcore, chang's own cores). A
	 * core records no thread states from before the dump: task states are inferred. */
	const struct core_signal *core_signal;

	/* The second look at a live process (commands/second_look.c): how long it watched,
	 * 0 when none was taken, and how many findings it dropped because their threads moved
	 * on meanwhile. */
	int second_look_ms;
	int dropped_findings;
	/* Threads waiting on objects that record no owner (semaphores, bare futexes, glibc's
	 * internal locks): cycles among them cannot be checked. */
	int unchecked_waits;
	/* Threads whose lock records no owner, checked through a likely holder only: a cycle
	 * through a wrong guess would be missed. */
	int inferred_holder_waits;

	struct target *target;	/* memory of the frozen image, for analyzers */
	struct symbolizer *symbolizer;	/* names data addresses for analyzers (symbols/) */
	struct snapshot_stats stats;
};

struct snapshot *snapshot_new(enum source_kind source);
void snapshot_free(struct snapshot *s);
void snapshot_warn(struct snapshot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Replace warning k by text (a warning a later stage found no longer true). */
void snapshot_replace_warning(struct snapshot *s, size_t k, const char *text);
struct task *snapshot_find_task(const struct snapshot *s, pid_t tid);
/* The system call a stopped task (or a core's thread) sits in, from its registers: orig_rax
 * holds its number when one was interrupted (the kernel restarts it on detach, so the task
 * was and will again be blocked in it), -1 otherwise; the arguments from rdi ... r9.
 * Architectures whose registers forget the number (aarch64) go through
 * task_syscall_from_code instead. */
void task_syscall_from_regs(struct task *t);
/* The same where the registers forget the number (aarch64): code holds the 8 bytes from
 * PC-4 (NULL when they could not be read). An `svc #0` at the PC is a call the kernel rewound
 * for a restart: x8 is its number and x0..x5 its arguments. One at PC-4 is a call that had
 * returned: x0 is its result and its first argument is lost; unless in_call_past_svc (a
 * core by qemu-user, which dumps a thread inside a call as it is: PC past the svc, the
 * arguments still in x0..x5) and x0 is no error code. Anything else: no call. */
void task_syscall_from_code(struct task *t, const unsigned char *code, bool in_call_past_svc);
/* A TID read from the target's memory (a lock's owner word, a thread descriptor's tid) is one
 * of the target's own pid namespace: the TID chang knows that thread by (the snapshot's,
 * the host's), or tid itself when the target shares chang's namespace or no thread of
 * that namespace has it (then it names no live thread there, but could name one of
 * chang's namespace: a limit for whoever looks it up outside the snapshot). Every TID from memory goes through this before a task is looked up. */
pid_t snapshot_tid_from_target(const struct snapshot *s, pid_t tid);
struct module *snapshot_module_at(const struct snapshot *s, uint64_t addr);
/* The module a symbolized PC runs in (the PC's own lookup when symbols/ left none, as go/
 * does), and the offset of its symbolized address from the module's load address: what
 * `eu-stack -b` prints and, for a PIE or a shared library, `addr2line -e FILE` takes. */
const struct module *pcsym_module(const struct snapshot *s, const struct pcsym *ps, uint64_t pc,
				  uint64_t *offset);
/* The module's file name without its directory ("libevent-2.1.so.7.1.3"). */
const char *module_basename(const struct module *m);
const struct mapping *snapshot_mapping_at(const struct snapshot *s, uint64_t addr);
/* The process in s->xprocs that thread tid belongs to (not the target), or NULL. */
const struct xprocess *snapshot_foreign_thread(const struct snapshot *s, pid_t tid);
/* The mapping holding addr in an array sorted by start, or NULL. */
const struct mapping *mapping_find(const struct mapping *maps, size_t n, uint64_t addr);
/* Group tasks with identical PC stacks (goroutines when there are any, else threads),
 * largest group first (Go's debug=1 order). */
void snapshot_group(struct snapshot *s);
#endif
