#include "report/signal.h"
#include <signal.h>

static const char *const names[] = {
	[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
	[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
	[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM", [SIGSTKFLT] = "SIGSTKFLT",
	[SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
	[SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU",
	[SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
	[SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR", [SIGSYS] = "SIGSYS",
};

const char *signal_name(int signo)
{
	static char buf[24];
	if (signo > 0 && (size_t)signo < sizeof(names) / sizeof(names[0]) && names[signo])
		return names[signo];
	snprintf(buf, sizeof(buf), "signal %d", signo);
	return buf;
}

const char *signal_code_name(int signo, int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TIMER: return "SI_TIMER";
	case SI_MESGQ: return "SI_MESGQ";
	case SI_ASYNCIO: return "SI_ASYNCIO";
	case SI_SIGIO: return "SI_SIGIO";
	case SI_TKILL: return "SI_TKILL";
	}
	static const char *const segv[] = { NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR",
					    "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR",
					    "SEGV_MTESERR" };
	static const char *const bus[] = { NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR",
					   "BUS_MCEERR_AO" };
	static const char *const ill[] = { NULL, "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP",
					   "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK" };
	static const char *const fpe[] = { NULL, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
					   "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB" };
#define PICK(v) (code > 0 && (size_t)code < sizeof(v) / sizeof(v[0]) ? v[code] : NULL)
	switch (signo) {
	case SIGSEGV: return PICK(segv);
	case SIGBUS: return PICK(bus);
	case SIGILL: return PICK(ill);
	case SIGFPE: return PICK(fpe);
	}
#undef PICK
	return NULL;
}

/* What si_code says about where the signal came from. */
static const char *how_sent(int code)
{
	switch (code) {
	case SI_USER: return "with kill()";
	case SI_TKILL: return "with tgkill() (abort() and raise() send this way)";
	case SI_QUEUE: return "with sigqueue()";
	}
	return "";
}

void signal_text(FILE *out, const struct snapshot *s)
{
	const struct core_signal *cs = s->core_signal;
	if (s->source != SOURCE_CORE)
		return;
	if (cs) {
		fprintf(out, "signal: %s", signal_name(cs->signo));
		const char *cn = cs->have_info ? signal_code_name(cs->signo, cs->code) : NULL;
		if (cs->have_sender && cs->sender_pid == s->pid)
			fprintf(out, " sent by the process itself %s", how_sent(cs->code));
		else if (cs->have_sender)
			fprintf(out, " sent by process %d (uid %u) %s", (int)cs->sender_pid, (unsigned)cs->sender_uid,
				how_sent(cs->code));
		else if (cs->have_addr)
			fprintf(out, " (%s at address 0x%llx)", cn ? cn : "fault", (unsigned long long)cs->addr);
		else if (cn)
			fprintf(out, " (%s)", cn);
		const struct task *t = snapshot_find_task(s, cs->tid);
		fprintf(out, "; taken by thread %d", (int)cs->tid);
		if (t && t->name)
			fprintf(out, " \"%s\"", t->name);
		fputc('\n', out);
	}
	fprintf(out, "note: a core records no thread states; each thread's state below is inferred "
		"from its registers and stack\n");
}
