#!/usr/bin/env python3
"""Compares two `ldp-sim --json` outputs, ignoring timing fields.

    python3 scripts/compare-sim.py before.json after.json

Timing fields are those whose name contains `_ns` or `_ms` (client_ns_per_report,
decode_ms, ...) or `timing`. Every other value must be equal exactly (floats too). Prints
each difference by its path; exits 0 when there are none, 1 otherwise, 2 on bad input.
"""

import json
import sys


def is_timing(key):
    return "_ns" in key or "_ms" in key or "timing" in key


def compare(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if is_timing(key):
                continue
            where = f"{path}.{key}" if path else key
            if key not in a:
                out.append(f"{where}: only in the second file")
            elif key not in b:
                out.append(f"{where}: only in the first file")
            else:
                compare(a[key], b[key], where, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items against {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: {a!r} != {b!r}")


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            first = json.load(f)
        with open(argv[2]) as f:
            second = json.load(f)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    differences = []
    compare(first, second, "", differences)
    for line in differences:
        print(line)
    if differences:
        print(f"{len(differences)} differences", file=sys.stderr)
        return 1
    print("identical (timing fields ignored)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
