"""Check what the built sdist and wheel hold against the repository.

    python .ci/check_dist.py dist/

The wheel: every file of the wagtail_licensing package that git tracks (code, templates, static
files, migrations, translations: a compiled .mo beside each .po), nothing outside the package
but its .dist-info, LICENSE in .dist-info/licenses/, the console script, the metadata
(license, classifiers, dependencies). The sdist: the same package files, LICENSE, README.md,
CHANGELOG.md, pyproject.toml and the documentation's sources; not the tests, the example site,
the benchmarks or CI. Exits 1 with every problem listed.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "wagtail_licensing"
NOT_IN_SDIST = ("tests/", "example_site/", "benchmarks/", ".ci/", "noxfile.py", "docs/_build/")
# The license is the License-Expression (PEP 639), not a classifier.
REQUIRED_CLASSIFIERS = [
    "Framework :: Django :: 5.2", "Framework :: Django :: 6.0",
    "Framework :: Wagtail :: 7", "Framework :: Wagtail :: 8",
    "Programming Language :: Python :: 3.11", "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
]


def tracked(*paths: str) -> set[str]:
    """Files git tracks under these paths (the working tree's, when this is no git clone)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", *paths], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return {name for name in out.split("\0") if name and (ROOT / name).exists()}
    except (OSError, subprocess.CalledProcessError):
        return {p.relative_to(ROOT).as_posix() for path in paths for p in (ROOT / path).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}


def check_wheel(wheel: Path, package_files: set[str], problems: list[str]) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    for name in sorted(package_files - names):
        problems.append(f"wheel: {name} is missing")
    for po in sorted(n for n in package_files if n.endswith(".po")):
        if po[:-3] + ".mo" not in names:
            problems.append(f"wheel: {po[:-3]}.mo is missing (compile the translations)")
    outside = sorted(n for n in names if not n.startswith((f"{PACKAGE}/", f"{dist_info}/")))
    problems.extend(f"wheel: {name} should not be there" for name in outside)
    extra = sorted(n for n in names if n.startswith(f"{PACKAGE}/") and n not in package_files
                   and not n.endswith(".mo"))
    problems.extend(f"wheel: {name} is not a tracked file of the package" for name in extra)
    license_in = f"{dist_info}/licenses/LICENSE"
    if license_in not in names:
        problems.append(f"wheel: {license_in} is missing")
    if metadata.get("License-Expression") != "BSD-3-Clause":
        problems.append(f"wheel: License-Expression is {metadata.get('License-Expression')!r}")
    if "LICENSE" not in (metadata.get_all("License-File") or []):
        problems.append("wheel: no License-File: LICENSE in METADATA")
    classifiers = metadata.get_all("Classifier") or []
    problems.extend(f"wheel: classifier {c!r} is missing" for c in REQUIRED_CLASSIFIERS
                    if c not in classifiers)
    requires = metadata.get_all("Requires-Dist") or []
    for requirement in ("Django>=5.2", "wagtail>=7.0", "django-import-export>=4.0",
                        "cryptography>=42.0"):
        if requirement not in requires:
            problems.append(f"wheel: Requires-Dist {requirement} is missing")
    if "wagtail-licensing-vendor = wagtail_licensing.vendor:main" not in entry_points:
        problems.append("wheel: the wagtail-licensing-vendor console script is missing")
    if metadata.get("Version") != version():
        problems.append(f"wheel: version {metadata.get('Version')} is not {version()}")


def check_sdist(sdist: Path, package_files: set[str], problems: list[str]) -> None:
    with tarfile.open(sdist) as archive:
        members = [m.name for m in archive.getmembers() if m.isfile()]
    prefix = members[0].split("/")[0] + "/"
    names = {m[len(prefix):] for m in members}
    wanted = package_files | tracked("docs") | {"LICENSE", "README.md", "CHANGELOG.md",
                                                 "pyproject.toml"}
    for name in sorted(wanted - names):
        problems.append(f"sdist: {name} is missing")
    problems.extend(f"sdist: {name} should not be there" for name in sorted(names)
                    if name.startswith(NOT_IN_SDIST) or "__pycache__" in name)


def version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / PACKAGE / "__init__.py").read_text(), namespace)  # noqa: S102
    return namespace["__version__"]


def main(folder: str) -> int:
    dist = Path(folder)
    wheels = sorted(dist.glob("wagtail_licensing-*.whl"))
    sdists = sorted(dist.glob("wagtail_licensing-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"Expected one wheel and one sdist in {dist}, found {wheels + sdists}")
        return 1
    package_files = {name for name in tracked(PACKAGE) if "__pycache__" not in name}
    problems: list[str] = []
    check_wheel(wheels[0], package_files, problems)
    check_sdist(sdists[0], package_files, problems)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{wheels[0].name} and {sdists[0].name}: {len(package_files)} package files, LICENSE, "
          "metadata and (sdist) the docs are all there.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist"))
