"""The wheel holds the app and nothing else: no tests, no example site (`.ci/check_dist.py`
checks the built wheel and sdist in full)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_contents(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("wagtail_licensing-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"wagtail_licensing"}
    assert "wagtail_licensing/migrations/0001_initial.py" in names
    templates = sorted(p.relative_to(ROOT).as_posix()
                       for p in (ROOT / "wagtail_licensing" / "templates").rglob("*.html"))
    assert set(templates) <= set(names)
    # The translations, source and compiled, as Wagtail ships its own (docs/translations.md).
    for language in ("de", "fr", "es"):
        for suffix in ("po", "mo"):
            assert f"wagtail_licensing/locale/{language}/LC_MESSAGES/django.{suffix}" in names
    dist_info = next(t for t in top if t.endswith(".dist-info"))
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "wagtail-licensing-vendor = wagtail_licensing.vendor:main" in entry_points
    assert f"{dist_info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: BSD-3-Clause" in metadata
    assert "Classifier: Framework :: Django :: 6.0" in metadata
    for requirement in ("wagtail>=7.0", "Django>=5.2", "django-import-export>=4.0",
                        "cryptography>=42.0", "defusedxml>=0.7"):
        assert f"Requires-Dist: {requirement}" in metadata
