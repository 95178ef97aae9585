"""Reading, changing and writing x86_64 ELF core files, as much as the fuzz seeds
(tests/fuzz/gen_corpus.py) and the lying-core tests (tests/e2e/test_lying_cores.py) need:
the notes, the PT_LOAD segments with the bytes the file holds for each, a thread's
registers, and the memory behind an address."""
import struct

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
NHDR = struct.Struct("<III")
PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4
NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE = 1, 3, 6, 0x46494C45
AT_NULL, AT_PHDR, AT_ENTRY, AT_EXECFN = 0, 3, 9, 31
# struct elf_prstatus on x86_64: pr_pid at 32, pr_reg (struct user_regs_struct) at 112
PR_PID = 32
PR_REG = 112
REGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
        "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds",
        "es", "fs", "gs")
PRSTATUS_SIZE = 336


def pad4(n):
    return (n + 3) & ~3


class Note:
    def __init__(self, name, type, desc):
        self.name, self.type, self.desc = name, type, bytes(desc)

    def pack(self):
        name = self.name + b"\0"
        return (NHDR.pack(len(name), len(self.desc), self.type) + name.ljust(pad4(len(name)), b"\0")
                + self.desc.ljust(pad4(len(self.desc)), b"\0"))


class Load:
    """A PT_LOAD: data holds the bytes the file has (at most memsz; the rest was not dumped)."""

    def __init__(self, vaddr, memsz, flags, data=b"", align=4096):
        self.vaddr, self.memsz, self.flags, self.data, self.align = vaddr, memsz, flags, bytes(data), align

    @property
    def end(self):
        return self.vaddr + self.memsz


def parse_notes(buf):
    notes, off = [], 0
    while off + 12 <= len(buf):
        namesz, descsz, type = NHDR.unpack_from(buf, off)
        name_off = off + 12
        desc_off = name_off + pad4(namesz)
        if desc_off + descsz > len(buf):
            break
        notes.append(Note(bytes(buf[name_off:name_off + namesz]).rstrip(b"\0"), type,
                          buf[desc_off:desc_off + descsz]))
        off = desc_off + pad4(descsz)
    return notes


class Core:
    def __init__(self, notes=None, loads=None, ident=None):
        self.notes = notes or []
        self.loads = loads or []
        self.ident = ident

    @classmethod
    def read(cls, path):
        with open(path, "rb") as f:
            buf = f.read()
        return cls.parse(buf)

    @classmethod
    def parse(cls, buf):
        eh = EHDR.unpack_from(buf, 0)
        ident, phoff, shoff, phnum = eh[0], eh[5], eh[6], eh[10]
        if phnum == 0xFFFF:	# PN_XNUM: the count is section header 0's sh_info
            phnum = struct.unpack_from("<I", buf, shoff + 44)[0]
        core = cls(ident=ident)
        for i in range(phnum):
            p_type, p_flags, p_offset, p_vaddr, _, p_filesz, p_memsz, p_align = PHDR.unpack_from(
                buf, phoff + i * PHDR.size)
            data = buf[p_offset:p_offset + min(p_filesz, p_memsz)]
            if p_type == PT_NOTE:
                core.notes += parse_notes(buf[p_offset:p_offset + p_filesz])
            elif p_type == PT_LOAD:
                core.loads.append(Load(p_vaddr, p_memsz, p_flags, data, p_align))
        return core

    def to_bytes(self, align=4096, notes_blob=None):
        """The core as a file: header, program headers, notes, then each segment's bytes
        (at offsets aligned to `align`, 1 for the smallest file). notes_blob replaces the
        notes' own encoding, for notes that lie about their sizes."""
        notes = notes_blob if notes_blob is not None else b"".join(n.pack() for n in self.notes)
        phnum = 1 + len(self.loads)
        off = EHDR.size + PHDR.size * phnum
        note_off = off
        off += len(notes)
        offsets = []
        for l in self.loads:
            off = (off + align - 1) // align * align if l.data else off
            offsets.append(off)
            off += len(l.data)
        ident = self.ident or (b"\x7fELF\x02\x01\x01" + b"\0" * 9)
        out = bytearray(EHDR.pack(ident, 4, 62, 1, 0, EHDR.size, 0, 0, EHDR.size, PHDR.size, phnum, 64, 0, 0))
        out += PHDR.pack(PT_NOTE, 0, note_off, 0, 0, len(notes), 0, 1)
        for l, o in zip(self.loads, offsets):
            out += PHDR.pack(PT_LOAD, l.flags, o, l.vaddr, 0, len(l.data), l.memsz, l.align)
        out += notes
        for l, o in zip(self.loads, offsets):
            out += b"\0" * (o - len(out))
            out += l.data
        return bytes(out)

    def write(self, path, **kw):
        with open(path, "wb") as f:
            f.write(self.to_bytes(**kw))

    # ---- threads ----

    def threads(self):
        return [n for n in self.notes if n.type == NT_PRSTATUS and n.name == b"CORE"]

    @staticmethod
    def regs(note):
        vals = struct.unpack_from("<%dQ" % len(REGS), note.desc, PR_REG)
        return dict(zip(REGS, vals))

    @staticmethod
    def set_regs(note, **regs):
        d = bytearray(note.desc)
        cur = dict(zip(REGS, struct.unpack_from("<%dQ" % len(REGS), d, PR_REG)))
        cur.update(regs)
        struct.pack_into("<%dQ" % len(REGS), d, PR_REG, *[cur[r] & (2**64 - 1) for r in REGS])
        note.desc = bytes(d)

    @staticmethod
    def tid(note):
        return struct.unpack_from("<i", note.desc, PR_PID)[0]

    @staticmethod
    def set_tid(note, tid):
        d = bytearray(note.desc)
        struct.pack_into("<i", d, PR_PID, tid)
        note.desc = bytes(d)

    def auxv(self):
        for n in self.notes:
            if n.type == NT_AUXV and n.name == b"CORE":
                v = struct.unpack_from("<%dQ" % (len(n.desc) // 8), n.desc)
                return dict(zip(v[0::2], v[1::2]))
        return {}

    # ---- NT_FILE ----

    def files(self):
        """[(start, end, offset in pages, path)] and the page size, from NT_FILE."""
        for n in self.notes:
            if n.type == NT_FILE and n.name == b"CORE":
                count, page = struct.unpack_from("<QQ", n.desc, 0)
                ents = [struct.unpack_from("<QQQ", n.desc, 16 + 24 * i) for i in range(count)]
                names = n.desc[16 + 24 * count:].split(b"\0")
                return [(s, e, o, names[i].decode(errors="replace")) for i, (s, e, o) in enumerate(ents)], page
        return [], 0

    def set_files(self, files, page):
        desc = struct.pack("<QQ", len(files), page)
        desc += b"".join(struct.pack("<QQQ", s, e, o) for s, e, o, _ in files)
        desc += b"".join(p.encode() + b"\0" for _, _, _, p in files)
        for n in self.notes:
            if n.type == NT_FILE and n.name == b"CORE":
                n.desc = desc
                return
        self.notes.append(Note(b"CORE", NT_FILE, desc))

    # ---- memory ----

    def load_at(self, addr):
        for l in self.loads:
            if l.vaddr <= addr < l.end:
                return l
        return None

    def read_mem(self, addr, n):
        l = self.load_at(addr)
        if not l or addr + n > l.vaddr + len(l.data):
            return None
        o = addr - l.vaddr
        return l.data[o:o + n]

    def write_mem(self, addr, data):
        l = self.load_at(addr)
        if not l or addr + len(data) > l.vaddr + len(l.data):
            raise ValueError("%#x+%d is not in the core's dumped memory" % (addr, len(data)))
        o = addr - l.vaddr
        l.data = l.data[:o] + bytes(data) + l.data[o + len(data):]

    def trim(self, keep):
        """Keep the dumped bytes of the ranges in keep [(lo, hi)] only: every segment stays
        (mappings and permissions are kept), split where its dumped part ends, the rest of
        its bytes left out as a kernel leaves out what it does not dump."""
        out = []
        for l in self.loads:
            cuts = sorted((max(lo, l.vaddr), min(hi, l.vaddr + len(l.data))) for lo, hi in keep
                          if lo < l.vaddr + len(l.data) and hi > l.vaddr)
            merged = []
            for lo, hi in cuts:
                lo, hi = lo & ~0xFFF, (hi + 0xFFF) & ~0xFFF
                hi = min(hi, l.vaddr + len(l.data))
                if merged and lo <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
                else:
                    merged.append((max(lo, l.vaddr), hi))
            pos = l.vaddr
            for lo, hi in merged:
                if lo > pos:
                    out.append(Load(pos, lo - pos, l.flags, b"", l.align))
                out.append(Load(lo, hi - lo, l.flags, l.data[lo - l.vaddr:hi - l.vaddr], l.align))
                pos = hi
            if pos < l.end:
                out.append(Load(pos, l.end - pos, l.flags, b"", l.align))
        self.loads = out


def elf_symbols(path):
    """{name: st_value} of an ELF file's .symtab (empty when stripped)."""
    with open(path, "rb") as f:
        b = f.read()
    shoff, = struct.unpack_from("<Q", b, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", b, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + i * shentsize) for i in range(shnum)]
    out = {}
    for h in hdrs:
        if h[1] != 2:	# SHT_SYMTAB
            continue
        stroff = hdrs[h[6]][4]
        for i in range(h[5] // 24):
            name, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", b, h[4] + 24 * i)
            if name:
                out[b[stroff + name:b.index(b"\0", stroff + name)].decode(errors="replace")] = value
    return out
