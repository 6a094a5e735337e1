"""Every count agrees with its words (issue 12, item 8): ``ngettext`` picks each form."""

from datetime import date

import pytest

from wagtail_licensing import wording
from wagtail_licensing.actions.results import GrantRefusal, GrantRefusalReason
from wagtail_licensing.exceptions import InvalidImportFile
from wagtail_licensing.formats import read_assignments
from wagtail_licensing.formats.limits import _size
from wagtail_licensing.rules.status import Alert, AlertKind, ProductFacts, alert_message


def refusal(needed, available, seats):
    return GrantRefusal(GrantRefusalReason.NOT_ENOUGH_SEATS, "editor", "CMS editor",
                        needed=needed, available=available, seats=seats)


@pytest.mark.parametrize(("needed", "available", "expected"), [
    (1, 0, "1 seat is needed but only 0 of 3 are available"),
    (2, 1, "2 seats are needed but only 1 of 3 is available"),
    (3, 2, "3 seats are needed but only 2 of 3 are available"),
])
def test_seat_refusal(needed, available, expected):
    assert expected in wording.refusal_text(refusal(needed, available, 3))


def test_both_missing_columns_are_missing():
    with pytest.raises(InvalidImportFile) as error:
        read_assignments("name,thing\nx,y\n", filename="a.csv")
    assert "is missing" not in error.value.message
    assert "are missing" in error.value.message
    with pytest.raises(InvalidImportFile) as error:
        read_assignments("username,thing\nx,y\n", filename="a.csv")
    assert "is missing" in error.value.message


def facts(seats, holders, in_use):
    return ProductFacts("editor", "CMS editor", "named", seats, date(2026, 1, 1),
                        date(2027, 1, 1), in_use=in_use, active_holders=holders,
                        over_allocated=holders > seats)


def test_alerts():
    assert alert_message(Alert(AlertKind.SEATS, facts(1, 1, 1))) == \
        "CMS editor (editor) uses 1 of its 1 seat."
    over = alert_message(Alert(AlertKind.OVER_ALLOCATED, facts(1, 2, 1)))
    assert "2 active users hold it but it has 1 seat, so the most recently granted has no " \
           "access." in over
    over = alert_message(Alert(AlertKind.OVER_ALLOCATED, facts(0, 1, 0)))
    assert "1 active user holds it but it has 0 seats" in over


def test_sizes():
    assert _size(1) == "1 byte"
    assert _size(2) == "2 bytes"
