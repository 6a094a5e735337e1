"""Download file names: one rule (rules.filenames) for every file handed out or written."""

import pytest
from django.urls import reverse

from wagtail_licensing import operations
from wagtail_licensing.rules.filenames import MAX_BYTES, safe_filename


@pytest.mark.parametrize(("name", "expected"), [
    ("LIC-2026_01.lic", "LIC-2026_01.lic"),
    ('LIC "quoted"/evil\r\nX-Injected: 1.lic', "LIC__quoted__evil__X-Injected__1.lic"),
    ("../../etc/passwd", "_.._.._etc_passwd"),
    ("C:\\Windows\\x.lic", "C__Windows_x.lic"),
    ("..", "_.."),
    (".hidden", "_.hidden"),
    ("-rf.lic", "_-rf.lic"),
    ("CON.lic", "_CON.lic"),
    ("nul", "_nul"),
    ("Müller.lic", "Müller.lic"),
    ("Mu\u0308ller.lic", "Müller.lic"),  # decomposed accent: one letter (NFC)
    ("中文.lic", "中文.lic"),
    ("\u202egpj.exe", "_gpj.exe"),  # right-to-left override
    ("tab\there;semi", "tab_here_semi"),
])
def test_hostile_names(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", ["", "///", "\r\n", "   "])
def test_nothing_left_gives_the_default(name):
    assert safe_filename(name) == "download"
    assert safe_filename(name, default="license.lic") == "license.lic"


def test_long_names_are_cut_in_bytes_keeping_the_extension():
    name = safe_filename("é" * 300 + ".lic")
    assert name.endswith(".lic")
    assert len(name.encode()) <= MAX_BYTES
    assert set(name[:-4]) == {"é"}  # no character cut in half


def test_license_request_name_uses_the_rule(db):
    request = operations.create_license_request(company_id="ACME/../x")
    assert request.filename.startswith("LicenseRequest-ACME_.._x-")
    assert request.filename.endswith(".tlr")


def test_assignment_export_header_uses_the_rule(client, manager, installed):
    client.force_login(manager)
    response = client.get(reverse("wagtail_licensing_assignments:export"), {"format": "json"})
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="license-assignments-')
    assert disposition.endswith('.json"')
