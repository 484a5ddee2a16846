"""Benchmark of `prove grade` (issue 4). Not a test: it prints figures to report.

    python benchmarks/grade_bench.py                 # 1,000 students, --jobs 2
    python benchmarks/grade_bench.py --students 300 --jobs 1 --keep /tmp/class

Generates a class in a temporary folder from the sample class in `examples/class/` — valid
proofs, wrong steps, incomplete proofs, changed claims and declarations, forbidden and self-made
rules, missing problems, and hostile files (binary, empty, alias bomb, X^999999999, 10,000 steps,
deep nesting, 10 MB) — every file made different from every other by a comment naming its
student (so reading is never shared) and random extra spaces in expressions (so the proof cache
has to normalise). It then runs

    prove grade CLASS --assignment examples/hw.yaml --jobs 2 --format csv -o OUT.csv

in a fresh process and reports the wall time, the peak memory of the whole process tree (the
sum of every process's RSS, and of its PSS, which counts pages shared after fork once, sampled
every 20 ms), the largest single process (getrusage of the children), and the statuses.
"""
from __future__ import annotations

import argparse
import collections
import csv
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASS = ROOT / "examples" / "class"
HW = ROOT / "examples" / "hw.yaml"


def _t(rel: str) -> str:
    return (CLASS / rel).read_text()


def _mutations(text: str, rng: random.Random) -> str:
    """A wrong step: one of a few classic slips, applied to a valid proof."""
    slips = [("d(tr(a a^T X))", "d(tr(a^T a X))"), ("tr(a a^T dX)", "tr(a^T a dX)"),
             ("tr(0 X + a a^T dX)", "tr(0 X + 2 a a^T dX)"), ("tr(2 X^T dX)", "tr(X^T dX)"),
             ("tr(dX^T X + X^T dX)", "tr(dX X + X^T dX)"), ("tr(C A B)", "tr(C B A)"),
             ("tr(X^T dX) + tr(X^T dX)", "tr(X dX^T) + tr(X^T dX)")]
    rng.shuffle(slips)
    for old, new in slips:
        if f"expr: {old}\n" in text:
            return text.replace(f"expr: {old}\n", f"expr: {new}\n", 1)
    return text


def _spaces(text: str, rng: random.Random) -> str:
    """Random extra spaces inside expressions: the same proof, written differently."""
    out = []
    for line in text.splitlines(keepends=True):
        if "expr: " in line and rng.random() < 0.3:
            head, expr = line.split("expr: ", 1)
            expr = expr.replace(" ", "  ", 1)
            line = head + "expr: " + expr
        out.append(line)
    return "".join(out)


VALID = {"q1": ["alice/q1.yaml", "grace/q1.yaml"], "q2": ["alice/frobenius.yaml"],
         "q3": ["alice/q3.yaml"]}
HOSTILE = ["binary", "empty", "bomb", "exponent", "steps", "nesting", "big"]


def make_student(folder: Path, name: str, kind: str, rng: random.Random) -> None:
    stamp = f"# submitted by {name}\n"

    def put(rel: str, text: str) -> None:
        p = folder / name / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(stamp + _spaces(text, rng))

    if kind in HOSTILE:
        d = folder / name
        d.mkdir()
        put("q3.yaml", _t("alice/q3.yaml"))  # one good answer beside the hostile file
        if kind == "binary":
            (d / "q1.yaml").write_bytes(name.encode() + b"\0\x01\x02" * 400)
        elif kind == "empty":
            (d / "q1.yaml").write_text("")
        elif kind == "bomb":
            (d / "q1.yaml").write_text(stamp + _t("heidi/q3.yaml"))
        elif kind == "exponent":
            (d / "q1.yaml").write_text(stamp + _t("ivan/q1.yaml"))
        elif kind == "steps":
            (d / "q2.yaml").write_text(stamp + _t("ivan/q2.yaml"))
        elif kind == "nesting":
            (d / "q1.yaml").write_text(stamp + _t("ivan/q3.yaml"))
        elif kind == "big":
            with open(d / "q1.yaml", "w") as fh:
                fh.write(stamp)
                line = "# " + "padding " * 12 + "\n"
                fh.write(line * (10 * 1024 * 1024 // len(line) + 1))
        return
    if kind == "single":  # one YAML file holding a list of proofs
        (folder / f"{name}.yaml").write_text(stamp + _spaces(_t("bob.yaml"), rng))
        return
    for q, templates in VALID.items():
        text = _t(rng.choice(templates))
        if kind == "missing" and q != "q1":
            continue
        if kind == "wrong" and rng.random() < 0.6:
            text = _mutations(text, rng)
        if kind == "incomplete" and q != "q3":
            text = text.rsplit("  - derivative:", 1)[0]
        if kind == "rejected":
            text = rng.choice([_t("dave/q1.yaml"), _t("dave/q2.yaml"), _t("dave/q3.yaml"),
                               _t("erin/q1.yaml"), _t("erin/q2.yaml"), _t("frank/q2.yaml")])
            q = text.split("theorem: ", 1)[1].split("\n", 1)[0]
        if kind == "padded" and q == "q1":
            text = _t("kim/q1.yaml")
        put(f"{q}.yaml", text)


MIX = [("valid", 40), ("single", 8), ("wrong", 20), ("incomplete", 8), ("padded", 4),
       ("rejected", 8), ("missing", 5)] + [(h, 1) for h in HOSTILE]


def generate(folder: Path, n: int, seed: int = 1) -> collections.Counter:
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    made: collections.Counter = collections.Counter()
    for i in range(n):
        kind = kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds)
        make_student(folder, f"s{i:04d}", kind, rng)
        made[kind] += 1
    return made


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return out


def _mem(pid: int) -> tuple[int, int]:
    rss = pss = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            try:
                with open(f"/proc/{p}/status") as fh:
                    for line in fh:
                        if line.startswith("VmRSS:"):
                            rss += int(line.split()[1])
            except OSError:
                pass
    return rss, pss


def run(folder: Path, jobs: int, out: Path) -> dict:
    cmd = [sys.executable, "-c", "from prover.cli import main; main()", "grade", str(folder),
           "--assignment", str(HW), "--jobs", str(jobs), "--format", "csv", "-o", str(out)]
    peak = {"rss": 0, "pss": 0}
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss = _mem(proc.pid)
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            time.sleep(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t
    done.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"prove grade exited {proc.returncode}:\n{stderr.decode()[-3000:]}")
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall": wall, "rss": peak["rss"] / 1024, "pss": peak["pss"] / 1024,
            "largest": child / 1024, "cmd": cmd}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="generate the class here and keep it")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="grade-bench-"))
    folder = base / "class"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    try:
        t = time.perf_counter()
        made = generate(folder, args.students, args.seed)
        files = sum(1 for _ in folder.rglob("*.yaml"))
        size = sum(p.stat().st_size for p in folder.rglob("*.yaml"))
        print(f"generated {args.students} students ({files} files, {size / 2**20:.0f} MB) in "
              f"{time.perf_counter() - t:.1f} s: "
              + ", ".join(f"{k} {v}" for k, v in sorted(made.items())))
        out = base / "grades.csv"
        r = run(folder, args.jobs, out)
        rows = list(csv.DictReader(out.open()))
        statuses = collections.Counter(row["status"] for row in rows if row["problem"] != "total")
        print(f"command: prove grade CLASS --assignment examples/hw.yaml --jobs {args.jobs} "
              "--format csv -o grades.csv")
        print(f"wall time: {r['wall']:.1f} s for {args.students} students "
              f"({r['wall'] / args.students * 1000:.1f} ms each)")
        print(f"peak memory of the process tree: {r['rss']:.0f} MB RSS summed over processes, "
              f"{r['pss']:.0f} MB PSS; largest single process {r['largest']:.0f} MB")
        print("problem statuses: " + ", ".join(f"{k} {v}" for k, v in statuses.most_common()))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
