import sys

from indoor.cli import main

if __name__ == "__main__":  # guard: worker processes started with forkserver/spawn re-import __main__
    sys.exit(main())
