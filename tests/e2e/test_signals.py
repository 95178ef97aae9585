"""Signal frames (tests/programs/an_sighandler.c): the frame a handler returns into is a
frame of its own, "<signal handler called> (SIGHUP)" (the signal read from the kernel's
siginfo on the stack), in every format; a lock re-entered from the handler is a
self-deadlock that says so; a handler blocked in pthread_mutex_lock on a lock another thread
holds is a signal-unsafe finding. Live and from gcore cores."""
import os
import shutil
import subprocess

from harness import OUT, Program, build, chang_json, check, functions, have_tool, run_chang

SIGFRAME = "<signal handler called> (SIGHUP)"


def main_thread(rep, pid):
    m = [t for t in rep["threads"] if t["tid"] == pid]
    check(len(m) == 1, "main thread %d not in the report" % pid)
    return m[0]


def check_frames(rep, pid):
    fns = functions(main_thread(rep, pid))
    check(SIGFRAME in fns, "signal frame in %r" % fns)
    i = fns.index(SIGFRAME)
    check("log_line" in fns[:i] and "raise" in fns[i + 1:], "handler above, interrupted code below: %r" % fns)


def both(mode, checker):
    binary = build("an_sighandler")
    with Program(binary, args=[mode] if mode else []) as p:
        p.wait_ready(timeout=20)
        rep = chang_json(["attach", "--pid", str(p.pid)])
        checker(rep, p)
        p.untouched()
        if have_tool("gcore"):
            core = p.gcore()
            checker(chang_json(["core", binary, core]), p)
            os.unlink(core)


def test_handler_reenters_lock():
    def checker(rep, p):
        check_frames(rep, p.pid)
        sd = [f for f in rep["findings"] if f["kind"] == "self-deadlock"]
        check(len(sd) == 1 and sd[0]["tids"] == [p.pid], "self-deadlock: %r" % rep["findings"])
        check("SIGHUP handler re-entered it" in sd[0]["summary"], sd[0]["summary"])
        check(sd[0]["locks"][0]["symbol"] == "log_lock", sd[0]["locks"])
    both(None, checker)


def test_handler_blocked_in_unsafe_function():
    def checker(rep, p):
        check_frames(rep, p.pid)
        su = [f for f in rep["findings"] if f["kind"] == "signal-unsafe"]
        check(len(su) == 1 and su[0]["tids"] == [p.pid], "signal-unsafe: %r" % rep["findings"])
        check("pthread_mutex_lock" in su[0]["summary"] and "SIGHUP handler" in su[0]["summary"], su[0]["summary"])
        check(not [f for f in rep["findings"] if f["kind"] == "self-deadlock"], "no self-deadlock: %r" % rep["findings"])
    both("other", checker)


def test_signal_frame_in_every_format():
    binary = build("an_sighandler")
    with Program(binary) as p:
        p.wait_ready(timeout=20)
        text = run_chang(["attach", "--pid", str(p.pid), "--format=text"]).stdout
        check("at " + SIGFRAME in text, text[:2000])
        threads = run_chang(["attach", "--pid", str(p.pid), "--format=threads"]).stdout
        check(SIGFRAME in threads, threads[:2000])
        gor = run_chang(["attach", "--pid", str(p.pid), "--format=goroutine"]).stdout
        check("\t" + SIGFRAME in gor, gor[:2000])
        prof = os.path.join(OUT, "sig-%d.pprof" % p.pid)
        run_chang(["attach", "--pid", str(p.pid), "--format=pprof", "-o", prof])
        go = shutil.which("go")
        if go:
            # -raw: -traces simplifies names as C++ ones, dropping <...> and (...)
            r = subprocess.run([go, "tool", "pprof", "-raw", prof], capture_output=True, text=True, timeout=120)
            check(SIGFRAME in r.stdout, "pprof functions: %s" % r.stdout[:3000])
        os.unlink(prof)
        if not go:
            return "skip: go tool pprof not available to read the profile (text, threads, goroutine checked)"


test_signal_frame_in_every_format.timeout = 180
