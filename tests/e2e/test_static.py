"""`make static`: one self-contained chang. Copied alone into an empty directory, `ldd` says it
is not dynamic, and run chrooted there (nothing but itself and a /proc: no C library, no
elfutils, no package at all) it finds the AB-BA deadlock live, by attach from inside the
chroot, and from a core with the target machine's files given as --sysroot."""
import json
import os
import shutil
import subprocess
import time

from harness import OUT, ROOT, Program, TestFailure, build, check

RUN_UNDER_ASAN = False	# the static binary is one build; running it twice proves nothing


def static_chang():
    r = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "-j2", "static"], capture_output=True,
                       text=True, timeout=900)
    if r.returncode != 0:
        raise TestFailure("make static failed: %s" % (r.stdout + r.stderr)[-2000:])
    return os.path.join(ROOT, "build", "static", "chang")


def in_chroot(root, args, binds=()):
    """Run /chang ARGS chrooted to root, with /proc (and binds: (host dir, dir in root)) mounted
    in a mount namespace of its own, with no environment but PATH."""
    mounts = ["mount -t proc proc %s/proc" % root]
    for host, inside in binds:
        mounts.append("mount --rbind %s %s%s" % (host, root, inside))
    script = " && ".join(mounts) + " && exec chroot %s /chang \"$@\"" % root
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] + list(args),
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


def check_abba(r, what):
    check(r.returncode == 0, "%s: exit %d: %s" % (what, r.returncode, r.stderr[-1500:]))
    rep = json.loads(r.stdout)
    dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
    check(len(dl) == 1, "%s: findings %r" % (what, [f["summary"] for f in rep["findings"]]))
    syms = sorted(l["symbol"] or "" for l in dl[0]["locks"])
    check(syms == ["lock_a", "lock_b"], "%s: locks %r" % (what, syms))
    return rep


def test_static_binary_alone():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("chroot"):
        return "skip: the chroot of the static binary needs root, unshare and chroot"
    chang = static_chang()
    root = os.path.join(OUT, "static-root-%d" % time.monotonic_ns())
    os.makedirs(os.path.join(root, "proc"))
    try:
        shutil.copy(chang, os.path.join(root, "chang"))
        r = subprocess.run(["ldd", os.path.join(root, "chang")], capture_output=True, text=True)
        check("not a dynamic executable" in r.stdout + r.stderr, "ldd: %r" % (r.stdout + r.stderr))
        check(sorted(os.listdir(root)) == ["chang", "proc"], "the root holds more: %r" % os.listdir(root))
        r = in_chroot(root, ["--version"])
        check(r.returncode == 0 and "not in this static build" in r.stdout, "--version: %r" % (r.stdout + r.stderr))

        with Program(build("abba"), threads=3) as p:
            p.wait_ready()
            check_abba(in_chroot(root, ["attach", "--pid", str(p.pid), "--format=json"]), "attach")
            p.untouched()
            core = os.path.join(root, "core")
            shutil.move(p.gcore(), core)
        # the core, its machine's files under /host
        os.makedirs(os.path.join(root, "host"))
        rep = check_abba(in_chroot(root, ["core", "/core", "--sysroot", "/host", "--format=json"], [("/", "/host")]),
                         "core")
        check(rep["source"] == "core", "source %r" % rep["source"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


test_static_binary_alone.timeout = 900
