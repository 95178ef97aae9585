"""chang.1's and README.md's option sections are what commands/optable.c makes (make docs)."""
import os
import subprocess
import sys

from harness import ROOT, check, chang_bin


def test_option_docs_made_from_the_table():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_docs.py"), "--check"],
                       capture_output=True, text=True, env=dict(os.environ, CHANG_BIN=chang_bin()), timeout=60)
    check(r.returncode == 0, r.stderr.strip())


def test_missing_build_deps_named():
    """make on a machine without a -dev package names the package and `make deps`."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        fake = os.path.join(d, "cc")
        with open(fake, "w") as f:	# a compiler that finds every header but zstd's
            f.write('#!/bin/sh\nif grep -q zstd.h; then exit 1; fi\nexit 0\n')
        os.chmod(fake, 0o755)
        r = subprocess.run(["sh", os.path.join(ROOT, "tools", "check-build-deps.sh")], capture_output=True,
                           text=True, env=dict(os.environ, CC=fake), timeout=60)
        check(r.returncode == 1 and "libzstd-dev" in r.stderr and "make deps" in r.stderr and
              "libdw-dev" not in r.stderr, "check-build-deps: %d %r" % (r.returncode, r.stderr))
        r = subprocess.run(["sh", os.path.join(ROOT, "tools", "check-build-deps.sh")], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 0 and r.stderr == "", "on this machine: %d %r" % (r.returncode, r.stderr))
