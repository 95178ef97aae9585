"""Make a core from another tool or machine out of one made here: rewrite its NT_FILE note
(drop it, make its names relative, cut them short) and nothing else. The notes are written
back in place (never longer than before), so every memory segment keeps its offset and the
file stays as sparse as the kernel left it.

    python3 rewrite_notes.py IN OUT (--drop-file | --relative-names | --cut-names N)"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz"))
import corefile  # noqa: E402
from corefile import EHDR, PHDR, PT_NOTE, NT_FILE  # noqa: E402


def note_segment(buf):
    eh = EHDR.unpack_from(buf, 0)
    phoff, phnum = eh[5], eh[10]
    for i in range(phnum):
        ph = PHDR.unpack_from(buf, phoff + i * PHDR.size)
        if ph[0] == PT_NOTE:
            return phoff + i * PHDR.size, ph
    raise SystemExit("no PT_NOTE")


def rewrite(src, dst, drop_file=False, relative=False, cut=None):
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        head = f.read(1 << 20)
        ph_at, ph = note_segment(head)
        p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align = ph
        f.seek(p_offset)
        notes = corefile.parse_notes(f.read(p_filesz))
        core = corefile.Core(notes=notes)
        if drop_file:
            core.notes = [n for n in notes if not (n.type == NT_FILE and n.name == b"CORE")]
        else:
            files, page = core.files()
            out = []
            for s, e, o, p in files:
                if relative:
                    p = "./" + os.path.basename(p)
                if cut is not None:
                    p = p[:cut]
                out.append((s, e, o, p))
            core.set_files(out, page)
        blob = b"".join(n.pack() for n in core.notes)
        if len(blob) > p_filesz:
            raise SystemExit("rewritten notes are longer than the original")
        f.seek(p_offset)
        f.write(blob + b"\0" * (p_filesz - len(blob)))
        f.seek(ph_at)
        f.write(PHDR.pack(p_type, p_flags, p_offset, p_vaddr, p_paddr, len(blob), p_memsz, p_align))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--drop-file", action="store_true")
    g.add_argument("--relative-names", action="store_true")
    g.add_argument("--cut-names", type=int)
    a = ap.parse_args()
    rewrite(a.src, a.dst, a.drop_file, a.relative_names, a.cut_names)


if __name__ == "__main__":
    main()
