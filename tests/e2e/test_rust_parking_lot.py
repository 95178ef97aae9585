"""parking_lot (tests/programs/rust/plock), built by cargo offline from Debian's packaged
crates (librust-parking-lot-dev, /usr/share/cargo/registry, pointed at by the program's
.cargo/config.toml): its Mutex and RwLock record no owner and park waiters on a futex of
their own, so chang tells the wait by the waiting frame (RawMutex::lock_slow,
RawRwLock::lock_*_slow), takes the lock from the key the thread was parked with, and finds
the AB-BA cycles as inferred deadlocks, each holder with its evidence. Contention that moves
gives no finding. Debian's cargo and rustc (1.63) and the newest cargo on the machine
(rustup's); a missing toolchain or crate is a counted skip."""
import glob
import os
import shutil
import subprocess

from harness import OUT, PROGRAMS, Program, TestFailure, chang_json, check

SRC = os.path.join(PROGRAMS, "rust", "plock")
REGISTRY = "/usr/share/cargo/registry"


def cargos():
    """label -> (cargo, rustc) for each toolchain found."""
    found = {}
    if os.path.exists("/usr/bin/cargo") and os.path.exists("/usr/bin/rustc"):
        found["debian"] = ("/usr/bin/cargo", "/usr/bin/rustc")
    home = os.path.expanduser("~/.cargo/bin")
    for cargo in (shutil.which("cargo"), os.path.join(home, "cargo")):
        if cargo and os.path.exists(cargo) and os.path.realpath(cargo) != "/usr/bin/cargo":
            rustc = os.path.join(os.path.dirname(cargo), "rustc")
            if os.path.exists(rustc):
                found["newest"] = (cargo, rustc)
                break
    return found


def build(label):
    cargo, rustc = cargos()[label]
    work = os.path.join(OUT, "rust-plock-" + label)
    binary = os.path.join(work, "target", "release", "plock")
    newest_src = max(os.path.getmtime(p) for p in glob.glob(os.path.join(SRC, "**"), recursive=True))
    if os.path.exists(binary) and os.path.getmtime(binary) >= newest_src:
        return binary
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(SRC, work)	# cargo writes Cargo.lock beside Cargo.toml
    env = dict(os.environ, RUSTC=rustc, CARGO_TARGET_DIR=os.path.join(work, "target"),
               CARGO_HOME=os.path.join(OUT, "cargo-home-" + label),
               PATH=os.path.dirname(rustc) + os.pathsep + os.environ.get("PATH", ""))
    r = subprocess.run([cargo, "build", "--offline", "--release"], cwd=work, env=env, capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        raise TestFailure("cargo build (%s) failed:\n%s" % (label, r.stderr[-3000:]))
    return binary


def check_cycle(binary, mode, names, kind):
    with Program(binary, args=(mode,)) as p:
        p.wait_line("READY", timeout=60)
        rep = chang_json(["attach", "--pid", str(p.pid)], timeout=120)
        p.untouched()
        dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
        check(len(rep["findings"]) == 1 and len(dl) == 1, "%s %s: %r" % (binary, mode, [f["summary"] for f in rep["findings"]]))
        f = dl[0]
        check(f["inferred"] and "inferred" in f["summary"], "not inferred: %s" % f["summary"])
        check(sorted(l["symbol"] for l in f["locks"]) == sorted(names), "locks %r" % f["locks"])
        tids = {t["name"]: t["tid"] for t in rep["threads"]}
        for l in f["locks"]:
            check(l["kind"] == kind and l["inferred"] and l["evidence"] and l["owner_tid"] in (tids["ab"], tids["ba"]),
                  "edge %r" % l)
        for t in rep["threads"]:
            if t["name"] in ("ab", "ba"):
                w = t["wait"]
                check(w["kind"] == kind and w["owner_tid"] is None and w["symbol"] in names and
                      "parking_lot" in (w["detail"] or ""), "wait %r" % w)


def check_healthy(binary):
    with Program(binary, args=("healthy",)) as p:
        p.wait_line("READY", timeout=60)
        for _ in range(5):
            rep = chang_json(["attach", "--pid", str(p.pid)], timeout=120)
            check(not rep["findings"], "healthy: %r" % [f["summary"] for f in rep["findings"]])
        p.untouched()


def one(label):
    def test():
        if not glob.glob(os.path.join(REGISTRY, "parking_lot-0.*")):
            return "skip: librust-parking-lot-dev is not installed (tests/install-deps.sh)"
        if label not in cargos():
            return "skip: no %s cargo and rustc (tests/install-deps.sh installs Debian's)" % label
        binary = build(label)
        check_cycle(binary, "mutex", ["plock::LEDGER", "plock::JOURNAL"], "mutex")
        check_cycle(binary, "rwlock", ["plock::INDEX", "plock::TABLE"], "rwlock")
        check_healthy(binary)
    test.__doc__ = "parking_lot Mutex and RwLock AB-BA cycles, and healthy contention (%s cargo)." % label
    test.timeout = 600
    return test


test_parking_lot_debian = one("debian")
test_parking_lot_newest = one("newest")
