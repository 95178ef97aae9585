"""Go blocking chains to the root (tests/programs/go/chain): 300 handlers on a full channel
-> its only consumer, locking a mutex -> the mutex's likely holder, waiting on a channel
nobody sends to; sync.Cond.Wait -> the goroutine whose loop signals it, waiting on a
channel nobody sends to; and WaitGroup.Wait -> the worker with a deferred Done, locking a mutex ->
its likely holder, waiting on a channel nobody sends to; and a cycle through a mutex and a
channel (an inferred deadlock, ranked before the chains). Each is ONE finding whose root is
the last goroutine, every edge inferred with its evidence. The same program with
CHANG_HEALTHY=1 (every lock let go within milliseconds) gives no finding.

Go 1.19 and the newest packaged toolchain, linked internally, externally (gcc) and
stripped; every other installed toolchain in the extended suite (each first compiles its
standard library)."""
import os

from harness import Program, TestFailure, check, chang_json, run_chang
from test_go import NEWER_GO, build, go_for, toolchains, under_asan

HANDLERS = 300


def start(binary, healthy=False):
    env = dict(os.environ, CHANG_HEALTHY="1" if healthy else "0")
    p = Program(binary, env=env)
    try:
        p.wait_line("READY", timeout=60)
    except Exception:
        p.cleanup()
        raise
    return p


def site_fn(link):
    return (link["site"] or "").split(" ")[0]


def check_chains(binary, stripped):
    with start(binary) as p:
        rep = chang_json(["attach", "--pid", str(p.pid)], timeout=120)
        p.untouched()
        chains = [f for f in rep["findings"] if f["kind"] == "blocking-chain"]
        dead = [f for f in rep["findings"] if f["kind"] == "deadlock"]
        check(len(rep["findings"]) == 4 and len(chains) == 3 and len(dead) == 1,
              "%s: expected three chains and a deadlock, nothing else: %r" % (
                  binary, [f["summary"] for f in rep["findings"]]))
        # the cycle: auditSink locking auditMu, held by auditor, sending on auditSink's full channel
        d = dead[0]
        check(d["inferred"] and d["root_goid"] is None and len(d["chain"]) == 2, "deadlock %r" % d)
        check(sorted(site_fn(c) for c in d["chain"]) == ["main.auditSink", "main.auditor"], "cycle %r" % d["chain"])
        for c in d["chain"]:
            check(c["inferred"] and "code at 0x" in c["evidence"], "cycle edge %r" % c)
        check({c["object"]["type"] for c in d["chain"]} == {"sync.Mutex", "chan int"}, "cycle objects %r" % d["chain"])
        check(sorted(d["goids"]) == sorted(c["goid"] for c in d["chain"]), "cycle goids %r" % d["goids"])
        by_root = {site_fn(f["chain"][-1]): f for f in chains}
        check(set(by_root) == {"main.rotate", "main.report", "main.produceJobs"}, "%s: roots %r" % (binary, list(by_root)))
        cond = by_root["main.produceJobs"]["chain"]
        check([site_fn(c) for c in cond] == ["main.takeJob", "main.produceJobs"], "Cond chain %r" % cond)
        check(cond[0]["object"]["type"] == "sync.Cond" and cond[0]["relation"] == "likely signals it" and
              "Signal" in cond[0]["evidence"], "Cond step %r" % cond[0])
        if not stripped:
            check(cond[0]["object"]["symbol"] == "main.jobsCond", "Cond named %r" % cond[0]["object"])
        log, wg = by_root["main.rotate"], by_root["main.report"]
        check([site_fn(c) for c in log["chain"]] == ["main.handle", "main.writeLog", "main.rotate"],
              "log chain %r" % [c["site"] for c in log["chain"]])
        check([site_fn(c) for c in wg["chain"]] == ["main.shutdown", "main.flusher", "main.report"],
              "WaitGroup chain %r" % [c["site"] for c in wg["chain"]])
        for f in chains:
            check(f["inferred"] and "inferred" in f["summary"], "not labelled inferred: %s" % f["summary"])
            links = f["chain"]
            check(f["root_goid"] == links[-1]["goid"] and links[-1]["next_goid"] is None, "root %r" % links[-1])
            for a, b in zip(links, links[1:]):
                check(a["next_goid"] == b["goid"], "chain not linked: %r" % links)
                check(a["inferred"] is True and a["evidence"] and "code at 0x" in a["evidence"],
                      "edge without evidence: %r" % a)
            check(set(f["goids"]) >= {c["goid"] for c in links}, "goids %r" % f["goids"])
        first = log["chain"][0]
        check(first["count"] == HANDLERS and len(log["goids"]) == HANDLERS + 2, "handlers %r" % first)
        o = first["object"]
        check(o["op"] == "sending on" and o["capacity"] == 64 and o["buffered"] == 64, "logCh %r" % o)
        check(log["chain"][1]["object"]["type"] == "sync.Mutex" and log["chain"][1]["relation"] == "likely holds it",
              "mutex step %r" % log["chain"][1])
        check("receives from it" in first["relation"], "consumer relation %r" % first["relation"])
        check(wg["chain"][0]["object"]["type"] == "sync.WaitGroup" and "Done" in wg["chain"][0]["relation"],
              "WaitGroup step %r" % wg["chain"][0])
        if not stripped:
            check("main.logCh" in log["summary"] and "main.rotateMu" in log["summary"] and
                  "main.rotateDone" in log["summary"], log["summary"])
            check("main.rotate, where it is now, locked main.rotateMu" in log["chain"][1]["evidence"],
                  log["chain"][1]["evidence"])
            check("main.flushWG" in wg["chain"][0]["evidence"], wg["chain"][0]["evidence"])
        # the mass-blocking finding on logCh is this chain's first step, not a finding of its own
        text = run_chang(["attach", "--pid", str(p.pid)], timeout=120).stdout
        check("Found 1 inferred deadlock" in text, "text report:\n%s" % text[:3000])
        check(text.count("blocking-chain#") == 3 and "(inferred: main.writeLog, where it is now" in text.replace(
            "\n", " ").replace("       ", "") or stripped, "text report:\n%s" % text[:3000])
        check("-> goroutine" in text and "root: goroutine" in text, "text chain steps:\n%s" % text[:3000])


def check_healthy(binary):
    with start(binary, healthy=True) as p:
        for _ in range(5):
            rep = chang_json(["attach", "--pid", str(p.pid)], timeout=120)
            check(not rep["findings"], "%s healthy: %r" % (binary, [f["summary"] for f in rep["findings"]]))
        p.untouched()


def test_go_chain_to_root():
    """Go 1.19 and the newest toolchain: internal, external (gcc) and stripped builds."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    for label, go in chains:
        for variant in ("", ".ext", ".stripped"):
            check_chains(build("chain", go, label, variant), variant == ".stripped")
    if len(chains) < 2 and not under_asan():
        return "skip: Go %s not installed (tests/install-deps.sh); only Go 1.19 checked" % NEWER_GO[-1]


test_go_chain_to_root.timeout = 900


def test_go_chain_healthy_no_findings():
    """The same goroutines with contention that moves: no finding, in five snapshots."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    for label, go in chains:
        for variant in ("", ".ext"):
            check_healthy(build("chain", go, label, variant))


test_go_chain_healthy_no_findings.timeout = 600


def other_toolchain(version):
    def test():
        go = go_for(version)
        if not go:
            return "skip: golang-%s-go is not installed (tests/install-deps.sh)" % version
        if under_asan():
            return "skip: Go %s runs in the release build's tests only" % version
        for variant in ("", ".ext"):
            binary = build("chain", go, ".go" + version, variant)
            check_chains(binary, False)
            check_healthy(binary)
    test.__doc__ = "Go %s: the chains and the healthy variant, internally and externally linked." % version
    test.timeout = 600
    test.extended = True
    return test


for _v in NEWER_GO[:-1]:
    globals()["test_go_%s_chain" % _v.replace(".", "_")] = other_toolchain(_v)
