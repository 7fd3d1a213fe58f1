#!/usr/bin/env python3
"""For each mechanism, list the non-test source files outside its own slice that name it.

A mechanism's slice is every file named after its family (`*/grr.rs`, `*/unary.rs`, ...,
and files inside a module directory of that name, such as `*/rappor/decode.rs`):
`protocol/src/mechanism/<family>.rs`, `client/src/encoder/<family>.rs`,
`aggregator/src/estimate/<family>.rs` and `simulations/src/<family>.rs`. Everything else that
names the mechanism is a place a new mechanism has to touch.

Scanned: `*/src/**/*.rs` of every crate, skipping comment lines and everything after a
`#[cfg(test)]` line (unit tests sit at the bottom of a file). Tests, benches and examples are
not counted: they may name every mechanism.

A mechanism is named by any of its patterns (Python regular expressions, one per line hit):
its variant names (`Hr`, `Olh`, ... as whole words, which covers `Mechanism::Hr`,
`MechanismKind::Hr`, `MechanismParams::Hr` and `Report::Hr`), its family's types
(`HadamardParams`, `LocalHashReport`, ...), and its family's module paths (`hadamard::`,
`mod hadamard`). Families shared by several mechanisms (unary: SUE and OUE) count a
type or module hit for each of them.

Usage: scripts/mechanism-touch.py [ROOT] [--files] [--check]
  ROOT     the workspace to scan (default: the repository this script is in)
  --files  also print every file and its number of lines that name the mechanism
  --check  exit 1 when a mechanism is named outside its slice in a file that is neither one
           of the dispatch points (DISPATCH) nor a listed exception (EXCEPTIONS, each with its
           reason): adding a mechanism must not spread into new files
The output is a table: mechanism, files outside its slice, lines.
"""

import os
import re
import sys

# family file stem -> (mechanisms, family patterns)
FAMILIES = {
    "grr": (["Grr"], [r"\bGrrParams\b", r"\bgrr::", r"\bmod grr\b"]),
    "unary": (["Sue", "Oue"], [r"\bUnaryParams\b", r"\bUnaryReport\b", r"\bunary::", r"\bmod unary\b"]),
    "local_hash": (["Olh", "Blh"], [r"\bLocalHashParams\b", r"\bLocalHashReport\b", r"\blocal_hash::", r"\bmod local_hash\b"]),
    "subset": (["Ss"], [r"\bSubsetParams\b", r"\bSubsetReport\b", r"\bsubset::", r"\bmod subset\b"]),
    "hadamard": (["Hr"], [r"\bHadamardParams\b", r"\bhadamard::", r"\bmod hadamard\b"]),
    "rappor": (["Rappor"], [r"\bRapporParams\b", r"\bRapporReport\b", r"\bRapporSpec\b", r"\brappor::", r"\bmod rappor\b"]),
    "sketch": (["Cms", "Hcms"], [r"\bSketchParams\b", r"\bSketchReport\b", r"\bHadamardSketchReport\b", r"\bsketch::", r"\bmod sketch\b"]),
    "loloha": (["Loloha"], [r"\bLolohaParams\b", r"\bLolohaSpec\b", r"\bloloha::", r"\bmod loloha\b"]),
    "lue": (["LSue", "LOue"], [r"\bLongitudinalUnaryParams\b", r"\bLongitudinalSpec\b", r"\blue::", r"\bmod lue\b"]),
    "numeric": (["Duchi", "Piecewise", "Hybrid"], [r"\bNumericParams\b", r"\bNumericReport\b", r"\bnumeric::", r"\bmod numeric\b"]),
    "dbitflip": (["DBitFlip"], [r"\bDBitFlipParams\b", r"\bDBitFlipReport\b", r"\bDBitFlipSpec\b", r"\bdbitflip::", r"\bmod dbitflip\b"]),
}

# The one place per crate where every mechanism is registered (docs/adding-a-mechanism.md).
DISPATCH = {
    "protocol/src/mechanism/mod.rs": "Mechanism, MechanismKind, MechanismParams and the dispatch",
    "protocol/src/report.rs": "the Report wire enum and its payload types",
    "protocol/src/lib.rs": "re-exports of the slices' public types",
    "client/src/encoder/mod.rs": "the encoder's one dispatch (randomizers!)",
    "aggregator/src/estimate/mod.rs": "Family and each_family!, the counters' one dispatch",
    "simulations/src/registry.rs": "how each mechanism is simulated",
}

# Files that name a mechanism for a reason of their own.
EXCEPTIONS = {
    "protocol/src/advisor.rs": "ranks the frequency oracles and states each one's cost",
    "protocol/src/campaign.rs": "the sketches' hash-family seed defaults to the campaign id",
    "protocol/src/mechanism/local_hash.rs": "local hashing reports through GRR over g buckets",
    "client/src/encoder/local_hash.rs": "local hashing reports through GRR over g buckets",
    "client/src/lib.rs": "re-exports the device-secret encoders (RAPPOR's, LOLOHA's)",
    "protocol/src/mechanism/loloha.rs": "LOLOHA is local hashing followed by two GRRs over g buckets",
    "client/src/encoder/loloha.rs": "LOLOHA is local hashing followed by two GRRs over g buckets",
    "aggregator/src/estimate/loloha.rs": "LOLOHA's reports fold as local hashing's per-report seeds",
    "simulations/src/lib.rs": "declares the simulator's per-family run modules",
    "simulations/src/cli/mod.rs": "declares the per-family subcommand modules",
    "simulations/src/cli/run.rs": "sends each registry kind to its family's run",
    "simulations/src/sketch.rs": "sketch runs reuse RAPPOR's candidate lists",
    "simulations/src/run.rs": "a placeholder report fills the reused block",
    "client/src/encoder/lue.rs": "L-SUE and L-OUE reports are unary bit vectors (UnaryReport)",
    "aggregator/src/estimate/lue.rs": "L-SUE and L-OUE fold with the unary counters (UnaryCounters<P>)",
    "simulations/src/longitudinal.rs": "runs the memoized device encoders beside the one-shot oracles over rounds",
    "simulations/src/demo.rs": "the demo campaign is an OLH campaign",
    "aggregator/src/estimate/dbitflip.rs": "dBitFlip answers with the numeric mechanisms' MeanEstimate",
    "simulations/src/numeric.rs": "numeric runs take dBitFlip's mean beside the other numeric mechanisms'",
    "simulations/src/attack/forge.rs": "the poisoning attacks forge each attacked oracle's report structure",
    "simulations/src/attack/theory.rs": "the attacks' closed-form gains depend on each oracle's report structure",
}


def source_files(root):
    for crate in sorted(os.listdir(root)):
        src = os.path.join(root, crate, "src")
        # `tests/` is the end-to-end harness: test code, which may name every mechanism.
        if not os.path.isdir(src) or crate in ("target", "tests"):
            continue
        for dirpath, _, names in os.walk(src):
            for name in sorted(names):
                if name.endswith(".rs"):
                    yield os.path.join(dirpath, name)


def in_slice(path, family):
    """Whether `path` is `<family>.rs` or inside a `<family>/` module directory."""
    parts = os.path.normpath(path).split(os.sep)
    return os.path.splitext(parts[-1])[0] == family or family in parts[:-1]


def code_lines(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("#[cfg(test)]"):
                return
            if stripped.startswith("//"):
                continue
            yield line


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show_files = "--files" in sys.argv[1:]
    check = "--check" in sys.argv[1:]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    strays = []
    files = list(source_files(root))
    print(f"{'mechanism':<10} {'files':>5} {'lines':>5}  (outside its slice */<family>.rs)")
    total_files, total_lines = 0, 0
    for family, (mechanisms, patterns) in FAMILIES.items():
        for mechanism in mechanisms:
            regex = re.compile("|".join([rf"\b{mechanism}\b"] + patterns))
            hits = {}
            for path in files:
                if in_slice(path, family):
                    continue
                count = sum(1 for line in code_lines(path) if regex.search(line))
                if count:
                    hits[os.path.relpath(path, root)] = count
            lines = sum(hits.values())
            total_files += len(hits)
            total_lines += lines
            print(f"{mechanism.lower():<10} {len(hits):>5} {lines:>5}")
            strays += [
                (mechanism.lower(), path)
                for path in sorted(hits)
                if path not in DISPATCH and path not in EXCEPTIONS
            ]
            if show_files:
                for path, count in sorted(hits.items()):
                    print(f"    {count:>4}  {path}")
    print(f"{'total':<10} {total_files:>5} {total_lines:>5}")
    if check and strays:
        for mechanism, path in strays:
            print(f"{path}: names {mechanism} outside its slice, the dispatch points and the exceptions", file=sys.stderr)
        print("a mechanism spread beyond its slice: move the code into the slice, or list the file with its reason in scripts/mechanism-touch.py", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
