"""Where a license comes from, and the group licensing errors, on every surface: the Licenses
tab, System users (tags and filters), product holders, exports and imports, the License
manager and the dashboard panel."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.support.licenses import DEFAULT_PRODUCTS, product
from tests.support.users import give_license
from wagtail_licensing import operations
from wagtail_licensing.formats import ImportRow, read_assignments
from wagtail_licensing.resources import export_assignments

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(install, superuser, make_users):
    install(products=[product("editor", "named", 2, name="CMS editor"), *DEFAULT_PRODUCTS[1:]])
    give_license(superuser)  # analytics
    writers = Group.objects.create(name="Writers")
    direct, both, inherited, waiting = make_users(4)
    operations.grant([direct, both], "analytics")
    for user in (both, inherited, waiting):  # in this order: waiting joins last
        writers.user_set.add(user)
    operations.bind_group_licenses(writers, ["analytics", "editor"])
    return {
        "writers": writers,
        "direct": direct,
        "both": both,
        "inherited": inherited,
        "waiting": waiting,
    }


def test_licenses_tab_says_direct_or_through_which_group_and_shows_errors(client, superuser, site):
    client.force_login(superuser)
    html = client.get(reverse("wagtailusers_users:edit", args=[site["both"].pk])).content
    html = html.decode()
    assert "Granted directly and through the groups Writers." in html
    html = client.get(
        reverse("wagtailusers_users:edit", args=[site["waiting"].pk])
    ).content.decode()
    assert "Through the groups Writers" in html
    assert (
        "Licensing error: not enough seats for CMS editor (editor) from the group Writers."
    ) in html


def test_system_users_filters_by_source_and_marks_problems(client, superuser, site):
    client.force_login(superuser)
    url = reverse("wagtail_licensing_users:index")

    def names(source):
        response = client.get(url, {"source": source})
        html = response.content.decode()
        return {
            name for name in ("user0", "user1", "user2", "user3") if f"{name}@example.com" in html
        }

    assert names("direct") == {"user0", "user1"}
    assert names("inherited") == {"user1", "user2", "user3"}
    assert names("both") == {"user1"}
    assert names("problems") == {"user3"}
    html = client.get(url).content.decode()
    assert "data-licensing-problem" in html and "data-inherited" in html


def test_product_holders_show_the_source(client, superuser, site):
    client.force_login(superuser)
    html = client.get(reverse("wagtail_licensing:product", args=["analytics"])).content
    html = html.decode()
    assert "Manual and group" in html and "Group" in html, html[html.find("<table") :][:3000]


def test_export_carries_the_source_and_imports_back_unchanged(site):
    content = export_assignments("csv")[0].decode("utf-8-sig")
    header, *lines = content.strip().splitlines()
    assert header.endswith(",Source")
    sources = {
        line.split(",")[0]: line.rsplit(",", 1)[1]
        for line in lines
        if ",analytics," in line and not line.startswith("admin,")
    }
    assert sources == {
        "user0": "direct",
        "user1": "direct+group",
        "user2": "group",
        "user3": "group",
    }
    plan = operations.preview_import(read_assignments(content.encode(), filename="x.csv"))
    assert plan.summary() == (
        f"0 to grant, 0 to recall, {len(lines)} unchanged "
        f"({plan.via_group} of them hold the product through a group)"
    )
    assert plan.via_group == 4  # user2 and user3 for analytics, user1 and user2 for editor


def test_importing_a_direct_grant_for_an_inherited_holder_says_so(site):
    plan = operations.preview_import(
        [ImportRow(number=2, user="user2", product="analytics", action="")]
    )
    assert plan.summary() == (
        "0 to grant, 0 to recall, 1 unchanged (1 of them holds the product through a group)"
    )


def test_license_manager_and_dashboard_count_the_problems(client, superuser, site):
    client.force_login(superuser)
    html = client.get(reverse("wagtail_licensing:license_manager")).content.decode()
    assert 'data-group-problems="1"' in html
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert 'data-group-problems="1"' in html
