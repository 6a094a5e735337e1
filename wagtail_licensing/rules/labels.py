"""How products are named to people: "Name (code)" everywhere."""

from __future__ import annotations


def product_label(name: str | None, code: str) -> str:
    """"Name (code)", or the bare code of a product that no installed file names."""
    return f"{name} ({code})" if name else code
