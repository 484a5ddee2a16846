"""The bounds of a grading run (SPEC §8), in one place; docs/grading.md §7 lists them for
instructors. Every bound that a submission crosses is an `error` of that submission with a
clear reason, never a hang, a crash or a cost to another student."""

MAX_FILE_BYTES = 256 * 1024  # one submitted file; a 500-step proof is about 40 KB
MAX_FILES_PER_STUDENT = 50  # YAML files looked at in one student's folder
MAX_FOLDER_DEPTH = 6  # folders below a student's folder
MAX_PROOFS_PER_FILE = 200  # proofs in a file that holds a list of proofs
MAX_YAML_DEPTH = 40  # nesting of YAML collections
MAX_CITATIONS_PER_STEP = 32  # entries of one step's `by:` (a real step cites a handful)
MAX_CITATIONS_PER_FILE = 20_000  # entries of `by:` over a whole file (200 proofs of 100)

DEFAULT_TIMEOUT = 60.0  # seconds for all the work on one submission: read, gate, check
# A worker may grow this far beyond the address space it had when it started (with the kernel,
# Z3 and the rule base loaded); beyond it, an allocation fails and that submission is `error`.
WORKER_MEMORY_BUDGET = 1024 * 1024 * 1024
WORKER_MAX_TASKS = 2000  # submissions a worker grades before it is replaced by a fresh one
