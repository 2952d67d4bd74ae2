"""`python -m harness.reproduce`: the command; its code is `harness.results.reproduce` (the results wing)."""

import sys

from .results.reproduce import main

if __name__ == "__main__":
    sys.exit(main())
