"""Go as Debian ships it: chang on Debian's own prometheus, etcd and caddy (go1.19, stripped,
linked externally by gcc because of cgo), which no test here built. Each runs on 127.0.0.1
only, with its data in a scratch directory under the test's own, for as long as the test,
and is stopped by PID. Idle, chang's goroutines must equal the program's own
/debug/pprof/goroutine?debug=1 group for group, apart from the request's own goroutines
(the handler writing the profile and its connection's backgroundRead, which exist only
while Go answers): live, from the mini core `--save-core` wrote, and from a gcore. Under a
bounded loopback load stacks move, so only the absence of false findings is asserted.
Caddy proxying to an upstream that accepts and never answers must give a network-hang
finding naming that upstream. The packages are optional (tests/install-deps.sh installs
them best effort): a missing one, or too little disk for a gcore, is a counted skip."""
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request

from test_go import parse_profile
from harness import OUT, Program, TestFailure, check, have_tool, run_chang

PROMETHEUS = "/usr/bin/prometheus"
ETCD = "/usr/bin/etcd"
CADDY = "/usr/bin/caddy"
GCORE_FREE = 4 << 30	# a Go program's gcore is hundreds of MB; leave room for other work


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch(url, timeout=10, data=None):
    with urllib.request.urlopen(url, timeout=timeout, data=data) as r:
        return r.read().decode()


def scratch(name):
    cwd = os.path.join(OUT, "run", "%s-%d" % (name, time.monotonic_ns()))
    os.makedirs(cwd, exist_ok=True)
    return cwd


def start_service(what, exe, args, cwd, ready_url, ready_text, env=None):
    # its log goes to a file in its directory, which the test's output has no use for
    p = Program("/bin/sh", args=("-c", 'exec "$0" "$@" >%s.log 2>&1' % what, exe) + tuple(args), cwd=cwd, env=env)
    # its own signal: the URL answers once the service is up
    deadline = time.monotonic() + 60
    while True:
        check(p.proc.poll() is None, "%s exited with %s" % (what, p.proc.returncode))
        try:
            if ready_text in fetch(ready_url, timeout=2):
                return p
        except OSError:
            pass
        if time.monotonic() > deadline:
            p.cleanup()
            raise TestFailure("%s not ready within 60 s" % what)
        time.sleep(0.1)


def start_prometheus():
    cwd = scratch("prometheus")
    cfg = os.path.join(cwd, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\nscrape_configs: []\n")
    base = "http://127.0.0.1:%d" % free_port()
    p = start_service("prometheus", PROMETHEUS, ["--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(cwd, "data"),
                                                 "--web.listen-address=" + base[7:]], cwd, base + "/-/ready", "Ready")
    return p, base + "/debug/pprof/goroutine?debug=1", base


def start_etcd():
    cwd = scratch("etcd")
    client, peer = "http://127.0.0.1:%d" % free_port(), "http://127.0.0.1:%d" % free_port()
    p = start_service("etcd", ETCD, ["--name=t", "--data-dir=" + os.path.join(cwd, "data"),
                                     "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=t=" + peer, "--enable-pprof",
                                     "--listen-metrics-urls=http://127.0.0.1:%d" % free_port()],
                      cwd, client + "/health", '"health":"true"')
    return p, client + "/debug/pprof/goroutine?debug=1", client


def caddy_config(cwd, admin, listen, upstream=None):
    routes = [{"handle": [{"handler": "static_response", "body": "ok"}]}]
    if upstream:
        routes.insert(0, {"match": [{"path": ["/stuck*"]}],
                          "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": upstream}]}]})
    cfg = {"admin": {"listen": admin, "config": {"persist": False}},
           "logging": {"logs": {"default": {"level": "ERROR"}}},
           "storage": {"module": "file_system", "root": os.path.join(cwd, "storage")},
           "apps": {"http": {"servers": {"s": {"listen": [listen], "automatic_https": {"disable": True},
                                               "routes": routes}}}}}
    path = os.path.join(cwd, "caddy.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def start_caddy(upstream=None):
    cwd = scratch("caddy")
    admin, listen = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
    cfg = caddy_config(cwd, admin, listen, upstream)
    # its own home, so nothing of it lands outside the scratch directory
    env = dict(os.environ, HOME=cwd, XDG_DATA_HOME=os.path.join(cwd, "data"), XDG_CONFIG_HOME=os.path.join(cwd, "config"))
    p = start_service("caddy", CADDY, ["run", "--config", cfg], cwd, "http://%s/" % listen, "ok", env=env)
    return p, "http://%s/debug/pprof/goroutine?debug=1" % admin, "http://%s" % listen


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


def settled(what, profile_url, timeout=20):
    """The server's own signal that its start-up is over: two profiles in a row, 100 ms
    apart, with the same groups (a server that answers may still be starting goroutines)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        groups = [g for g in parse_profile(fetch(profile_url))[1] if not requests_own(g)]
        if groups == last:
            return
        check(time.monotonic() < deadline, "%s: its goroutines did not settle within %d s" % (what, timeout))
        last = groups
        time.sleep(0.1)


def matches_its_own(what, exe, p, profile_url, min_groups):
    """Live, the mini core and a gcore, each against the program's own profile. An idle
    server's goroutines hardly move; a look that met a moving one is retried."""
    settled(what, profile_url)
    for attempt in range(3):
        r = run_chang(["attach", "--pid", str(p.pid), "--format=goroutine"], timeout=120)
        errors, n = compare_with_go(r.stdout, fetch(profile_url))
        if not errors:
            break
    check(not errors, "%s: chang differs from Go's own profile:\n%s" % (what, "\n".join(errors)[:5000]))
    check(n >= min_groups, "%s: only %d groups compared" % (what, n))
    rep = json.loads(run_chang(["attach", "--pid", str(p.pid), "--format=json"], timeout=120).stdout)
    check(rep["go_version"].startswith("go1.") and rep["go_error"] is None, "%s: go %r" % (what, rep["go_version"]))
    check(rep["findings"] == [], "%s, idle: %r" % (what, [f["summary"] for f in rep["findings"]]))
    # the mini core holds what the goroutines were read from
    core = os.path.join(p.cwd, "mini.core")
    live = run_chang(["attach", "--pid", str(p.pid), "--format=goroutine", "--save-core", core], timeout=120).stdout
    try:
        got = run_chang(["core", exe, core, "--format=goroutine"], timeout=120).stdout
        size = os.path.getsize(core)
    finally:
        os.unlink(core)
    check(got == live, "%s: the mini core's goroutines differ from the capture that wrote it" % what)
    check(size < 128 << 20, "%s: mini core of %d MiB" % (what, size >> 20))
    # a gcore, made by gdb (which stops the process as chang does), deleted right after use
    gcored = "no gcore (gdb's gcore missing)"
    if have_tool("gcore"):
        if shutil.disk_usage(p.cwd).free < GCORE_FREE:
            gcored = "no gcore: less than %d GiB free" % (GCORE_FREE >> 30)
        else:
            for attempt in range(3):
                core = p.gcore()
                try:
                    got = run_chang(["core", exe, core, "--format=goroutine"], timeout=180).stdout
                finally:
                    os.unlink(core)
                errors, n = compare_with_go(got, fetch(profile_url))
                if not errors:
                    break
            check(not errors, "%s: the gcore's goroutines differ from Go's own profile:\n%s"
                  % (what, "\n".join(errors)[:5000]))
            gcored = None
    p.untouched()
    return gcored


def go_service_test(what, exe, start, min_groups):
    if not os.path.exists(exe):
        return "skip: Debian's %s is not installed (tests/install-deps.sh, optional)" % what
    p, profile_url, _ = start()
    with p:
        gcored = matches_its_own(what, exe, p, profile_url, min_groups)
    # the gcore part alone could not run: say so, counted, rather than pass silently
    return "skip: %s matched live and from its mini core; %s" % (what, gcored) if gcored else None


def test_prometheus_goroutines_match_its_own():
    return go_service_test("prometheus", PROMETHEUS, start_prometheus, 10)


def test_etcd_goroutines_match_its_own():
    return go_service_test("etcd", ETCD, start_etcd, 10)


def test_caddy_goroutines_match_its_own():
    return go_service_test("caddy", CADDY, start_caddy, 5)


for _t in (test_prometheus_goroutines_match_its_own, test_etcd_goroutines_match_its_own,
           test_caddy_goroutines_match_its_own):
    _t.timeout = 400


def load_loop(requests, stop, errors, counts):
    """A bounded loopback load: one request after another until told to stop."""
    try:
        n = 0
        while not stop.is_set():
            url, data = requests[n % len(requests)]
            fetch(url, data=data)
            n += 1
        counts.append(n)
    except Exception as e:  # reported by the test
        errors.append(e)


def load_requests(what, base):
    if what == "etcd":
        # etcd's v3 JSON gateway: puts and ranges of small keys (base64)
        return [(base + "/v3/kv/put", b'{"key": "Y2hhbmc=", "value": "aGVsbG8="}'),
                (base + "/v3/kv/range", b'{"key": "Y2hhbmc="}')]
    if what == "prometheus":
        return [(base + "/api/v1/query?query=up", None), (base + "/metrics", None)]
    return [(base + "/", None)]


def no_false_findings_under_load(what, exe, start, captures, clients=4):
    if not os.path.exists(exe):
        return "skip: Debian's %s is not installed (tests/install-deps.sh, optional)" % what
    p, _, base = start()
    with p:
        stop, errors, counts = threading.Event(), [], []
        reqs = load_requests(what, base)
        load = [threading.Thread(target=load_loop, args=(reqs, stop, errors, counts)) for _ in range(clients)]
        for t in load:
            t.start()
        found = []
        try:
            for i in range(captures):
                rep = json.loads(run_chang(["attach", "--pid", str(p.pid), "--format=json"], timeout=120).stdout)
                check(rep["go_error"] is None, "%s: %r" % (what, rep["go_error"]))
                found += ["capture %d: %s" % (i + 1, f["summary"]) for f in rep["findings"]]
        finally:
            stop.set()
            for t in load:
                t.join(60)
        check(not errors, "%s: the load failed: %r" % (what, errors[:3]))
        check(sum(counts) >= captures, "%s: only %d requests answered under load" % (what, sum(counts)))
        check(not found, "%s under load, healthy: %d false findings in %d captures:\n%s"
              % (what, len(found), captures, "\n".join(found)[:4000]))
        p.untouched()


def test_prometheus_under_load_no_findings():
    return no_false_findings_under_load("prometheus", PROMETHEUS, start_prometheus, 20)


def test_etcd_under_load_no_findings():
    return no_false_findings_under_load("etcd", ETCD, start_etcd, 20)


def test_caddy_under_load_no_findings():
    return no_false_findings_under_load("caddy", CADDY, start_caddy, 20)


# 20 captures each under a load that takes a CPU: 15-30 s apiece on 2 CPUs, twice that
# under ASan; the extended suite (make check-extended, its own step of .ci/run) runs them
for _t in (test_prometheus_under_load_no_findings, test_etcd_under_load_no_findings,
           test_caddy_under_load_no_findings):
    _t.timeout = 400
    _t.extended = True


class SilentUpstream:
    """A local listener that accepts connections and never answers them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.lock = threading.Condition()
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
                self.lock.notify_all()

    def wait_for(self, n, timeout=30):
        with self.lock:
            check(self.lock.wait_for(lambda: len(self.conns) >= n, timeout), "only %d of %d requests reached the "
                  "upstream" % (len(self.conns), n))

    def close(self):
        # shutdown wakes the accept() blocked in the thread; close alone does not
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            for c in self.conns:
                c.close()
        self.thread.join(10)


def stuck_request(url, results):
    try:
        fetch(url, timeout=120)
        results.append("answered")
    except Exception as e:
        results.append(type(e).__name__)


def test_caddy_stuck_upstream_is_a_network_hang():
    if not os.path.exists(CADDY):
        return "skip: Debian's caddy is not installed (tests/install-deps.sh, optional)"
    up = SilentUpstream()
    nreq = 20
    clients, results = [], []
    try:
        p, _, base = start_caddy(upstream="127.0.0.1:%d" % up.port)
        with p:
            for i in range(nreq):
                t = threading.Thread(target=stuck_request, args=(base + "/stuck%d" % i, results))
                t.start()
                clients.append(t)
            # the requests' own signal: each proxied connection reached the upstream; then
            # caddy's side has written the request and waits for an answer
            up.wait_for(nreq)
            peer = "127.0.0.1:%d" % up.port
            deadline = time.monotonic() + 30
            while True:
                rep = json.loads(run_chang(["attach", "--pid", str(p.pid), "--format=json"], timeout=120).stdout)
                mine = [f for f in rep["findings"] if peer in f["summary"]]
                if (mine and mine[0]["count"] == nreq) or time.monotonic() > deadline:
                    break
            check(len(mine) == 1, "no network-hang finding naming %s: %r" % (peer, [f["summary"] for f in rep["findings"]]))
            f = mine[0]
            check(f["kind"] == "mass-blocking" and not f["maybe_normal"] and f["count"] == nreq and len(f["goids"]) == nreq,
                  "finding %r" % {k: f[k] for k in ("kind", "maybe_normal", "count", "summary")})
            check("%d goroutines are blocked on tcp connections to the same peer %s" % (nreq, peer) in f["summary"]
                  and "not responding" in f["summary"], f["summary"])
            check(f["object"]["kind"] == "read" and f["object"]["fd_target"].endswith("-> %s ESTABLISHED" % peer),
                  "object %r" % f["object"])
            # every waiter is a goroutine reading one socket to the upstream
            byid = {g["goid"]: g for g in rep["goroutines"]}
            fds = {byid[g]["wait"]["fd"] for g in f["goids"]}
            check(len(fds) == nreq, "the waiters' fds: %r" % sorted(fds))
            text = run_chang(["attach", "--pid", str(p.pid)], timeout=120).stdout
            check(("mass-blocking#1: %d goroutines are blocked on tcp connections to the same peer %s" % (nreq, peer))
                  in text, text[:3000])
            p.untouched()
    finally:
        up.close()
        for t in clients:
            t.join(60)


test_caddy_stuck_upstream_is_a_network_hang.timeout = 300
