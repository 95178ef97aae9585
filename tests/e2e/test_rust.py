"""Rust programs (tests/programs/rust/rs_locks.rs) built with each Rust toolchain the machine
has: Debian's rustc (/usr/bin/rustc, 1.63 on bookworm) and the newest one on PATH or in
~/.cargo/bin (rustup). std's futex Mutex and RwLock record no owner: chang names the locks by
their Rust paths, claims no owner, and finds the AB-BA cycles as inferred deadlocks with the
evidence of each likely holder; a Condvar nobody notifies is told as such; contention that
moves gives no finding. Live and from gcore cores. A toolchain that is missing is a counted
skip."""
import os
import re
import shutil
import subprocess

from harness import OUT, PROGRAMS, Program, TestFailure, chang_json, check, functions, have_tool

SRC = os.path.join(PROGRAMS, "rust", "rs_locks.rs")


def toolchains():
    found = {}
    if os.path.exists("/usr/bin/rustc"):
        found["debian"] = "/usr/bin/rustc"
    for cand in (shutil.which("rustc"), os.path.expanduser("~/.cargo/bin/rustc")):
        if cand and os.path.exists(cand) and os.path.realpath(cand) != "/usr/bin/rustc":
            found["newest"] = cand
            break
    return found


def rust_build(which):
    rustc = toolchains().get(which)
    if not rustc:
        return None, None
    version = subprocess.run([rustc, "--version"], capture_output=True, text=True).stdout.split()[1]
    out_dir = os.path.join(OUT, "bin")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "rs_locks-%s" % version)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(SRC):
        r = subprocess.run([rustc, "--edition", "2021", "-O", "-g", "-o", out, SRC], capture_output=True,
                           text=True, timeout=300)
        if r.returncode != 0:
            raise TestFailure("rustc %s failed:\n%s" % (version, r.stderr[-2000:]))
    return out, version


def by_name(rep, name, source):
    """Live captures have thread names; cores do not: tell threads by their frames then."""
    if source == "attach":
        return [t for t in rep["threads"] if t["name"] == name]
    fn = {"ab": ("rs_locks::transfer", "rs_locks::post"), "ba": ("rs_locks::transfer", "rs_locks::audit"),
          "waiter": ("rs_locks::wait_ready",)}[name]
    return [t for t in rep["threads"] if any(f in functions(t) for f in fn)]


def no_mangled_names(rep):
    for t in rep["threads"]:
        for f in functions(t):
            if f is None:
                continue
            check(not f.startswith("_ZN") and not f.startswith("_R"), "mangled name %r" % f)
            check(not re.search(r"::h[0-9a-f]{16}$", f) and "$LT$" not in f, "hash or escape left in %r" % f)


def no_invented_owner(rep):
    for t in rep["threads"]:
        w = t["wait"]
        if w and w["kind"] in ("mutex", "rwlock"):
            check(w["owner_tid"] is None, "an owner was read from a Rust lock: %r" % w)
    check(not [f for f in rep["findings"] if f["kind"] == "abandoned-lock"], "false abandoned lock: %r" % rep["findings"])


def run_both(which, mode, checker, blocked):
    binary, version = rust_build(which)
    if not binary:
        return "skip: no %s Rust toolchain on this machine" % which
    with Program(binary, args=[mode]) as p:
        p.wait_ready(timeout=20, blocked=blocked)
        rep = chang_json(["attach", "--pid", str(p.pid)])
        checker(rep, "attach")
        p.untouched()
        if not have_tool("gcore"):
            return
        core = p.gcore()
        rep = chang_json(["core", binary, core])
        checker(rep, "core")
        os.unlink(core)


def check_inferred_cycle(rep, source, kind, names):
    no_mangled_names(rep)
    no_invented_owner(rep)
    dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
    check(len(dl) == 1, "one deadlock, got %r" % [(f["kind"], f["summary"]) for f in rep["findings"]])
    f = dl[0]
    check(f["inferred"] is True and f["summary"].startswith("inferred deadlock"), "worded as inferred: %r" % f)
    ab, ba = by_name(rep, "ab", source), by_name(rep, "ba", source)
    check(len(ab) + len(ba) >= 2, "threads ab, ba: %r" % [t["name"] for t in rep["threads"]])
    tids = sorted({t["tid"] for t in ab + ba})
    check(sorted(f["tids"]) == tids, "cycle %r, want %r" % (f["tids"], tids))
    check(sorted(l["symbol"] for l in f["locks"]) == sorted(names), "locks %r" % [l["symbol"] for l in f["locks"]])
    for i, l in enumerate(f["locks"]):
        check(l["kind"] == kind, "lock kind %r" % l["kind"])
        check(l["inferred"] is True and l["evidence"], "inferred edge with evidence: %r" % l)
        check(l["owner_tid"] == f["tids"][(i + 1) % 2], "likely holder of lock %d: %r" % (i, l))
    for t in ab + ba:
        w = t["wait"]
        check(w["kind"] == kind and w["symbol"] in names and w["likely_owner_tid"] and w["evidence"], "wait %r" % w)
        check("records no owner" in w["detail"] or "records neither" in w["detail"], w["detail"])


def mutex_cycle(which):
    return run_both(which, "mutex", lambda rep, src: check_inferred_cycle(
        rep, src, "mutex", ["rs_locks::LEDGER", "rs_locks::AUDIT"]), blocked=3)


def rwlock_cycle(which):
    return run_both(which, "rwlock", lambda rep, src: check_inferred_cycle(
        rep, src, "rwlock", ["rs_locks::BOOKS", "rs_locks::JOURNAL"]), blocked=3)


def condvar_unsignalled(which):
    def checker(rep, source):
        no_mangled_names(rep)
        check(rep["findings"] == [], "no finding for a waiting condvar: %r" % rep["findings"])
        w = by_name(rep, "waiter", source)
        check(len(w) == 1, "the waiter: %r" % [t["name"] for t in rep["threads"]])
        wt = w[0]["wait"]
        check(w[0]["state"] == "condvar" and wt["symbol"] == "rs_locks::READY_CV" and wt["owner_tid"] is None,
              "condvar wait %r" % wt)
        check("Condvar" in wt["detail"], wt["detail"])
    return run_both(which, "condvar", checker, blocked=2)


def once_running(which):
    if which == "debian":
        return ("skip: Rust 1.63's Once parks waiters and runs its initialiser in one function "
                "(call_inner): chang tells them apart only for the futex Once of later Rusts")
    def checker(rep, source):
        no_mangled_names(rep)
        r = [t for t in rep["threads"] if t["wait"] and t["wait"]["kind"] == "once"]
        check(len(r) == 1 and r[0]["wait"]["symbol"] == "rs_locks::CONFIG_ONCE"
              and r[0]["wait"]["owner_tid"] is None and "Once" in r[0]["wait"]["detail"],
              "the reader waits on the Once: %r" % [(t["name"], t["wait"]) for t in rep["threads"]])
        if source == "attach":
            check(r[0]["name"] == "reader", r[0]["name"])
        check(rep["findings"] == [], "no finding: %r" % rep["findings"])
    return run_both(which, "once", checker, blocked=3)


def healthy(which):
    binary, version = rust_build(which)
    if not binary:
        return "skip: no %s Rust toolchain on this machine" % which
    with Program(binary, args=["healthy"]) as p:
        p.wait_line("READY", timeout=20)
        for _ in range(5):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            check(rep["findings"] == [], "contention that moves is no deadlock: %r" % rep["findings"])
            no_invented_owner(rep)
        p.untouched()


for _which in ("debian", "newest"):
    for _name, _fn in (("mutex_cycle", mutex_cycle), ("rwlock_cycle", rwlock_cycle),
                       ("condvar_unsignalled", condvar_unsignalled), ("once_being_run", once_running),
                       ("healthy_contention", healthy)):
        def _make(fn=_fn, which=_which):
            def t():
                return fn(which)
            t.timeout = 300
            return t
        globals()["test_rust_%s_%s" % (_which, _name)] = _make()
