"""Serving an API with cluster mode's handler instead of one broker's (same versions).

The modules that replace handlers (admin, acls, configs, coordinators, transactions) import
``replace`` from here rather than from ``broker.cluster.handlers``, which imports them: each
of them can then be imported on its own.
"""

from __future__ import annotations

import dataclasses
import inspect

import broker.handlers  # noqa: F401  (one broker's handlers are registered first: these replace some)
from broker.registry import SERVED


def replace(message, handler, *, may_wait: bool | None = None, error_response=None):
    """Serve ``message`` with ``handler`` instead (same versions); returns the one replaced."""
    served = SERVED[message.api_key]
    SERVED[message.api_key] = dataclasses.replace(
        served, handler=handler, is_async=inspect.iscoroutinefunction(handler),
        may_wait=served.may_wait if may_wait is None else may_wait,
        error_response=error_response or served.error_response)
    return served.handler
