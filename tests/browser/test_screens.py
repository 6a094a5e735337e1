"""Every licensing screen in one browser session: axe-core finds no serious or critical
accessibility violation, and at 1024 px (sidebar open) and 768 px no table column is clipped
(issue 12 items 3, 5, 6, 13 and its accessibility section).

axe-core comes from the npm registry (package.json; `make test` installs it into node_modules/);
without it this test is skipped, as the browser tests are without Chromium. One session walks
all the screens, to keep CI's time.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from tests.support.licenses import product
from wagtail_licensing import operations
from wagtail_licensing.models import ConcurrentSession, PendingUpload

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (npm ci)"),
]

WIDTHS = (1024, 768)

# Whether a table can be read whole: in a scroll region that fits the page (focusable and
# labelled, its last column reachable by scrolling), or fitting the page itself.
LAYOUT_JS = """
() => {
  const problems = [];
  const main = document.querySelector('main');
  const mainRight = main.getBoundingClientRect().right;
  const root = document.scrollingElement;
  if (root.scrollWidth > root.clientWidth + 1)
    problems.push(`the page scrolls sideways (${root.scrollWidth} > ${root.clientWidth})`);
  for (const table of main.querySelectorAll('table')) {
    if (!table.offsetParent) continue;
    const name = (table.querySelector('caption')?.textContent.trim()
                  || table.querySelector('th')?.textContent.trim() || table.className);
    let scroller = null;
    for (let el = table.parentElement; el && el !== main; el = el.parentElement) {
      const overflow = getComputedStyle(el).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') { scroller = el; break; }
    }
    const last = table.querySelector('tr > :last-child');
    if (!scroller) {
      const box = table.getBoundingClientRect();
      if (box.right > mainRight + 1)
        problems.push(`${name}: clipped, no scroll region (${box.right} > ${mainRight})`);
      continue;
    }
    const region = scroller.getBoundingClientRect();
    if (region.right > mainRight + 1)
      problems.push(`${name}: its scroll region is clipped (${region.right} > ${mainRight})`);
    if (scroller.scrollWidth > scroller.clientWidth) {
      if (scroller.tabIndex < 0) problems.push(`${name}: scroll region not focusable`);
      if (!scroller.getAttribute('aria-label') && !scroller.getAttribute('aria-labelledby'))
        problems.push(`${name}: scroll region has no label`);
      scroller.scrollLeft = scroller.scrollWidth;
      if (last.getBoundingClientRect().right > scroller.getBoundingClientRect().right + 1)
        problems.push(`${name}: the last column cannot be scrolled to`);
      scroller.scrollLeft = 0;
    }
  }
  return problems;
}
"""

SETTLED_JS = """
async () => {
  await document.fonts.ready;  // text measured in the admin's font, not a fallback
  await new Promise(resolve => {
  let last = null, stable = 0;
  const tick = () => {
    const box = document.querySelector('main').getBoundingClientRect();
    const key = `${box.left},${box.right}`;
    stable = key === last ? stable + 1 : 0;
    last = key;
    if (stable >= 10) resolve(); else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  });
}
"""

AXE_JS = """
async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.help} -- ` +
              v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}
"""


@pytest.fixture
def busy_site(install, make_users, superuser, editors_group, managers_group):
    """A licensed site with every screen populated: long names, over-allocation, sessions."""
    today = timezone.localdate()
    install(
        user=superuser,
        products=[
            product("cms-editor", "named", 6, name="Wagtail CMS editor with a rather long name"),
            product("analytics", "named", None, name="Analytics"),
            product("occasional", "concurrent", 3, name="Occasional editor"),
            product(
                "customer-portal",
                "portal",
                200,
                name="Customer portal",
                valid_until=today + timedelta(days=20),
            ),
        ],
    )
    editors = make_users(8, prefix="editor", groups=[editors_group])
    User = get_user_model()
    User.objects.filter(pk=editors[0].pk).update(
        first_name="Maximiliana Josephina Wilhelmina", last_name="von Hohenzollern-Sigmaringen"
    )
    operations.grant([superuser, *editors[:4]], ["cms-editor"])
    operations.grant(editors[:3], ["occasional"])
    operations.grant(make_users(5, prefix="customer", portal=True), ["customer-portal"])
    ConcurrentSession.objects.create(
        user=editors[1], product_code="occasional", session_key="s" * 32
    )
    return editors


def check(page, name, problems):
    """Layout at both widths, then axe at 1024 px (the sidebar open)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        # Wagtail's sidebar reacts to the new width in script (and slides), and the admin's font
        # may still be loading: read the layout once both have settled.
        page.evaluate(SETTLED_JS)
        found = page.evaluate(LAYOUT_JS)
        problems += [f"{name} at {width} px: {p}" for p in found]
    page.set_viewport_size({"width": 1024, "height": 900})
    page.add_script_tag(path=str(AXE))
    assert page.evaluate("typeof axe.run") == "function"
    problems += [f"{name}: {v}" for v in page.evaluate(AXE_JS)]


def test_every_screen_is_accessible_and_fits(
    page, login, busy_site, superuser, make_license, tmp_path
):
    editors = busy_site
    login("admin")
    base = page.base_url
    problems: list[str] = []

    def visit(name, path):
        page.goto(base + path)
        check(page, name, problems)

    visit("License manager", "/admin/licensing/")
    # Item 3: the demo callout is not there (a license is installed); its buttons are checked
    # in the demo-mode walk below.
    visit("product page and holders", "/admin/licensing/products/cms-editor/")
    # Item 6: the holders' checkboxes show without hovering.
    box = page.locator("input.bulk-action-checkbox").first
    assert box.evaluate("el => getComputedStyle(el).opacity") == "1"
    visit("Add users", "/admin/licensing/products/cms-editor/grant/")
    assert (
        page.locator("th input.bulk-action-checkbox").evaluate("el => getComputedStyle(el).opacity")
        == "1"
    )
    visit("System users", "/admin/licensing/users/")
    # Item 13: the row menus sit at the same place beside long and short names alike.
    offsets = page.evaluate("""() => [...document.querySelectorAll('td.wl-user-name')].map(td => {
        const menu = td.querySelector('.actions').getBoundingClientRect();
        const cell = td.getBoundingClientRect();
        return Math.round(cell.right - menu.right);
    })""")
    assert len(set(offsets)) == 1, offsets
    visit("user's licenses", f"/admin/licensing/users/{editors[0].pk}/")
    top = page.evaluate("""() => document.querySelector('[data-user-licenses]')
        .getBoundingClientRect().top
        - document.querySelector('header').getBoundingClientRect().bottom""")
    assert top >= 16, top
    visit("Licenses tab", reverse("wagtailusers_users:edit", args=[editors[0].pk]))
    page.get_by_role("tab", name="Licenses").click()
    check(page, "Licenses tab (open)", problems)
    visit("history", "/admin/licensing/history/")
    visit("activity", "/admin/licensing/history/activity/")
    visit("sessions", "/admin/licensing/sessions/")
    visit("API tokens", "/admin/licensing/api-tokens/")
    visit("usage report", "/admin/reports/license-usage/")
    visit("request", "/admin/licensing/request/")
    visit("delete", "/admin/licensing/delete/")
    visit("export", "/admin/licensing/assignments/export/")

    visit("upload", "/admin/licensing/upload/")
    license_file = tmp_path / "renewal.lic"
    license_file.write_text(
        make_license(
            products=[
                product(
                    "cms-editor", "named", 6, name="Wagtail CMS editor with a rather long name"
                ),
                product("analytics", "named", None, name="Analytics"),
            ]
        )
    )
    page.set_input_files("input[name=license_file]", str(license_file))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_selector("[data-upload-preview]")
    assert page.locator("[data-locked-out]").is_visible()  # item 2: editors 4..7 lose access
    check(page, "upload preview", problems)
    PendingUpload.objects.all().delete()

    visit("import", "/admin/licensing/assignments/import/")
    csv = tmp_path / "import.csv"
    csv.write_text(
        "Username,Product code,Action\r\neditor5,cms-editor,grant\r\n"
        "editor1,analytics,grant\r\nnobody,cms-editor,grant\r\n"
    )
    page.set_input_files("input[name=file]", str(csv))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_selector("[data-import-preview]")
    check(page, "import preview", problems)

    # Demo mode: the License manager's callout, whose buttons look like Wagtail's (item 3).
    operations.delete_licenses()
    visit("License manager in demo mode", "/admin/licensing/")
    styles = page.evaluate("""() => [...document.querySelectorAll('[data-demo-mode] a.button')]
        .map(a => { const s = getComputedStyle(a);
                    return [s.textDecorationLine, s.color === s.backgroundColor]; })""")
    assert styles == [["none", False], ["none", False]], styles

    assert not problems, "\n".join(problems)
