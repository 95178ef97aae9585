"""pthread spinlocks (tests/programs/an_spinlock.c): a thread spinning in pthread_spin_lock is
told by its frame and %rdi (glibc keeps the lock's address there), the lock is named, and an
AB-BA cycle is an inferred deadlock (glibc's spinlock records no owner) confirmed live by a
second look that sees the threads still spinning on taken locks. A spinlock held briefly,
over and over, gives no finding."""
import os

from harness import Program, build, chang_json, check, have_tool


def spinners(rep):
    return [t for t in rep["threads"] if t["state"] == "spinlock"]


def check_cycle(rep, source):
    sp = spinners(rep)
    check(len(sp) == 2, "two spinning threads, got %r" % [(t["name"], t["state"]) for t in rep["threads"]])
    check(sorted(t["wait"]["symbol"] for t in sp) == ["spin_a", "spin_b"], "locks %r" % [t["wait"] for t in sp])
    for t in sp:
        check(t["wait"]["owner_tid"] is None and t["wait"]["likely_owner_tid"] in [u["tid"] for u in sp]
              and t["wait"]["evidence"], "wait %r" % t["wait"])
    dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
    check(len(dl) == 1 and dl[0]["inferred"] is True, "one inferred deadlock: %r" % rep["findings"])
    f = dl[0]
    check(sorted(f["tids"]) == sorted(t["tid"] for t in sp), "cycle %r" % f["tids"])
    for l in f["locks"]:
        check(l["kind"] == "spinlock" and l["inferred"] and "pthread_spin_lock" in l["evidence"], "lock %r" % l)
    if source == "attach":
        check(f["confirmed_ms"], "live: confirmed by the second look: %r" % f)


def test_spinlock_abba_cycle():
    binary = build("an_spinlock")
    with Program(binary) as p:
        p.wait_ready(timeout=20, blocked=1)
        # the threads announce themselves just before they spin: a capture may still catch
        # one on its way in (bounded retries)
        for _ in range(20):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            if len(spinners(rep)) == 2:
                break
        check_cycle(rep, "attach")
        p.untouched()
        if have_tool("gcore"):
            core = p.gcore()
            check_cycle(chang_json(["core", binary, core]), "core")
            os.unlink(core)


test_spinlock_abba_cycle.timeout = 180


def test_spinlock_briefly_held_no_findings():
    binary = build("an_spinlock")
    with Program(binary, args=["healthy"]) as p:
        p.wait_ready(timeout=20, blocked=1)
        for _ in range(5):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            check(rep["findings"] == [], "a spinlock held briefly is no deadlock: %r" % rep["findings"])
        p.untouched()
