#!/usr/bin/env python
"""Benchmark: reading hostile import files, against a legitimate file read in the same run.

    .venv/bin/python benchmarks/hostile_imports.py [--rows 100000] [--timeout 150]

Writes each file to a temporary folder and reads it with ``read_assignments`` (what the import
preview and ``manage.py licensing import`` do first) in a fresh process, so that the peak
memory printed is that read's own. The hostile files are the ones an attack campaign used
(issue 11, item 6):

- ``xlsx-far-cell``: a 1 KB .xlsx with one cell on row 20,000,000;
- ``xlsx-blank-rows``: an .xlsx of 3,000,000 blank rows (a few MB zipped);
- ``xlsx-shared-strings``: an .xlsx whose shared strings table holds 3,000,000 strings;
- ``csv-blank-lines``: 20 MiB of blank CSV lines.

The baselines are legitimate files of ``--rows`` rows, CSV and .xlsx (our own export's shape).
Targets: a file within the limits reads in under 5 s and 300 MB; anything else is refused in
under 1 s. Each line prints the time, its ratio to the CSV baseline, the peak memory and the
outcome (rows read, or the refusal).
"""

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NS = "http://schemas.openxmlformats.org"


def xlsx(sheet_rows: bytes, shared: list[bytes] | None = None, dimension: str = "") -> bytes:
    """A minimal workbook: ``sheet_rows`` is the <sheetData> content."""
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0"?><Types xmlns="{NS}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{NS}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{NS}/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{NS}/spreadsheetml/2006/main" '
            f'xmlns:r="{NS}/officeDocument/2006/relationships"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{NS}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{NS}/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{NS}/officeDocument/2006/relationships/'
            'sharedStrings" Target="sharedStrings.xml"/></Relationships>'),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        dim = f'<dimension ref="{dimension}"/>' if dimension else ""
        archive.writestr("xl/worksheets/sheet1.xml",
                         f'<?xml version="1.0"?><worksheet xmlns="{NS}/spreadsheetml/2006/main">'
                         f'{dim}<sheetData>'.encode() + sheet_rows + b"</sheetData></worksheet>")
        strings = shared or []
        archive.writestr("xl/sharedStrings.xml",
                         f'<?xml version="1.0"?><sst xmlns="{NS}/spreadsheetml/2006/main" '
                         f'count="{len(strings)}" uniqueCount="{len(strings)}">'.encode()
                         + b"".join(b"<si><t>" + s + b"</t></si>" for s in strings) + b"</sst>")
    return buffer.getvalue()


def inline_row(number: int, *values: str) -> bytes:
    cells = "".join(f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
                    for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'.encode()


HEADER = inline_row(1, "username", "product code", "action")


def files(rows: int) -> dict[str, tuple[str, Callable[[], bytes]]]:
    """Each case's file name and a function building its content (one at a time: the
    parent's memory stays small)."""
    return {
        "csv-baseline": ("people.csv", lambda: ("username,product code,action\n" + "".join(
            f"user{i:07d},editor,grant\n" for i in range(rows))).encode()),
        "xlsx-baseline": ("people.xlsx", lambda: xlsx(HEADER + b"".join(
            inline_row(i + 2, f"user{i:07d}", "editor", "grant") for i in range(rows)))),
        "xlsx-far-cell": ("far.xlsx", lambda: xlsx(
            HEADER + inline_row(20_000_000, "user0", "editor"), dimension="A1:C20000000")),
        "xlsx-blank-rows": ("blank.xlsx", lambda: xlsx(
            HEADER + b"".join(b'<row r="%d"/>' % n for n in range(2, 3_000_002)))),
        "xlsx-shared-strings": ("shared.xlsx", lambda: xlsx(
            b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>',
            shared=[b"username", b"product"] + [b"x"] * 3_000_000)),
        "csv-blank-lines": ("blank.csv",
                            lambda: b"username,product\n" + b"\n" * (20 * 1024 * 1024 - 20)),
    }


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, it starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str) -> None:
    """Read one file and print what happened, as JSON."""
    # benchmarks/import_export.py would shadow the django-import-export package.
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
    import django
    from django.conf import settings

    settings.configure(WAGTAIL_LICENSING={}, USE_I18N=False, INSTALLED_APPS=[
        "django.contrib.contenttypes", "django.contrib.auth"])
    django.setup()
    from wagtail_licensing.exceptions import InvalidImportFile
    from wagtail_licensing.formats import read_assignments

    content = Path(path).read_bytes()
    started = time.perf_counter()
    try:
        outcome = f"{len(read_assignments(content, filename=Path(path).name).rows)} rows"
    except InvalidImportFile as error:
        outcome = "refused: " + error.message
    seconds = time.perf_counter() - started
    peak = peak_memory_mb()
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "outcome": outcome}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--timeout", type=int, default=150)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    baseline = None
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'file':22} {'size':>9} {'seconds':>8} {'x csv':>7} {'peak MB':>8}  outcome")
        for case, (name, build) in files(args.rows).items():
            path = Path(folder) / name
            content = build()
            path.write_bytes(content)
            size = len(content)
            del content
            try:
                done = subprocess.run([sys.executable, __file__, "--child", str(path)],
                                      capture_output=True, text=True, timeout=args.timeout,
                                      check=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                print(f"{case:22} {size:>9} {'>' + str(args.timeout):>8}   timed out")
                continue
            except subprocess.CalledProcessError as error:
                print(f"{case:22} {size:>9}  crashed: {error.stderr.strip()[-200:]}")
                continue
            if baseline is None:
                baseline = result["seconds"]
            ratio = result["seconds"] / baseline
            print(f"{case:22} {size:>9} {result['seconds']:8.2f} {ratio:7.1f} "
                  f"{result['peak_mb']:8.0f}  {result['outcome'][:90]}")


if __name__ == "__main__":
    main()
