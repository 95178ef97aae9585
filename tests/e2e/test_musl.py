"""musl targets (tests/programs/musl/*.c and tests/programs/abba.c built with Debian's musl-gcc, musl 1.2.3, static and
dynamic): chang names the C library, reads musl's lock words by musl's rules only (a normal
mutex holds EBUSY, never an owner TID 16; never a "barrier"), walks musl's CFI-less frames by
scanning the stack (frames marked as found by scanning), finds the AB-BA deadlock (inferred
for normal mutexes, proven for mutex types that record their owner), a self-deadlock, an
abandoned mutex, every wait kind, and nothing in a healthy program; live, from kernel cores,
from --save-core cores and with --sysroot. Without musl-gcc every test is a counted skip."""
import os
import shutil
import signal
import subprocess

from harness import OUT, PROGRAMS, Program, TestFailure, chang_json, check, functions, run_chang

MUSL_SRC = os.path.join(PROGRAMS, "musl")
NO_MUSL = "skip: musl-gcc is not installed (Debian's musl-tools; tests/install-deps.sh installs it)"


def musl_build(name, static):
    if not shutil.which("musl-gcc"):
        return None
    src = os.path.join(MUSL_SRC, name + ".c")
    if not os.path.exists(src):
        src = os.path.join(PROGRAMS, name + ".c")	# the glibc tests' program, built for musl
    out_dir = os.path.join(OUT, "bin")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "musl-%s-%s" % (name, "static" if static else "dynamic"))
    deps = [src, os.path.join(PROGRAMS, "ready.h")]
    if os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(d) for d in deps):
        return out
    cmd = ["musl-gcc", "-O2", "-g", "-D_GNU_SOURCE", "-o", out, src] + (["-static"] if static else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise TestFailure("musl-gcc %s failed:\n%s" % (name, r.stderr))
    return out


def by_name(rep, name):
    found = [t for t in rep["threads"] if t["name"] == name]
    check(len(found) == 1, "thread %r: %r" % (name, [t["name"] for t in rep["threads"]]))
    return found[0]


def check_musl(rep, static):
    check(rep["libc"] == "musl", "libc %r (%r)" % (rep["libc"], rep["libc_evidence"]))
    want = "static executable" if static else "interpreter /lib/ld-musl-x86_64.so.1"
    check(want in rep["libc_evidence"], "evidence %r" % rep["libc_evidence"])


def check_scanned_stack(t, caller, what):
    """The worker's stack reaches its own functions, past musl's frames, by scanning: frame 0
    from the registers, the rest marked found_by scan, never a CFI frame marked."""
    fns = functions(t)
    check("take_second" in fns and caller in fns, "%s: %s stack %r (%s)" % (what, t["name"], fns, t["unwind_error"]))
    check(t["frames"][0]["found_by"] is None, "%s: frame 0 marked %r" % (what, t["frames"][0]["found_by"]))
    i = fns.index("take_second")
    check(t["frames"][i]["found_by"] == "scan", "%s: take_second found by %r" % (what, t["frames"][i]["found_by"]))
    check(all(f["found_by"] in (None, "scan") for f in t["frames"]), "%s: found_by values" % what)


def check_abba(rep, what, static, proven, source="attach"):
    check_musl(rep, static)
    workers = {}
    for name, caller in (("worker-ab", "transfer_ab"), ("worker-ba", "transfer_ba")):
        t = by_name(rep, name) if source == "attach" else \
            [x for x in rep["threads"] if caller in functions(x)][0]
        check_scanned_stack(t, caller, what)
        w = t["wait"]
        check(t["state"] == "mutex" and w and w["kind"] == "mutex",
              "%s: %s waits in %r (%r)" % (what, caller, t["state"], w))
        check(w["owner_tid"] != 16, "%s: TID 16 (EBUSY) read as an owner" % what)
        workers[caller] = t
    # three threads, three stacks: the scanned frames tell them apart
    check(len(rep["groups"]) == 3, "%s: %d groups for 3 threads" % (what, len(rep["groups"])))
    dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
    check(len(dl) == 1, "%s: findings %r" % (what, [f["summary"] for f in rep["findings"]]))
    syms = sorted(l["symbol"] or "" for l in dl[0]["locks"])
    check(syms == ["lock_a", "lock_b"], "%s: locks %r" % (what, syms))
    ab, ba = workers["transfer_ab"], workers["transfer_ba"]
    check(dl[0]["inferred"] == (not proven), "%s: inferred %r" % (what, dl[0]["inferred"]))
    if proven:
        check(ab["wait"]["owner_tid"] == ba["tid"] and ba["wait"]["owner_tid"] == ab["tid"],
              "%s: owners %r %r" % (what, ab["wait"], ba["wait"]))
    else:
        check(ab["wait"]["owner_tid"] is None and "not recorded" in ab["wait"]["detail"],
              "%s: a normal mutex got owner %r" % (what, ab["wait"]))
        check(ab["wait"]["likely_owner_tid"] == ba["tid"] and ba["wait"]["likely_owner_tid"] == ab["tid"],
              "%s: likely owners %r %r" % (what, ab["wait"], ba["wait"]))


def test_musl_abba_live():
    for static in (True, False):
        exe = musl_build("abba", static)
        if not exe:
            return NO_MUSL
        with Program(exe, threads=3) as p:
            p.wait_ready()
            for unwinder in ("libdw", "libunwind"):
                what = "%s %s" % ("static" if static else "dynamic", unwinder)
                rep = chang_json(["attach", "--pid", str(p.pid), "--unwinder", unwinder])
                check_abba(rep, what, static, proven=False)
            txt = run_chang(["attach", "--pid", str(p.pid)]).stdout
            check("[scanned]" in txt and "C library: musl" in txt, "text: %s" % txt[:1500])
            check("barrier on lock" not in txt and "held by thread 16 " not in txt, "old wrong output: %s" % txt[:3000])
            p.untouched()


def test_musl_abba_owners():
    """Mutex types whose lock word records the owner's TID: the cycle is proven."""
    for kind in ("recursive", "errorcheck", "robust"):
        exe = musl_build("abba", True)
        if not exe:
            return NO_MUSL
        with Program(exe, threads=3, env=dict(os.environ, CHANG_TEST_MUTEX_TYPE=kind)) as p:
            p.wait_ready()
            check_abba(chang_json(["attach", "--pid", str(p.pid)]), kind, True, proven=True)


def test_musl_abba_cores():
    """Kernel cores (SIGABRT) and --save-core cores of the static and dynamic programs; the
    dynamic one's files also from a --sysroot holding the musl root."""
    for static in (True, False):
        exe = musl_build("abba", static)
        if not exe:
            return NO_MUSL
        what = "static" if static else "dynamic"
        with Program(exe, threads=3, core_limit=True) as p:
            p.wait_ready()
            saved = os.path.join(p.cwd, "saved.core")
            rep = chang_json(["attach", "--pid", str(p.pid), "--save-core", saved])
            check_abba(rep, what + " live", static, proven=False)
            check_abba(chang_json(["core", exe, saved]), what + " --save-core", static, proven=False, source="core")
            kc = p.kernel_core(signal.SIGABRT)
            if kc is None:
                return "skip: the kernel wrote no core (core_pattern %s)" % open("/proc/sys/kernel/core_pattern").read().strip()
            check_abba(chang_json(["core", exe, kc]), what + " kernel core", static, proven=False, source="core")
            if not static:
                root = os.path.join(p.cwd, "root")
                for path in (os.path.realpath("/lib/ld-musl-x86_64.so.1"), exe):
                    dst = root + path
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.copy(path, dst)
                os.makedirs(os.path.join(root, "lib"), exist_ok=True)
                os.symlink(os.path.realpath("/lib/ld-musl-x86_64.so.1"), os.path.join(root, "lib", "ld-musl-x86_64.so.1"))
                rep = chang_json(["core", kc, "--sysroot", root])
                check_abba(rep, what + " --sysroot", static, proven=False, source="core")
                check(not any("missing" in w for w in rep["warnings"]), "sysroot warnings %r" % rep["warnings"])


def check_waits(rep, what, static):
    check_musl(rep, static)
    holder = by_name(rep, "holder")["tid"]
    want = {
        "w-normal": ("mutex", "m_normal", None, holder),
        "w-recursive": ("mutex", "m_recursive", holder, None),
        "w-errcheck": ("mutex", "m_errcheck", holder, None),
        "w-rdlock": ("rwlock", "rw_written", None, holder),
        "w-wrlock": ("rwlock", "rw_read", None, holder),
        "w-sem": ("semaphore", "sem", None, None),
        "w-join": ("join", None, holder, None),
        "w-cond": ("condvar", None, None, None),
        "w-barrier": ("barrier", None, None, None),
        "w-barrier2": ("barrier", None, None, None),
    }
    for name, (kind, sym, owner, likely) in want.items():
        t = by_name(rep, name)
        w = t["wait"] or {}
        got = (t["state"], w.get("symbol"), w.get("owner_tid"))
        check(got == (kind, sym, owner), "%s: %s %r, want %r (%s)" % (what, name, got, (kind, sym, owner), w.get("detail")))
        if likely:
            check(w.get("likely_owner_tid") == likely, "%s: %s likely owner %r" % (what, name, w))
        check("does not match musl" not in (w.get("detail") or ""), "%s: %s %s" % (what, name, w.get("detail")))
    check(by_name(rep, "w-recursive")["wait"]["detail"].endswith("locked 2 times by its owner"), "%s: recursion" % what)
    # the two barrier waiters wait on the same instance
    check(by_name(rep, "w-barrier")["wait"]["address"] == by_name(rep, "w-barrier2")["wait"]["address"],
          "%s: barrier instances differ" % what)
    check(not any(t["state"] == "barrier" for t in rep["threads"] if not t["name"].startswith("w-barrier")),
          "%s: a barrier where there is none" % what)


def test_musl_waits():
    for static in (True, False):
        exe = musl_build("waits", static)
        if not exe:
            return NO_MUSL
        what = "static" if static else "dynamic"
        with Program(exe, threads=12, core_limit=True) as p:
            p.wait_ready()
            check_waits(chang_json(["attach", "--pid", str(p.pid)]), what, static)
            saved = os.path.join(p.cwd, "saved.core")
            chang_json(["attach", "--pid", str(p.pid), "--save-core", saved])
            rep = chang_json(["core", exe, saved])
            check_musl(rep, static)
            kinds = sorted(t["state"] for t in rep["threads"])
            check(kinds.count("mutex") == 3 and kinds.count("rwlock") == 2 and kinds.count("barrier") == 2 and
                  "semaphore" in kinds and "join" in kinds and "condvar" in kinds, "%s core: %r" % (what, kinds))


def test_musl_healthy():
    for static in (True, False):
        exe = musl_build("waits", static)
        if not exe:
            return NO_MUSL
        with Program(exe, args=["healthy"], threads=12) as p:
            p.wait_ready()
            rep = chang_json(["attach", "--pid", str(p.pid)])
            check_musl(rep, static)
            check(rep["findings"] == [], "healthy: %r" % [f["summary"] for f in rep["findings"]])
            check(all(t["state"] in ("sleep", "condvar") for t in rep["threads"]),
                  "healthy states %r" % sorted(t["state"] for t in rep["threads"]))


def test_musl_selflock_and_abandoned():
    exe = musl_build("selflock", True)
    if not exe:
        return NO_MUSL
    with Program(exe, threads=3) as p:
        p.wait_ready()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        me = by_name(rep, "self-robust")
        sd = [f for f in rep["findings"] if f["kind"] == "self-deadlock"]
        check(len(sd) == 1 and sd[0]["tids"][0] == me["tid"] and not sd[0]["inferred"],
              "self-deadlock %r" % [f["summary"] for f in rep["findings"]])
        check(me["wait"]["owner_tid"] == me["tid"], "robust owner %r" % me["wait"])
        plain = by_name(rep, "self-plain")
        check(plain["wait"]["kind"] == "mutex" and plain["wait"]["owner_tid"] is None, "plain %r" % plain["wait"])
    for static in (True, False):
        exe = musl_build("abandoned", static)
        with Program(exe, threads=2) as p:
            p.wait_ready()
            rep = chang_json(["attach", "--pid", str(p.pid)])
            w = by_name(rep, "waiter")["wait"]
            check(w["kind"] == "mutex" and w["owner_died"] and w["owner_tid"] is None, "abandoned wait %r" % w)
            ab = [f for f in rep["findings"] if f["kind"] == "abandoned-lock"]
            check(len(ab) == 1 and ab[0]["locks"][0]["symbol"] == "orphan_lock",
                  "abandoned %r" % [f["summary"] for f in rep["findings"]])


def test_musl_rust():
    """A Rust program for x86_64-unknown-linux-musl, when the machine's Rust has that target."""
    rustc = shutil.which("rustc")
    if not rustc:
        return "skip: no rustc"
    sysroot = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
    if not os.path.isdir(os.path.join(sysroot, "lib", "rustlib", "x86_64-unknown-linux-musl")):
        return ("skip: the Rust toolchain (%s) has no x86_64-unknown-linux-musl target (rustup's registry "
                "is not reachable here and Debian does not package it)" % sysroot)
    src = os.path.join(PROGRAMS, "rust", "rs_locks.rs")
    out = os.path.join(OUT, "bin", "rs_locks-musl")
    r = subprocess.run([rustc, "--edition", "2021", "-O", "-g", "--target", "x86_64-unknown-linux-musl", "-o", out, src],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "rustc --target musl: %s" % r.stderr[-2000:])
    with Program(out) as p:
        p.wait_ready()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        check(rep["libc"] == "musl", "libc %r" % rep["libc"])
        check(any(f["kind"] == "deadlock" for f in rep["findings"]), "findings %r" % [f["summary"] for f in rep["findings"]])


test_musl_abba_cores.timeout = 240
test_musl_waits.timeout = 240


def chain_findings(rep):
    return [f for f in rep["findings"] if f["kind"] == "blocking-chain"]


def check_chain(rep, what, inferred):
    tid = {t["name"]: t["tid"] for t in rep["threads"] if t["name"] in ("holder", "filler")}
    chains = chain_findings(rep)
    check(len(chains) == 1 and len(rep["findings"]) == 1,
          "%s: findings %r" % (what, [f["summary"] for f in rep["findings"]]))
    c = chains[0]
    check(c["root_tid"] == tid["holder"] and len(c["tids"]) == 5, "%s: root %r behind %r" % (what, c["root_tid"], c["tids"]))
    check(c["inferred"] == inferred, "%s: inferred %r" % (what, c["inferred"]))
    holders = {l["symbol"]: l["owner_tid"] for l in c["locks"]}
    # a proven chain lists the locks its root holds; an inferred one every lock on the way
    want = {"db_lock": tid["holder"], "cache_lock": tid["filler"]} if inferred else {"db_lock": tid["holder"]}
    check(holders == want, "%s: holders %r" % (what, holders))
    if inferred:
        check(all(l["inferred"] and l["evidence"] for l in c["locks"]), "%s: locks %r" % (what, c["locks"]))
        check(c["confirmed_ms"] > 0, "%s: not confirmed by a second look" % what)
        check("inferred blocking chain" in c["summary"] and "likely held by" in c["summary"], c["summary"])
        # no cycle among them, but only through guesses: the report says so
        check(rep["inferred_holder_waits"] == 5, "%s: inferred_holder_waits %r" % (what, rep["inferred_holder_waits"]))


def settled_chain(pid):
    """A capture once every thread sits in its final wait: the readiness check sees threads
    asleep, and one can still be asleep on the ready handshake's own mutex for a moment."""
    for _ in range(10):
        rep = chang_json(["attach", "--pid", str(pid)])
        waits = {t["name"]: (t["wait"] or {}).get("symbol") for t in rep["threads"]}
        readers = [t for t in rep["threads"] if t["name"] == "reader"]
        if waits.get("filler") == "db_lock" and all((t["wait"] or {}).get("symbol") == "cache_lock" for t in readers):
            return rep
    return rep


def test_chain_through_inferred_holders():
    """A chain whose locks record no owner (musl's normal mutexes) is one inferred finding
    rooted at the thread everyone waits behind, each holder with its evidence; the glibc
    build of the same program gives the proven chain only; contention that moves gives none."""
    exe = musl_build("chain", False)
    if not exe:
        return NO_MUSL
    glibc = os.path.join(OUT, "bin", "glibc-chain")
    r = subprocess.run(["gcc", "-O2", "-g", "-D_GNU_SOURCE", "-pthread", "-o", glibc,
                        os.path.join(MUSL_SRC, "chain.c")], capture_output=True, text=True)
    if r.returncode != 0:
        raise TestFailure("gcc chain.c failed:\n%s" % r.stderr)
    for binary, inferred in ((exe, True), (musl_build("chain", True), True), (glibc, False)):
        what = os.path.basename(binary)
        with Program(binary, threads=7) as p:
            p.wait_ready()
            check_chain(settled_chain(p.pid), what, inferred)
            txt = run_chang(["attach", "--pid", str(p.pid)]).stdout
            if inferred:
                check("cache_lock (0x" in txt and "likely held by" in txt, "%s text: %s" % (what, txt[:2000]))
                check("No deadlock found; 5 threads wait on locks that record no owner, checked through likely "
                      "holders" in txt and "No deadlock found.\n" not in txt, "%s text: %s" % (what, txt[:2000]))
            else:
                check("No deadlock found.\n" in txt, "%s text: %s" % (what, txt[:2000]))
            p.untouched()
        with Program(binary, args=["moving"], threads=7) as p:
            p.wait_ready(blocked=1)
            for _ in range(3):
                rep = chang_json(["attach", "--pid", str(p.pid)])
                check(chain_findings(rep) == [] and not [f for f in rep["findings"] if f["kind"] == "deadlock"],
                      "%s moving: %r" % (what, [f["summary"] for f in rep["findings"]]))
