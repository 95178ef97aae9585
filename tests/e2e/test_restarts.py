"""Waits that an earlier stop restarted (restart_syscall after a timed futex wait, nanosleep,
clock_nanosleep or poll; select, pselect6 and ppoll re-run with their remaining timeout;
epoll_wait returning EINTR into the program's retry loop) decode as the wait they continue,
on every look: three attaches in a row, --no-stop, a gcore core, a --save-core mini core, and
chang watch's samples.
The program is tests/programs/restarted_waits.c: one named thread per kind of wait."""
import os
import subprocess

from harness import Program, build, chang_bin, chang_json, check, run_chang

# thread name -> (wait kind, syscall, object key); the key is checked against what the
# program printed (OBJ lines): the lock's address, or the fd it waits on
EXPECT = {
    "cond": ("condvar", "futex", "timed_cv"),
    "mutex": ("mutex", "futex", "timed_mu"),
    "poll": ("poll", "poll", "pipe"),
    "ppoll": ("poll", "ppoll", "pipe"),
    "nanosleep": ("sleep", "clock_nanosleep", None),
    "clocksleep": ("sleep", "clock_nanosleep", None),
    "select": ("select", "pselect6", None),
    "pselect": ("select", "pselect6", None),
    "epoll": ("epoll", "epoll_wait", "epoll"),
}
RESTARTED = {"cond", "mutex", "poll", "nanosleep", "clocksleep"}
THREADS = len(EXPECT) + 1


def start():
    p = Program(build("restarted_waits"), threads=THREADS)
    p.wait_ready()
    objs = {}
    for line in p.lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "OBJ":
            objs[parts[1]] = parts[2]
    return p, objs


def waits(rep):
    """name -> (kind, syscall, address or fd, owner, restarted), by thread name when the
    report has names, else by the thread's own function (cores carry no names)."""
    fn_to_name = {"cond_waiter": "cond", "mutex_waiter": "mutex", "poller": "poll", "ppoller": "ppoll",
                  "sleeper": "nanosleep", "clock_sleeper": "clocksleep", "selecter": "select",
                  "pselecter": "pselect", "epoller": "epoll"}
    out = {}
    for t in rep["threads"]:
        name = t["name"]
        if name not in EXPECT:
            fns = [f["function"] for f in t["frames"]]
            name = next((fn_to_name[f] for f in fns if f in fn_to_name), name)
        w = t["wait"] or {}
        out[name] = (w.get("kind"), w.get("syscall"), w.get("address") or w.get("fd"), w.get("owner_tid"),
                     w.get("restarted"))
    return out


def libc_named(rep):
    """Whether glibc's own functions have names here (libc6-dbg): without them the
    timedlock's internal frames are unnamed and its wait is honestly a bare futex."""
    return not any("/libc.so" in m for m in rep.get("symbols", {}).get("modules_without_symbols", []))


def check_waits(got, objs, pid, source, restarted, named=True):
    for name, (kind, sc, key) in EXPECT.items():
        check(name in got, "%s: thread %s missing: %r" % (source, name, sorted(got)))
        k, s, obj, owner, rs = got[name]
        if name == "mutex" and not named:
            check((k, s, obj, owner) == ("futex", "futex", objs[key], None),
                  "%s: without glibc's names the timedlock is a futex with no owner: %r" % (source, got[name]))
            continue
        check((k, s) == (kind, sc), "%s: %s waits as %s in %s(), want %s in %s()" % (source, name, k, s, kind, sc))
        if key in ("timed_cv", "timed_mu"):
            check(obj == objs[key], "%s: %s on %s, want %s" % (source, name, obj, objs[key]))
        elif key:
            check(obj == int(objs[key]), "%s: %s on fd %r, want %s" % (source, name, obj, objs[key]))
        if restarted:
            check(bool(rs) == (name in RESTARTED), "%s: %s restarted=%r" % (source, name, rs))
    if named:
        check(got["mutex"][3] == pid, "%s: timed_mu's owner %r, want main %d" % (source, got["mutex"][3], pid))


def test_restarted_waits_three_attaches():
    p, objs = start()
    with p:
        looks = []
        for i in range(3):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            got = waits(rep)
            named = libc_named(rep)
            # the first look may already see restarted waits from the READY wait's stop: no
            # stop came before it here, so only from the second look on are they restarted
            check_waits(got, objs, p.pid, "attach #%d" % (i + 1), restarted=i > 0, named=named)
            looks.append({n: v[:4] for n, v in got.items()})
            p.untouched()
        check(looks[0] == looks[1] == looks[2], "waits differ between looks: %r" % looks)
        rep = chang_json(["attach", "--no-stop", "--pid", str(p.pid)])
        check_waits(waits(rep), objs, p.pid, "--no-stop", restarted=True, named=named)
        core = p.gcore()
        try:
            rep = chang_json(["core", build("restarted_waits"), core])
            check_waits(waits(rep), objs, p.pid, "gcore", restarted=True, named=named)
        finally:
            os.unlink(core)
        # a mini core from chang's own freeze keeps the restarted futex waits' lock words
        mini = os.path.join(p.cwd, "mini.core")
        chang_json(["attach", "--pid", str(p.pid), "--save-core", mini])
        try:
            rep = chang_json(["core", build("restarted_waits"), mini])
            check_waits(waits(rep), objs, p.pid, "--save-core mini core", restarted=True, named=named)
        finally:
            os.unlink(mini)


def test_restarted_waits_text_names_the_call():
    p, objs = start()
    with p:
        run_chang(["attach", "--pid", str(p.pid), "--format=json"])
        r = run_chang(["attach", "--pid", str(p.pid)])
        check("# state: syscall" not in r.stdout, "a restarted wait shown as a bare syscall:\n%s" % r.stdout)
        check("# state: poll" in r.stdout and "# state: sleep" in r.stdout, r.stdout)


def test_watch_counts_restarted_waits_as_what_they_are():
    """chang watch samples /proc without stopping: after an attach, the sleepers and the
    poller sit in restart_syscall; it must still count them as sleeping and polling (idle),
    and the two timed lock waits as futex waits."""
    p, objs = start()
    with p:
        run_chang(["attach", "--pid", str(p.pid), "--format=json"])
        restarted = 0
        for tid in os.listdir("/proc/%d/task" % p.pid):
            with open("/proc/%d/task/%s/syscall" % (p.pid, tid)) as f:
                restarted += f.read().split()[0] == "219"
        check(restarted == len(RESTARTED), "%d threads in restart_syscall, want %d" % (restarted, len(RESTARTED)))
        r = subprocess.run([chang_bin(), "watch", "--pid", str(p.pid), "--interval=100ms", "--after=500ms", "--once",
                            "--format=json", "-o", os.path.join(p.cwd, "watch.json")], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 3, "watch exited %d: %s" % (r.returncode, r.stderr[-800:]))
        check("2 of %d threads blocked (2 on futexes)" % THREADS in r.stderr, r.stderr[-800:])


def test_timed_lock_deadlock_found_on_every_look():
    """AB-BA through pthread_mutex_timedlock: from the second look on both waits are
    restart_syscall, and the deadlock is still proven from the mutexes' owners."""
    with Program(build("timed_abba"), threads=3) as p:
        p.wait_ready()
        for i in range(3):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            if not libc_named(rep):
                return "skip: glibc's timedlock frames are unnamed here (install libc6-dbg)"
            dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
            check(len(dl) == 1 and sorted(l["symbol"] for l in dl[0]["locks"]) == ["lock_a", "lock_b"],
                  "attach #%d: %r" % (i + 1, [f["summary"] for f in rep["findings"]]))
            lockers = [t for t in rep["threads"] if t["name"] in ("ab", "ba")]
            check(all(t["wait"]["restarted"] == (i > 0) for t in lockers),
                  "attach #%d: restarted %r" % (i + 1, [t["wait"]["restarted"] for t in lockers]))
        r = run_chang(["attach", "--pid", str(p.pid), "--exit-code"], check_rc=False)
        check(r.returncode == 3 and "Found 1 deadlock." in r.stdout, "exit %d:\n%s" % (r.returncode, r.stdout[:1500]))
