"""Symbols and executables fetched by build-id from a real debuginfod server (Debian's
`debuginfod` package) over a directory holding a stripped AB-BA program and its debug file.
The server listens on every interface, so it and chang run in a network namespace of their
own with only loopback up (`unshare -n` holds it; `nsenter -n` runs the server and chang in
it). The target itself runs outside: pids are shared. Stripped programs, live and from a core
whose executable is gone, get full names and lines; a stopped server and a server that never
answers give a clear word, within the timeout; --no-debuginfod asks nothing."""
import json
import os
import shutil
import subprocess
import time

from harness import OUT, PROGRAMS, Program, TestFailure, check, chang_bin, functions

PORT = 8002	# in a network namespace of our own: nothing else listens there
TIMEOUT_S = 2	# DEBUGINFOD_TIMEOUT for the tests of dead servers


def skip_reason():
    for tool in ("debuginfod", "unshare", "nsenter", "ip", "gcore", "strip", "objcopy"):
        if not shutil.which(tool):
            return "skip: %s is not installed (tests/install-deps.sh installs debuginfod)" % tool
    if os.geteuid() != 0:
        return "skip: a network namespace of its own needs root"
    return None


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise TestFailure("%s exited %d: %s" % (" ".join(cmd), r.returncode, r.stderr[-1500:]))
    return r.stdout


class Netns:
    """The namespace (held by a bounded sleep), a server in it, and chang run in it."""

    def __init__(self, d):
        self.d = d
        self.holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && echo up && exec sleep 300"],
                                       stdout=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != "up":
            self.close()
            raise TestFailure("unshare -n did not bring loopback up: %r" % line)
        self.server = None

    def run(self, cmd, **kw):
        return subprocess.run(["nsenter", "-t", str(self.holder.pid), "-n"] + cmd, capture_output=True,
                              text=True, **kw)

    def start_server(self, srv_dir, build_ids):
        db = os.path.join(self.d, "db.sqlite")
        self.server_log = open(os.path.join(self.d, "server.log"), "w")
        self.server = subprocess.Popen(["nsenter", "-t", str(self.holder.pid), "-n", "debuginfod", "-p", str(PORT),
                                        "-F", srv_dir, "-d", db], stdout=self.server_log, stderr=subprocess.STDOUT)
        # ready when it serves both files (it scans the directory after it starts)
        urls = ["http://127.0.0.1:%d/buildid/%s/%s" % (PORT, b, k) for b in build_ids
                for k in ("debuginfo", "executable")]
        poll = ("import sys, time, urllib.request\n"
                "deadline = time.monotonic() + 30\n"
                "for u in sys.argv[1:]:\n"
                "    while True:\n"
                "        try:\n"
                "            urllib.request.urlopen(u, timeout=2).read(1); break\n"
                "        except Exception as e:\n"
                "            if time.monotonic() > deadline: sys.exit('not served: %s: %s' % (u, e))\n"
                "            time.sleep(0.05)\n")
        r = self.run(["python3", "-c", poll] + urls, timeout=40)
        if r.returncode != 0:
            raise TestFailure("debuginfod did not come up: %s %s" % (r.stderr[-500:], open(self.server_log.name).read()[-1500:]))

    def stop_server(self):
        if self.server and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None

    def mute_server(self):
        """A server that accepts connections and never answers."""
        code = ("import socket, sys, time\n"
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('127.0.0.1', %d)); s.listen(50); print('up', flush=True); time.sleep(120)\n" % (PORT + 1))
        p = subprocess.Popen(["nsenter", "-t", str(self.holder.pid), "-n", "python3", "-c", code],
                             stdout=subprocess.PIPE, text=True)
        check(p.stdout.readline().strip() == "up", "mute server did not start")
        return p

    def chang(self, args, urls, cache, extra_env=None, timeout=60):
        env = dict(os.environ)
        env.pop("DEBUGINFOD_URLS", None)
        if urls:
            env["DEBUGINFOD_URLS"] = urls
        env["DEBUGINFOD_CACHE_PATH"] = cache
        env.update(extra_env or {})
        t0 = time.monotonic()
        r = subprocess.run(["nsenter", "-t", str(self.holder.pid), "-n", chang_bin()] + args,
                           capture_output=True, text=True, env=env, timeout=timeout)
        r.elapsed = time.monotonic() - t0
        if r.returncode != 0:
            raise TestFailure("chang %s exited %d: %s" % (" ".join(args), r.returncode, r.stderr[-1500:]))
        return r

    def close(self):
        self.stop_server()
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()


class Setup:
    """d/full: abba with DWARF; d/srv: what the server offers (stripped executable, debug
    file); d/run: the stripped executable that runs."""

    def __enter__(self):
        self.d = os.path.join(OUT, "debuginfod-%d" % time.monotonic_ns())
        for sub in ("full", "srv", "run"):
            os.makedirs(os.path.join(self.d, sub))
        full = os.path.join(self.d, "full", "abba")
        sh(["gcc", "-O2", "-g", "-pthread", "-D_GNU_SOURCE", "-I", PROGRAMS, "-o", full,
            os.path.join(PROGRAMS, "abba.c")])
        self.exe = os.path.join(self.d, "run", "abba")
        sh(["strip", "--strip-all", "-o", self.exe, full])
        sh(["objcopy", "--only-keep-debug", full, os.path.join(self.d, "srv", "abba.debug")])
        shutil.copy(self.exe, os.path.join(self.d, "srv", "abba"))
        self.build_id = [l.split()[-1] for l in sh(["readelf", "-n", self.exe]).splitlines() if "Build ID" in l][0]
        self.ns = Netns(self.d)
        self.urls = "http://127.0.0.1:%d" % PORT
        return self

    def cache(self, name):
        return os.path.join(self.d, "cache-" + name)

    def __exit__(self, *a):
        self.ns.close()
        shutil.rmtree(self.d, ignore_errors=True)


def module(rep, name):
    m = [m for m in rep["modules"] if m["name"].endswith("/" + name)]
    check(len(m) == 1, "module %s: %r" % (name, [m["name"] for m in rep["modules"]]))
    return m[0]


def abba_named(rep):
    """Both workers with take_second at abba.c:14, and the deadlock found."""
    for outer in ("transfer_ab", "transfer_ba"):
        t = [t for t in rep["threads"] if outer in functions(t)]
        check(len(t) == 1, "%s not found: %r" % (outer, [functions(t) for t in rep["threads"]]))
        fn = functions(t[0])
        check("take_second" in fn, "frames %r" % fn)
        fr = t[0]["frames"][fn.index("take_second")]
        check(fr["file"] and fr["file"].endswith("abba.c") and fr["line"] == 14, "take_second at %s:%s" %
              (fr["file"], fr["line"]))
    check(any(f["kind"] == "deadlock" for f in rep["findings"]), "no deadlock: %r" % rep["findings"])


def test_debuginfod_live():
    why = skip_reason()
    if why:
        return why
    with Setup() as s:
        s.ns.start_server(os.path.join(s.d, "srv"), [s.build_id])
        with Program(s.exe, threads=3) as p:
            p.wait_ready()
            # without the server the stripped program has no names: the test can fail
            rep = json.loads(s.ns.chang(["attach", "--pid", str(p.pid), "--format=json"], None, s.cache("none")).stdout)
            check(not any("take_second" in functions(t) for t in rep["threads"]), "names without a server?")
            check(module(rep, "abba")["debuginfod_fetched"] is None, "fetched without a server")
            rep = json.loads(s.ns.chang(["attach", "--pid", str(p.pid), "--format=json", "--no-debuginfod"], s.urls,
                                        s.cache("off")).stdout)
            check(module(rep, "abba")["debuginfod_fetched"] is None and
                  module(rep, "abba")["debuginfod_error"] is None, "--no-debuginfod asked: %r" % module(rep, "abba"))
            check(not os.path.exists(s.cache("off")), "--no-debuginfod filled the cache")
            r = s.ns.chang(["attach", "--pid", str(p.pid), "--format=json"], s.urls, s.cache("live"))
            rep = json.loads(r.stdout)
            abba_named(rep)
            m = module(rep, "abba")
            check(m["debuginfod_fetched"] == "debug info", "module %r" % m)
            p.untouched()
            txt = s.ns.chang(["attach", "--pid", str(p.pid)], s.urls, s.cache("live")).stdout
            check("debuginfod: %s: debug info from a server" % s.exe in txt, txt[:1500])
            p.untouched()


def test_debuginfod_core_without_executable():
    why = skip_reason()
    if why:
        return why
    with Setup() as s:
        s.ns.start_server(os.path.join(s.d, "srv"), [s.build_id])
        with Program(s.exe, threads=3) as p:
            p.wait_ready()
            core = os.path.join(s.d, "core")
            shutil.move(p.gcore(), core)	# the program's directory goes with it
        os.rename(s.exe, s.exe + ".gone")	# the core's machine had it; this one has not
        rep = json.loads(s.ns.chang(["core", core, "--format=json"], s.urls, s.cache("core")).stdout)
        abba_named(rep)
        m = module(rep, "abba")
        check(m["debuginfod_fetched"] == "executable and debug info" and not m["missing"], "module %r" % m)
        check(m["file"].startswith(s.cache("core")), "file %r" % m["file"])
        check(not any("frames stay unsymbolized" in w for w in rep["warnings"]), "stale warning: %r" % rep["warnings"])

        # the server stopped: a clear word, no hang
        s.ns.stop_server()
        r = s.ns.chang(["core", core, "--format=json"], s.urls, s.cache("dead"),
                       {"DEBUGINFOD_TIMEOUT": str(TIMEOUT_S)})
        rep = json.loads(r.stdout)
        m = module(rep, "abba")
        check(m["debuginfod_fetched"] is None and m["missing"], "module %r" % m)
        check(m["debuginfod_error"] and "executable" in m["debuginfod_error"] and "failed" in m["debuginfod_error"],
              "error %r" % m["debuginfod_error"])
        check(any(f["kind"] == "deadlock" for f in rep["findings"]), "deadlock without symbols")
        txt = s.ns.chang(["core", core], s.urls, s.cache("dead")).stdout
        check("debuginfod: %s: no executable: the servers (%s) failed" % (s.exe, s.urls) in txt, txt[:1500])

        # a server that accepts and never answers: given up after the timeout
        mute = s.ns.mute_server()
        try:
            urls = "http://127.0.0.1:%d" % (PORT + 1)
            r = s.ns.chang(["core", core, "--format=json"], urls, s.cache("mute"),
                           {"DEBUGINFOD_TIMEOUT": str(TIMEOUT_S)}, timeout=60)
            m = module(json.loads(r.stdout), "abba")
            check(m["debuginfod_error"] and "timed out" in m["debuginfod_error"], "error %r" % m["debuginfod_error"])
            check(r.elapsed < TIMEOUT_S + 4, "took %.1f s with a %d s timeout" % (r.elapsed, TIMEOUT_S))
        finally:
            mute.kill()
            mute.wait()


test_debuginfod_live.timeout = 120
test_debuginfod_core_without_executable.timeout = 120


def test_run_passes_debuginfod_urls_to_its_command():
    """chang keeps DEBUGINFOD_URLS from libdwfl by taking it out of its own environment; the
    command `chang run` starts still gets it."""
    from harness import run_chang
    env = dict(os.environ, DEBUGINFOD_URLS="http://debuginfod.invalid:8002")
    r = run_chang(["run", "--", "sh", "-c", 'echo "URLS=$DEBUGINFOD_URLS"'], env=env)
    check("URLS=http://debuginfod.invalid:8002\n" in r.stdout, "the command saw %r" % r.stdout)
