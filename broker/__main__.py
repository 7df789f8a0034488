"""``python -m broker``: the same as the ``kbroker`` command."""

import sys

from broker.cli import main

if __name__ == "__main__":   # not when a worker process loads this module again (anyio.to_process)
    sys.exit(main())
