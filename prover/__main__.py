"""`python -m prover`: the `prove` command, for when another `prove` (Perl's) is first on the PATH."""
from .cli import main

if __name__ == "__main__":
    main()
