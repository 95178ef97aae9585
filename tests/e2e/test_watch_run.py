"""chang run, chang watch and --no-stop: catching a hang when it happens."""
import os
import signal
import subprocess
import time

from harness import (OUT, Program, TestFailure, build, chang_bin, chang_json, check, run_chang)


def tree_alive(pids):
    return [p for p in pids if os.path.exists("/proc/%d" % p) and
            open("/proc/%d/stat" % p).read().split(") ")[1][0] != "Z"]


def test_run_timeout_reports_and_ends_tree():
    exe = build("abba")
    t0 = time.monotonic()
    r = subprocess.run([chang_bin(), "run", "--timeout=2s", "--", exe], capture_output=True, text=True, timeout=30)
    took = time.monotonic() - t0
    check(r.returncode == 124, "exit %d, want 124: %s" % (r.returncode, r.stderr[-500:]))
    check(took < 6, "took %.1fs" % took)
    check("deadlock#1" in r.stderr and "lock_a" in r.stderr and "lock_b" in r.stderr, r.stderr[:1500])
    check("READY" in r.stdout, "the command's stdout passes through")
    pid = int(r.stdout.split()[1])
    check(not tree_alive([pid]), "process %d of the tree left running" % pid)


def test_run_transparent_exit_status():
    r = subprocess.run([chang_bin(), "run", "--", "true"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stderr == "", "true: %d %r" % (r.returncode, r.stderr))
    r = subprocess.run([chang_bin(), "run", "--timeout=30s", "--", "sh", "-c", "echo out; echo err >&2; exit 7"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 7, "exit %d, want 7" % r.returncode)
    check(r.stdout == "out\n" and r.stderr == "err\n", "stdio passed through: %r %r" % (r.stdout, r.stderr))
    r = subprocess.run([chang_bin(), "run", "--", "sh", "-c", "cat"], input="hello\n", capture_output=True,
                       text=True, timeout=30)
    check(r.stdout == "hello\n", "stdin passed through: %r" % r.stdout)
    r = subprocess.run([chang_bin(), "run", "--", "/nonexistent/cmd"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 127 and r.stderr.startswith("chang: "), "missing command: %d %r" % (r.returncode, r.stderr))


def test_run_forwards_signals():
    p = subprocess.Popen([chang_bin(), "run", "--", "sleep", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    kids = []
    while time.monotonic() < deadline and not kids:
        try:
            kids = open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()
        except OSError:
            pass
        time.sleep(0.01)
    check(kids, "no child started")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)
    check(p.returncode == 128 + signal.SIGTERM, "exit %d, want %d" % (p.returncode, 128 + signal.SIGTERM))


def test_run_finds_hung_child_under_healthy_parent():
    exe = build("abba")
    script = os.path.join(os.path.dirname(exe), "..", "..", "programs", "hang_child.sh")
    script = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "programs", "hang_child.sh"))
    d = os.path.join(OUT, "runsave")
    subprocess.run(["rm", "-rf", d])
    r = subprocess.run([chang_bin(), "run", "--timeout=2s", "--save=" + d, "--", "sh", script, exe],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 124, "exit %d" % r.returncode)
    check("capturing 2 processes" in r.stderr, r.stderr[:300])
    first = r.stderr.split("chang 0.1.0: process", 2)
    check(len(first) >= 2 and "abba" in first[1].splitlines()[0], "the hung child is reported first")
    check("deadlock#1" in r.stderr, "deadlock in the child found")
    saved = sorted(os.listdir(d))
    check(len([f for f in saved if f.endswith(".json")]) == 2 and len([f for f in saved if f.endswith(".pb.gz")]) == 2,
          "saved files: %r" % saved)


def test_watch_reports_deadlock():
    with Program(build("abba"), threads=3) as p:
        p.wait_ready()
        t0 = time.monotonic()
        r = subprocess.run([chang_bin(), "watch", "--pid", str(p.pid), "--interval=200ms", "--after=1s", "--once",
                            "--format=json"], capture_output=True, text=True, timeout=30)
        took = time.monotonic() - t0
        check(r.returncode == 3, "exit %d: %s" % (r.returncode, r.stderr))
        check(took < 5, "took %.1fs" % took)
        check("deadlock" in r.stderr, "decision line: %r" % r.stderr)
        import json
        rep = json.loads(r.stdout)
        check(rep["findings"] and rep["findings"][0]["kind"] == "deadlock", "report has the deadlock")
        p.untouched()


def test_watch_stall_without_cycle():
    # 50 pool workers on a condvar nobody signals: no cycle, no progress
    with Program(build("condvar_many"), args=["20"], threads=21) as p:
        p.wait_ready()
        r = subprocess.run([chang_bin(), "watch", "--pid", str(p.pid), "--interval=200ms", "--after=1s", "--once"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 3, "exit %d: %s" % (r.returncode, r.stderr))
        check("no progress for" in r.stderr and "threads blocked" in r.stderr, r.stderr)
        check("pool-worker" in r.stdout, "full report printed")


def test_watch_quiet_on_healthy_program():
    with Program(build("healthy"), threads=7) as p:
        p.wait_line("READY")
        proc = subprocess.Popen([chang_bin(), "watch", "--pid", str(p.pid), "--interval=250ms", "--after=1s"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(10)
        if proc.poll() is not None:
            raise TestFailure("watch exited %d: %r" % (proc.returncode, proc.communicate()))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        check(out == "", "reported a hang on a healthy program: %r" % out[:500])
        check("chang watch: no progress" not in err and "chang watch: deadlock" not in err, err)
test_watch_quiet_on_healthy_program.timeout = 60


def test_no_stop_beside_another_debugger():
    with Program(build("abba"), threads=3) as p:
        p.wait_ready()
        tr = Program(build("tracer"), args=[str(p.pid)])
        try:
            tr.wait_line("READY")
            rep = chang_json(["attach", "--pid", str(p.pid), "--no-stop"])
            check(rep["atomic"] is False, "not atomic")
            dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
            check(dl and len(dl[0]["tids"]) == 2, "deadlock found with --no-stop: %r" % rep["findings"])
            check(any("take_second" in [f["function"] for f in t["frames"]] for t in rep["threads"]), "stacks read")
        finally:
            tr.cleanup()
