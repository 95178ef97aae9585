"""chang never harms the target: no lost signal, job-control stops kept, nothing left
traced or stopped, whatever happens to chang or to the target during the freeze."""
import os
import random
import signal
import subprocess
import threading
import time

from harness import (Program, TestFailure, build, chang_bin, chang_json, check, run_chang,
                     task_states)


def test_realtime_signals_not_lost():
    with Program(build("sigcount"), args=["4"], threads=5) as p:
        p.wait_ready()
        sent = 0
        stop = threading.Event()

        def sender():
            nonlocal sent
            while sent < 200 and not stop.is_set():
                os.kill(p.pid, signal.SIGRTMIN + 1)
                sent += 1
                time.sleep(0.0005)

        th = threading.Thread(target=sender)
        th.start()
        for _ in range(8):
            chang_json(["attach", "--pid", str(p.pid)])
        th.join()
        check(sent == 200, "sent %d" % sent)
        deadline = time.monotonic() + 10
        count = -1
        while time.monotonic() < deadline:
            os.kill(p.pid, signal.SIGUSR1)
            count = int(p.wait_line("COUNT", timeout=5).split()[1])
            if count == 200:
                break
            time.sleep(0.01)
        check(count == 200, "target handled %d of 200 real-time signals" % count)
        p.untouched()
test_realtime_signals_not_lost.timeout = 120


def test_threads_born_and_dying_during_freeze():
    with Program(build("churn")) as p:
        p.wait_line("READY")
        for _ in range(10):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            check(rep["thread_count"] >= 11, "threads %d" % rep["thread_count"])
            check(len([t for t in rep["threads"] if t["frames"]]) >= 9, "sleepers unwound")
            p.untouched()


def test_process_exits_during_attach():
    exe = build("churn")
    for i in range(10):
        with Program(exe) as p:
            p.wait_line("READY")
            proc = subprocess.Popen([chang_bin(), "attach", "--pid", str(p.pid), "--format=json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(random.uniform(0, 0.004))
            os.kill(p.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=30)
            check(proc.returncode in (0, 1), "chang exit %d: %s" % (proc.returncode, err))
            if proc.returncode == 1:
                check(err.startswith("chang: ") and err.count("\n") == 1, "one error line: %r" % err)


def test_signals_to_chang_during_freeze():
    with Program(build("condvar_many"), args=["2000"], threads=2001) as p:
        p.wait_ready(timeout=30)
        rnd = random.Random(7)
        for i in range(50):
            proc = subprocess.Popen([chang_bin(), "attach", "--pid", str(p.pid), "--format=json"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rnd.uniform(0, 0.03))
            proc.send_signal(rnd.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP]))
            proc.wait(timeout=30)
            p.untouched()
test_signals_to_chang_during_freeze.timeout = 300


def test_thread_that_never_stops():
    with Program(build("vfork_hold"), threads=2) as p:
        p.wait_line("READY")
        # wait for the vfork child to exist and the parent to sit in vfork
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()
            if kids and task_states(p.pid).get(p.pid) == "D":
                break
            time.sleep(0.005)
        t0 = time.monotonic()
        r = run_chang(["attach", "--pid", str(p.pid), "--timeout=500", "--format=json"], check_rc=False)
        took = time.monotonic() - t0
        check(took < 10, "chang took %.1fs" % took)
        check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        check("did not stop" in r.stdout, "the unstoppable thread is not named")
        with open("/proc/%d/status" % p.pid) as f:
            check("TracerPid:\t0" in f.read(), "left traced")
        for k in kids:
            os.kill(int(k), signal.SIGKILL)


def test_already_traced():
    with Program(build("abba"), threads=3) as p:
        p.wait_ready()
        tr = Program(build("tracer"), args=[str(p.pid)])
        try:
            tr.wait_line("READY")
            r = run_chang(["attach", "--pid", str(p.pid)], check_rc=False)
            check(r.returncode == 1, "exit %d" % r.returncode)
            check("already traced by process %d" % tr.pid in r.stderr, r.stderr)
        finally:
            tr.cleanup()


def test_permission_denied_explained():
    if os.getuid() != 0:
        return "skip: needs root to switch to another user"
    with Program(build("abba"), threads=3) as p:
        p.wait_ready()
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", chang_bin(),
                            "attach", "--pid", str(p.pid)], capture_output=True, text=True, timeout=30)
        check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr))
        check("permission denied" in r.stderr and "uid" in r.stderr and "CAP_SYS_PTRACE" in r.stderr, r.stderr)
        p.untouched()


def test_zombie_leader():
    # main() called pthread_exit: the leader is a zombie without memory, its threads run on
    with Program(build("zombie_leader"), threads=3) as p:
        p.wait_line("READY")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st = task_states(p.pid)
            if st.get(p.pid) == "Z" and sum(1 for s in st.values() if s == "S") == 2:
                break
            time.sleep(0.005)
        t0 = time.monotonic()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        check(time.monotonic() - t0 < 5, "slow on a zombie leader")
        states = {t["tid"]: t["state"] for t in rep["threads"]}
        check(states.get(p.pid) == "zombie", "leader state %r" % states)
        workers = [t for t in rep["threads"] if t["tid"] != p.pid]
        check(len(workers) == 2 and all(t["state"] == "condvar" for t in workers), "workers %r" % states)
        check(all("worker" in [f["function"] for f in t["frames"]] for t in workers), "worker stacks unwound")
        with open("/proc/%d/status" % p.pid) as f:
            check("TracerPid:\t0" in f.read(), "left traced")
