"""Hypothesis settings for the fuzz tests.

The default profile, ``ci``, is derandomized (the same examples on every run: a red CI is
reproducible) and sized to take seconds. ``HYPOTHESIS_PROFILE=long`` runs many more random
examples, for a campaign on a developer's machine:

    HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/fuzz
"""

import os

from hypothesis import HealthCheck, settings

# Fixtures such as ``make_license`` are factories: reusing them across examples is intended.
_SHARED = {"deadline": None, "database": None,
           "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large]}
settings.register_profile("ci", derandomize=True, max_examples=100, **_SHARED)
settings.register_profile("long", max_examples=5000, **_SHARED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
