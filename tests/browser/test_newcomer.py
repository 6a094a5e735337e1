"""A newcomer following only the documentation reaches a working License manager.

From the wheel (not the source tree), in a virtualenv of its own: `wagtail start`, the settings
of docs/installing.md applied exactly as written there (the test reads the code blocks), the
documented commands, the development server, then the browser: sign in, Licensing > License
manager in demo mode, and the first license as the docs tell it (request it, the vendor signs
it, upload it, confirm it).

The wheel's dependencies come from the wheelhouse named by WAGTAIL_LICENSING_WHEELHOUSE when
there is one (`.ci/wheel-smoke` fills build/wheelhouse), else from the package index.
"""

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.docs import code_block

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300


@pytest.fixture
def browser_page(playwright_browser):
    context = playwright_browser.new_context(viewport={"width": 1400, "height": 1000},
                                             accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, cwd, env, **kwargs):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False, **kwargs)
    assert done.returncode == 0, f"{shlex.join(map(str, args))}\n{done.stdout}\n{done.stderr}"
    return done


def install_from_wheel(tmp_path, env):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(ROOT)], cwd=tmp_path, env=env)
    (wheel,) = dist.glob("wagtail_licensing-*.whl")
    run([sys.executable, "-m", "venv", str(tmp_path / "venv")], cwd=tmp_path, env=env)
    pip = [str(tmp_path / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    wheelhouse = os.environ.get("WAGTAIL_LICENSING_WHEELHOUSE")
    offline = None
    if wheelhouse and Path(wheelhouse).is_dir():
        # The wheelhouse was filled for one Python version: fall back to the index otherwise.
        offline = subprocess.run([*pip, "--no-index", "--find-links", wheelhouse, str(wheel)],
                                 cwd=tmp_path, env=env, capture_output=True, timeout=TIMEOUT,
                                 check=False)
    if offline is None or offline.returncode != 0:
        run([*pip, str(wheel)], cwd=tmp_path, env=env)
    return tmp_path / "venv" / "bin"


def open_action(page, label):
    actions = page.locator("[data-license-manager-actions]")
    actions.locator("button").first.click()
    actions.get_by_role("link", name=label).click()


def documented_commands():
    """docs/installing.md's commands, as (program, arguments)."""
    return [shlex.split(line) for line in code_block("installing.md", "install-commands")
            .splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="makes a site of its own on SQLite: a PostgreSQL run adds nothing")
def test_a_newcomer_reaches_the_license_manager(tmp_path, browser_page):
    started = time.monotonic()
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PYTHONPATH")}
    bin_ = install_from_wheel(tmp_path, env)

    # `wagtail start mysite`, then the settings exactly as docs/installing.md gives them.
    run([bin_ / "wagtail", "start", "mysite"], cwd=tmp_path, env=env)
    project = tmp_path / "mysite"
    base = project / "mysite" / "settings" / "base.py"
    base.write_text(base.read_text() + "\n" + code_block("installing.md", "install-settings"))
    # The vendor's public key, saved beside manage.py as the docs say (here the vendor's tool
    # makes the pair; the private key stays with "the vendor" in another folder).
    vendor = tmp_path / "vendor"
    run([bin_ / "wagtail-licensing-vendor", "keygen", "--kid", "acme-2026", "--out", vendor],
        cwd=tmp_path, env=env)
    (project / "acme-2026.pem").write_bytes((vendor / "acme-2026.pem").read_bytes())

    # The documented commands: migrate, createsuperuser (without a terminal: from the
    # environment), runserver (on a free port, in the background).
    commands = documented_commands()
    assert [c[:3] for c in commands] == [["python", "manage.py", "migrate"],
                                         ["python", "manage.py", "createsuperuser"],
                                         ["python", "manage.py", "runserver"]]
    python = str(bin_ / "python")
    site_env = {**env, "DJANGO_SUPERUSER_USERNAME": "admin", "DJANGO_SUPERUSER_PASSWORD": "pw",
                "DJANGO_SUPERUSER_EMAIL": "admin@example.com"}
    run([python, *commands[0][1:]], cwd=project, env=site_env)
    run([python, *commands[1][1:], "--noinput"], cwd=project, env=site_env)
    check = run([python, "manage.py", "check"], cwd=project, env=site_env)
    assert "wagtail_licensing" not in check.stdout + check.stderr  # nothing to say

    port = free_port()
    server = subprocess.Popen([python, *commands[2][1:], f"127.0.0.1:{port}", "--noreload"],
                              cwd=project, env=site_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.2)
        page = browser_page
        page.goto(f"{base_url}/admin/login/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "pw")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/admin/login/" not in url)

        # Licensing > License manager, as the docs say.
        page.get_by_role("button", name="Licensing").click()
        page.get_by_role("link", name="License manager", exact=True).click()
        page.wait_for_url(f"{base_url}/admin/licensing/")
        assert "Demo mode: no licenses installed." in page.locator(
            "[data-demo-mode]").inner_text()

        # Your first license: request it, the vendor signs it, upload and confirm it.
        open_action(page, "Request license")
        page.fill("input[name=company_id]", "ACME")
        page.fill("input[name=license_version]", "1.0")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Generate and download").click()
        request = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(request)
        assert json.loads(request.read_text())["company_id"] == "ACME"
        # The page reloads after the download and confirms it: wait for that before leaving.
        page.locator(".messages li.success").wait_for()
        license_file = tmp_path / "acme.lic"
        run([bin_ / "wagtail-licensing-vendor", "sign", "--key", vendor / "acme-2026.key",
             "--kid", "acme-2026", "--request", request,
             "--product", "cms-editor:named:10:2099-12-31:CMS editor", "-o", license_file],
            cwd=tmp_path, env=env)
        page.goto(f"{base_url}/admin/licensing/")
        open_action(page, "Upload license file")
        page.set_input_files("input[name=license_file]", str(license_file))
        page.get_by_role("button", name="Upload and preview").click()
        page.locator("[data-upload-preview]").wait_for()
        page.get_by_role("button", name="Confirm and install").click()
        page.wait_for_url(f"{base_url}/admin/licensing/")
        assert "CMS editor" in page.locator("#listing-results table").inner_text()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"newcomer: {time.monotonic() - started:.0f} s")
