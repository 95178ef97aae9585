#!/usr/bin/env python3
"""The option sections of chang.1 and README.md are made from commands/optable.c (through
`chang help --options=man|markdown`), between their marker lines. `make docs` rewrites them;
`--check` only says whether what is committed is what the table makes (exit 1 if not)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = [
    ("chang.1", "man", '.\\" BEGIN OPTIONS (made from commands/optable.c by make docs)\n', '.\\" END OPTIONS\n'),
    ("README.md", "markdown", "<!-- BEGIN OPTIONS (made from commands/optable.c by make docs) -->\n",
     "<!-- END OPTIONS -->\n"),
]


def main():
    check = "--check" in sys.argv[1:]
    chang = os.environ.get("CHANG_BIN", os.path.join(ROOT, "chang"))
    stale = []
    for name, kind, begin, end in DOCS:
        path = os.path.join(ROOT, name)
        text = open(path).read()
        if begin not in text or end not in text:
            print("%s: the option markers are missing" % name, file=sys.stderr)
            return 1
        made = subprocess.run([chang, "help", "--options=" + kind], capture_output=True, text=True,
                              check=True).stdout
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        new = head + begin + made + end + tail
        if new != text:
            stale.append(name)
            if not check:
                open(path, "w").write(new)
    if check and stale:
        print("out of date with commands/optable.c (run make docs): %s" % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
