"""Numeric limits shared by the whole package."""

MAX_SIZE: int = 2**62
"""Largest buffer size accepted, in bytes.

Sizes are Python ``int`` at the boundary; a graph whose sizes add up to
2**63 or more is evaluated with Python integers instead of ``numpy.int64``
so that sums never wrap around.
"""

INT64_SAFE: int = 2**63 - 1
"""Totals below this fit in ``numpy.int64`` without overflow."""
