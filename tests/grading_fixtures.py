"""The small class the grading tests build: problem q1 (Theorem 5's derivative) and q3 (a trace
rotated), a valid proof of each, and a builder for variants of the q1 proof."""

from pathlib import Path

Q1_VARS = "variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}"
Q1_CLAIM = "claim: {derivative: a^T X a, wrt: X, equals: a a^T}"
VALID_Q1 = [("d(a^T X a)", None), ("d(tr(a^T X a))", "theorem-1"), ("d(tr(a a^T X))", "theorem-2"),
            ("tr(d(a a^T X))", "theorem-3"), ("tr(d(a a^T) X + a a^T dX)", "diff-product"),
            ("tr(0 X + a a^T dX)", "diff-constant"), ("tr(a a^T dX)", "algebra")]
# the assignment's problems (under `problems:`)
PROBLEMS = f"""\
- id: q1
  points: 10
  {Q1_CLAIM}
  {Q1_VARS}
  allowed_rules: [theorem-1, theorem-2, theorem-3, diff-*, algebra, theorem-4]
- id: q3
  points: 5
  claim: {{lhs: tr(A B C), rhs: tr(C A B)}}
  variables: {{A: {{shape: [m, n]}}, B: {{shape: [n, p]}}, C: {{shape: [p, m]}}}}
  allowed_rules: [trace-cyclic, algebra]
"""
Q3_VALID = """\
theorem: q3
variables: {A: {shape: [m, n]}, B: {shape: [n, p]}, C: {shape: [p, m]}}
claim: {lhs: tr(A B C), rhs: tr(C A B)}
proof:
  - expr: tr(A B C)
  - expr: tr(C A B)
    by: trace-cyclic
"""


def proof(steps=VALID_Q1, theorem="q1", variables=Q1_VARS, claim=Q1_CLAIM, derivative="a a^T",
          extra="") -> str:
    """A proof file: `steps` as (expression, citation or None), then the derivative read off
    (none when `derivative` is empty), then `extra` text."""
    lines = [f"theorem: {theorem}", variables, claim, "proof:"]
    for expr, by in steps:
        lines.append(f"  - expr: {expr}")
        if by:
            lines.append(f"    by: {by}")
    if derivative:
        lines += [f"  - derivative: {derivative}", "    by: theorem-4"]
    return "\n".join(lines) + "\n" + extra


def write_class(root: Path, entries: dict) -> Path:
    """A submissions folder: each entry a student's file (text) or folder ({file name: text})."""
    root.mkdir(parents=True, exist_ok=True)
    for name, files in entries.items():
        if isinstance(files, str):
            (root / name).write_text(files)
        else:
            (root / name).mkdir()
            for fname, text in files.items():
                (root / name / fname).write_text(text)
    return root
