"""Go as Debian ships it: chang on Debian's own prometheus (go1.19, stripped, linked externally
by gcc because of cgo), which no test here built. It runs on 127.0.0.1 with a scratch storage
directory, idle (no scrape targets), for as long as the test. chang's goroutines must equal
prometheus's own /debug/pprof/goroutine?debug=1 group for group, apart from the request's own
goroutines (the handler writing the profile and its connection's backgroundRead), which
exist only while Go answers. The package is optional (tests/install-deps.sh installs it best
effort): without it the test is a counted skip."""
import json
import os
import socket
import time
import urllib.request

from test_go import parse_profile
from harness import OUT, Program, TestFailure, check, run_chang

PROMETHEUS = "/usr/bin/prometheus"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def start_prometheus():
    cwd = os.path.join(OUT, "run", "prometheus-%d" % time.monotonic_ns())
    os.makedirs(cwd, exist_ok=True)
    cfg = os.path.join(cwd, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\nscrape_configs: []\n")
    port = free_port()
    # its log goes to stderr, which the test's output has no use for
    p = Program("/bin/sh", args=("-c", 'exec "$0" "$@" 2>prometheus.log', PROMETHEUS, "--config.file=" + cfg,
                                 "--storage.tsdb.path=" + os.path.join(cwd, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % port), cwd=cwd)
    base = "http://127.0.0.1:%d" % port
    # its own signal: /-/ready answers once the TSDB is open and the rule manager runs
    deadline = time.monotonic() + 60
    while True:
        check(p.proc.poll() is None, "prometheus exited with %s" % p.proc.returncode)
        try:
            if "Ready" in fetch(base + "/-/ready", timeout=2):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            p.cleanup()
            raise TestFailure("prometheus not ready within 60 s")
        time.sleep(0.1)
    return p, base


def requests_own(group):
    """The goroutines Go's answer has only because it is answering."""
    return "net/http/pprof.handler.ServeHTTP" in group or "net/http.(*connReader).backgroundRead" in group


def compare_with_go(got, theirs_text):
    total, mine = parse_profile(got)
    ototal, theirs = parse_profile(theirs_text)
    own = [g for g in theirs if requests_own(g)]
    rest = [g for g in theirs if not requests_own(g)]
    errors = []
    if mine != rest:
        errors += ["group missing from chang:\n" + g for g in rest if g not in mine]
        errors += ["group chang has, Go has not:\n" + g for g in mine if g not in rest]
        if not errors:
            errors.append("same groups in another order")
    own_count = sum(int(g.split(" ", 1)[0]) for g in own)
    if total != ototal - own_count:
        errors.append("total %d, Go says %d of which %d answer the request" % (total, ototal, own_count))
    return errors, len(mine)


def test_prometheus_goroutines_match_its_own():
    if not os.path.exists(PROMETHEUS):
        return "skip: Debian's prometheus is not installed (tests/install-deps.sh, optional)"
    p, base = start_prometheus()
    with p:
        # an idle server's goroutines hardly move; a look that met a moving one is retried
        for attempt in range(3):
            r = run_chang(["attach", "--pid", str(p.pid), "--format=goroutine"], timeout=120)
            errors, n = compare_with_go(r.stdout, fetch(base + "/debug/pprof/goroutine?debug=1"))
            if not errors:
                break
        check(not errors, "prometheus: chang differs from Go's own profile:\n" + "\n".join(errors)[:5000])
        check(n >= 10, "only %d groups compared" % n)
        rep = json.loads(run_chang(["attach", "--pid", str(p.pid), "--format=json"], timeout=120).stdout)
        check(rep["go_version"].startswith("go1.") and rep["go_error"] is None, "go %r" % rep["go_version"])
        # the mini core holds what the goroutines were read from
        core = os.path.join(p.cwd, "mini.core")
        live = run_chang(["attach", "--pid", str(p.pid), "--format=goroutine", "--save-core", core],
                         timeout=120).stdout
        try:
            got = run_chang(["core", PROMETHEUS, core, "--format=goroutine"], timeout=120).stdout
            size = os.path.getsize(core)
        finally:
            os.unlink(core)
        check(got == live, "the mini core's goroutines differ from the capture that wrote it")
        check(size < 128 << 20, "mini core of %d MiB" % (size >> 20))
        p.untouched()


test_prometheus_goroutines_match_its_own.timeout = 300
