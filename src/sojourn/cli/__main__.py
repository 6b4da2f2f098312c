"""``python -m sojourn.cli``: the same as the ``sojourn`` console script."""

from . import main

if __name__ == "__main__":
    main()
