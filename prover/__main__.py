"""`python -m prover`: the `prove` command, for when another `prove` (Perl's) is first on the PATH."""
from .cli import entry

if __name__ == "__main__":
    entry()
