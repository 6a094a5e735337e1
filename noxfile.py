"""The version matrix: the suite on every Python x Django x Wagtail that those projects support.

    nox -l                 # list the sessions
    nox -t ci              # what `.ci/run` runs (the cells `make test` and `make test-wagtail7`
                           # do not already run, and the newest on PostgreSQL)
    nox                    # every cell

Cells on SQLite run the fast tests only (`-m "not slow"`, the browser tests left out: they are
all slow, and the matrix installs no browser driver), to stay within CI's time; `make test`
runs the whole suite on Python 3.11, Django 5.2 and Wagtail 8. The newest combination runs the
whole suite on PostgreSQL (`DATABASE_URL`, which `.ci/run` sets).

Python 3.12 and 3.13 are found on PATH or, failing that, among pyenv's installs
(`$PYENV_ROOT/versions`, where pyenv's shims would refuse them while another version is
selected). A missing interpreter fails its sessions (it is never skipped).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYTHONS = ("3.11", "3.12", "3.13")

nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"


# The supported combinations. Django 6.0 needs Python 3.12 or later; Wagtail 7.0 supports
# Django 4.2 to 5.2 (its classifiers: it declares no upper bound, so it is pinned here); Wagtail
# 8.0 supports Django 5.2, 6.0 and 6.1. Our floor is Django 5.2.
def _supported(python: str, django: str, wagtail: str) -> bool:
    if django == "6.0" and python < "3.12":
        return False
    return not (wagtail == "7.0" and django != "5.2")


# Run elsewhere in `.ci/run`: `make test` (3.11, Django 5.2, Wagtail 8, everything, SQLite) and
# `make test-wagtail7` (3.11, Django 5.2, Wagtail 7.0, everything, SQLite). The newest cell runs
# on PostgreSQL (session `postgresql`) instead of SQLite.
COVERED_ELSEWHERE = {("3.11", "5.2", "8.0"), ("3.11", "5.2", "7.0"), ("3.13", "6.0", "8.0")}
NEWEST = ("3.13", "6.0", "8.0")

MATRIX = [
    nox.param(python, django, wagtail,
              id=f"{python}-django{django}-wagtail{wagtail}",
              tags=[] if (python, django, wagtail) in COVERED_ELSEWHERE else ["ci"])
    for python in PYTHONS
    for django in ("5.2", "6.0")
    for wagtail in ("7.0", "8.0")
    if _supported(python, django, wagtail)
]


def _version_of(executable: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - an interpreter found on PATH or in pyenv
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _find_interpreter(version: str) -> str | None:
    """A python{version} that runs: on PATH, else pyenv's newest {version}.x."""
    on_path = shutil.which(f"python{version}")
    if on_path and _version_of(on_path) == version:
        return on_path
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")

    def patch_level(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parents[1].name))

    candidates = sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"),
                        key=patch_level, reverse=True)
    for candidate in candidates:
        if _version_of(str(candidate)) == version:
            return str(candidate)
    return None


def _expose_interpreters() -> None:
    """Put a python3.X that works first on PATH for each version, through symlinks in .nox/,
    so that nox's discovery finds them and the sessions keep short names."""
    links = ROOT / ".nox" / "interpreters"
    links.mkdir(parents=True, exist_ok=True)
    for version in PYTHONS:
        found = _find_interpreter(version)
        link = links / f"python{version}"
        if found is None:
            link.unlink(missing_ok=True)
            print(f"noxfile: no Python {version} on PATH nor in $PYENV_ROOT/versions "
                  f"(`pyenv install {version}`): its sessions will fail.", file=sys.stderr)
            continue
        # Atomically, since `.ci/run` starts two nox processes at once.
        temporary = links / f".python{version}.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(found)
        os.replace(temporary, link)
    os.environ["PATH"] = f"{links}{os.pathsep}{os.environ.get('PATH', '')}"


_expose_interpreters()


def _install(session: nox.Session, extras: str, django: str, wagtail: str) -> None:
    session.install("--quiet", "-e", f".[{extras}]",
                    f"django>={django},<{_next_minor(django)}",
                    f"wagtail>={wagtail},<{_next_minor(wagtail)}")
    session.run("python", "-c",
                "import sys, django, wagtail; print('Python', sys.version.split()[0], "
                "'Django', django.__version__, 'Wagtail', wagtail.__version__)")


def _next_minor(version: str) -> str:
    major, minor = version.split(".")
    return f"{major}.{int(minor) + 1}"


@nox.session
@nox.parametrize("python,django,wagtail", MATRIX)
def tests(session: nox.Session, django: str, wagtail: str) -> None:
    """The fast tests on SQLite."""
    _install(session, "test", django, wagtail)
    env = {"DATABASE_URL": ""}  # SQLite, whatever the caller's environment says
    session.run("pytest", "-q", "-m", "not slow", "--ignore=tests/browser",
                *session.posargs, env=env)


@nox.session(python=NEWEST[0], tags=["ci"])
def postgresql(session: nox.Session) -> None:
    """The whole suite on the newest combination, on the PostgreSQL server named by
    DATABASE_URL (`.ci/run` starts one)."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        session.error("Set DATABASE_URL=postgres://user:password@host:port/database "
                      "(.ci/run starts a server and sets it).")
    _install(session, "test-all", NEWEST[1], NEWEST[2])
    session.run("pytest", "-q", *session.posargs)
