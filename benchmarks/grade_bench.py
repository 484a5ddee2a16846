"""Benchmark of `prove grade` (issue 12). Not a test: it prints figures to report.

    python benchmarks/grade_bench.py                 # 1,000 students, --jobs 2
    python benchmarks/grade_bench.py --students 300 --jobs 1 --keep /tmp/class
    python benchmarks/grade_bench.py --generate-only --keep /tmp/class   # the class only

Generates a class of genuinely different students in a temporary folder (never committed) for
the ten-problem assignment `benchmarks/grade_bench_hw.yaml`, whose problems are the claims of
proofs in `proofs/`. Each student answers each problem from that proof, varied the way a class
varies:

- **groupings**: two consecutive steps done as one, citing the rules of both;
- **orders**: another valid route (the trace rotated before differentiating, Jacobi's rule in
  one step, ...), where the problem has one;
- **citations**: the same rule by another name (`theorem-2`, `Theorem 2`, `trace-cyclic`), and
  `algebra` added to a step;
- **spellings**: extra spaces, explicit `*`, quoted or plain YAML, comments, key order; and, for a
  few students, a variable renamed consistently (X to Y: the declarations then differ from the
  assignment's, which the grader rejects);
- **mistakes**: a wrong step (a factor swapped, a transpose or a coefficient lost), a transposed
  answer, a proof that stops before the derivative, `by: index` (not allowed), and missing
  problems.

Byte-identical files are rare; what the grader can share is a proof whose *normalised* content
(expressions parsed and printed back, citations resolved to rule ids, comments and the theorem
name left out) another student also wrote. The generator counts, with the kernel's own parser
and printer, the distinct normalised proofs (each is checked once by the grader) and the
distinct normalised steps (a step: the line before, the line, the rule ids cited). The kernel
keeps no cache of step verdicts, so a step shared by two distinct proofs is decided in each. It
then runs, in a fresh process,

    prove grade CLASS --assignment benchmarks/grade_bench_hw.yaml --jobs 2 --format text -o OUT

and reports the wall time, what the grader says it read and checked (its last line), the peak memory of the whole process tree (the sum of every process's
RSS, sampled every 50 ms, and of its PSS, which counts shared pages once, sampled every 0.5 s
because reading it walks each process's page tables and would slow the run it measures), the
largest single process, the CPU time of the whole tree, and the statuses.
"""
from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HW = ROOT / "benchmarks" / "grade_bench_hw.yaml"


def _problems() -> list[tuple[str, dict]]:
    """(problem id, the proof file it comes from, as data) for every problem of the assignment."""
    hw = yaml.safe_load(HW.read_text())
    return [(p["id"], yaml.safe_load((HW.parent / p["from"]).read_text()))
            for p in hw["problems"]]


def _steps(text: str) -> list[dict]:
    return yaml.safe_load(text)


# Other valid routes through some problems (each checks: the benchmark prints how many did).
ROUTES = {
    "q1": _steps("""
- expr: d(a^T X a)
- {expr: d(tr(a^T X a)), by: theorem-1}
- {expr: tr(d(a^T X a)), by: theorem-3}
- {expr: tr(d(a^T X) a + a^T X da), by: diff-product}
- {expr: tr(d(a^T X) a), by: [diff-constant, algebra]}
- {expr: tr(a^T dX a), by: [diff-product, diff-constant, algebra]}
- {expr: tr(a a^T dX), by: trace-cyclic}
- {derivative: a a^T, by: theorem-4}
"""),
    "q2": _steps("""
- expr: d(a^T X b)
- {expr: d(tr(a^T X b)), by: theorem-1}
- {expr: d(tr(b a^T X)), by: trace-cyclic}
- {expr: tr(d(b a^T X)), by: theorem-3}
- {expr: tr(d(b a^T) X + b a^T dX), by: diff-product}
- {expr: tr(0 X + b a^T dX), by: diff-constant}
- {expr: tr(b a^T dX), by: algebra}
- {derivative: b a^T, by: theorem-4}
"""),
    "q3": _steps("""
- expr: d(tr(A X B))
- {expr: d(tr(B A X)), by: trace-cyclic}
- {expr: tr(d(B A X)), by: theorem-3}
- {expr: tr(d(B A) X + B A dX), by: diff-product}
- {expr: tr(0 X + B A dX), by: diff-constant}
- {expr: tr(B A dX), by: algebra}
- {derivative: B A, by: theorem-4}
"""),
    "q4": _steps("""
- expr: d(tr(X X))
- {expr: tr(d(X X)), by: theorem-3}
- {expr: tr(dX X + X dX), by: diff-product}
- {expr: tr(X dX + X dX), by: [trace-add, trace-cyclic]}
- {expr: tr(2 X dX), by: algebra}
- {derivative: 2 X, by: theorem-4}
"""),
    "q5": _steps("""
- expr: d(tr(X^T A))
- {expr: d(tr(A^T X)), by: trace-transpose}
- {expr: tr(d(A^T X)), by: theorem-3}
- {expr: tr(d(A^T) X + A^T dX), by: diff-product}
- {expr: tr(0 X + A^T dX), by: diff-constant}
- {expr: tr(A^T dX), by: algebra}
- {derivative: A^T, by: theorem-4}
"""),
    "q9": _steps("""
- expr: d(log(det(X)))
- {expr: tr(X^-1 dX), by: diff-log-det}
- {derivative: X^-1, by: theorem-4}
"""),
    "q10": _steps("""
- expr: tr(A B C)
- {expr: tr(C A B), by: trace-cyclic}
"""),
}

# Other names of the same rule (all resolve to one id: the grader treats them as one).
NAMES = {"trace-scalar": ["theorem-1", "Theorem 1", "trace_scalar"],
         "theorem-1": ["trace-scalar", "Theorem 1"],
         "trace-cyclic": ["theorem-2", "Theorem 2", "trace-mul-comm", "trace-property-4"],
         "theorem-2": ["trace-cyclic", "Theorem 2"],
         "diff-trace": ["theorem-3", "Theorem 3"], "theorem-3": ["diff-trace", "Theorem 3"],
         "derivative-from-differential": ["theorem-4", "Theorem 4"],
         "theorem-4": ["derivative-from-differential", "Theorem 4", "thm4"],
         "diff-product": ["product-rule", "differential-property-4"],
         "diff-constant": ["differential-property-1"], "trace-add": ["trace-property-1"],
         "trace-transpose": ["trace-property-3"], "trace-scale": ["trace-property-2"]}

# A wrong step: the first of these (in a random order) that changes the line.
SLIPS = [(r"\^T", ""), (r"\b2 ", ""), (r"a a\^T", "a^T a"), (r"B A", "A B"), (r" \+ ", " - "),
         (r"X\^-1 dX", "dX X^-1"), (r"b a\^T", "a b^T"), (r"tr\(([^()]*) dX\)", r"tr(dX \1)")]
RENAME = {"X": "Y", "A": "M", "a": "u", "b": "v", "B": "N"}


def _cites(step: dict) -> list[str]:
    by = step.get("by")
    return [] if by is None else list(by) if isinstance(by, list) else [by]


def _rename(text: str, old: str, new: str) -> str:
    return re.sub(rf"(?<![A-Za-z0-9_])(d?){old}(?![A-Za-z0-9_])", rf"\g<1>{new}", text)


def vary(pid: str, tpl: dict, rng: random.Random, tags: collections.Counter) -> dict:
    """One student's answer to one problem: the template proof, varied."""
    route = pid in ROUTES and rng.random() < 0.3
    steps = copy.deepcopy(ROUTES[pid] if route else tpl["proof"])
    tags["another route"] += route
    variables = copy.deepcopy(tpl["variables"])
    claim = dict(tpl["claim"])
    for _ in range(rng.choice([0, 0, 1, 1, 2])):  # groupings: two steps done as one
        spots = [i for i in range(1, len(steps) - 1) if "expr" in steps[i + 1]]
        if not spots:
            break
        i = rng.choice(spots)
        merged = list(dict.fromkeys(_cites(steps[i]) + _cites(steps[i + 1])))
        steps[i: i + 2] = [{"expr": steps[i + 1]["expr"], "by": merged}]
        tags["grouped"] += 1
    for s in steps[1:]:  # citations: another name of the same rule
        cites = _cites(s)
        if cites and rng.random() < 0.25:
            j = rng.randrange(len(cites))
            if cites[j] in NAMES:
                cites[j] = rng.choice(NAMES[cites[j]])
                s["by"] = cites if len(cites) > 1 or rng.random() < 0.5 else cites[0]
                tags["renamed citation"] += 1
    if rng.random() < 0.12:
        s = rng.choice(steps[1:])
        if "expr" in s and "algebra" not in _cites(s):
            s["by"] = _cites(s) + ["algebra"]
            tags["algebra added"] += 1
    # mistakes
    r = rng.random()
    if r < 0.12:
        i = rng.randrange(1, len(steps))
        key = "expr" if "expr" in steps[i] else "derivative"
        for pat, rep in rng.sample(SLIPS, len(SLIPS)):
            new = re.sub(pat, rep, steps[i][key], count=1)
            if new != steps[i][key] and new.strip():
                steps[i][key] = new
                tags["wrong step"] += 1
                break
    elif r < 0.18 and "derivative" in steps[-1]:
        steps[-1]["derivative"] = f"({steps[-1]['derivative']})^T"
        tags["transposed answer"] += 1
    elif r < 0.23 and len(steps) > 2:
        steps.pop()
        tags["stops early"] += 1
    elif r < 0.245:
        steps[1]["by"] = "index"
        tags["by: index"] += 1
    elif r < 0.275:
        old = next((v for v in RENAME if v in variables), None)
        if old:
            new = RENAME[old]
            variables = {(new if k == old else k): v for k, v in variables.items()}
            claim = {k: (_rename(v, old, new) if k != "wrt" else (new if v == old else v))
                     for k, v in claim.items()}
            for s in steps:
                for k in ("expr", "derivative"):
                    if k in s:
                        s[k] = _rename(s[k], old, new)
            tags["variable renamed"] += 1
    return {"variables": variables, "claim": claim, "proof": steps}


def _scalar(text: str, rng: random.Random) -> str:
    """An expression as a YAML scalar, spelled one of several ways (the meaning unchanged)."""
    roll = rng.random()
    if roll < 0.15:
        text = re.sub(r"(?<=[\w)]) (?=[A-Za-z(])", " * ", text, count=1)  # an explicit product
    elif roll < 0.3:
        text = text.replace(" ", "  ", 1)
    if rng.random() < 0.2 or text.startswith(("-", "*")):
        return json.dumps(text, ensure_ascii=False)
    return text


def write_proof(pid: str, proof: dict, rng: random.Random) -> str:
    def flow(v: dict) -> str:
        return "{" + ", ".join(f"{k}: {json.dumps(x) if not isinstance(x, str) else x}"
                               for k, x in v.items()) + "}"

    head = [f"theorem: {pid}"]
    if rng.random() < 0.3:
        head.insert(0, rng.choice(["# homework", "# my answer", f"# problem {pid}",
                                   "# I used the trace trick here"]))
    var = ["variables:"] + [f"  {k}: {flow(v)}" for k, v in proof["variables"].items()]
    claim = ["claim:"] + [f"  {k}: {_scalar(v, rng)}" for k, v in proof["claim"].items()]
    parts = [var, claim] if rng.random() < 0.7 else [claim, var]
    body = ["proof:"]
    for s in proof["proof"]:
        key = "expr" if "expr" in s else "derivative"
        body.append(f"  - {key}: {_scalar(s[key], rng)}")
        cites = _cites(s)
        if cites:
            body.append("    by: " + (cites[0] if len(cites) == 1 and rng.random() < 0.8
                                      else "[" + ", ".join(cites) + "]"))
        if rng.random() < 0.05:
            body.append("    # this follows from the rule")
    return "\n".join(head + parts[0] + parts[1] + body) + "\n"


def generate(folder: Path, n: int, seed: int = 1) -> tuple[collections.Counter, list]:
    """Write n students; returns the variations made and every (problem, proof) written."""
    rng = random.Random(seed)
    problems = _problems()
    tags: collections.Counter = collections.Counter()
    written = []
    for i in range(n):
        d = folder / f"s{i:04d}"
        d.mkdir()
        for pid, tpl in problems:
            if rng.random() < 0.04:
                tags["missing problem"] += 1
                continue
            proof = vary(pid, tpl, rng, tags)
            (d / f"{pid}.yaml").write_text(write_proof(pid, proof, rng))
            written.append((pid, proof))
    return tags, written


def distinct(written: list) -> tuple[int, int]:
    """Distinct normalised proofs and distinct normalised steps (the line before, the line, the
    rule ids), with the kernel's parser and printer and the rule base's name resolution."""
    sys.path.insert(0, str(ROOT))
    from prover.kernel.parser import parse
    from prover.kernel.printer import show
    from prover.rulebase import load_rulebook

    book = load_rulebook()[1]
    seen: dict[tuple, str] = {}

    def norm(text: str, names: frozenset) -> str:
        k = (text, names)
        if k not in seen:
            try:
                seen[k] = show(parse(text, names), names)
            except Exception:  # noqa: BLE001 - a line that does not parse is kept as written
                seen[k] = text
        return seen[k]

    proofs, steps = set(), set()
    for pid, proof in written:
        names = frozenset(proof["variables"])
        lines = []
        for s in proof["proof"]:
            key = "expr" if "expr" in s else "derivative"
            ids = tuple(sorted(book.resolve(c) or c for c in _cites(s)))
            lines.append((key, norm(s[key], names), ids))
        for before, line in zip(lines, lines[1:]):
            steps.add((pid, json.dumps(proof["variables"], sort_keys=True), before[1], line))
        proofs.add((pid, json.dumps(proof["variables"], sort_keys=True),
                    json.dumps(proof["claim"], sort_keys=True), tuple(lines)))
    return len(proofs), len(steps)


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


def _status(pid: int) -> tuple[int, float]:
    """A process's resident memory (kB, from /proc/PID/status: cheap to read) and CPU seconds."""
    rss = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                    break
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return rss, 0.0
    return rss, cpu


def _pss(pids: list[int]) -> int:
    """The proportional set size of these processes (kB): shared pages counted once. Reading
    /proc/PID/smaps_rollup walks the process's page tables (about 3.5 ms for a 135 MB worker, with
    the process's memory map locked), so it is read far less often than the RSS."""
    pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                        break
        except OSError:
            pass
    return pss


def _store(pid: int) -> int:
    """Bytes in the run's folder of shared records (grade/shared.py: under /dev/shm where there
    is one, so in memory but in no process's RSS): counted beside the processes' memory."""
    total = 0
    for place in ("/dev/shm", tempfile.gettempdir()):
        try:
            folders = [f for f in os.listdir(place) if f.startswith(f"prove-grade-{pid}-")]
        except OSError:
            continue
        for f in folders:
            try:
                with os.scandir(os.path.join(place, f)) as it:
                    total += sum(e.stat(follow_symlinks=False).st_size for e in it)
            except OSError:
                pass
    return total


FAST, SLOW = 0.05, 0.5  # seconds between RSS (and CPU) samples, and between PSS samples


def calibration() -> float:
    """The CPU seconds a fixed pure-Python loop takes here now (the best of three): the speed of
    this machine at the time of the run, for comparing figures taken on different days (the
    development machine is a shared virtual machine whose speed varies by a third)."""
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.process_time() - t)
    return best


def run(folder: Path, jobs: int, out: Path) -> dict:
    cmd = [sys.executable, "-c", "from prover.cli import main; main()", "grade", str(folder),
           "--assignment", str(HW), "--jobs", str(jobs), "--format", "text", "-o", str(out)]
    peak = {"rss": 0, "pss": 0, "monitor": 0.0, "store": 0}
    cpu: dict[int, float] = {}  # CPU seconds of every process of the tree, as last seen
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        last_pss = 0.0
        while not done.is_set():
            pids = _tree(proc.pid)
            rss = 0
            for p in pids:
                r, c = _status(p)
                rss += r
                if c:
                    cpu[p] = max(cpu.get(p, 0.0), c)
            peak["rss"] = max(peak["rss"], rss)
            if time.perf_counter() - last_pss >= SLOW:
                last_pss = time.perf_counter()
                peak["pss"] = max(peak["pss"], _pss(pids))
                peak["store"] = max(peak["store"], _store(proc.pid))
            peak["monitor"] = time.thread_time()
            time.sleep(FAST)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - t
    done.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"prove grade exited {proc.returncode}:\n{stderr.decode()[-3000:]}")
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "rss": peak["rss"] / 1024, "pss": peak["pss"] / 1024,
            "largest": child.ru_maxrss / 1024, "cpu": sum(cpu.values()),
            "monitor": peak["monitor"], "store": peak["store"] / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="generate the class here and keep it")
    ap.add_argument("--generate-only", action="store_true", help="make the class, do not grade")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="grade-bench-"))
    folder = base / "class"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    try:
        t = time.perf_counter()
        tags, written = generate(folder, args.students, args.seed)
        files = list(folder.rglob("*.yaml"))
        contents = {p.read_bytes() for p in files}
        size = sum(p.stat().st_size for p in files)
        print(f"generated {args.students} students, {len(_problems())} problems: {len(files)} "
              f"files ({size / 2**20:.1f} MB, {len(contents)} different byte contents) in "
              f"{time.perf_counter() - t:.1f} s")
        print("variations: " + ", ".join(f"{k} {v}" for k, v in tags.most_common()))
        proofs, steps = distinct(written)
        print(f"distinct normalised proofs (each checked once by the grader): {proofs}; distinct "
              f"normalised steps (line before, line, rule ids): {steps}")
        if args.generate_only:
            return
        out = base / "grades.txt"
        speed = calibration()
        r = run(folder, args.jobs, out)
        text = out.read_text(encoding="utf-8")
        statuses: collections.Counter = collections.Counter()
        for m in re.finditer(r"^q\d+: mean \S+ — (.*)$", text, re.M):
            for count, status in re.findall(r"(\d+) (\w+)", m.group(1)):
                statuses[status] += int(count)
        print(f"command: prove grade CLASS --assignment benchmarks/grade_bench_hw.yaml --jobs "
              f"{args.jobs} --format text -o grades.txt")
        print("the grader says: " + text.rstrip().rsplit("\n", 1)[-1])
        print(f"wall time: {r['wall']:.1f} s for {args.students} students "
              f"({r['wall'] / args.students * 1000:.1f} ms each)")
        print(f"peak memory of the process tree: {r['rss']:.0f} MB RSS summed over processes "
              f"(sampled every {FAST * 1000:.0f} ms), {r['pss']:.0f} MB PSS (every {SLOW:.1f} s); "
              f"largest single process {r['largest']:.0f} MB; the shared records "
              f"{r['store']:.1f} MB at most")
        print(f"CPU time of the process tree: {r['cpu']:.1f} s (sampled from /proc; the "
              f"monitor itself used {r['monitor']:.2f} s)")
        print(f"machine speed: 5 million additions in a Python loop took {speed:.3f} s of CPU "
              "(the best of three, just before the run)")
        print("problem statuses: " + ", ".join(f"{k} {v}" for k, v in statuses.most_common()))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
