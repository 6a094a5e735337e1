"""Real separate processes: the example site served by gunicorn with several workers, and the
`licensing` management command run beside it in a process of its own, as an operator would.
Whatever the cache (each worker's own LocMemCache, the database cache, Redis), a recall or a
grant reaches every worker within ``STATE_RECHECK_SECONDS`` (2 s here, to keep the test short).

One site per cache backend, all three served at once on one database (a file SQLite database,
or a scratch database on the PostgreSQL server of ``DATABASE_URL``), so that the waits overlap;
the command runs once per backend, with that backend's cache, in one process.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from wagtail_licensing.vendor import keygen

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SITE = ROOT / "example_site"
RECHECK_SECONDS = 2  # the served sites' STATE_RECHECK_SECONDS
MARGIN_SECONDS = 0.5
WORKERS = 3
REQUESTS = 24
PRODUCT = "cms-editor"
# editor21 .. editor30 hold only cms-editor in the demo data (seed_demo): recalling it refuses
# them the admin. One user per backend, so that the sites never see each other's changes.
USERS = {"locmem": "editor21", "database": "editor22", "redis": "editor23"}
PASSWORD = "editor"

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DATABASE_CACHE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                              "LOCATION": "licensing_test_cache"}}

SETTINGS = textwrap.dedent("""
    import json
    import os

    from example_site.settings import *

    DEBUG = False
    CACHES = json.loads(os.environ["PROCESSES_CACHES"])
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # Several processes write at once (three servers and the command): writers queue for
        # the lock rather than fail at once when a reading transaction starts to write.
        DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    WAGTAIL_LICENSING = {**WAGTAIL_LICENSING,
                         "STATE_RECHECK_SECONDS": int(os.environ["PROCESSES_RECHECK"])}
    # Speed only: the seeded users' passwords hash fast, and the schema is made from the models
    # (`migrate --run-syncdb`) rather than by Wagtail's long migration history, which
    # tests/project/test_demo.py runs. No page tree: editors and managers need none.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


    class NoMigrations(dict):
        def __contains__(self, app_label):
            return True

        def __getitem__(self, app_label):
            return None


    MIGRATION_MODULES = NoMigrations()
""")

# Every response says which worker served it.
WSGI = textwrap.dedent("""
    import os

    from example_site.wsgi import application as site


    def application(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Worker", str(os.getpid()))], exc_info)

        return site(environ, start)
""")

# `manage.py licensing ...` once per backend, each with that backend's cache.
COMMANDS = textwrap.dedent("""
    import json
    import sys

    import django
    from django.core.management import call_command
    from django.test import override_settings

    django.setup()
    for caches, args in json.loads(sys.argv[1]):
        with override_settings(CACHES=caches):
            call_command(*args)
""")

SETUP = textwrap.dedent("""
    import sys

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
    call_command("createcachetable", "licensing_test_cache", verbosity=0)
    call_command("seed_demo", keys_dir=sys.argv[1], verbosity=0)
""")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@contextmanager
def site_database(tmp_path):
    """A database URL for the served sites: a scratch PostgreSQL database when the suite runs on
    PostgreSQL, a file SQLite database otherwise."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path}/site.sqlite3"
        return
    import psycopg

    name = f"wagtail_licensing_processes_{os.getpid()}"  # two runs on one server never clash
    site_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield site_url
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """A browser of one user: one cookie jar, no redirects followed."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect)

    def request(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            response = self.opener.open(self.base + path, body, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            return response.status, response.headers.get("X-Worker"), response.read().decode()

    def up(self):
        try:
            return self.request("/admin/login/")[0] == 200
        except OSError:
            return False

    def login(self, username, password):
        page = self.request("/admin/login/")[2]
        token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        status = self.request("/admin/login/", {
            "csrfmiddlewaretoken": token, "username": username, "password": password,
            "next": "/admin/"})[0]
        assert status == 302, f"{username} could not sign in"
        self.request("/admin/")  # the first admin request after signing in

    def dashboard(self, count=REQUESTS):
        """``count`` dashboard requests, several at a time so that every worker serves some:
        [(status, worker), ...]."""
        with ThreadPoolExecutor(max_workers=WORKERS * 2) as pool:
            return [result[:2] for result in pool.map(
                lambda _n: self.request("/admin/"), range(count))]

    def every_worker(self):
        """``REQUESTS`` dashboard requests, and more until each worker has served one."""
        results = self.dashboard()
        for _round in range(5):
            if len({worker for _status, worker in results}) >= WORKERS:
                return results
            results += self.dashboard()
        pytest.fail(f"not all {WORKERS} workers answered: {results}")


class Sites:
    """The example site, set up once, served once per cache backend."""

    def __init__(self, tmp_path, database_url):
        self.tmp_path = tmp_path
        (tmp_path / "processes_settings.py").write_text(SETTINGS)
        (tmp_path / "processes_wsgi.py").write_text(WSGI)
        self.keys_dir = tmp_path / "vendor-keys"
        keygen("demo", self.keys_dir)
        self.env = {**os.environ, "DATABASE_URL": database_url,
                    "WAGTAIL_LICENSING_VENDOR_KEYS_DIR": str(self.keys_dir),
                    "DJANGO_SETTINGS_MODULE": "processes_settings",
                    "PYTHONPATH": os.pathsep.join([str(tmp_path), str(EXAMPLE_SITE), str(ROOT)]),
                    "PROCESSES_RECHECK": str(RECHECK_SECONDS)}
        self.run_all([([sys.executable, "-c", SETUP, str(self.keys_dir)], LOCMEM)])

    def _env(self, caches):
        return {**self.env, "PROCESSES_CACHES": json.dumps(caches)}

    def run_all(self, commands):
        """Run ``[(argv, caches), ...]`` side by side; fail on any error."""
        running = [subprocess.Popen(argv, env=self._env(caches), cwd=self.tmp_path,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for argv, caches in commands]
        for process in running:
            output = process.communicate(timeout=300)[0]
            assert process.returncode == 0, output

    def licensing(self, verb, caches_by_backend):
        """``manage.py licensing VERB --product PRODUCT USER`` for each backend's user, with
        that backend's cache, in one process beside the servers (one Python start-up, not
        three)."""
        commands = [(caches, ["licensing", verb, "--product", PRODUCT, USERS[backend]])
                    for backend, caches in caches_by_backend.items()]
        self.run_all([([sys.executable, "-c", COMMANDS, json.dumps(commands)], LOCMEM)])

    @contextmanager
    def serve(self, caches):
        """gunicorn with ``WORKERS`` workers and ``caches``; a client for it."""
        port = free_port()
        log = (self.tmp_path / f"gunicorn-{port}.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind",
             f"127.0.0.1:{port}", "--preload", "--timeout", "60", "processes_wsgi:application"],
            env=self._env(caches), cwd=self.tmp_path, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield Client(f"http://127.0.0.1:{port}")
        finally:
            server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of our own on a free port (Debian's package; `.ci/run` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (.ci/run "
                    "installs it)")
    port = free_port()
    server = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    try:
        wait_for(answers, 20, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=20)


def allowed(results):
    return sum(status == 200 for status, _worker in results)


def wait_until(moment):
    time.sleep(max(0.0, moment - time.monotonic()))


def test_a_change_made_beside_the_servers_reaches_every_worker(tmp_path, redis_url):
    caches = {"locmem": LOCMEM, "database": DATABASE_CACHE,
              "redis": {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                    "LOCATION": redis_url}}}
    with site_database(tmp_path) as database_url, ExitStack() as stack:
        sites = Sites(tmp_path, database_url)
        clients = {backend: stack.enter_context(sites.serve(caches[backend]))
                   for backend in caches}
        for backend, client in clients.items():
            wait_for(client.up, 60, f"gunicorn with the {backend} cache")
            client.login(USERS[backend], PASSWORD)
            warm = client.every_worker()  # every worker has the decision cached
            assert allowed(warm) == len(warm), (backend, warm)

        report = []
        for verb, status in (("recall", 403), ("grant", 200)):
            sites.licensing(verb, caches)
            wait_until(time.monotonic() + RECHECK_SECONDS + MARGIN_SECONDS)
            after = {backend: client.every_worker() for backend, client in clients.items()}
            for backend in clients:
                report.append(f"{verb} ({backend}): {allowed(after[backend])} of "
                              f"{len(after[backend])} requests allowed {RECHECK_SECONDS} s "
                              "after the command")
            print("\n".join(report[-len(clients):]))
            for backend, results in after.items():
                assert {code for code, _worker in results} == {status}, (verb, backend, results)
