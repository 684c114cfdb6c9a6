#!/usr/bin/env python3
"""Self cost per function from a callgrind dump (for files callgrind_annotate mis-attributes), demangled.
Usage: bench/callgrind_top.py DUMP [N] [--per REQUESTS] [--by-object]
--by-object also prints self cost per shared object (skiff, libcrypto, libssl, libc...): system libraries without
symbols show up as bare addresses in the function list, their object says whose they are."""
import re, subprocess, sys
from collections import Counter


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 40
    per = int(sys.argv[sys.argv.index("--per") + 1]) if "--per" in sys.argv else 1
    names, cost, fn, skip = {}, Counter(), None, False
    objects, ob, per_object = {}, None, Counter()
    for line in open(path):
        if line.startswith("ob="):
            m = re.match(r"ob=\((\d+)\)(?: (.*))?", line.strip())
            if m and m.group(2):
                objects[m.group(1)] = m.group(2)
            ob = m.group(1) if m else None
        elif line.startswith("cob="):
            m = re.match(r"cob=\((\d+)\) (.+)", line.strip())
            if m:
                objects[m.group(1)] = m.group(2)
        elif line.startswith("fn="):
            m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.strip())
            if m.group(2):
                names[m.group(1)] = m.group(2)
            fn = m.group(1)
        elif line.startswith("cfn="):
            m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.strip())
            if m and m.group(2):
                names[m.group(1)] = m.group(2)
        elif line.startswith("calls="):
            skip = True  # the next cost line is the call's inclusive cost
        elif line[:1].isdigit() or line[:1] in "+-*":
            if skip:
                skip = False
                continue
            parts = line.split()
            if len(parts) >= 2 and fn:
                cost[fn] += int(parts[1])
                per_object[ob] += int(parts[1])
    cost = Counter({names.get(k, k): v for k, v in cost.items()}) if False else cost
    resolved = Counter()
    for k, v in cost.items():
        resolved[names.get(k, k) if k.isdigit() else k] += v
    cost = resolved
    total = sum(cost.values())
    top = cost.most_common(n)
    dem = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(k for k, _ in top),
                         capture_output=True, text=True).stdout.splitlines()
    print(f"total {total:,} ({total / per:,.0f} per request)")
    if "--by-object" in sys.argv:
        for k, v in per_object.most_common():
            print(f"{v / per:10,.0f} {100 * v / total:5.1f}%  {objects.get(k, k)}")
        print()
    for (k, v), d in zip(top, dem or [k for k, _ in top]):
        print(f"{v / per:10,.0f} {100 * v / total:5.1f}%  {d[:150]}")


main()
