"""The license request carries a usage summary (peaks over 90 days); the vendor's inspect
prints it."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.licenses import today
from wagtail_licensing import operations
from wagtail_licensing.actions.usage import usage_summary
from wagtail_licensing.models import UsageSnapshot
from wagtail_licensing.vendor import main


def snapshot(code, days_ago, used, sessions=0, seats=5):
    UsageSnapshot.objects.create(product_code=code, day=today() - timedelta(days=days_ago),
                                 seats=seats, used=used, peak_sessions=sessions)


def test_the_request_carries_the_peaks_of_the_last_90_days(installed):
    snapshot("editor", 0, 2)
    snapshot("editor", 10, 4)
    snapshot("editor", 89, 3)
    snapshot("editor", 90, 5)  # 91 days ago counting today: outside the window
    snapshot("occasional", 5, 0, sessions=2, seats=2)
    request = operations.create_license_request(company_id="ACME")
    summary = request.data["usage_summary"]
    assert summary["days"] == 90
    assert summary["to"] == today().isoformat()
    assert summary["from"] == (today() - timedelta(days=89)).isoformat()
    products = {p["code"]: p for p in summary["products"]}
    assert products["editor"]["peak_used"] == 4
    assert products["editor"]["days_recorded"] == 3
    assert products["occasional"]["peak_sessions"] == 2


def test_the_summary_costs_one_query_whatever_the_history(installed):
    for days_ago in range(60):
        snapshot("editor", days_ago, days_ago % 5)
    with CaptureQueriesContext(connection) as queries:
        usage_summary()
    assert len(queries) == 1


def test_inspect_prints_the_usage_summary(installed, tmp_path, capsys):
    snapshot("editor", 3, 4)
    request = operations.create_license_request(company_id="ACME")
    path = tmp_path / request.filename
    path.write_bytes(request.content)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "usage summary" in out and "peak seats used" in out
    line = next(line for line in out.splitlines() if line.strip().startswith("editor"))
    assert line.split()[:3] == ["editor", "5", "4"]


def test_inspect_of_an_older_request_without_a_summary(tmp_path, capsys):
    path = tmp_path / "old.tlr"
    path.write_text('{"type": "wagtail-licensing/license-request", "company_id": "ACME"}')
    assert main(["inspect", str(path)]) == 0
    assert "usage summary: none" in capsys.readouterr().out
