"""Network hangs among goroutines in Go programs built here, by each layout of the runtime's
netpoll registration: Go 1.19 (epoll data is the pollDesc pointer), 1.21-1.24 (a tagged
pointer, 19 tag bits) and the newest (18 tag bits). An HTTP client's 8 requests wait on an
upstream (the test's own listener on 127.0.0.1) that accepts and never answers: one
finding names the upstream, with all 8 goroutines, each reading its own socket, confirmed
by the second look. Toolchains that are not installed are a counted skip; under ASan only
Debian's default runs (as in test_go)."""
import json
import shutil

from test_go import NEWEST_GO, build, go_for, under_asan
from test_realworld_go import SilentUpstream
from harness import Program, check, run_chang

REQUESTS = 8


def one_toolchain(label, go):
    up = SilentUpstream()
    try:
        with Program(build("stuckclient", go, label), ["127.0.0.1:%d" % up.port]) as p:
            p.wait_line("READY", timeout=30)
            # the upstream's own signal: every request's connection arrived
            up.wait_for(REQUESTS)
            peer = "127.0.0.1:%d" % up.port
            # a request is written (and its readLoop parked) right after its connection: a
            # look may come first and see fewer of them
            for _ in range(50):
                rep = json.loads(run_chang(["attach", "--pid", str(p.pid), "--format=json"], timeout=120).stdout)
                mine = [f for f in rep["findings"] if peer in f["summary"]]
                if mine and mine[0]["count"] == REQUESTS:
                    break
            what = "%s (%s)" % (rep["go_version"], label or "default")
            check(len(mine) == 1, "%s: no finding names %s: %r" % (what, peer, [f["summary"] for f in rep["findings"]]))
            f = mine[0]
            check(f["count"] == REQUESTS and len(f["goids"]) == REQUESTS and not f["maybe_normal"] and
                  f["confirmed_ms"] is not None and f["confirmed_ms"] >= 150,
                  "%s: %r" % (what, {k: f[k] for k in ("count", "maybe_normal", "confirmed_ms", "summary")}))
            byid = {g["goid"]: g for g in rep["goroutines"]}
            waits = [byid[g]["wait"] for g in f["goids"]]
            check(all(w["kind"] == "read" and w["fd_target"].endswith("-> %s ESTABLISHED" % peer) for w in waits)
                  and len({w["fd"] for w in waits}) == REQUESTS, "%s: waits %r" % (what, waits))
            p.untouched()
    finally:
        up.close()


def test_go_http_client_stuck_on_silent_upstream():
    chains = [("", shutil.which("go"))]
    if not under_asan():
        chains += [(".go1.21", go_for("1.21")), (".go" + NEWEST_GO, go_for(NEWEST_GO))]
    done, missing = [], []
    for label, go in chains:
        if not go:
            missing.append(label or "default")
            continue
        one_toolchain(label, go)
        done.append(label or "default")
    if not done:
        return "skip: no Go toolchain (golang-go)"
    if missing:
        return "skip: checked with %s; not installed: %s" % (", ".join(done), ", ".join(missing))


test_go_http_client_stuck_on_silent_upstream.timeout = 600
