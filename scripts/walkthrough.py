#!/usr/bin/env python3
"""Runs README.md's quick start demo and its walk-through as written, against a fresh collector,
and checks that every step prints what the README says it prints.

The README's `sh` blocks are the script: `cargo run -q --release -p NAME --` becomes the binary
that `cargo test` built (target/debug/NAME), and http://127.0.0.1:8080 the collector's address
(a free port). A step is a run of non-blank lines; its `# → TEXT` lines are what its output must
show: TEXT cut at each `…`, every piece found in the step's output in order.

Usage: scripts/walkthrough.py (from anywhere; .ci/run calls it after the tests).
"""

import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug")
MARK = "@@ldp-walkthrough-step@@"


def blocks(readme, heading):
    """The `sh` code blocks of the section under `heading`, indentation removed."""
    section = readme.split(heading, 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"^( *)```sh\n(.*?)^\1```", section, flags=re.S | re.M)
    return ["\n".join(line[len(indent):] for line in body.splitlines()) for indent, body in found]


def steps(block):
    """(command, expectations) for each run of non-blank lines."""
    for chunk in re.split(r"\n\s*\n", block.strip()):
        lines = chunk.splitlines()
        command = "\n".join(l for l in lines if not l.lstrip().startswith("#"))
        expected = [l.split("# → ", 1)[1] for l in lines if l.lstrip().startswith("# → ")]
        if command.strip():
            yield command, expected


def as_run_here(command, url):
    command = re.sub(r"cargo run (?:-q )?--release -p ([a-z-]+) --", BIN + r"/\1", command)
    return command.replace("http://127.0.0.1:8080", url)


def start_collector(work):
    address = os.path.join(work, "address")
    token = os.path.join(work, "admin.token")
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen(
        [os.path.join(BIN, "ldp-aggregator"), "serve", "--listen", "127.0.0.1:0",
         "--address-file", address, "--admin-token-file", token],
        cwd=work, stdout=log, stderr=subprocess.STDOUT)
    # A hang guard, not a timing assumption: the collector writes the file once it listens.
    for _ in range(600):
        if os.path.exists(address) and os.path.getsize(address) > 0 and os.path.exists(token):
            break
        if server.poll() is not None:
            sys.exit("the collector stopped: see " + log.name)
        time.sleep(0.05)
    else:
        sys.exit("the collector did not start")
    with open(address) as f:
        return server, "http://" + f.read().strip()


def main():
    # The binaries `cargo test` builds (nothing to do after it; a fresh tree builds them here).
    subprocess.run(["cargo", "build", "--quiet", "--profile", "test", "-p", "ldp-aggregator",
                    "-p", "ldp-sim", "--bins"], cwd=ROOT, check=True)
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    plan = list(steps(blocks(readme, "## Quick start: the dashboard")[0]))
    plan += list(steps(blocks(readme, "## A walk-through")[0]))
    with tempfile.TemporaryDirectory() as work:
        # As the README's first command starts it: admin token in ./admin.token.
        server, url = start_collector(work)
        try:
            script = "set -euo pipefail\n" + "".join(
                f"echo {MARK}\n{as_run_here(command, url)}\necho\n" for command, _ in plan)
            # `ldp-sim load` without --url reads LDP_URL (its default is the README's address);
            # $ADMIN comes from the README's own `cat admin.token`.
            env = dict(os.environ, LDP_URL=url)
            env.pop("ADMIN", None)
            # What a terminal shows: standard output and error together.
            run = subprocess.run(["bash", "-c", script], cwd=work, env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
            outputs = run.stdout.split(MARK + "\n")[1:]
            failures = []
            for i, ((command, expected), output) in enumerate(zip(plan, outputs + [""] * len(plan))):
                for line in expected:
                    at = 0
                    for piece in (p.strip() for p in line.split("…")):
                        found = output.find(piece, at)
                        if found < 0:
                            failures.append(f"step {i + 1}: `{command.strip()}`\n"
                                            f"  expected {piece!r} (from `# → {line}`)\n"
                                            f"  printed: {output.strip()[:600]}")
                            break
                        at = found + len(piece)
            if run.returncode != 0:
                failures.append(f"the walk-through stopped (exit {run.returncode}) after step "
                                f"{len(outputs)}:\n{run.stdout[-2000:]}")
            if failures:
                sys.exit("README walk-through:\n" + "\n".join(failures))
            print(f"README walk-through: {len(plan)} steps, "
                  f"{sum(len(e) for _, e in plan)} expected outputs, all as written")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
