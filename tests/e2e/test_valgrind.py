"""chang under valgrind's memcheck: a whole core analysis (a gcore core of the AB-BA deadlock,
JSON output, each unwinder) with no error and no leak. Memcheck sees what ASan does not:
reads of uninitialised memory, and the libraries chang calls (libdw, libunwind, libelf)
as well as chang itself."""
import json
import subprocess

from harness import Program, build, chang_bin, check, have_tool

# valgrind cannot run an ASan binary; the release build is the one checked
RUN_UNDER_ASAN = False


def test_core_analysis_is_valgrind_clean():
    if not have_tool("valgrind"):
        return "skip: valgrind is not installed"
    exe = build("abba")
    with Program(exe, threads=3) as p:
        p.wait_ready()
        core = p.gcore()
        for unwinder in ("libunwind", "libdw"):
            cmd = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--track-origins=yes",
                   chang_bin(), "core", exe, core, "--format=json", "--unwinder=" + unwinder]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
            tail = r.stderr[-4000:]
            check(r.returncode == 0, "%s: exit %d under valgrind:\n%s" % (unwinder, r.returncode, tail))
            check("ERROR SUMMARY: 0 errors" in r.stderr, "%s: memcheck reported errors:\n%s" % (unwinder, tail))
            check("definitely lost" not in r.stderr or "definitely lost: 0 bytes" in r.stderr,
                  "%s: leaks:\n%s" % (unwinder, tail))
            rep = json.loads(r.stdout)
            # the analysis really ran: both workers unwound to their lock calls, the cycle found
            check(any(f["kind"] == "deadlock" for f in rep["findings"]), "%s: no deadlock found" % unwinder)
            check(sum(1 for t in rep["threads"] if len(t["frames"]) >= 5) >= 2,
                  "%s: stacks: %r" % (unwinder, [len(t["frames"]) for t in rep["threads"]]))


test_core_analysis_is_valgrind_clean.timeout = 600
