"""Go targets: chang's goroutine profile against the Go runtime's own.

Each scenario in tests/programs/go/ writes its own goroutine?debug=1/2 profiles (the oracles)
into $ORACLE_DIR, then waits. chang reads it live and from a gcore core; its
--format=goroutine must equal Go's group for group, byte for byte, leaving out only the
goroutine that wrote the oracle (label chang_oracle, or its main.writeOracle frame) and the
busy loop (label chang_volatile), as tests/fixtures/go/README.md says.

The toolchains are tiered to keep the run bounded: the oldest (Debian's 1.19) and the newest
installed (1.27 from sid, by tests/install-deps.sh) go through the whole matrix: every
scenario normal, stripped (-ldflags='-s -w'), linked externally by gcc with cgo (as Debian's
own Go services are) and both; PIE; live, gcore, kernel and --save-core cores. Every other
installed toolchain (1.21-1.23 from bookworm-backports, 1.24 from trixie, 1.26 from sid) runs
one scenario, normal and stripped; a toolchain that is not installed is a counted skip.
"deep" (not a fixture) blocks goroutines under deep recursion, where Go's depth limit
(32 PCs, 128 from 1.23) decides the groups."""
import os
import re
import shutil
import signal
import subprocess
import time

from harness import OUT, PROGRAMS, Program, TestFailure, check, run_chang

SCENARIOS = ("chansend", "mutexdeadlock", "mixed", "deep")
BIN_DIR = os.path.join(OUT, "bin", "go")
CORE_MIN_FREE = 3 << 30	# a gcore of a small Go program is 1.2-1.7 GB


def under_asan():
    return "asan" in os.environ.get("CHANG_BIN", "")


# Debian's packaged toolchains beside the default golang-go (1.19): bookworm-backports has
# 1.21-1.23, trixie 1.24, sid 1.26 and 1.27 (tests/install-deps.sh). Go 1.25 is in no suite
# of the mirror, so no test runs it.
NEWER_GO = ("1.21", "1.22", "1.23", "1.24", "1.26", "1.27")
NEWEST_GO = NEWER_GO[-1]


def go_for(version):
    p = "/usr/lib/go-%s/bin/go" % version
    return p if os.path.exists(p) else None


def toolchains():
    """(label, go binary) for the full matrix: Debian's default (the oldest) and the newest
    packaged toolchain when installed (not under ASan, where only the default runs)."""
    out = []
    go = shutil.which("go")
    if go:
        out.append(("", go))
    newest = go_for(NEWEST_GO)
    if newest and not under_asan():
        out.append((".go" + NEWEST_GO, newest))
    return out


VARIANT_FLAGS = {
    "": [],
    ".stripped": ["-ldflags=-s -w"],
    ".pie": ["-buildmode=pie"],
    # gcc links the program, after its C start-up code: runtime.text is not where .text starts
    ".ext": ["-ldflags=-linkmode=external"],
    ".ext.stripped": ["-ldflags=-linkmode=external -s -w"],
}


def build(scenario, go, label="", variant=""):
    """Build tests/programs/go/<scenario> once; variant is a key of VARIANT_FLAGS."""
    src = os.path.join(PROGRAMS, "go", scenario)
    os.makedirs(BIN_DIR, exist_ok=True)
    out = os.path.join(BIN_DIR, scenario + label + variant)
    main_go = os.path.join(src, "main.go")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(main_go):
        return out
    cmd = [go, "build", "-o", out] + VARIANT_FLAGS[variant]
    env = dict(os.environ, GO111MODULE="off", GOFLAGS="", GOTOOLCHAIN="local", CGO_ENABLED="1",
               GOCACHE=os.path.join(OUT, "gocache"), GOPATH=os.path.join(OUT, "gopath"))
    r = subprocess.run(cmd + ["."], cwd=src, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise TestFailure("go build %s failed:\n%s" % (scenario, r.stderr[-2000:]))
    if variant.startswith(".ext"):
        secs = subprocess.run(["readelf", "-SW", out], capture_output=True, text=True).stdout
        check(" .init " in secs, "%s: not linked by gcc (no .init section)" % out)
    return out


# ---- Go's debug=1 grammar: "goroutine profile: total N", then blank-line separated groups ----

def parse_profile(text):
    lines = text.split("\n")
    m = re.match(r"goroutine profile: total (\d+)$", lines[0])
    if not m:
        raise TestFailure("not a goroutine profile: %r" % lines[0][:200])
    groups, cur = [], []
    for line in lines[1:]:
        if line == "":
            if cur:
                groups.append("\n".join(cur) + "\n")
                cur = []
        else:
            cur.append(line)
    if cur:
        groups.append("\n".join(cur) + "\n")
    return int(m.group(1)), groups


def left_out(group):
    """The oracle writer and the busy loop cannot be compared (fixtures/go/README.md)."""
    return '"chang_oracle":' in group or '"chang_volatile":' in group or "main.writeOracle" in group


def compare_profiles(got, oracles):
    """chang's compared groups must equal an oracle's, in the same order, with the same
    total. Two oracles (written at READY and after the snapshot) absorb a goroutine that was
    busy while one of them was written (os/signal delivering the SIGUSR1 that asked for
    it): a group found in neither is what fails."""
    total, groups = parse_profile(got)
    mine = [g for g in groups if not left_out(g)]
    parsed = []
    for text in oracles:
        ototal, ogroups = parse_profile(text)
        parsed.append((ototal, [g for g in ogroups if not left_out(g)]))
    for ototal, theirs in parsed:
        if ototal == total and theirs == mine:
            return len(mine)
    pool = set(g for _, theirs in parsed for g in theirs)
    if all(g in pool for g in mine) and any(t == total and len(th) == len(mine) for t, th in parsed):
        return len(mine)
    ototal, theirs = parsed[0]
    errors = []
    if ototal != total:
        errors.append("total %d, Go says %d" % (total, ototal))
    errors += ["group missing from chang:\n" + g for g in theirs if g not in mine]
    errors += ["group chang has, Go has not:\n" + g for g in mine if g not in pool]
    if len(errors) == (ototal != total):
        errors.append("same groups in another order")
    raise TestFailure("goroutine profile differs from Go's:\n" + "\n".join(errors)[:6000])


def start(binary):
    """Run a scenario with its oracles written into its own directory; READY once written."""
    cwd = os.path.join(OUT, "run", "%s-%d" % (os.path.basename(binary), time.monotonic_ns()))
    os.makedirs(cwd, exist_ok=True)
    env = dict(os.environ, ORACLE_DIR=cwd)
    p = Program(binary, cwd=cwd, env=env)
    try:
        p.wait_line("READY", timeout=20)
        with open(os.path.join(cwd, "goroutine.debug1.txt")) as f:
            p.ready_oracle = f.read()
        with open(os.path.join(cwd, "goroutine.debug2.txt")) as f:
            p.ready_debug2 = f.read()
    except Exception:
        p.cleanup()
        raise
    return p


def redump(p):
    """A fresh oracle after the snapshot: SIGUSR1, then DUMPED (an HTTP fetch would add
    goroutines of its own)."""
    os.kill(p.pid, signal.SIGUSR1)
    p.wait_line("DUMPED", timeout=20)
    with open(os.path.join(p.cwd, "goroutine.debug1.txt")) as f:
        d1 = f.read()
    with open(os.path.join(p.cwd, "goroutine.debug2.txt")) as f:
        d2 = f.read()
    return d1, d2


def goroutine_text(args):
    r = run_chang(list(args) + ["--format=goroutine"], timeout=120)
    return r.stdout


def attach_and_compare(binary):
    with start(binary) as p:
        got = goroutine_text(["attach", "--pid", str(p.pid)])
        p.untouched()
        d1, _ = redump(p)
        n = compare_profiles(got, [d1, p.ready_oracle])
        check(n >= 4, "only %d groups compared" % n)
        return p


def test_go_attach_matches_go():
    """Live: every scenario, normal, stripped and linked externally, by the oldest and the
    newest toolchain."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    done = 0
    for label, go in chains:
        for sc in SCENARIOS:
            if under_asan():
                variants = ("", ".stripped", ".ext.stripped") if sc == "mixed" else ("",)
            elif sc == "deep":
                variants = ("", ".ext.stripped")
            else:
                variants = ("", ".stripped", ".ext", ".ext.stripped")
            for variant in variants:
                attach_and_compare(build(sc, go, label, variant))
                done += 1
    check(done >= 3, "nothing compared")
    if len(chains) < 2 and not under_asan():
        return "skip: Go %s not installed (tests/install-deps.sh); only %d builds of Go 1.19 compared" % (
            NEWEST_GO, done)


test_go_attach_matches_go.timeout = 900


def one_scenario(version):
    """The other toolchains: the mixed scenario, normal and stripped, live."""
    def test():
        go = go_for(version)
        if not go:
            return "skip: golang-%s-go is not installed (tests/install-deps.sh)" % version
        if under_asan():
            return "skip: Go %s runs in the release build's tests only" % version
        for variant in ("", ".stripped"):
            attach_and_compare(build("mixed", go, ".go" + version, variant))
    test.__doc__ = "Go %s: one scenario, live, compared with its own profile." % version
    test.timeout = 300
    # each toolchain compiles its standard library into a cold cache first (1-2 min on two
    # CPUs): the extended suite (make check-extended, its own step of .ci/run) runs these
    test.extended = True
    return test


for _v in NEWER_GO[:-1]:
    globals()["test_go_%s_one_scenario" % _v.replace(".", "_")] = one_scenario(_v)


def test_go_pie_attach():
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    for label, go in chains:
        attach_and_compare(build("mutexdeadlock", go, label, ".pie"))


test_go_pie_attach.timeout = 300


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_go_gcore_matches_go():
    """Cores: one at a time, each deleted right after chang read it."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    if not shutil.which("gcore"):
        return "skip: gcore (gdb) is not installed"
    cases = [("", "chansend", ""), ("", "mutexdeadlock", ".stripped"), ("", "mixed", "")]
    if len(chains) > 1:
        cases += [(chains[-1][0], "mixed", ".ext.stripped"), (chains[-1][0], "mutexdeadlock", "")]
    if under_asan():
        cases = cases[2:3]
    by_label = dict(chains)
    for label, sc, variant in cases:
        binary = build(sc, by_label[label], label, variant)
        os.makedirs(os.path.join(OUT, "run"), exist_ok=True)
        if free_bytes(os.path.join(OUT, "run")) < CORE_MIN_FREE:
            return "skip: less than %d GiB free for a Go core" % (CORE_MIN_FREE >> 30)
        with start(binary) as p:
            core = p.gcore()
            try:
                p.untouched()
                got = goroutine_text(["core", binary, core])
                rep = run_chang(["core", binary, core, "--format=json"], timeout=120).stdout
            finally:
                os.unlink(core)
            d1, _ = redump(p)
            compare_profiles(got, [d1, p.ready_oracle])
            check('"source": "core"' in rep, "core report")


test_go_gcore_matches_go.timeout = 600


def test_go_mini_core_matches_go():
    """chang attach --save-core (mini) on a Go program: the core holds what the goroutines
    were read from, so chang core on it gives Go's own profile, at a fraction of a gcore's
    size."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    cases = [(chains[0], "mixed", ""), (chains[0], "mutexdeadlock", ".stripped")]
    if len(chains) > 1:
        cases += [(chains[-1], "chansend", ".ext.stripped"), (chains[-1], "mixed", ".pie")]
    for (label, go), sc, variant in cases:
        binary = build(sc, go, label, variant)
        with start(binary) as p:
            core = os.path.join(p.cwd, "mini.core")
            live = goroutine_text(["attach", "--pid", str(p.pid), "--save-core", core])
            p.untouched()
            try:
                got = goroutine_text(["core", binary, core])
                size = os.path.getsize(core)
            finally:
                os.unlink(core)
            d1, _ = redump(p)
            check(got == live, "the mini core's goroutines differ from the capture that wrote it")
            compare_profiles(got, [d1, p.ready_oracle])
            check(size < 64 << 20, "mini core of %d MiB" % (size >> 20))


test_go_mini_core_matches_go.timeout = 300


def json_report(pid, extra=()):
    import json
    r = run_chang(["attach", "--pid", str(pid), "--format=json"] + list(extra), timeout=120)
    return json.loads(r.stdout)


def test_go_analyzers():
    """Channel and mutex findings on the scenarios, checked against what each program did."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    for label, go in chains:
        for variant in ("", ".stripped"):
            with start(build("chansend", go, label, variant)) as p:
                rep = json_report(p.pid)
                mass = [f for f in rep["findings"] if f["kind"] == "mass-blocking" and f["object"]["kind"] == "channel"]
                check(len(mass) == 1 and mass[0]["count"] == 500, "chansend findings: %r" % rep["findings"])
                s = mass[0]["summary"]
                check("buffer 100/100 full" in s and "0 receivers waiting" in s and "chan string" in s,
                      "channel summary: %s" % s)
                if not variant:
                    check("main.logCh" in s, "channel not named from .symtab: %s" % s)
                check(len(mass[0]["goids"]) == 500, "goids of the finding")
                senders = [g for g in rep["goroutines"] if g["status"] == "chan send"]
                check(len(senders) == 500 and all(g["object"]["capacity"] == 100 for g in senders),
                      "chan send goroutines")
        with start(build("mutexdeadlock", go, label)) as p:
            addrs = dict(re.findall(r"(\w+)=(0x[0-9a-f]+)", " ".join(p.lines)))
            rep = json_report(p.pid)
            objs = {}
            for g in rep["goroutines"]:
                o = g["object"]
                if o and o["type"] == "sync.Mutex":
                    objs[o["symbol"]] = o
            acc, led = objs.get("main.accountsMu"), objs.get("main.ledgerMu")
            check(acc and led, "mutexes not found: %r" % list(objs))
            check(acc["address"] == addrs["accountsMu"] and led["address"] == addrs["ledgerMu"],
                  "mutex addresses %s %s, program says %r" % (acc["address"], led["address"], addrs))
            check(acc["locked"] and acc["waiters"] == 101 and "101 waiters" in acc["state"], "accountsMu %r" % acc)
            check(led["locked"] and led["waiters"] == 1, "ledgerMu %r" % led)
            dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
            check(len(dl) == 1 and dl[0]["inferred"] and len(dl[0]["goids"]) == 2, "deadlock finding: %r" % dl)
            check("main.accountsMu" in dl[0]["summary"] and "main.ledgerMu" in dl[0]["summary"], dl[0]["summary"])
            r = run_chang(["attach", "--pid", str(p.pid), "--exit-code"], check_rc=False)
            check(r.returncode == 3, "--exit-code on a suspected deadlock gave %d" % r.returncode)
        with start(build("mixed", go, label, ".stripped")) as p:
            rep = json_report(p.pid)
            by = {}
            for g in rep["goroutines"]:
                by.setdefault(g["status"], []).append(g)
            lab = [g for g in rep["goroutines"] if g["labels"].get("component") == "ingest"]
            check(len(lab) == 2 and all(g["labels"] == {"component": "ingest", "shard": "7"} for g in lab),
                  "labels %r" % [g["labels"] for g in lab])
            wg = [g for g in by.get("semacquire", []) + by.get("sync.WaitGroup.Wait", [])
                  if g["object"] and g["object"]["type"] == "sync.WaitGroup"]
            check(len(wg) == 4 and wg[0]["object"]["state"] == "counter 1, 4 waiters", "WaitGroup %r" % wg[:1])
            rw = [g for g in rep["goroutines"] if g["object"] and g["object"]["type"] == "sync.RWMutex"]
            check(len(rw) == 3 and len({g["object"]["address"] for g in rw}) == 1, "RWMutex waiters %r" % rw)
            nil = [g for g in rep["goroutines"] if g["status"] == "chan receive (nil chan)"]
            check(len(nil) == 1 and nil[0]["object"]["op"] == "receiving from a nil channel", "nil chan")
            check(all(g["created_by"] for g in rep["goroutines"] if g["goid"] != 1), "created_by")


test_go_analyzers.timeout = 300


def debug2_blocks(text):
    """goroutine id -> (status without minutes, frames with their argument words)."""
    out = {}
    for block in text.strip("\n").split("\n\n"):
        lines = block.split("\n")
        m = re.match(r"goroutine (\d+) \[(.*)\]:$", lines[0])
        if not m:
            continue
        body = list(lines[1:])
        out[int(m.group(1))] = (re.sub(r", \d+ minutes", "", m.group(2)), "\n".join(body))
    return out


def test_go_threads_format_matches_debug2():
    """--format=threads gives Go's debug=2 blocks, argument words and their "?" included."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    for label, go in chains[:1] + chains[-1:]:
        with start(build("mixed", go, label)) as p:
            got = debug2_blocks(run_chang(["attach", "--pid", str(p.pid), "--format=threads"]).stdout)
            _, d2 = redump(p)
            compared = 0
            for oracle in (d2, p.ready_debug2):
                theirs = debug2_blocks(oracle)
                bad = []
                for goid, (status, body) in theirs.items():
                    if goid == 1 or status == "running" or "main.busyLoop" in body or "main.mix" in body \
                            or "os/signal.process" in body:
                        continue
                    compared += 1
                    if got.get(goid) != (status, body):
                        bad.append("goroutine %d: Go\n[%s]\n%s\nchang\n%r" % (goid, status, body, got.get(goid)))
                if not bad:
                    break
            check(not bad, "debug=2 blocks differ:\n" + "\n".join(bad)[:4000])
            check(compared >= 15, "only %d goroutines compared" % compared)


test_go_threads_format_matches_debug2.timeout = 300


def test_go_kernel_core():
    """A core the kernel wrote (GOTRACEBACK=crash makes SIGABRT dump one): read-only text
    and pclntab come from the executable, everything else from the core."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    for label, go in chains:
        res = kernel_core_once(build("chansend", go, label, ".stripped"))
        if res:
            return res


def kernel_core_once(binary):
    cwd = os.path.join(OUT, "run", "kcore-%d" % time.monotonic_ns())
    os.makedirs(cwd, exist_ok=True)
    if free_bytes(cwd) < CORE_MIN_FREE:
        return "skip: less than %d GiB free for a Go core" % (CORE_MIN_FREE >> 30)
    env = dict(os.environ, ORACLE_DIR=cwd, GOTRACEBACK="crash")
    # the runtime's crash traceback goes to stderr; the test's output has no use for it
    with Program("/bin/sh", args=("-c", 'exec "$0" 2>/dev/null', binary), cwd=cwd, env=env, core_limit=True) as p:
        p.wait_line("READY", timeout=20)
        with open(os.path.join(cwd, "goroutine.debug1.txt")) as f:
            oracle = f.read()
        core = p.kernel_core(signal.SIGABRT)
        if core is None:
            with open("/proc/sys/kernel/core_pattern") as f:
                return "skip: the kernel wrote no core here (core_pattern %s)" % f.read().strip()
        try:
            got = goroutine_text(["core", binary, core])
        finally:
            os.unlink(core)
        compare_profiles(got, [oracle])


test_go_kernel_core.timeout = 300


def test_go_100k_goroutines_pause():
    """100,000 goroutines: every goroutine is accounted for in its group, and the pause is
    measured and reported. How long the pause is belongs to make bench: a timed assertion
    here failed whenever the machine was busy."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    if under_asan():
        return "skip: timing is meaningless under ASan"
    import json
    binary = build("many", chains[0][1])
    with Program(binary, args=("100000",)) as p:
        p.wait_line("READY", timeout=60)
        r = run_chang(["attach", "--pid", str(p.pid), "--format=json"], timeout=120)
        rep = json.loads(r.stdout)
        p.untouched()
        check(rep["goroutine_count"] == 100001, "goroutines: %d" % rep["goroutine_count"])
        counts = sorted(g["count"] for g in rep["groups"])
        check(counts[-3:] == [25000, 25000, 50000], "groups %r" % counts[-5:])
        check(isinstance(rep["pause_ms"], (int, float)) and rep["pause_ms"] > 0, "pause %r" % rep["pause_ms"])
        mass = [f for f in rep["findings"] if f["kind"] == "mass-blocking"]
        check(any(f["count"] == 50000 and f["object"]["symbol"] == "main.events" for f in mass),
              "no finding for the 50000 senders: %r" % [f["summary"] for f in mass])
        # main locked mu and sits in select {}: the lockers' finding is a chain to it
        chain = [f for f in rep["findings"] if f["kind"] == "blocking-chain" and f["chain"][0]["count"] == 25000
                 and f["chain"][0]["object"]["symbol"] == "main.mu"]
        check(len(chain) == 1 and chain[0]["chain"][-1]["site"].startswith("main.main ") and
              chain[0]["chain"][-1]["object"]["op"] == "in select with no cases",
              "no chain from the 25000 lockers to main: %r" % [f["summary"] for f in rep["findings"]])


test_go_100k_goroutines_pause.timeout = 300


def test_go_max_frames_lifts_depth_limit():
    """Go cuts profiles at 32 PCs (128 from 1.23); --max-frames asks for more."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    binary = build("deep", chains[0][1])
    with start(binary) as p:
        _, groups = parse_profile(goroutine_text(["attach", "--pid", str(p.pid)]))
        depths = [len(g.split("\n")[0].split()) - 2 for g in groups]
        check(max(depths) == 32, "Go's limit: deepest record has %d PCs" % max(depths))
        _, groups = parse_profile(goroutine_text(["attach", "--pid", str(p.pid), "--max-frames=1000"]))
        heads = [g.split("\n")[0].split() for g in groups]
        deepest = max(heads, key=len)
        check(len(deepest) - 2 > 200, "--max-frames=1000: deepest record has %d PCs" % (len(deepest) - 2))
        # the whole stack, down to runtime.goexit where every goroutine's stack ends
        shallow = min(heads, key=len)
        check(deepest[-1] == shallow[-1], "deepest record ends at %s, not %s" % (deepest[-1], shallow[-1]))


test_go_max_frames_lifts_depth_limit.timeout = 120


def with_version(binary, version):
    """A copy of binary whose build info names another Go release (same length): what the
    runtime does is unchanged, what chang believes of the version is not."""
    with open(binary, "rb") as f:
        data = bytearray(f.read())
    at = data.find(b"\xff Go buildinf:")
    check(at >= 0, "%s has no build info" % binary)
    n = data[at + 32]
    old = bytes(data[at + 33:at + 33 + n])
    check(old.startswith(b"go1.") and len(version) == n, "build info version %r" % old)
    data[at + 33:at + 33 + n] = version.encode()
    out = "%s.as-%s" % (binary, version)
    with open(out, "wb") as f:
        f.write(data)
    os.chmod(out, 0o755)
    return out


def test_go_unreadable_goroutines_exit_4():
    """Goroutines that cannot be read are never a silent downgrade: the threads are still
    printed, stderr says why, JSON's go_error too, and the exit status is 4."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    binary = build("chansend", chains[0][1])
    with open(binary, "rb") as f:
        data = f.read()
    old = re.search(rb"go1\.\d+(\.\d+)?", data[data.find(b"\xff Go buildinf:") + 33:]).group(0).decode()
    fake = with_version(binary, "go1.17" + old[len("go1.19"):])
    with start(fake) as p:
        r = run_chang(["attach", "--pid", str(p.pid), "--format=goroutine"], check_rc=False)
        check(r.returncode == 4, "exit %d, want 4: %s" % (r.returncode, r.stderr))
        check("goroutines not read" in r.stderr and "go1.17" in r.stderr, "stderr: %r" % r.stderr)
        check(r.stdout.startswith("threads profile: total "), "threads not printed: %r" % r.stdout[:200])
        import json
        r = run_chang(["attach", "--pid", str(p.pid), "--format=json"], check_rc=False)
        check(r.returncode == 4, "json: exit %d" % r.returncode)
        rep = json.loads(r.stdout)
        check(rep["go_error"] and "1.18 and later" in rep["go_error"], "go_error %r" % rep.get("go_error"))
        check(rep["thread_count"] > 0 and rep["goroutine_count"] == 0, "threads only")
        p.untouched()


test_go_unreadable_goroutines_exit_4.timeout = 180


def test_go_newer_release_checked():
    """A release newer than chang knows is read, checked (PCs in functions, stacks ending in
    runtime.goexit, allglen), said so, and still equal to Go's own profile."""
    chains = toolchains()
    if not chains:
        return "skip: no Go toolchain (apt-get install golang-go)"
    import json
    label, go = chains[-1]
    binary = build("mixed", go, label, ".stripped")
    with open(binary, "rb") as f:
        data = f.read()
    old = re.search(rb"go1\.\d+(\.\d+)?", data[data.find(b"\xff Go buildinf:") + 33:]).group(0).decode()
    fake = with_version(binary, "go1.99" + old[len("go1.27"):])
    with start(fake) as p:
        got = goroutine_text(["attach", "--pid", str(p.pid)])
        rep = json_report(p.pid)
        p.untouched()
        d1, _ = redump(p)
        compare_profiles(got, [d1, p.ready_oracle])
        check(rep["go_version"].startswith("go1.99") and rep["go_error"] is None, "go %r" % rep["go_version"])
        check(any("newer than any Go" in w and "passed the checks" in w for w in rep["warnings"]),
              "warnings %r" % rep["warnings"])


test_go_newer_release_checked.timeout = 180


def binary_wait_reasons(binary):
    """runtime.waitReasonStrings as the binary holds it: string headers in its data, the
    strings in its read-only data, both read from the file through the section table."""
    import struct
    syms = subprocess.run(["nm", "-S", binary], capture_output=True, text=True).stdout
    m = re.search(r"^([0-9a-f]+) ([0-9a-f]+) [dD] runtime\.waitReasonStrings$", syms, re.M)
    check(m, "%s: no runtime.waitReasonStrings symbol" % binary)
    addr, size = int(m.group(1), 16), int(m.group(2), 16)
    secs = []
    for line in subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True).stdout.split("\n"):
        f = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if f and f.group(2) != "NOBITS":
            secs.append((int(f.group(3), 16), int(f.group(4), 16), int(f.group(5), 16)))
    with open(binary, "rb") as fh:
        data = fh.read()

    def read(a, n):
        for va, off, sz in secs:
            if va and va <= a and a + n <= va + sz:
                return data[off + a - va:off + a - va + n]
        raise TestFailure("%s: %#x not in the file" % (binary, a))
    out = []
    for i in range(size // 16):
        p, n = struct.unpack("<QQ", read(addr + 16 * i, 16))
        out.append(read(p, n).decode() if n else "")
    return out


def chang_wait_reason_tables():
    """go/waitreasons.c's tables: minor version -> strings."""
    with open(os.path.join(os.path.dirname(PROGRAMS), "..", "go", "waitreasons.c")) as f:
        text = f.read()
    tables = {}
    for minor, body in re.findall(r"reasons_1_(\d+)\[\] = \{(.*?)\n\};", text, re.S):
        tables[int(minor)] = re.findall(r'^\t"([^"]*)",', body, re.M)
    return tables


def check_wait_reason_tables(versions):
    """Stripped binaries have no runtime.waitReasonStrings symbol: when chang cannot find the
    array in the data either, it uses its own table of that release. Each table must be what
    the release's own binaries hold."""
    tables = chang_wait_reason_tables()
    check(len(tables) >= 7, "tables %r" % sorted(tables))
    versions = [(v, shutil.which("go") if v == "1.19" else go_for(v)) for v in versions]
    done = []
    for v, go in versions:
        if not go:
            continue
        got = binary_wait_reasons(build("mixed", go, "" if v == "1.19" else ".go" + v))
        want = tables.get(int(v.split(".")[1]))
        check(want == got, "Go %s: chang's table %r, the binary's %r" % (v, want, got))
        done.append(v)
    missing = [v for v, go in versions if not go]
    if missing:
        return "skip: only %s checked; Go %s not installed" % (", ".join(done) or "none", ", ".join(missing))


def test_go_wait_reason_tables():
    """chang's wait-reason tables of the oldest and the newest toolchain (whose programs the
    other tests build anyway) against their binaries."""
    return check_wait_reason_tables(["1.19", NEWEST_GO])


def test_go_wait_reason_tables_between():
    """The same for the toolchains in between: each compiles its standard library into a
    cold cache first, so the extended suite runs it."""
    return check_wait_reason_tables(list(NEWER_GO[:-1]))


test_go_wait_reason_tables.timeout = 300
test_go_wait_reason_tables_between.timeout = 600
test_go_wait_reason_tables_between.extended = True
