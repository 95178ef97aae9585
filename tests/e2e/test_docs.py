"""chang.1's and README.md's option sections are what commands/optable.c makes (make docs)."""
import os
import subprocess
import sys

from harness import ROOT, check, chang_bin


def test_option_docs_made_from_the_table():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_docs.py"), "--check"],
                       capture_output=True, text=True, env=dict(os.environ, CHANG_BIN=chang_bin()), timeout=60)
    check(r.returncode == 0, r.stderr.strip())
