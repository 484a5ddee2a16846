#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (docs/grading.md §5).
# It installs prove into its own virtual environment, /opt/prove, from what the autograder zip
# holds: a wheel (prove_matrix-*.whl, made with `pip wheel --no-deps -w DIR .` in a clone of the
# repository), or else a copy of the repository in a folder named prove/.
set -euo pipefail
SOURCE="${PROVE_AUTOGRADER_ROOT:-/autograder}/source"

apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /opt/prove
/opt/prove/bin/pip install --upgrade pip

shopt -s nullglob
wheels=("$SOURCE"/prove_matrix-*.whl)
if [ ${#wheels[@]} -gt 0 ]; then
    /opt/prove/bin/pip install "${wheels[-1]}"
elif [ -d "$SOURCE/prove" ]; then
    /opt/prove/bin/pip install "$SOURCE/prove"
else
    echo "setup.sh: put a prove_matrix-*.whl or the repository (as prove/) in the zip" >&2
    exit 1
fi
# Check the assignment now, while the instructor is watching the build, not at the first
# submission: an unusable assignment or a wrong answer key fails the build with the reason.
empty="$(mktemp -d)"
/opt/prove/bin/prove grade "$empty" --single --assignment "$SOURCE/assignment.yaml" \
    --format json -o /dev/null --no-progress
rmdir "$empty"
