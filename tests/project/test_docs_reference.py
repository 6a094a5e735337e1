"""The documentation's settings reference and system checks are generated from the code
(docs/_ext/licensing_reference.py): every setting has a meaning, every check ID a summary."""

import sys
from pathlib import Path

import pytest

from wagtail_licensing import checks
from wagtail_licensing.conf import DEFAULTS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
import licensing_reference as reference  # noqa: E402


def test_every_setting_is_documented_with_its_default():
    documented = {s.name: s for s in reference.settings_reference()}
    assert list(documented) == list(DEFAULTS)
    assert all(s.meaning for s in documented.values())
    assert documented["DEMO_ACCESS"].default == '`"all"`'
    assert documented["IMPORT_MAX_FILE_SIZE"].default == "`20 * 1024 * 1024`"
    assert "| `STATE_RECHECK_SECONDS` | `5` |" in reference.settings_markdown()


def test_every_check_id_is_documented_with_its_level_and_command():
    documented = {c.id: c for c in reference.checks_reference()}
    assert set(documented) == set(checks.SUMMARIES)
    assert documented["wagtail_licensing.W015"].deploy
    assert documented["wagtail_licensing.W015"].level == "Warning"
    assert not documented["wagtail_licensing.W019"].deploy
    assert documented["wagtail_licensing.E018"].level == "Error"
    assert all(c.id.split(".")[1][0] == c.level[0] for c in documented.values())


def test_a_check_without_a_summary_fails_the_build(monkeypatch):
    original = checks.SUMMARIES
    summaries = dict(original)
    del summaries["wagtail_licensing.W019"]
    monkeypatch.setattr(checks, "SUMMARIES", summaries)
    with pytest.raises(reference.ReferenceError, match="W019 has no line in SUMMARIES"):
        reference.checks_reference()
    monkeypatch.setattr(checks, "SUMMARIES", {**original, "wagtail_licensing.W099": "x"})
    with pytest.raises(reference.ReferenceError, match="W099"):
        reference.checks_reference()


def test_a_setting_without_a_comment_fails_the_build(monkeypatch, tmp_path):
    conf = tmp_path / "conf.py"
    conf.write_text(reference.CONF.read_text().replace(
        "    # Most rows accepted in one import.\n", ""))
    monkeypatch.setattr(reference, "CONF", conf)
    with pytest.raises(reference.ReferenceError, match="IMPORT_MAX_ROWS"):
        reference.settings_reference()
