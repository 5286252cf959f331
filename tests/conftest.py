import pytest

import doubles


@pytest.fixture(autouse=True)
def _journal():
    """Every test starts with an empty call journal and the test doubles registered."""
    doubles.register_doubles()
    doubles.JOURNAL.clear()
    yield
    doubles.JOURNAL.clear()
