"""Code blocks of the documentation, for tests that do exactly what the docs say.

A block is found by its MyST name::

    ```{code-block} python
    :caption: mysite/settings/base.py
    :name: install-settings

    ...
    ```
"""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def code_block(page: str, name: str) -> str:
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    start = lines.index(f":name: {name}")
    opening = start
    while not lines[opening].lstrip().startswith("```"):
        opening -= 1
    fence = lines[opening][: len(lines[opening]) - len(lines[opening].lstrip("`"))]
    body = start + 1
    while body < len(lines) and lines[body].startswith(":"):  # the other options
        body += 1
    if body < len(lines) and not lines[body].strip():
        body += 1
    end = body
    while lines[end].rstrip() != fence:
        end += 1
    return "\n".join(lines[body:end]) + "\n"
