"""Sphinx configuration: the documentation site, in Markdown (MyST), as Wagtail's own.

    make docs    # docs/_build/html/index.html, warnings as errors
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "_ext")]

from wagtail_licensing import __version__  # noqa: E402

project = "wagtail-licensing"
author = "wagtail-licensing contributors"
copyright = "2026, wagtail-licensing contributors"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = ["myst_parser", "licensing_reference"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "README.md"]
myst_enable_extensions = ["colon_fence", "deflist"]
# GitHub-style anchors for headings, so that [Seat rules](admin-guide.md#seat-rules) works
# here and on the repository's pages alike.
myst_heading_anchors = 4
suppress_warnings: list[str] = []

html_theme = "furo"
html_title = f"wagtail-licensing {release}"
html_static_path: list[str] = []
