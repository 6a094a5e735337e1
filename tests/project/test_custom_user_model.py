"""With a custom AUTH_USER_MODEL and the project's own Wagtail user viewset.

AUTH_USER_MODEL cannot change inside one process, so this runs
tests/custom_user/checks_custom_user.py in a pytest of its own, with
tests.custom_user.settings: e-mail login, UUID primary keys, and a ``wagtail.users`` app
config whose ``user_viewset`` is the project's (with its own form and templates).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_with_a_custom_user_model_and_user_viewset():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.custom_user.settings"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and test file
        [sys.executable, "-m", "pytest", "tests/custom_user/checks_custom_user.py",
         "--ds", "tests.custom_user.settings", "-p", "no:cacheprovider", "-q",
         "-W", "ignore::DeprecationWarning"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "7 passed" in output, output
