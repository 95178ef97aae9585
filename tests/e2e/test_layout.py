"""The layout shows the data flow: attach/ and core/ capture into the target interface ->
unwind/, symbols/, go/ -> model/ -> analyzers/ annotate -> report/ reads. No folder's code
includes a header of a folder that (directly or not) includes it back."""
import glob
import os
import re

from harness import ROOT, check

FOLDERS = ["util", "model", "image", "attach", "core", "go", "unwind", "symbols", "analyzers", "report",
           "commands"]


def folder_graph():
    edges = {f: set() for f in FOLDERS}
    for f in FOLDERS:
        for path in glob.glob(os.path.join(ROOT, f, "*.[ch]")):
            for m in re.finditer(r'^#include "([a-z_]+)/', open(path).read(), re.M):
                if m.group(1) != f and m.group(1) in edges:
                    edges[f].add(m.group(1))
    return edges


def test_no_folder_include_cycles():
    edges = folder_graph()
    cycles = []
    for a in FOLDERS:
        # every folder reachable from a; a cycle when a reaches itself
        seen, todo = set(), list(edges[a])
        while todo:
            b = todo.pop()
            if b not in seen:
                seen.add(b)
                todo.extend(edges[b])
        if a in seen:
            cycles.append(a)
    check(not cycles, "folders in an include cycle: %s; edges: %s" %
          (cycles, {a: sorted(b) for a, b in edges.items() if b}))


def test_library_folders_do_not_include_commands():
    edges = folder_graph()
    up = [a for a in FOLDERS if a != "commands" and "commands" in edges[a]]
    check(not up, "library folders including commands/: %s" % up)
