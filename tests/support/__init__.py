"""Plain helpers shared by the tests (fixtures live in ``tests/conftest.py``).

Tests import these by absolute name (``from tests.support.licenses import product``), never from a
``conftest`` or from another test module, so moving a test file breaks nothing.
"""
