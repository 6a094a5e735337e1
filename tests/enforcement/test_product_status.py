"""A product in each state, and every surface that shows it saying the same thing.

The status tags (License manager, product page, dashboard panel), the dashboard's warnings, the
admin banner, the e-mailed notices, ``licensing status --json`` and ``site_status()`` all take
a product's status and alerts from ``rules.status``; this test fails if one of them drifts (as
the tags once said "Expired" during the grace period while the banner said it granted access).
"""

import html
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.formats import date_format

from tests.support.enforcement import hide_banner_alerts
from tests.support.licenses import product, today
from wagtail_licensing import notifications, operations, status
from wagtail_licensing.enforcement import site_snapshot
from wagtail_licensing.models import LicenseNotice
from wagtail_licensing.panels import LicensingSummaryPanel
from wagtail_licensing.rules.status import (
    AlertKind,
    ProductFacts,
    ProductStatus,
    product_alerts,
    product_status,
    status_label,
)
from wagtail_licensing.views.columns import product_url

GRACE_DAYS = 5


def products():
    day = today()
    return [
        product("active", "named", 10, name="Active product"),
        product("expiring", "named", 10, name="Expiring product",
                valid_until=day + timedelta(days=10)),
        product("grace", "named", 10, name="Grace product", valid_from=day - timedelta(days=30),
                valid_until=day - timedelta(days=2)),
        product("expired", "named", 10, name="Expired product",
                valid_from=day - timedelta(days=30), valid_until=day - timedelta(days=10)),
        product("future", "named", 10, name="Future product",
                valid_from=day + timedelta(days=3)),
        product("over", "named", 2, name="Over product"),
    ]


def expected():
    """code -> (status, tag label, tone, alert kinds, words of the e-mailed notice or None)."""
    grace_until = date_format(today() + timedelta(days=GRACE_DAYS - 2), "DATE_FORMAT")
    return {
        "active": (ProductStatus.ACTIVE, "Active", "positive", [], None),
        "expiring": (ProductStatus.EXPIRING, "Expires in 10 days", "warning",
                     [AlertKind.EXPIRING], "Expiring product expires in 10 days"),
        "grace": (ProductStatus.IN_GRACE, f"In grace period until {grace_until}", "critical",
                  [AlertKind.IN_GRACE],
                  f"Grace product has expired and is in its grace period until {grace_until}"),
        "expired": (ProductStatus.EXPIRED, "Expired", "critical", [AlertKind.EXPIRED], None),
        "future": (ProductStatus.NOT_YET_VALID, "Not yet valid", "neutral",
                   [AlertKind.NOT_YET_VALID], None),
        "over": (ProductStatus.OVER_ALLOCATED, "Over-allocated", "critical",
                 [AlertKind.OVER_ALLOCATED], "Over product is over-allocated"),
    }


@pytest.fixture
def every_state(settings, install, manager, make_users):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "GRACE_DAYS": GRACE_DAYS}
    first = products()
    first[-1] = product("over", "named", 5, name="Over product")
    install(products=first)
    operations.grant(make_users(3), ["over"])
    operations.grant([manager], ["active"])
    install(products=products())  # "over" now has 2 seats for 3 active holders


TAG_RE = re.compile(r'class="[^"]*wl-status--(\w+)[^"]*"[^>]*>\s*([^<]*?)\s*<')


def tags(fragment):
    """The (tone, label) of every status tag in an HTML fragment."""
    return [(tone, html.unescape(label)) for tone, label in TAG_RE.findall(fragment)]


def row_of(page, url):
    """The table row that links to ``url``."""
    at = page.index(f'href="{url}"')
    return page[page.rindex("<tr", 0, at):page.index("</tr>", at)]


def banner_messages(page):
    """kind -> texts of the alerts the banner adds to Wagtail's messages."""
    out = {}
    for kind, text in re.findall(
            r'data-wagtail-licensing-alert="(\w+)".*?<span data-wagtail-licensing-alert-text>'
            r'(.*?)</span>', page, re.S):
        out.setdefault(kind, []).append(html.unescape(text))
    return out


def test_every_surface_says_the_same_about_each_state(every_state, client, rf, manager):
    want = expected()
    client.force_login(manager)
    license_manager = client.get(reverse("wagtail_licensing:license_manager"))
    assert license_manager.status_code == 200  # the first request after login: alerts shown
    license_manager = client.get(reverse("wagtail_licensing:license_manager")).content.decode()
    dashboard = client.get(reverse("wagtailadmin_home")).content.decode()
    # The panel lists the alerts the manager hid from the banner (once per page): hide them all.
    request = rf.get("/admin/")
    request.user = hide_banner_alerts(manager)
    panel = LicensingSummaryPanel().render_html({"request": request})
    panel_warnings = [html.unescape(item) for item in re.findall(
        r"<li>(.*?)</li>", panel.split("data-licensing-warnings", 1)[1].split("</ul>")[0])]
    banner = banner_messages(dashboard)
    command = json.loads(_run("status", "--json"))
    by_code = {p["code"]: p for p in command["products"]}
    site = {p["code"]: p for p in status.site_status()["products"]}
    notices, _rearm = notifications.due_notices()
    notices_by_code = {}
    for notice in notices:
        notices_by_code.setdefault(notice.product.code, []).append(notice)
    rules_alerts = {code: product_alerts(ProductFacts.of(p), today())
                    for code, p in ((p.code, p) for p in status.installed_products())}

    for code, (state, label, tone, kinds, notice_words) in want.items():
        url = product_url(code)
        # Status tags: the License manager, the product's page, the dashboard panel.
        assert tags(row_of(license_manager, url)) == [(tone, label)], code
        product_page = client.get(url).content.decode()
        assert (tone, label) in tags(product_page), code
        assert tags(row_of(panel, url)) == [(tone, label)], code
        # The command and site_status(): the same state, label and alerts.
        for source in (by_code[code], site[code]):
            assert (source["state"], source["status"]) == (state, label), code
            assert [a["kind"] for a in source["alerts"]] == kinds, code
        messages = [alert.message for alert in rules_alerts[code]]
        assert [a["message"] for a in by_code[code]["alerts"]] == messages
        # The banner and the dashboard's warnings: the same alerts, word for word.
        assert [alert.kind for alert in rules_alerts[code]] == kinds, code
        for kind, message in zip(kinds, messages, strict=True):
            assert message in banner[kind], code
            assert message in panel_warnings, code
        # The notices: those of the states a manager must act on, in the same terms.
        sent = notices_by_code.get(code, [])
        if notice_words is None:
            assert sent == [], code
        else:
            assert [notice_words in notice.subject for notice in sent] == [True], code

    # Nothing the rules do not say: no stray alert on any surface.
    all_messages = [m for alerts in rules_alerts.values() for m in (a.message for a in alerts)]
    assert sorted(panel_warnings) == sorted(all_messages)
    assert sorted(m for texts in banner.values() for m in texts) == sorted(all_messages)


def test_in_grace_is_not_expired_anywhere(every_state, manager):
    """The grace period grants access, and every surface says until when."""
    grace = status.installed_products().get(code="grace")
    assert grace.status == ProductStatus.IN_GRACE
    assert grace.code in site_snapshot().granting  # what enforcement lets through
    facts = ProductFacts.of(grace)
    assert status_label(facts, today()).startswith("In grace period until ")
    notice = next(n for n in notifications.due_notices()[0] if n.product.code == "grace")
    assert notice.kind == LicenseNotice.Kind.EXPIRY
    assert "grace period: it grants access until" in notice.body()
    # One day after the grace period, the same product is plainly expired.
    assert product_status(facts, facts.grants_until + timedelta(days=1)) == ProductStatus.EXPIRED


def _run(*args):
    out = StringIO()
    call_command("licensing", *args, stdout=out)
    return out.getvalue()
