"""Shared machinery for chang's end-to-end tests.

Tests start real hung programs, wait for their READY handshake and for their threads to
sit in the kernel (bounded polling of /proc, never a fixed sleep), run chang on them live
and on cores, and assert on the JSON report."""
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "out")
PROGRAMS = os.path.join(ROOT, "tests", "programs")


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def chang_bin():
    return os.environ.get("CHANG_BIN", os.path.join(ROOT, "chang"))


def build(name, extra=(), out_name=None, cxx=False, opt="-O2"):
    """Compile tests/programs/<name>.c (or .cpp) once; returns the binary path."""
    src = os.path.join(PROGRAMS, name + (".cpp" if cxx else ".c"))
    out_dir = os.path.join(OUT, "bin")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, out_name or name)
    deps = [src, os.path.join(PROGRAMS, "ready.h")]
    if os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(d) for d in deps):
        return out
    cc = "g++" if cxx else "gcc"
    cmd = [cc, opt, "-g", "-pthread", "-D_GNU_SOURCE", "-I", PROGRAMS, "-o", out, src] + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise TestFailure("building %s failed:\n%s" % (name, r.stderr))
    return out


def task_states(pid):
    states = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    line = f.read()
                states[int(tid)] = line[line.rindex(")") + 2]
            except (OSError, ValueError):
                pass
    except OSError:
        pass
    return states


class Program:
    """A hung test program, started in its own directory so kernel cores land there."""

    def __init__(self, binary, args=(), threads=None, cwd=None, core_limit=False, env=None):
        self.cwd = cwd or os.path.join(OUT, "run", "%s-%d" % (os.path.basename(binary), time.monotonic_ns()))
        os.makedirs(self.cwd, exist_ok=True)

        def pre():
            os.setsid()
            if core_limit:
                resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        self.proc = subprocess.Popen([binary] + list(args), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     cwd=self.cwd, preexec_fn=pre, env=env)
        self.pid = self.proc.pid
        self.threads = threads
        self.lines = []

    def wait_line(self, prefix, timeout=10.0):
        """Wait for a stdout line starting with prefix (the program's own signal)."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        buf = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.decode(errors="replace")
                self.lines.append(line)
                if line.startswith(prefix):
                    return line
        raise TestFailure("program %d did not print %r within %.0fs (got %r)" % (self.pid, prefix, timeout, self.lines))

    def wait_ready(self, timeout=10.0, blocked=None):
        """READY handshake, then until `blocked` threads (default: all) sleep in the kernel."""
        self.wait_line("READY", timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = task_states(self.pid)
            want = self.threads if self.threads is not None else len(st)
            sleeping = sum(1 for s in st.values() if s in "SD")
            if len(st) >= want and sleeping >= (blocked if blocked is not None else want):
                return self
            time.sleep(0.005)
        raise TestFailure("threads of %d did not block within %.0fs: %r" % (self.pid, timeout, task_states(self.pid)))

    def untouched(self, expect_state=None):
        """The target is alive, not traced, and (unless told otherwise) not stopped."""
        check(self.proc.poll() is None, "target %d died" % self.pid)
        with open("/proc/%d/status" % self.pid) as f:
            status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        check(status["TracerPid"].strip() == "0", "target still traced by %s" % status["TracerPid"].strip())
        for tid, s in task_states(self.pid).items():
            if expect_state:
                check(s == expect_state, "thread %d in state %s, want %s" % (tid, s, expect_state))
            else:
                check(s not in "tT", "thread %d left stopped (%s)" % (tid, s))

    def gcore(self):
        prefix = os.path.join(self.cwd, "gcore")
        r = subprocess.run(["gcore", "-o", prefix, str(self.pid)], capture_output=True, text=True, timeout=120)
        path = "%s.%d" % (prefix, self.pid)
        if r.returncode != 0 or not os.path.exists(path):
            raise TestFailure("gcore failed: %s" % r.stderr[-500:])
        return path

    def kernel_core(self, sig=signal.SIGABRT, timeout=30):
        """Kill with a core-dumping signal; returns the core the kernel wrote, or None."""
        os.kill(self.pid, sig)
        self.proc.wait(timeout=timeout)
        for name in ("core", "core.%d" % self.pid):
            p = os.path.join(self.cwd, name)
            if os.path.exists(p):
                return p
        return None

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        try:
            self.proc.stdout.close()
        except Exception:
            pass

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.cwd, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.cleanup()


def run_chang(args, timeout=60, check_rc=True, env=None):
    cmd = [chang_bin()] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check_rc and r.returncode != 0:
        raise TestFailure("%s exited %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()[-2000:]))
    return r


def chang_json(args, timeout=60):
    r = run_chang(list(args) + ["--format=json"], timeout=timeout)
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise TestFailure("chang printed invalid JSON (%s): %r" % (e, r.stdout[:500]))


def functions(thread):
    return [f["function"] for f in thread["frames"]]


def thread_by_name(report, name):
    return [t for t in report["threads"] if t["name"] == name]


def have_tool(name):
    return shutil.which(name) is not None
