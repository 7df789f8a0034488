"""Each cluster module that replaces one broker's handlers imports on its own (a fresh
interpreter each), not only through broker.cluster.handlers: no import cycle among them."""

import subprocess
import sys

import pytest

MODULES = ["acls", "admin", "configs", "coordinators", "transactions", "handlers"]


@pytest.mark.parametrize("module", MODULES)
def test_imports_alone(module):
    done = subprocess.run([sys.executable, "-c", f"import broker.cluster.{module}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
