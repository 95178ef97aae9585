"""cgo (tests/programs/go/cgodeadlock): two goroutines inside C calls deadlock on two C
mutexes. The threads the C calls run on carry the proof (glibc's owner fields); chang names
each thread's goroutine, and prints the thread's native frames down to runtime.asmcgocall
followed by the goroutine's Go frames, as one stack. With CHANG_HEALTHY=1 the same C calls
take the locks in one order, briefly: no finding. Go 1.19 and the newest toolchain, linked
internally and externally (gcc)."""

from harness import check, chang_json, run_chang
from test_go import NEWER_GO, build, toolchains, under_asan
# the scenarios' start (CHANG_HEALTHY picks the variant) and healthy check are the chains'
from test_go_chains import check_healthy, start


def check_deadlock(binary):
    with start(binary) as p:
        rep = chang_json(["attach", "--pid", str(p.pid)], timeout=120)
        p.untouched()
        dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
        check(len(rep["findings"]) == 1 and len(dl) == 1 and not dl[0]["inferred"],
              "%s: %r" % (binary, [f["summary"] for f in rep["findings"]]))
        tids = set(dl[0]["tids"])
        threads = {t["tid"]: t for t in rep["threads"]}
        gs = {g["goid"]: g for g in rep["goroutines"]}
        fns = set()
        for tid in tids:
            t = threads[tid]
            check(t["state"] == "mutex" and t["cgo_goid"] is not None, "thread %r" % {k: t[k] for k in ("tid", "state", "cgo_goid")})
            g = gs[t["cgo_goid"]]
            check(g["tid"] == tid and g["status"] == "syscall", "goroutine %r" % {k: g[k] for k in ("goid", "tid", "status")})
            names = [f["function"] for f in g["frames"]]
            check(names[0] == "runtime.cgocall", "goroutine frames %r" % names)
            fns |= set(names)
            check(any("pthread_mutex_lock" in (f["function"] or "") for f in t["frames"]), "native frames")
        check({"main.updateTable", "main.rebuildIndex"} <= fns, "the goroutines' Go frames: %r" % fns)
        text = run_chang(["attach", "--pid", str(p.pid)], timeout=120).stdout
        for tid in tids:
            check("thread %d \"cgodeadlock" % tid in text or "thread %d " % tid in text, "thread %d in text" % tid)
        check(text.count("'s C call)") >= 4 and text.count("-- the C call of goroutine") == 2 and
              "at runtime.asmcgocall" in text and "main.updateTable (main.go:" in text, "text:\n%s" % text[:4000])


def test_go_cgo_pthread_deadlock():
    """Go 1.19 and the newest toolchain, internal and external linking; and the healthy variant."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    for label, go in chains:
        for variant in ("", ".ext"):
            binary = build("cgodeadlock", go, label, variant)
            check_deadlock(binary)
            check_healthy(binary)
    if len(chains) < 2 and not under_asan():
        return "skip: Go %s not installed (tests/install-deps.sh); only Go 1.19 checked" % NEWER_GO[-1]


test_go_cgo_pthread_deadlock.timeout = 600
