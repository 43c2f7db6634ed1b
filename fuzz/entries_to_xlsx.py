#!/usr/bin/env python3
"""Turns a check_xlsx fuzz input ("@@@ <entry>\\n<content>" lists) into the .xlsx the target
checks, so that a finding can be reproduced with `jixiao check`.

usage: python3 fuzz/entries_to_xlsx.py INPUT OUT.xlsx
"""
import sys, zipfile

data = open(sys.argv[1], "rb").read()
assert data.startswith(b"@@@ "), "not a check_xlsx input"
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_STORED) as z:
    seen = set()
    parts = data[4:].split(b"\n@@@ ")
    for i, part in enumerate(parts):
        if b"\n" not in part:
            break  # the target stops at an entry without a name line
        name, _, content = part.partition(b"\n")
        name = name.decode("utf-8", "replace")
        if i + 1 < len(parts):
            content += b"\n"  # the target keeps the newline before the next mark
        if name in seen:
            continue  # the target skips duplicate names
        seen.add(name)
        z.writestr(name, content)
