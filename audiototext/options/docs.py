"""The README's option tables, generated from the registry (``python -m audiototext.options``)."""

from __future__ import annotations

from .registry import for_face
from .spec import GROUPS, Option


def markdown_table(face: str = "cli") -> str:
    """The option tables (one per group) for README.md, generated from the registry."""
    lines = []
    for group, title in GROUPS.items():
        rows = [o for o in for_face(face) if o.group == group]
        if not rows:
            continue
        lines += [f"**{title}**", "", "| flag | default | meaning |", "|---|---|---|"]
        for o in rows:
            names = ", ".join(f"`{f}`" for f in o.flags) if face == "cli" else f"`{o.display(face)}`"
            lines.append(f"| {names} | {_default_cell(o, face)} | {_meaning(o)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _default_cell(o: Option, face: str) -> str:
    if o.default_text:
        return o.default_text
    value = o.default_value(face)
    if o.flag or value is None:
        return ""
    return f"`{value}`"


def _meaning(o: Option) -> str:
    text = o.doc or o.help
    if o.choices and len(o.choices) <= 6:
        text += "; one of " + ", ".join(f"`{c}`" for c in o.choices)
    if o.range_text():
        text += f"; {o.range_text()}"
    return text.replace("|", "\\|")


__all__ = ["markdown_table"]
