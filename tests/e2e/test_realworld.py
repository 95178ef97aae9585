"""Software nobody here wrote, from Debian, started on 127.0.0.1 and stopped by PID:
memcached with 16 event loops (no finding while healthy, also under a bounded loopback load;
the same wait kinds over three attaches, the timed waits restarted by each attach
included), Debian's python3 in an AB-BA deadlock on two threading.Lock objects (semaphores,
which record no owner: the report says cycles among them could not be checked, never a bare
"No deadlock found."), the same for Rust's std Mutex (a futex word with no owner: never
given one), and, when installed, mariadbd (no finding while healthy, wait kinds
stable over three attaches; never gcore'd: it reserves terabytes of address space).
A package that is not installed is a counted skip (tests/install-deps.sh installs them best
effort)."""
import collections
import os
import shutil
import socket
import subprocess
import threading
import time

from harness import OUT, PROGRAMS, Program, chang_json, check, run_chang, task_states


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_listening_and_settled(p, port, timeout=60.0, what="server"):
    """The server's own signal: it accepts on its port; then its threads sit in the kernel
    and their number stops changing (bounded polling, no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not listening(port):
        check(p.proc.poll() is None, "%s exited %s" % (what, p.proc.returncode))
        check(time.monotonic() < deadline, "%s did not listen on 127.0.0.1:%d" % (what, port))
        time.sleep(0.02)
    stable, last = 0, None
    while stable < 5:
        st = task_states(p.pid)
        ok = st and all(s in "SD" for s in st.values()) and len(st) == last
        stable = stable + 1 if ok else 0
        last = len(st)
        check(time.monotonic() < deadline, "%s's threads did not settle: %r" % (what, st))
        time.sleep(0.02)


def kinds_by_tid(rep):
    return {t["tid"]: ((t["wait"] or {}).get("kind") or t["state"], (t["wait"] or {}).get("syscall"))
            for t in rep["threads"]}


def no_bare_restarts(rep, what):
    bare = [t["tid"] for t in rep["threads"] if (t["wait"] or {}).get("syscall") == "restart_syscall"]
    check(not bare, "%s: threads left as restart_syscall: %r" % (what, bare))


def three_looks(pid, what, extra=()):
    looks = []
    for i in range(3):
        rep = chang_json(["attach", "--pid", str(pid)] + list(extra), timeout=120)
        check(rep["findings"] == [], "%s, attach #%d, healthy: %r" % (what, i + 1, [f["summary"] for f in rep["findings"]]))
        no_bare_restarts(rep, "%s, attach #%d" % (what, i + 1))
        looks.append(kinds_by_tid(rep))
    return looks


def memcached_load(port, stop, errors):
    """A bounded loopback load: set and get small items over a few connections."""
    try:
        conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
        n = 0
        while not stop.is_set():
            for c in conns:
                key = b"k%d" % (n % 100)
                c.sendall(b"set " + key + b" 0 0 5\r\nhello\r\nget " + key + b"\r\n")
                buf = b""
                while not buf.endswith(b"END\r\n"):
                    chunk = c.recv(4096)
                    if not chunk:
                        raise ConnectionError("memcached closed the connection")
                    buf += chunk
                n += 1
        for c in conns:
            c.close()
    except Exception as e:  # reported by the test
        errors.append(e)


def test_memcached_16_event_loops():
    exe = shutil.which("memcached") or "/usr/bin/memcached"
    if not os.path.exists(exe):
        return "skip: memcached is not installed (tests/install-deps.sh installs it, best effort)"
    port = free_port()
    args = ["-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "16", "-m", "16"]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    with Program(exe, args) as p:
        wait_listening_and_settled(p, port, what="memcached")
        looks = three_looks(p.pid, "memcached")
        check(looks[0] == looks[1] == looks[2], "memcached's waits differ between attaches: %r" % looks)
        kinds = collections.Counter(k for k, _ in looks[0].values())
        check(kinds["epoll"] >= 17, "memcached's event loops: %r" % kinds)
        rep = chang_json(["attach", "--pid", str(p.pid)])
        epfds = [t["wait"]["fd"] for t in rep["threads"] if t["wait"] and t["wait"]["kind"] == "epoll"]
        check(len(set(epfds)) == len(epfds), "one epoll instance per loop: %r" % epfds)
        check(rep["unchecked_waits"] == 0, "unchecked waits in an idle memcached: %r" % rep["unchecked_waits"])
        text = run_chang(["attach", "--pid", str(p.pid)]).stdout
        check("No deadlock found.\n" in text and "mass-blocking" not in text, text[:1500])
        # under load: stacks move, only the absence of false findings is asserted
        stop, errors = threading.Event(), []
        load = threading.Thread(target=memcached_load, args=(port, stop, errors))
        load.start()
        try:
            for _ in range(3):
                rep = chang_json(["attach", "--pid", str(p.pid)])
                check(rep["findings"] == [], "memcached under load: %r" % [f["summary"] for f in rep["findings"]])
        finally:
            stop.set()
            load.join(30)
        check(not errors, "the load failed: %r" % errors)


test_memcached_16_event_loops.timeout = 240


def test_python_threading_lock_abba():
    py = "/usr/bin/python3"
    if not os.path.exists(py):
        return "skip: Debian's python3 is not installed"
    with Program(py, [os.path.join(PROGRAMS, "py_abba.py")], threads=3) as p:
        p.wait_ready(timeout=30)
        looks = []
        for i in range(3):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            looks.append(kinds_by_tid(rep))
            # semaphores when glibc's frames have names (libc6-dbg: __new_sem_wait_slow64),
            # else bare futexes; either way no owner is recorded
            named = not any("/libc.so" in m for m in rep["symbols"]["modules_without_symbols"])
            sems = [t for t in rep["threads"] if t["wait"] and t["wait"]["kind"] == ("semaphore" if named else "futex")]
            check(len(sems) == 3 and all(t["wait"]["owner_tid"] is None for t in sems),
                  "attach #%d: the two lockers and main's join wait on semaphores: %r" % (i + 1, looks[-1]))
            check(rep["unchecked_waits"] == 3, "unchecked_waits %r" % rep["unchecked_waits"])
            check(not any(f["kind"] == "deadlock" for f in rep["findings"]), "a deadlock claimed from no owner")
        check(looks[0] == looks[1] == looks[2], "python's waits differ between attaches: %r" % looks)
        r = run_chang(["attach", "--pid", str(p.pid), "--exit-code"], check_rc=False)
        check(r.returncode == 0, "exit status %d: no owner proves this deadlock" % r.returncode)
        check("No deadlock found.\n" not in r.stdout, "a bare 'No deadlock found.' over semaphores:\n" + r.stdout[:1500])
        check("3 threads wait on objects that record no owner" in r.stdout and "could not be checked" in r.stdout,
              r.stdout[:1500])


def test_rust_std_mutex_abba_no_false_owner():
    rustc = shutil.which("rustc")
    if not rustc:
        return "skip: no rustc (package rustc)"
    out = os.path.join(OUT, "bin", "rust_abba")
    src = os.path.join(PROGRAMS, "rust_abba.rs")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        r = subprocess.run([rustc, "-g", "-O", src, "-o", out], capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, "rustc failed: %s" % r.stderr[-1500:])
    with Program(out, threads=3) as p:
        p.wait_ready(timeout=30)
        rep = chang_json(["attach", "--pid", str(p.pid)])
        lockers = [t for t in rep["threads"] if t["name"] in ("ab", "ba")]
        # std's lock_contended says it is a Rust Mutex, which records no owner: none is read
        # from its word; each thread's guard on its stack makes it the other's likely holder
        check(len(lockers) == 2 and all(t["wait"]["kind"] == "mutex" and t["wait"]["owner_tid"] is None
                                        and "Rust std::sync::Mutex" in t["wait"]["detail"]
                                        for t in lockers), "Rust's mutex read as something it is not: %r"
              % [t["wait"] for t in lockers])
        kinds = [(f["kind"], f["inferred"]) for f in rep["findings"]]
        check(kinds == [("deadlock", True)], "findings %r" % rep["findings"])
        check(sorted(rep["findings"][0]["tids"]) == sorted(t["tid"] for t in lockers), rep["findings"][0])
        r = run_chang(["attach", "--pid", str(p.pid)])
        check("deadlock#1 (inferred): inferred deadlock" in r.stdout and "likely held by" in r.stdout,
              r.stdout[:1200])


test_rust_std_mutex_abba_no_false_owner.timeout = 400


def mariadb_binaries():
    d = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    i = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
    return (d, i) if os.path.exists(d) and os.path.exists(i) else (None, None)


def test_mariadb_healthy_three_attaches():
    mariadbd, install_db = mariadb_binaries()
    if not mariadbd:
        return "skip: mariadb-server is not installed (tests/install-deps.sh installs it, best effort)"
    base = os.path.join(OUT, "run", "mariadb-%d" % time.monotonic_ns())
    data = os.path.join(base, "data")
    os.makedirs(data)
    user = ["--user=root"] if os.geteuid() == 0 else []
    r = subprocess.run([install_db, "--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
                        "--skip-test-db"] + user, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        check(False, "mariadb-install-db failed: %s" % (r.stdout + r.stderr)[-1500:])
    port = free_port()
    args = ["--no-defaults", "--datadir=" + data, "--socket=" + os.path.join(base, "sock"),
            "--pid-file=" + os.path.join(base, "pid"), "--port=%d" % port, "--bind-address=127.0.0.1",
            "--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--skip-log-bin",
            "--log-error=" + os.path.join(base, "error.log")] + user
    try:
        with Program(mariadbd, args, cwd=base) as p:
            wait_listening_and_settled(p, port, timeout=120, what="mariadbd")
            looks = three_looks(p.pid, "mariadbd")
            # background threads wake on timers; a thread caught between two waits may read
            # otherwise, but no more than that, and never as a bare restart_syscall
            same = [tid for tid in looks[0] if looks[0][tid] == looks[1].get(tid) == looks[2].get(tid)]
            check(len(same) >= len(looks[0]) - 2, "mariadbd's waits differ between attaches: %r" % looks)
    finally:
        shutil.rmtree(base, ignore_errors=True)


test_mariadb_healthy_three_attaches.timeout = 400
