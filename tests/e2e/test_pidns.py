"""A target in a pid namespace of its own (a container's view: `unshare --pid --fork
--mount-proc`), attached from the host. Its lock words hold TIDs of its own namespace (1, 2,
3): chang maps them through each thread's NSpid before any owner is looked up, so the AB-BA
deadlock has the right owners (host TIDs), no lock looks abandoned, and the report gives the
in-container pid and TIDs beside the host's."""
import json
import os
import shutil
import time

from harness import Program, TestFailure, build, check, run_chang, task_states


def nspid(path):
    with open(path) as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return []


def start_in_pidns():
    p = Program(shutil.which("unshare"), ["--pid", "--fork", "--mount-proc", build("abba")])
    p.wait_line("READY")
    deadline = time.monotonic() + 10
    target = None
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        if kids:
            target = kids[0]
            st = task_states(target)
            if len(st) == 3 and all(s in "SD" for s in st.values()):
                return p, target
        time.sleep(0.005)
    p.cleanup()
    raise TestFailure("abba in a pid namespace did not block: %r" % (task_states(target) if target else None))


def check_report(rep, target, what):
    check(rep["pid"] == target and rep["ns_pid"] == 1, "%s: pid %r ns_pid %r" % (what, rep["pid"], rep["ns_pid"]))
    want = {tid: nspid("/proc/%d/task/%d/status" % (target, tid))[-1] for tid in task_states(target)}
    got = {t["tid"]: t["ns_tid"] for t in rep["threads"]}
    check(got == want, "%s: ns_tid %r, want %r" % (what, got, want))
    kinds = [f["kind"] for f in rep["findings"]]
    check("abandoned-lock" not in kinds, "%s: an owner looked gone: %r" % (what, [f["summary"] for f in rep["findings"]]))
    dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
    check(len(dl) == 1, "%s: findings %r" % (what, [f["summary"] for f in rep["findings"]]))
    by_func = {}
    for t in rep["threads"]:
        fns = [f["function"] for f in t["frames"]]
        for outer in ("transfer_ab", "transfer_ba"):
            if outer in fns:
                by_func[outer] = t["tid"]
    owners = {l["symbol"]: l["owner_tid"] for l in dl[0]["locks"]}
    # worker_ab holds lock_a and waits for lock_b, held by worker_ba
    check(owners == {"lock_a": by_func.get("transfer_ab"), "lock_b": by_func.get("transfer_ba")},
          "%s: owners %r, threads %r" % (what, owners, by_func))
    for tid in owners.values():
        check(tid in want, "%s: owner %r is not a host TID of the target" % (what, tid))


def test_attach_into_pid_namespace():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "skip: unshare --pid needs root and util-linux's unshare"
    p, target = start_in_pidns()
    try:
        check(nspid("/proc/%d/status" % target)[-1] == 1, "the target is not pid 1 of its namespace")
        rep = json.loads(run_chang(["attach", "--pid", str(target), "--format=json"]).stdout)
        check_report(rep, target, "attach")
        txt = run_chang(["attach", "--pid", str(target)]).stdout
        check("process %d" % target in txt and "the process is 1 in its own pid namespace" in txt, txt[:600])
        rep = json.loads(run_chang(["attach", "--pid", str(target), "--no-stop", "--format=json"]).stdout)
        check_report(rep, target, "attach --no-stop")
        st = task_states(target)
        check(len(st) == 3 and all(s not in "tT" for s in st.values()), "target left stopped: %r" % st)
    finally:
        p.cleanup()


def test_container_root_debug_files():
    """A container with a root of its own (chroot in a new mount and pid namespace, its C
    library bind-mounted in): a stripped program whose debug file is only in the container's
    /usr/lib/debug gets its names and lines through /proc/PID/root, and none once that file
    is gone (the host has no copy: the test can fail)."""
    libdir = "/usr/lib/x86_64-linux-gnu"
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("chroot"):
        return "skip: a container root needs root, unshare and chroot"
    if not os.path.isdir(libdir) or not os.path.isdir("/lib64"):
        return "skip: no %s and /lib64 to bind into the container" % libdir
    import subprocess
    from harness import OUT, PROGRAMS
    root = os.path.join(OUT, "ctr-%d" % time.monotonic_ns())
    for d in ("lib64", libdir[1:], "app"):
        os.makedirs(os.path.join(root, d))
    os.symlink("usr/lib", os.path.join(root, "lib"))
    full = os.path.join(root, "abba.full")
    subprocess.run(["gcc", "-O2", "-g", "-pthread", "-D_GNU_SOURCE", "-I", PROGRAMS, "-o", full,
                    os.path.join(PROGRAMS, "abba.c")], check=True)
    exe = os.path.join(root, "app", "abba")
    subprocess.run(["strip", "--strip-all", "-o", exe, full], check=True)
    bid = [l.split()[-1] for l in subprocess.run(["readelf", "-n", exe], capture_output=True, text=True).stdout.splitlines()
           if "Build ID" in l][0]
    dbg = os.path.join(root, "usr/lib/debug/.build-id", bid[:2], bid[2:] + ".debug")
    os.makedirs(os.path.dirname(dbg))
    subprocess.run(["objcopy", "--only-keep-debug", full, dbg], check=True)
    os.unlink(full)
    script = ("mount --bind /lib64 {r}/lib64 && mount --bind {l} {r}{l} && exec chroot {r} /app/abba"
              .format(r=root, l=libdir))
    p = Program(shutil.which("unshare"), ["-m", "-p", "-f", "sh", "-c", script])
    try:
        p.wait_line("READY")
        deadline = time.monotonic() + 10
        target = None
        while time.monotonic() < deadline and target is None:
            for pid in (int(x) for x in os.listdir("/proc") if x.isdigit()):
                try:
                    if os.readlink("/proc/%d/exe" % pid) == exe:
                        target = pid
                except OSError:
                    pass
            time.sleep(0.01)
        check(target is not None, "the container's abba not found")
        while time.monotonic() < deadline:
            st = task_states(target)
            if len(st) == 3 and all(s in "SD" for s in st.values()):
                break
            time.sleep(0.005)
        rep = json.loads(run_chang(["attach", "--pid", str(target), "--format=json"]).stdout)
        check(rep["ns_pid"] == 1, "ns_pid %r" % rep["ns_pid"])
        ab = [t for t in rep["threads"] if "transfer_ab" in [f["function"] for f in t["frames"]]]
        check(len(ab) == 1, "no names from the container's debug file: %r" %
              [[f["function"] for f in t["frames"]] for t in rep["threads"]])
        fr = [f for f in ab[0]["frames"] if f["function"] == "take_second"]
        check(fr and fr[0]["file"].endswith("abba.c") and fr[0]["line"] == 14, "take_second %r" % fr)
        os.unlink(dbg)
        rep = json.loads(run_chang(["attach", "--pid", str(target), "--format=json"]).stdout)
        check(not any("transfer_ab" in [f["function"] for f in t["frames"]] for t in rep["threads"]),
              "names without the container's debug file?")
    finally:
        p.cleanup()
        shutil.rmtree(root, ignore_errors=True)
