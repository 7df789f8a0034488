"""CRC-32C, from the ``crc32c`` package's C extension.

The package's ``__init__`` asks ``importlib.metadata`` for its own version, which
reads installed-package metadata and costs ~30 ms of start-up (a tenth of kbroker's).
So the extension module is loaded by itself; if that ever fails, the package is
imported the usual way.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os


def _load_crc32c():
    spec = importlib.util.find_spec("crc32c")   # finds the package without running it
    for location in (spec.submodule_search_locations or []) if spec else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(location, "_crc32c" + suffix)
            if os.path.exists(path):
                loader = importlib.machinery.ExtensionFileLoader("crc32c._crc32c", path)
                module = importlib.util.module_from_spec(
                    importlib.util.spec_from_file_location("crc32c._crc32c", path, loader=loader))
                loader.exec_module(module)
                return module.crc32c
    from crc32c import crc32c as function   # pragma: no cover - the package's usual import
    return function


crc32c = _load_crc32c()
