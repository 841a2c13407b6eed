#!/usr/bin/env python3
"""The live set malloc_peak.c wrote, largest first: size, when it was allocated, and its first named frames (demangled)."""
import re
import subprocess
import sys

text = open(sys.argv[1]).read()
print(text.split('\n', 1)[0])
rows = []
for block in text.split('BLOCK ')[1:]:
    lines = block.strip().split('\n')
    names = []
    for line in lines[1:]:
        m = re.search(r'\((_Z[^+)]*|[A-Za-z_][^+)]*)\+', line)
        if m and 'malloc_peak' not in line and m.group(1) not in ('malloc', 'posix_memalign', 'calloc', 'realloc'):
            names.append(m.group(1))
    rows.append((int(lines[0].split()[0]), lines[0].split('t=')[-1], names[:6]))
demangled = subprocess.run(['c++filt'], input='\n'.join(' | '.join(r[2]) for r in rows), capture_output=True, text=True).stdout.split('\n')
total = 0
for (size, t, _), names in sorted(zip(rows, demangled), key=lambda r: -r[0][0]):
    total += size
    print(f'{size / 1e6:8.1f} MB  t={t}  {re.sub(r"std::optional<[^>]*>|c10::ArrayRef<[^>]*>", "", names)[:220]}')
print(f'{total / 1e6:8.1f} MB in {len(rows)} blocks')
