"""Waits across processes (tests/programs/xproc.c): a parent and its child hang on each other
through a pipe and waitpid, two flocks, a unix socket pair, a TCP connection; chang attached
to the parent follows the waits into the child without stopping it and reports one
deadlock naming both processes. Healthy pairs (a pipeline moving data, a server idle in
accept) give no cross-process finding, on each of three looks."""
import os
import shutil
import subprocess
import time

from harness import OUT, Program, build, check, chang_bin, chang_json, task_states


def start(mode, *args):
    p = Program(build("xproc"), args=(mode,) + args, threads=1)
    line = p.wait_line("READY", timeout=20)
    child = int(line.split()[2])
    return p, child


def wait_blocked(pids, timeout=10.0):
    """Until every thread of pids sleeps in the kernel (the program said READY just before)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(st and all(s in "SD" for s in st.values()) for st in (task_states(p) for p in pids)):
            return
        time.sleep(0.005)
    check(False, "processes %r did not block: %r" % (pids, [task_states(p) for p in pids]))


def xdeadlocks(rep):
    return [f for f in rep["findings"] if f["kind"] == "deadlock" and f.get("cross_process")]


def check_cycle(mode, *args, relation):
    with_dir = None
    if mode == "flock":
        with_dir = os.path.join(OUT, "xproc-flock")
        shutil.rmtree(with_dir, ignore_errors=True)
        os.makedirs(with_dir)
        args = (with_dir,)
    p, child = start(mode, *args)
    with p:
        wait_blocked([p.pid, child])
        rep = chang_json(["attach", "--pid", str(p.pid)])
        p.untouched()
        d = xdeadlocks(rep)
        check(len(d) == 1, "%s: want one cross-process deadlock, got %r" % (mode, [f["summary"] for f in rep["findings"]]))
        f = d[0]
        check(sorted(f["pids"]) == sorted([p.pid, child]), "%s: pids %r, want %r" % (mode, f["pids"], [p.pid, child]))
        check({(m["pid"], m["tid"]) for m in f["members"]} == {(p.pid, p.pid), (child, child)},
              "%s: members %r" % (mode, f["members"]))
        check("%d/%d" % (child, child) in f["summary"] and "%d/%d" % (p.pid, p.pid) in f["summary"],
              "%s: processes not named: %s" % (mode, f["summary"]))
        edges = rep["cross_process"]["edges"]
        check(any(e["relation"].startswith(relation) for e in edges), "%s: edges %r" % (mode, edges))
        # the child was read, not stopped
        check(all(s not in "tT" for s in task_states(child).values()), "%s: child left stopped" % mode)
        txt = subprocess.run([chang_bin(), "attach", "--pid", str(p.pid)], capture_output=True, text=True,
                             timeout=60).stdout
        check("deadlock#1 (across processes)" in txt and "No deadlock found" not in txt, "%s text:\n%s" % (mode, txt[:1500]))
        dot = subprocess.run([chang_bin(), "attach", "--pid", str(p.pid), "--format=dot"], capture_output=True,
                             text=True, timeout=60).stdout
        check("cluster_p%d" % child in dot and "cluster_p%d" % p.pid in dot, "%s: no cluster per process" % mode)
        if shutil.which("dot"):
            r = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
            check(r.returncode == 0 and "<svg" in r.stdout, "%s: graphviz: %s" % (mode, r.stderr[-300:]))
    if with_dir:
        shutil.rmtree(with_dir, ignore_errors=True)


def test_xproc_pipe_vs_waitpid():
    check_cycle("pipe-waitpid", relation="is its child")


def test_xproc_flock_cycle():
    check_cycle("flock", relation="holds the lock on")


def test_xproc_flock_wait_kind():
    """A thread in flock() waits for a file lock (named with its file), not a bare syscall."""
    d = os.path.join(OUT, "xproc-flock-kind")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    p, child = start("flock", d)
    with p:
        wait_blocked([p.pid, child])
        rep = chang_json(["attach", "--pid", str(p.pid)])
        t = rep["threads"][0]
        check(t["state"] == "filelock" and t["wait"]["fd_target"].endswith("b.lock"), "thread %r" % t["wait"])
    shutil.rmtree(d, ignore_errors=True)


def test_xproc_unix_socket_mutual_read():
    check_cycle("unix", relation="holds the other end of")


def test_xproc_tcp_mutual_read():
    check_cycle("tcp", relation="holds the other end of")


def test_xproc_healthy_pairs():
    for mode in ("pipeline", "accept"):
        p, child = start(mode)
        with p:
            for look in range(3):
                rep = chang_json(["attach", "--pid", str(p.pid)])
                d = xdeadlocks(rep)
                check(not d and not [f for f in rep["findings"] if f.get("cross_process")],
                      "%s look %d: false finding %r" % (mode, look, [f["summary"] for f in rep["findings"]]))
                p.untouched()


def test_xproc_through_run():
    """chang run on the pair: the report of the tree names the cross-process deadlock."""
    r = subprocess.run([chang_bin(), "run", "--timeout=1s", "--", build("xproc"), "pipe-waitpid"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 124, "run: %d %s" % (r.returncode, r.stderr[-800:]))
    check("(across processes)" in r.stderr and "is its child" in r.stderr, "run report:\n%s" % r.stderr[:2000])


def test_xproc_peer_exits_midway():
    """The child killed while chang looks: never a deadlock with a dead process, and if the
    parent ends too (its waitpid returns), one line on stderr and exit 1."""
    p, child = start("pipe-waitpid")
    with p:
        wait_blocked([p.pid, child])
        os.kill(child, 9)
        r = subprocess.run([chang_bin(), "attach", "--pid", str(p.pid), "--format=json"], capture_output=True,
                           text=True, timeout=60)
        if r.returncode == 0:
            import json
            rep = json.loads(r.stdout)
            check(not xdeadlocks(rep), "a deadlock with a dead child: %r" % [f["summary"] for f in rep["findings"]])
        else:
            check(r.returncode == 1 and r.stderr.count("\n") == 1, "exit %d: %r" % (r.returncode, r.stderr))


def test_xproc_process_shared_mutex_cycle():
    """Two process-shared mutexes taken in opposite orders by a parent and its child: the
    parent's lock names the child's thread as owner (proven); the child's side is read
    without stopping it, its futex word's shape giving the owner (inferred, with evidence)."""
    p, child = start("pshared")
    with p:
        wait_blocked([p.pid, child])
        rep = chang_json(["attach", "--pid", str(p.pid)])
        d = xdeadlocks(rep)
        check(len(d) == 1 and sorted(d[0]["pids"]) == sorted([p.pid, child]),
              "pshared: %r" % [f["summary"] for f in rep["findings"]])
        check(d[0]["inferred"] and "process-shared" in d[0].get("evidence", ""), "not labelled inferred: %r" % d[0])
        edges = rep["cross_process"]["edges"]
        check(any(e["pid"] == p.pid and e["to_tid"] == child and not e["inferred"] for e in edges) and
              any(e["pid"] == child and e["to_tid"] == p.pid and e["inferred"] for e in edges), "edges %r" % edges)


def test_xproc_lock_held_across_fork():
    """A child waits for a mutex that another thread of its parent held when it forked: the
    owner is named with its process, alive, never called exited."""
    p, child = start("fork-lock")
    with p:
        wait_blocked([child])
        rep = chang_json(["attach", "--pid", str(child)])
        kinds = [f["kind"] for f in rep["findings"]]
        check("abandoned-lock" not in kinds, "called abandoned: %r" % [f["summary"] for f in rep["findings"]])
        chains = [f for f in rep["findings"] if f["kind"] == "blocking-chain" and f.get("cross_process")]
        check(len(chains) == 1 and p.pid in chains[0]["pids"], "findings %r" % [f["summary"] for f in rep["findings"]])
        s = chains[0]["summary"]
        check("of process %d" % p.pid in s and "parent" in s and "exited" not in s, s)


def test_xproc_peer_of_another_user_is_named():
    """chang running as user daemon, the child as nobody: the child is named as unreadable
    with its pid, and no bare "No deadlock found." is said over it."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return "skip: needs root (to start the pair as two users) and setpriv"
    p, child = start("other-user")
    with p:
        wait_blocked([p.pid, child])
        as_daemon = ["setpriv", "--reuid=1", "--regid=1", "--clear-groups"]
        env = dict(os.environ, CHANG_CACHE_DIR="")
        r = subprocess.run(as_daemon + [chang_bin(), "attach", "--pid", str(p.pid), "--format=json"],
                           capture_output=True, text=True, timeout=60, env=env)
        if r.returncode != 0 and "ermission denied" in r.stderr and not os.access(build("xproc"), os.X_OK, effective_ids=False):
            return "skip: the test program's directory is not readable by user daemon here"
        check(r.returncode == 0, "as daemon: %d %r" % (r.returncode, r.stderr))
        import json
        rep = json.loads(r.stdout)
        procs = {x["pid"]: x for x in rep["cross_process"]["processes"]}
        check(child in procs and procs[child]["unreadable"], "child not named unreadable: %r" % procs)
        check(any(str(child) in w and "could not be read" in w for w in rep["warnings"]), "warnings %r" % rep["warnings"])
        txt = subprocess.run(as_daemon + [chang_bin(), "attach", "--pid", str(p.pid)], capture_output=True,
                             text=True, timeout=60, env=env).stdout
        check("No deadlock found.\n" not in txt and "Process %d" % child in txt, "text:\n%s" % txt[:1500])


def test_xproc_several_processes_one_capture():
    """attach --pid A --pid B and --tree: one capture of both processes (each report has its
    stacks), JSON with processes and the cross-process finding once at the top."""
    p, child = start("pipe-waitpid")
    with p:
        wait_blocked([p.pid, child])
        import json
        for args in (["--pid", str(p.pid), "--pid", str(child)], ["--pid", str(p.pid), "--tree"]):
            r = subprocess.run([chang_bin(), "attach"] + args + ["--format=json"], capture_output=True, text=True,
                               timeout=60)
            check(r.returncode == 0, "%r: %d %s" % (args, r.returncode, r.stderr))
            rep = json.loads(r.stdout)
            check(sorted(x["pid"] for x in rep["processes"]) == sorted([p.pid, child]), "%r: processes" % args)
            check(all(x["threads"] and x["threads"][0]["frames"] for x in rep["processes"]), "%r: stacks" % args)
            top = [f for f in rep["findings"] if f["kind"] == "deadlock" and f["cross_process"]]
            check(len(top) == 1 and sorted(top[0]["pids"]) == sorted([p.pid, child]), "%r: findings %r" % (args, rep["findings"]))
            for tid in (p.pid, child):
                check(all(s not in "tT" for s in task_states(tid).values()), "%d left stopped" % tid)
        txt = subprocess.run([chang_bin(), "attach", "--pid", str(p.pid), "--tree"], capture_output=True, text=True,
                             timeout=60).stdout
        check(txt.startswith("chang: 2 processes, frozen, copied and thawed together"), txt[:300])
        # pprof: one profile per process into a directory, each sample labelled with its pid
        d = os.path.join(OUT, "xproc-pprof")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        r = subprocess.run([chang_bin(), "attach", "--pid", str(p.pid), "--tree", "--format=pprof", "-o", d],
                           capture_output=True, text=True, timeout=60)
        files = sorted(os.listdir(d))
        check(r.returncode == 0 and len(files) == 2, "pprof: %d %r %s" % (r.returncode, files, r.stderr))
        if shutil.which("go"):
            tags = subprocess.run(["go", "tool", "pprof", "-tags"] + [os.path.join(d, f) for f in files],
                                  capture_output=True, text=True, timeout=120).stdout
            check(str(p.pid) in tags and str(child) in tags and "pid:" in tags, "pprof tags:\n%s" % tags[:800])
        shutil.rmtree(d, ignore_errors=True)
        r = subprocess.run([chang_bin(), "attach", "--pid", str(p.pid), "--tree", "--format=pprof"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "-o DIR" in r.stderr, "pprof to stdout for several: %r" % r.stderr)
        r = subprocess.run([chang_bin(), "attach", "--pid", str(p.pid), "--tree", "--save-core", os.path.join(OUT, "never-written.core")],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "one process" in r.stderr, "save-core with --tree: %r" % r.stderr)


def test_network_peer_not_answering():
    """Six threads wait for answers from one upstream (the child) that never answers: one
    finding naming the peer and its process; a server's own client connections (each a
    different remote port) never make one."""
    p, child = start("upstream")
    with p:
        wait_blocked([child])
        rep = chang_json(["attach", "--pid", str(p.pid)])
        net = [f for f in rep["findings"] if f["kind"] == "mass-blocking" and "same peer" in f["summary"]]
        check(len(net) == 1 and net[0]["count"] == 6, "findings %r" % [f["summary"] for f in rep["findings"]])
        check("process %d" % child in net[0]["summary"] and net[0]["confirmed_ms"], net[0])
        # the upstream itself holds six connections from six different client ports
        rep = chang_json(["attach", "--pid", str(child)])
        check(not [f for f in rep["findings"] if "same peer" in f["summary"]], "upstream: %r" % rep["findings"])
