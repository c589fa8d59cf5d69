"""The Jinja2 environment of the HTML reports and what every report shares.

Templates are package data (``hn_lightning/reports/templates``); autoescape is on for every template,
so any text a model wrote (a completion may hold ``<script>``) reaches the page as text. Styles and
the script are inlined from ``report.css`` / ``report.js`` and plots are inline data URIs or SVG, so a
report is one file that opens from disk with no server and no network.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from hn_lightning.io.atomic import atomic_write_text

__all__ = ["environment", "fmt", "pct", "png_data_uri", "render", "score_color", "write_html"]


def fmt(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (``-`` for missing or not finite); anything else as text."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else "-"
    return str(value)


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage (``0.25`` -> ``25.0%``)."""
    try:
        return f"{100.0 * float(value):.{digits}f}%"
    except (TypeError, ValueError):
        return "-"


def png_data_uri(path: str | os.PathLike) -> str:
    """``data:image/png;base64,...`` of a PNG file (the plot travels inside the page)."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def score_color(score: float | None) -> str:
    """Background of a step-score cell: green (0, fine) through yellow to red (1, wrong); grey: no score."""
    if score is None:
        return "#d9d9d9"
    s = min(1.0, max(0.0, float(score)))
    return f"hsl({round(120 * (1 - s))}, 70%, {round(78 - 18 * s)}%)"


def bars(rows) -> list[dict[str, Any]]:
    """``[(label, value)]`` -> ``[{label, value, frac}]`` with ``frac`` the share of the largest value."""
    rows = list(rows)
    top = max((float(v) for _, v in rows), default=0.0)
    return [{"label": str(label), "value": float(v), "frac": float(v) / top if top > 0 else 0.0} for label, v in rows]


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hn_lightning.reports", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fmt=fmt, pct=pct, score_color=score_color, bars=bars)
    return env


def render(template: str, **context: Any) -> str:
    """The page ``template`` renders with ``context`` (plus the inline stylesheet and script)."""
    env = environment()
    assets = {name: env.loader.get_source(env, name)[0] for name in ("report.css", "report.js")}
    for name, text in assets.items():
        if "</" in text:  # inlined verbatim: a closing tag inside would end the <style>/<script> element
            raise ValueError(f"{name} must not contain '</'")
    # our own files, inlined as they are (escaping would turn CSS's ``>`` and JS's ``&&`` into entities)
    digest = base64.b64encode(hashlib.sha256(assets["report.js"].encode("utf-8")).digest()).decode("ascii")
    return env.get_template(template).render(css=Markup(assets["report.css"]), script=Markup(assets["report.js"]),
                                             script_hash=f"sha256-{digest}", **context)


def write_html(path: str | os.PathLike, template: str, **context: Any) -> Path:
    """Render ``template`` into ``path`` atomically; returns the path."""
    path = Path(path)
    atomic_write_text(path, render(template, **context))
    return path
