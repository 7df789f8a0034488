"""``python -m broker``: the same as the ``kbroker`` command."""

import sys

from broker.cli import main

sys.exit(main())
