"""How long `prove` takes to start, measured against `python -c "import z3"` in the same run.

    python benchmarks/startup_bench.py [-n ROUNDS] [--as-is] [--strict] [--tree DIR]

Every round runs the baseline and each command in turn (baseline, command, baseline, command …),
so each command's ratio is taken pair by pair against a baseline run a moment earlier and holds
when the machine's speed drifts. Whole processes, wall-clock time (and the children's CPU time);
the medians are quoted. Targets (the issue "Everyday use"):

    prove check proofs/theorem5.yaml   within 2.5x  import z3   (it needs z3 and the checker)
    prove --version, prove --help       within 1.5x  import z3   (they need neither)

Bytecode: an installed package has its .pyc files; a checkout run with PYTHONDONTWRITEBYTECODE
set compiles every module of `prover/` on every start, which is not what a user sees. So by
default the runs get a private PYTHONPYCACHEPREFIX (a temporary folder; the work tree is not
touched) with bytecode writing on, and the warm-up rounds fill it. `--as-is` keeps the
environment exactly as it is instead.

`--tree DIR` times the `prover` package of another source tree (say `git archive REV prover
rules | tar -x -C DIR`) instead of the installed one, for before/after figures.

Exit 0 always, unless --strict: then 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def prove_cmd(tree: str | None = None) -> list[str]:
    """The `prove` console script of this interpreter's environment (not Perl's), else
    `python -m prover`; with `tree`, that source tree's console entry point (`prover.cli:entry`,
    or `main` in trees from before it), as the script runs it."""
    if tree:
        return [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); "
                "sys.argv[0] = 'prove'; from prover import cli; sys.exit((getattr(cli, 'entry', None) or cli.main)())",
                str(Path(tree).resolve())]
    here = Path(sys.executable).parent / ("prove.exe" if os.name == "nt" else "prove")
    return [str(here)] if here.exists() else [sys.executable, "-m", "prover"]


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, the child's CPU seconds (user + sys), exit code."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        return wall, usage.ru_utime + usage.ru_stime, proc.returncode
    proc.wait()
    return time.perf_counter() - t0, float("nan"), proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--rounds", type=int, default=15, help="counted rounds (default 15)")
    ap.add_argument("--warmup", type=int, default=2, help="rounds not counted, first (default 2)")
    ap.add_argument("--as-is", action="store_true", help="keep the environment's bytecode "
                    "settings (see the module docstring)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--tree", help="time the prover package of this source tree instead")
    args = ap.parse_args(argv)

    env = dict(os.environ)
    cache = None
    if not args.as_is:
        cache = tempfile.mkdtemp(prefix="prove-startup-pyc-")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    env.pop("NO_COLOR", None)

    prove = prove_cmd(args.tree)
    baseline = [sys.executable, "-c", "import z3"]
    cases = [  # (label, command, target ratio)
        ("prove --version", prove + ["--version"], 1.5),
        ("prove --help", prove + ["--help"], 1.5),
        ("prove check proofs/theorem5.yaml", prove + ["check", "proofs/theorem5.yaml"], 2.5),
    ]
    base: list[float] = []
    walls: dict[str, list[float]] = {c[0]: [] for c in cases}
    cpus: dict[str, list[float]] = {c[0]: [] for c in cases}
    ratios: dict[str, list[float]] = {c[0]: [] for c in cases}
    codes: dict[str, set[int]] = {c[0]: set() for c in cases}
    try:
        for r in range(args.warmup + args.rounds):
            for label, cmd, _ in cases:
                b, _, _ = run(baseline, env)
                w, c, code = run(cmd, env)
                if r < args.warmup:
                    continue
                base.append(b)
                walls[label].append(w)
                cpus[label].append(c)
                ratios[label].append(w / b)
                codes[label].add(code)
        heavy = [m for m in ("prover.derive", "prover.grade", "prover.equiv", "prover.proofs")
                 if _imports(prove + ["--version"], m, env)]
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)

    print(f"{' '.join(prove[:1] if not args.tree else ['tree', args.tree])}: "
          f"python {sys.version.split()[0]}, {args.rounds} rounds after {args.warmup} warm-up, "
          f"bytecode {'as the environment has it' if args.as_is else 'cached (private prefix)'}")
    print(f"baseline `python -c \"import z3\"`: median {statistics.median(base) * 1000:.0f} ms "
          f"wall (min {min(base) * 1000:.0f}, max {max(base) * 1000:.0f})")
    print(f"{'command':<36} {'wall ms':>8} {'cpu ms':>7} {'ratio':>6} {'range':>11} {'target':>7}")
    missed = 0
    for label, _, target in cases:
        ratio = statistics.median(ratios[label])
        ok = ratio <= target
        missed += not ok
        bad = codes[label] - {0}
        print(f"{label:<36} {statistics.median(walls[label]) * 1000:8.0f} "
              f"{statistics.median(cpus[label]) * 1000:7.0f} {ratio:6.2f} "
              f"{min(ratios[label]):5.2f}-{max(ratios[label]):<5.2f} "
              f"{'<=' if ok else '> '}{target:<4} {'ok' if ok else 'MISSED'}"
              + (f"  (exit codes {sorted(bad)})" if bad else ""))
    if heavy:
        print("note: `prove --version` imports " + ", ".join(heavy)
              + " (from prover/__init__.py or prover/cli*.py)")
    return 1 if (missed and args.strict) else 0


def _imports(cmd: list[str], module: str, env: dict[str, str]) -> bool:
    """Does this command import `module`? (Run once more under -X importtime.)"""
    if cmd[0] == sys.executable:
        full = [sys.executable, "-X", "importtime", *cmd[1:]]  # -c CODE [TREE] ARGS
    else:
        full = [sys.executable, "-X", "importtime", "-c",
                "import sys; from prover import cli; sys.argv[0] = 'prove'; (getattr(cli, 'entry', None) or cli.main)()",
                *cmd[1:]]
    out = subprocess.run(full, cwd=ROOT, env=env, capture_output=True, text=True)
    return any(line.rstrip().endswith("| " + module) or line.rstrip().endswith(" " + module)
               for line in out.stderr.splitlines())


if __name__ == "__main__":
    sys.exit(main())
