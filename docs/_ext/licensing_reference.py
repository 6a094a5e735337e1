"""Sphinx extension: the settings reference and the system checks, generated from the code.

    ```{licensing-settings}
    ```
    ```{licensing-checks}
    ```

The settings come from ``wagtail_licensing.conf.DEFAULTS``, each with the comment above its key
in ``conf.py``; the checks from the ``id=`` of every message that ``checks.py`` can report, the
level of that message, whether its check runs in plain ``check`` or only with ``--deploy``, and
its line in ``checks.SUMMARIES``. A setting without a comment, or a check ID without a summary
(or a summary for an ID no check reports), fails the build, so the pages cannot drift from the
code. ``tests/project/test_docs_reference.py`` runs the same functions.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[2] / "wagtail_licensing"
CONF = PACKAGE / "conf.py"
CHECKS = PACKAGE / "checks.py"
LEVELS = {"Error": "Error", "Warning": "Warning", "Info": "Info", "Critical": "Critical",
          "Debug": "Debug"}


class ReferenceError(Exception):
    """The code and its documentation disagree."""


@dataclass
class Setting:
    name: str
    default: str
    meaning: str


@dataclass
class Check:
    id: str
    level: str
    deploy: bool
    summary: str


def _defaults_node(tree: ast.Module) -> ast.Dict:
    for node in tree.body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(target, ast.Name) and target.id == "DEFAULTS" and isinstance(
                getattr(node, "value", None), ast.Dict):
            return node.value  # type: ignore[return-value]
    raise ReferenceError("conf.py has no DEFAULTS = {...}")


def _comments_by_line(source: str) -> dict[int, str]:
    return {token.start[0]: token.string.lstrip("#").strip()
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type == tokenize.COMMENT}


def _render_default(node: ast.expr, value: Any, source: str) -> str:
    if isinstance(node, ast.BinOp):  # 20 * 1024 * 1024 says more than 20971520
        return f"`{ast.get_source_segment(source, node)}`"
    if isinstance(value, str):
        return f"`{json.dumps(value)}`"
    return f"`{value!r}`"


def settings_reference() -> list[Setting]:
    from wagtail_licensing.conf import DEFAULTS

    source = CONF.read_text(encoding="utf-8")
    comments = _comments_by_line(source)
    defaults = _defaults_node(ast.parse(source))
    found = []
    for key, value in zip(defaults.keys, defaults.values, strict=True):
        if not isinstance(key, ast.Constant):
            raise ReferenceError("conf.py: DEFAULTS is not a plain dict literal")
        name = key.value
        lines = []
        line = key.lineno - 1
        while line in comments:
            lines.insert(0, comments[line])
            line -= 1
        if not lines:
            raise ReferenceError(f"conf.py: DEFAULTS[{name!r}] has no comment above it to say "
                                 "what it means")
        found.append(Setting(name, _render_default(value, DEFAULTS[name], source),
                             " ".join(lines)))
    if {s.name for s in found} != set(DEFAULTS):
        raise ReferenceError("conf.py: DEFAULTS is not a plain dict literal")
    return found


def checks_reference() -> list[Check]:
    from wagtail_licensing.checks import SUMMARIES

    tree = ast.parse(CHECKS.read_text(encoding="utf-8"))
    found: dict[str, Check] = {}
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        registers = [d for d in function.decorator_list
                     if getattr(d.func if isinstance(d, ast.Call) else d, "id", None)
                     == "register"]
        if not registers:
            continue
        deploy = any(isinstance(d, ast.Call) and any(
            k.arg == "deploy" and getattr(k.value, "value", False) is True for k in d.keywords)
            for d in registers)
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) in LEVELS):
                continue
            for keyword in call.keywords:
                if keyword.arg == "id" and isinstance(keyword.value, ast.Constant):
                    check_id = keyword.value.value
                    if check_id not in SUMMARIES:
                        raise ReferenceError(f"checks.py: {check_id} has no line in SUMMARIES")
                    found[check_id] = Check(check_id, LEVELS[call.func.id],  # type: ignore
                                            deploy, SUMMARIES[check_id])
    unused = set(SUMMARIES) - set(found)
    if unused:
        raise ReferenceError("checks.py: SUMMARIES names IDs no check reports: "
                             + ", ".join(sorted(unused)))
    return sorted(found.values(), key=lambda c: (c.id[-3:], c.id))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def settings_markdown() -> str:
    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.name}` | {_cell(s.default)} | {_cell(s.meaning)} |"
             for s in settings_reference()]
    return "\n".join(rows) + "\n"


def checks_markdown() -> str:
    rows = ["| ID | level | run by | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{c.id}` | {c.level} | {'`check --deploy`' if c.deploy else '`check`'} "
             f"| {_cell(c.summary)} |" for c in checks_reference()]
    return "\n".join(rows) + "\n"


def setup(app: Any) -> dict[str, Any]:
    from sphinx.util.docutils import SphinxDirective

    class Generated(SphinxDirective):
        render: Any = None

        def run(self) -> list[Any]:
            self.env.note_dependency(str(CONF))
            self.env.note_dependency(str(CHECKS))
            try:
                text = type(self).render()
            except ReferenceError as error:
                raise self.error(str(error)) from error
            return self.parse_text_to_nodes(text)

    class SettingsDirective(Generated):
        render = staticmethod(settings_markdown)

    class ChecksDirective(Generated):
        render = staticmethod(checks_markdown)

    app.add_directive("licensing-settings", SettingsDirective)
    app.add_directive("licensing-checks", ChecksDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
