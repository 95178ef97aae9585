"""Where -o (and every other output) points: chang replaces only what it can replace without
loss. A device node, a FIFO, /dev/stdout, a file with other hard links and a file in a directory
chang cannot write are written in place; symlinks are written through; a symlink that the
kernel's protected_symlinks rule would not follow is refused; new names and plain files are
written atomically and keep an existing file's mode. Each command that writes is tried."""
import os
import pwd
import shutil
import stat
import subprocess
import threading

from harness import OUT, Program, build, check, chang_bin, run_chang


def scratch(name):
    d = os.path.join(OUT, "outputs", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    os.chmod(d, 0o755)
    return d


def start_abba():
    return Program(build("abba"), threads=3).wait_ready()


class Core:
    """One gcore of the AB-BA program, shared by the `chang core` cases."""
    path = None


def the_core():
    if Core.path and os.path.exists(Core.path):
        return Core.path
    d = scratch("core")
    with start_abba() as p:
        path = os.path.join(d, "abba.core")
        run_chang(["attach", "--pid", str(p.pid), "--save-core", path])
    Core.path = path
    return path


def writers(d):
    """(name, argv builder) for each command that writes a named file; argv(dest) -> args."""
    core = the_core()
    exe = build("abba")
    return [
        ("core -o", lambda dest: ["core", exe, core, "-o", dest]),
        ("core --format=pprof -o", lambda dest: ["core", exe, core, "--format=pprof", "-o", dest]),
    ]


def is_report(data):
    return b"deadlock" in data or data[:2] == b"\x1f\x8b"


def test_output_onto_device_node():
    d = scratch("dev")
    for name, argv in writers(d):
        dev = os.path.join(d, "null")
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))	# a copy of /dev/null
        r = run_chang(argv(dev), check_rc=False)
        st = os.lstat(dev)
        check(r.returncode == 0, "%s onto a device: %r" % (name, r.stderr))
        check(stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3), "%s replaced the device node" % name)
        check(os.listdir(d) == ["null"], "%s left %r" % (name, os.listdir(d)))
        os.unlink(dev)


def test_output_onto_fifo_reaches_its_reader():
    d = scratch("fifo")
    for name, argv in writers(d):
        fifo = os.path.join(d, "pipe")
        os.mkfifo(fifo)
        got = []
        # a daemon: if chang replaced the FIFO, its reader waits forever and must not keep the
        # test runner from exiting
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
        reader.start()
        r = run_chang(argv(fifo), check_rc=False)
        reader.join(30)
        check(r.returncode == 0, "%s onto a FIFO: %r" % (name, r.stderr))
        check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "%s replaced the FIFO" % name)
        check(got and is_report(got[0]), "%s: the FIFO's reader got %r" % (name, got[:1]))
        os.unlink(fifo)


def test_output_dev_stdout():
    """/dev/stdout is a link to /proc/self/fd/1. The test uses its own link of the same kind,
    never the machine's /dev/stdout: a chang with the old bug would replace that device link
    with a regular file for every program on the machine (it happened once, from a stale
    binary running this test)."""
    core, exe = the_core(), build("abba")
    d = scratch("stdout")
    stdout = os.path.join(d, "stdout")
    os.symlink("/proc/self/fd/1", stdout)
    # stdout a pipe
    r = subprocess.run([chang_bin(), "core", exe, core, "-o", stdout], capture_output=True, timeout=60)
    check(r.returncode == 0 and b"deadlock" in r.stdout, "-o /dev/stdout onto a pipe: %r" % r.stderr)
    check(os.path.islink(stdout), "the /dev/stdout link was replaced")
    # stdout a regular file: written into it, not renamed over it
    path = os.path.join(d, "out.txt")
    with open(path, "wb") as f:
        r = subprocess.run([chang_bin(), "core", exe, core, "-o", stdout], stdout=f, stderr=subprocess.PIPE,
                           timeout=60)
    check(r.returncode == 0 and b"deadlock" in open(path, "rb").read(), "-o /dev/stdout onto a file: %r" % r.stderr)
    check(sorted(os.listdir(d)) == ["out.txt", "stdout"] and os.path.islink(stdout), "left %r" % os.listdir(d))
    # /dev/fd/1 and /proc/self/fd/1 themselves are written in place (they cannot be renamed over)
    r = subprocess.run([chang_bin(), "core", exe, core, "-o", "/proc/self/fd/1"], capture_output=True, timeout=60)
    check(r.returncode == 0 and b"deadlock" in r.stdout, "-o /proc/self/fd/1: %r" % r.stderr)


def test_output_symlink_written_through():
    d = scratch("symlink")
    for name, argv in writers(d):
        real = os.path.join(d, "real.txt")
        with open(real, "w") as f:
            f.write("old\n")
        os.chmod(real, 0o640)
        link = os.path.join(d, "link")
        os.symlink("real.txt", link)
        run_chang(argv(link))
        check(os.path.islink(link) and os.readlink(link) == "real.txt", "%s replaced the symlink" % name)
        check(is_report(open(real, "rb").read()), "%s: the link's target was not written" % name)
        check(stat.S_IMODE(os.stat(real).st_mode) == 0o640, "%s: mode of the target changed" % name)
        check(sorted(os.listdir(d)) == ["link", "real.txt"], "%s left %r" % (name, os.listdir(d)))
        # a dangling link: its target is created
        os.unlink(real)
        run_chang(argv(link))
        check(os.path.islink(link) and is_report(open(real, "rb").read()), "%s through a dangling link" % name)
        os.unlink(link)
        os.unlink(real)


def nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


def test_output_protected_symlink_refused():
    who = nobody()
    if os.geteuid() != 0 or not who:
        return "skip: needs root and a user nobody"
    d = scratch("sticky")
    os.chmod(d, 0o1777)	# like /tmp: sticky, world-writable, owned by root
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    for name, argv in writers(d):
        link = os.path.join(d, "trap")
        os.symlink(victim, link)
        os.lchown(link, who.pw_uid, who.pw_gid)	# planted by another user
        r = run_chang(argv(link), check_rc=False)
        check(r.returncode == 1 and link in r.stderr and "protected_symlinks" in r.stderr,
              "%s through a foreign link in a sticky dir: %d %r" % (name, r.returncode, r.stderr))
        check(r.stderr.count("\n") == 1, "%s: not one line: %r" % (name, r.stderr))
        check(open(victim).read() == "precious\n" and os.path.islink(link), "%s wrote through the trap" % name)
        os.unlink(link)
    os.chmod(d, 0o755)


def test_output_hard_linked_file_in_place():
    d = scratch("hardlink")
    for name, argv in writers(d):
        a, b = os.path.join(d, "a"), os.path.join(d, "b")
        with open(a, "w") as f:
            f.write("old\n")
        os.link(a, b)
        ino = os.stat(a).st_ino
        run_chang(argv(a))
        check(os.stat(a).st_ino == ino and os.stat(b).st_ino == ino, "%s parted the hard links" % name)
        check(is_report(open(b, "rb").read()), "%s: the other link does not see the report" % name)
        os.unlink(a)
        os.unlink(b)


def test_output_regular_file_atomic_keeps_mode():
    d = scratch("regular")
    for name, argv in writers(d):
        path = os.path.join(d, "report")
        with open(path, "w") as f:
            f.write("old\n")
        os.chmod(path, 0o600)
        ino = os.stat(path).st_ino
        run_chang(argv(path))
        st = os.stat(path)
        check(st.st_ino != ino, "%s: not replaced atomically (same inode)" % name)
        check(stat.S_IMODE(st.st_mode) == 0o600, "%s: mode %o, want 600" % (name, stat.S_IMODE(st.st_mode)))
        check(is_report(open(path, "rb").read()), "%s: no report" % name)
        check(os.listdir(d) == ["report"], "%s left %r" % (name, os.listdir(d)))
        os.unlink(path)


def test_output_unwritable_directory_in_place():
    who = nobody()
    if os.geteuid() != 0 or not who or not shutil.which("setpriv"):
        return "skip: needs root, a user nobody and setpriv"
    # Everything nobody must reach is copied into a directory of its own under the system's
    # temporary directory: the clone itself may sit below a directory only root can enter.
    import tempfile
    top = tempfile.mkdtemp(prefix="chang-outputs-")
    os.chmod(top, 0o755)
    d = os.path.join(top, "unwritable")
    os.makedirs(d)
    os.chmod(d, 0o755)	# owned by root: nobody cannot create names in it
    core, exe, chang = (shutil.copy(p, top) for p in (the_core(), build("abba"), chang_bin()))
    os.chmod(core, 0o644)
    for x in (exe, chang):
        os.chmod(x, 0o755)
    path = os.path.join(d, "report")
    with open(path, "w") as f:
        f.write("old\n")
    os.chown(path, who.pw_uid, who.pw_gid)	# nobody may write the file, not the directory
    ino = os.stat(path).st_ino
    as_nobody = ["setpriv", "--reuid=%d" % who.pw_uid, "--regid=%d" % who.pw_gid, "--clear-groups"]
    r = subprocess.run(as_nobody + [chang, "core", exe, core, "-o", path], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, CHANG_CACHE_DIR=""))
    check(r.returncode == 0, "as nobody: %d %r" % (r.returncode, r.stderr))
    check(os.stat(path).st_ino == ino and b"deadlock" in open(path, "rb").read(), "not written in place")
    # a new name in that directory cannot be made: the error names the path and the cause
    r = subprocess.run(as_nobody + [chang, "core", exe, core, "-o", os.path.join(d, "new")],
                       capture_output=True, text=True, timeout=60, env=dict(os.environ, CHANG_CACHE_DIR=""))
    shutil.rmtree(top, ignore_errors=True)
    check(r.returncode == 1 and os.path.join(d, "new") in r.stderr and "Permission denied" in r.stderr,
          "new name in an unwritable dir: %d %r" % (r.returncode, r.stderr))


def test_output_every_command():
    """attach -o, attach --save-core, run -o and --save=DIR, watch -o, each onto a device
    node, a FIFO's reader and through a symlink."""
    d = scratch("commands")
    dev = os.path.join(d, "null")
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    real = os.path.join(d, "real")
    link = os.path.join(d, "link")
    with start_abba() as p:
        for args in (["attach", "--pid", str(p.pid), "-o"],
                     ["attach", "--pid", str(p.pid), "--save-core"],
                     ["watch", "--pid", str(p.pid), "--once", "--after=0.2s", "-o"]):
            for dest in (dev, link):
                if dest == link:
                    open(real, "w").close()
                    os.symlink("real", link)
                r = run_chang(args + [dest], check_rc=False)
                check(r.returncode in (0, 3), "%s %s: %d %r" % (" ".join(args[:1] + args[3:]), dest, r.returncode,
                                                                r.stderr))
                check(stat.S_ISCHR(os.lstat(dev).st_mode), "%s replaced the device" % args[0])
                if dest == link:
                    check(os.path.islink(link) and os.path.getsize(real) > 0, "%s: not through the link" % args)
                    os.unlink(link)
                    os.unlink(real)
            p.untouched()
    # run: -o onto the device, --save=DIR with a FIFO in place of one of its files
    prog = build("abba")
    save = os.path.join(d, "save")
    os.makedirs(save)
    r = subprocess.run([chang_bin(), "run", "--timeout=1s", "-o", dev, "--save=" + save, "--", prog],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 124, "run: %d %r" % (r.returncode, r.stderr[-500:]))
    check(stat.S_ISCHR(os.lstat(dev).st_mode), "run -o replaced the device")
    names = os.listdir(save)
    check(any(n.endswith(".json") for n in names) and any(n.endswith(".pb.gz") for n in names), "run saved %r" % names)
    check(not [n for n in names if ".tmp." in n], "temporary files left: %r" % names)
