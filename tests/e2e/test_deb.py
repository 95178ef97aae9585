"""`make deb`: a Debian package of chang with its man page. Inspected with dpkg-deb (-I: its
control fields and dependencies as dpkg-shlibdeps computed them; -c: the binary, the man page,
the README), then installed with dpkg into an empty root of its own (not the machine's), where
the installed chang finds the AB-BA deadlock and the man page carries the option table."""
import gzip
import json
import os
import shutil
import subprocess
import time

from harness import OUT, ROOT, Program, TestFailure, build, check

RUN_UNDER_ASAN = False	# the package holds the release build


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if r.returncode != 0:
        raise TestFailure("%s exited %d: %s" % (" ".join(cmd), r.returncode, (r.stdout + r.stderr)[-2000:]))
    return r.stdout


def test_deb_package():
    for tool in ("dpkg-deb", "dpkg-shlibdeps", "dpkg"):
        if not shutil.which(tool):
            return "skip: %s is not installed (dpkg-dev)" % tool
    out = sh(["make", "-s", "--no-print-directory", "-C", ROOT, "-j2", "deb"])
    deb = out.split("deb: ", 1)[1].strip()
    deb = deb if os.path.isabs(deb) else os.path.join(ROOT, deb)
    check(os.path.exists(deb), "no package at %s" % deb)

    info = sh(["dpkg-deb", "-I", deb])
    fields = dict(l.strip().split(": ", 1) for l in info.splitlines() if l.startswith(" ") and ": " in l
                  and not l.startswith("  "))
    check(fields.get("Package") == "chang", "control: %r" % fields)
    for dep in ("libc6", "libdw1", "libelf1", "libunwind8", "libprotobuf-c1", "zlib1g"):
        check(dep in fields.get("Depends", ""), "Depends lacks %s: %r" % (dep, fields.get("Depends")))
    check(fields.get("Recommends") == "libdebuginfod1", "Recommends %r" % fields.get("Recommends"))
    listing = sh(["dpkg-deb", "-c", deb])
    for path in ("./usr/bin/chang", "./usr/share/man/man1/chang.1.gz", "./usr/share/doc/chang/README.md.gz"):
        check(path in listing, "%s not in the package:\n%s" % (path, listing))

    root = os.path.join(OUT, "deb-root-%d" % time.monotonic_ns())
    try:
        os.makedirs(os.path.join(root, "var/lib/dpkg/info"))
        os.makedirs(os.path.join(root, "var/lib/dpkg/updates"))
        open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
        # its dependencies are the machine's, not this root's
        sh(["dpkg", "--root=" + root, "--force-depends", "--log=/dev/null", "-i", deb])
        status = sh(["dpkg", "--root=" + root, "-s", "chang"])
        check("Status: install ok installed" in status, status)
        chang = os.path.join(root, "usr/bin/chang")
        with gzip.open(os.path.join(root, "usr/share/man/man1/chang.1.gz"), "rt") as f:
            man = f.read()
        check(man.startswith(".TH CHANG 1") and "no\\-debuginfod" in man and "debuginfo\\-path" in man,
              "man page: %r" % man[:300])
        with Program(build("abba"), threads=3) as p:
            p.wait_ready()
            rep = json.loads(sh([chang, "attach", "--pid", str(p.pid), "--format=json"]))
            dl = [f for f in rep["findings"] if f["kind"] == "deadlock"]
            check(len(dl) == 1 and sorted(l["symbol"] for l in dl[0]["locks"]) == ["lock_a", "lock_b"],
                  "installed chang: %r" % [f["summary"] for f in rep["findings"]])
            p.untouched()
    finally:
        shutil.rmtree(root, ignore_errors=True)


test_deb_package.timeout = 600
