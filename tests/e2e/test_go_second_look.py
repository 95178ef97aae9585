"""The second look at goroutine findings that no owner proves (Go's sync.Mutex records
none): after the thaw chang reads the goroutines concerned again, without stopping the
process, and keeps a finding only when they are still parked at the same PCs on objects in
the same state. A real hang (one goroutine holds a sync.Mutex forever, 50 wait for it) is
found and says how long it was confirmed; healthy contention (64 goroutines taking one
mutex in a loop, many parked in Lock at any moment) gives no finding in 20 captures,
while without the look most captures report it."""
import json
import shutil

from test_go import build
from harness import Program, check, run_chang


def go_or_skip():
    go = shutil.which("go")
    return go, None if go else "skip: no Go toolchain (golang-go)"


def capture(pid, *extra):
    return json.loads(run_chang(["attach", "--pid", str(pid), "--format=json"] + list(extra), timeout=120).stdout)


def test_go_mutex_hang_confirmed_by_second_look():
    go, skip = go_or_skip()
    if skip:
        return skip
    with Program(build("mutexheld", go)) as p:
        p.wait_line("READY", timeout=30)
        rep = capture(p.pid)
        mass = [f for f in rep["findings"] if f["kind"] == "mass-blocking"]
        check(len(mass) == 1 and mass[0]["count"] == 50 and "main.configMu" in mass[0]["summary"],
              "findings %r" % [f["summary"] for f in rep["findings"]])
        f = mass[0]
        check(f["confirmed_ms"] is not None and f["confirmed_ms"] >= 150 and not f["maybe_normal"],
              "not confirmed: %r" % {k: f[k] for k in ("confirmed_ms", "maybe_normal", "summary")})
        check(rep["second_look"]["ms"] >= 150 and rep["second_look"]["dropped_findings"] == 0, rep["second_look"])
        text = run_chang(["attach", "--pid", str(p.pid)], timeout=120).stdout
        check("50 goroutines blocked locking sync.Mutex main.configMu" in text and
              "Unchanged over a second look of" in text and "the same goroutines parked at the same PCs" in text,
              text[:2000])
        # a longer look, as asked, and none at all
        f = [f for f in capture(p.pid, "--second-look=400ms")["findings"] if f["kind"] == "mass-blocking"][0]
        check(f["confirmed_ms"] >= 400, "confirmed_ms %r for a look of 400 ms" % f["confirmed_ms"])
        rep = capture(p.pid, "--second-look=0")
        check(rep["second_look"] is None and [f["confirmed_ms"] for f in rep["findings"]] == [None],
              "--second-look=0: %r" % rep["second_look"])
        p.untouched()


test_go_mutex_hang_confirmed_by_second_look.timeout = 300


def test_go_mutex_hang_with_arrivals_confirmed():
    """A hung mutex that new requests keep arriving at: its state word changes all the time,
    the goroutines already waiting do not move (their trackingSeq stays)."""
    go, skip = go_or_skip()
    if skip:
        return skip
    with Program(build("mutexheld", go), ["trickle"]) as p:
        p.wait_line("READY", timeout=30)
        for i in range(3):
            rep = capture(p.pid, "--second-look=300ms")
            mass = [f for f in rep["findings"] if f["kind"] == "mass-blocking" and "main.configMu" in f["summary"]]
            check(len(mass) == 1 and mass[0]["count"] >= 50 and mass[0]["confirmed_ms"] is not None
                  and mass[0]["confirmed_ms"] >= 300 and not mass[0]["maybe_normal"],
                  "look %d: %r (second look %r)" % (i + 1, [(f["summary"], f["confirmed_ms"]) for f in rep["findings"]],
                                                    rep["second_look"]))
        p.untouched()


test_go_mutex_hang_with_arrivals_confirmed.timeout = 300


def test_go_busy_mutex_no_findings():
    go, skip = go_or_skip()
    if skip:
        return skip
    captures = 20
    with Program(build("mutexbusy", go)) as p:
        p.wait_line("READY", timeout=30)
        found, dropped = [], 0
        for i in range(captures):
            rep = capture(p.pid)
            found += ["capture %d: %s" % (i + 1, f["summary"]) for f in rep["findings"]]
            dropped += (rep["second_look"] or {}).get("dropped_findings", 0)
        check(not found, "healthy contention: %d findings in %d captures:\n%s" % (len(found), captures,
                                                                                  "\n".join(found)[:3000]))
        # the same captures without the look: what it dropped is there (a test that can fail)
        without = sum(1 for _ in range(5) if capture(p.pid, "--second-look=0")["findings"])
        check(without + dropped > 0, "neither the look dropped anything nor were there findings without it: the "
              "program did not contend")
        p.untouched()


test_go_busy_mutex_no_findings.timeout = 300
