"""Benchmark of `prove check` (issue: the checker). Not a test: it prints figures to report.

    python benchmarks/check_bench.py            # all proofs in proofs/
    python benchmarks/check_bench.py --repeat 5

Measures (1) the wall time of `prove check proofs/` in a fresh process (cold: imports, rule
base, Z3 start-up), over several runs, and (2) the time per step inside one warm process
(imports done, rule base loaded) with the result cache cleared before every file, so each step
is really re-checked: median, 90th percentile and max.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cold(paths: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "prover.cli", "check", *paths],
                           capture_output=True, text=True, cwd=ROOT)
        times.append(time.perf_counter() - t)
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
            raise SystemExit("the proofs do not all check; benchmark aborted")
    return times


def warm(files: list[Path], repeat: int) -> list[float]:
    from prover.kernel import rules as kernel_rules
    from prover.proofs import check_file
    from prover.rulebase import load_rulebook

    _, book = load_rulebook()
    for f in files:  # warm-up: imports, Z3 context, rule base
        check_file(f, book)
    per_step = []
    for _ in range(repeat):
        for f in files:
            kernel_rules._CONFIRMED.clear()  # the kernel's only cache: rule confirmations
            fr = check_file(f, book)
            per_step.extend(s.seconds for s in fr.steps[1:])
    return per_step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", default=["proofs"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    files = []
    for p in args.paths:
        path = ROOT / p
        files.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    seed = [str(ROOT / "proofs" / f"theorem{i}.yaml") for i in range(1, 6)
            if (ROOT / "proofs" / f"theorem{i}.yaml").exists()]
    c_seed = cold(seed, args.repeat)
    c_all = cold([str(ROOT / p) for p in args.paths], args.repeat)
    steps = warm(files, args.repeat)
    steps_ms = sorted(x * 1000 for x in steps)
    q = lambda p: steps_ms[min(len(steps_ms) - 1, int(p * len(steps_ms)))]  # noqa: E731
    print(f"machine: {sys.platform}, python {sys.version.split()[0]}")
    print(f"cold `prove check` on the seed proofs ({len(seed)} files): "
          f"median {statistics.median(c_seed):.2f} s, best {min(c_seed):.2f} s")
    print(f"cold `prove check {' '.join(args.paths)}` ({len(files)} files): "
          f"median {statistics.median(c_all):.2f} s, best {min(c_all):.2f} s")
    print(f"warm per step ({len(steps_ms)} step checks, cache cleared per file): "
          f"median {statistics.median(steps_ms):.1f} ms, p90 {q(0.9):.1f} ms, "
          f"max {steps_ms[-1]:.1f} ms")


if __name__ == "__main__":
    main()
