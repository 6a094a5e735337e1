"""Release hygiene, before tagging: the version and the changelog agree.

- ``wagtail_licensing.__version__`` is a Semantic Versioning version (MAJOR.MINOR.PATCH, with
  an optional pre-release such as ``1.0.0rc1`` in PEP 440's spelling);
- ``CHANGELOG.md`` follows Keep a Changelog: its first section is ``## Unreleased``, every
  released section is ``## [X.Y.Z] - YYYY-MM-DD``, newest first, and the version is either
  released there or about to be (the top section is Unreleased);
- on a tagged commit (``vX.Y.Z``), the tag, the version and a released section agree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)((a|b|rc)(0|[1-9]\d*))?$")
RELEASED = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})$")


def version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "wagtail_licensing" / "__init__.py").read_text(), namespace)  # noqa: S102
    return namespace["__version__"]


def main() -> int:
    problems = []
    current = version()
    if not SEMVER.match(current):
        problems.append(f"__version__ {current!r} is not MAJOR.MINOR.PATCH")
    headings = [line for line in (ROOT / "CHANGELOG.md").read_text().splitlines()
                if line.startswith("## ")]
    if not headings or headings[0] != "## Unreleased":
        problems.append("CHANGELOG.md: the first section must be '## Unreleased'")
    released = []
    for heading in headings[1:]:
        match = RELEASED.match(heading)
        if not match:
            problems.append(f"CHANGELOG.md: {heading!r} is not '## [X.Y.Z] - YYYY-MM-DD'")
            continue
        try:
            date.fromisoformat(match["date"])
        except ValueError:
            problems.append(f"CHANGELOG.md: {heading!r} has no valid date")
        released.append(match["version"])
    try:
        tags = subprocess.run(["git", "tag", "--points-at", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        tags = []
    for tag in (t for t in tags if t.startswith("v")):
        if tag[1:] != current:
            problems.append(f"the tag {tag} is not the version {current}")
        if current not in released:
            problems.append(f"CHANGELOG.md has no '## [{current}] - DATE' section for {tag}")
    for problem in problems:
        print(problem)
    if not problems:
        state = "released" if current in released else "next release (Unreleased on top)"
        print(f"version {current} ({state}); CHANGELOG.md in Keep a Changelog form.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
