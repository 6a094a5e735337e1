"""The vendor's tool, `wagtail-licensing-vendor`."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from wagtail_licensing import operations
from wagtail_licensing.license_file import read_license_file
from wagtail_licensing.vendor import main


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path, capsys):
    assert main(["keygen", "--kid", "acme-2026", "--out", str(tmp_path / "keys")]) == 0
    private, public = tmp_path / "keys" / "acme-2026.key", tmp_path / "keys" / "acme-2026.pem"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes()
    load_pem_public_key(public.read_bytes())
    assert main(["keygen", "--kid", "acme-2026", "--out", str(tmp_path / "keys")]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


@pytest.fixture
def keys(tmp_path):
    main(["keygen", "--kid", "k1", "--out", str(tmp_path)])
    return tmp_path / "k1.key", tmp_path / "k1.pem"


def test_sign_and_inspect(keys, tmp_path, capsys):
    private, public = keys
    out = tmp_path / "acme.lic"
    assert main(["sign", "--key", str(private), "--kid", "k1", "--company-id", "ACME",
                 "--any-instance", "--license-version", "2.0", "--valid-from", "2026-01-01",
                 "--product", "editor:named:40:2099-12-31:CMS editor",
                 "--product", "analytics:named:unlimited:2099-12-31",
                 "--product", "portal:portal:5:2099-06-30", "-o", str(out)]) == 0
    signed = read_license_file(out.read_text(), {"k1": load_pem_public_key(public.read_bytes())})
    payload = signed.payload
    assert payload.company_id == "ACME" and payload.instance_id is None
    assert payload.license_version == "2.0"
    editor = payload.product("editor")
    assert (editor.name, editor.seats, str(editor.valid_from)) == ("CMS editor", 40, "2026-01-01")
    assert payload.product("analytics").seats is None
    assert payload.product("analytics").name == "analytics"
    assert out.read_text().startswith("wagtail-licensing license file")

    capsys.readouterr()
    assert main(["inspect", str(out), "--public-key", str(public)]) == 0
    printed = capsys.readouterr().out
    assert '"company_id": "ACME"' in printed and "signature: valid" in printed

    tampered = tmp_path / "tampered.lic"
    other = tmp_path / "other"
    main(["keygen", "--kid", "k1", "--out", str(other)])
    tampered.write_text(out.read_text())
    assert main(["inspect", str(tampered), "--public-key", str(other / "k1.pem")]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_sign_takes_values_from_a_request(keys, tmp_path, db, vendor, settings):
    private, public = keys
    settings.WAGTAIL_LICENSING = {"VENDOR_PUBLIC_KEYS": {"k1": public.read_text()}}
    request = operations.create_license_request(company_id="ACME", license_version="4.2")
    request_path = tmp_path / request.filename
    request_path.write_bytes(request.content)
    out = tmp_path / "for-this-site.lic"
    assert main(["sign", "--key", str(private), "--kid", "k1", "--request", str(request_path),
                 "--product", "editor:named:3:2099-12-31", "-o", str(out)]) == 0
    result = operations.install_license_file(out.read_text())
    assert result.license_file.instance_id == request.data["instance_id"]
    assert result.license_file.license_version == "4.2"


@pytest.mark.parametrize("args, message", [
    (["--product", "editor:named:lots:2099-12-31"], "SEATS must be a number"),
    (["--product", "editor:named:3"], "CODE:TYPE:SEATS:VALID_UNTIL"),
    (["--product", "editor:floating:3:2099-12-31"], "must be one of"),
    (["--product", "Bad Code:named:3:2099-12-31"], "lower-case"),
])
def test_sign_refuses_bad_products(keys, tmp_path, capsys, args, message):
    private, _public = keys
    code = main(["sign", "--key", str(private), "--kid", "k1", "--company-id", "ACME",
                 "--any-instance", *args, "-o", str(tmp_path / "x.lic")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.lic").exists()


def test_sign_needs_an_instance_decision(keys, tmp_path, capsys):
    private, _public = keys
    assert main(["sign", "--key", str(private), "--kid", "k1", "--company-id", "ACME",
                 "--product", "editor:named:3:2099-12-31", "-o", str(tmp_path / "x.lic")]) == 2
    assert "--any-instance" in capsys.readouterr().err


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).parent / "wagtail-licensing-vendor"
    assert script.exists(), "pip install should install the wagtail-licensing-vendor script"
    done = subprocess.run([str(script), "keygen", "--kid", "x", "--out", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x.pem").exists()
