"""broker/tests: the helper modules' asserts report like a test's."""

import pytest

pytest.register_assert_rewrite("broker.tests.group_harness")
