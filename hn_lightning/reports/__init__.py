"""Self-contained HTML reports (one file, no server, no network) of a mining run, an experiment or a
scored file, built with Jinja2 from the files the run wrote (the ones its Markdown report reads).

    from hn_lightning.reports import write_report
    write_report("runs/mine")              # -> runs/mine/report.html (a mining run)
    write_report("runs/demo")              # -> runs/demo/report.html (an experiment)
    write_report("scored.jsonl")           # -> scored.html (a scored file)

CLI: ``python cli.py report <run folder or scored file>`` (:mod:`hn_lightning.commands.report`). The
mining report stage, the experiment report writer and ``verify --html`` call :func:`report_after_run`
when they finish; nothing here imports the code that runs them.
"""

from __future__ import annotations

from pathlib import Path

from hn_lightning.errors import UserError, debug_enabled, print_error
from hn_lightning.reports.experiment import is_experiment, write_experiment_report
from hn_lightning.reports.mining import DEFAULT_MAX_PAIRS, is_mining_run, write_mining_report
from hn_lightning.reports.scored import is_scored_file, write_scored_report
from hn_lightning.verifier.fields import FieldMap

__all__ = ["report_after_run", "report_kind", "write_experiment_report", "write_mining_report", "write_report",
           "write_scored_report"]


def report_kind(path: str | Path) -> str:
    """``experiment``, ``mining`` or ``scored``, from what ``path`` holds; :class:`UserError` when none."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        if is_experiment(path):
            return "experiment"
        if is_mining_run(path):
            return "mining"
    elif is_scored_file(path):
        return "scored"
    raise UserError(f"{path}: not a mining run (manifest.json and scored/), an experiment (cells.csv) or a scored "
                    "JSONL file (verifier scores in its records)")


def write_report(path: str | Path, max_items: int = DEFAULT_MAX_PAIRS, input_path: str | Path | None = None,
                 fields: FieldMap | None = None) -> Path:
    """(Re)write the HTML report of ``path`` (see :func:`report_kind`); returns the page's path.
    ``max_items``: pairs per arm, or solutions of a scored file; ``input_path`` and ``fields``: the
    samples file and field mapping of a ``verify`` output (default: those its previous page recorded)."""
    kind = report_kind(path)
    if kind != "scored" and input_path is not None:
        raise UserError(f"{path}: --input is for a scored file written by verify, this is a {kind} folder")
    if kind == "experiment":
        return write_experiment_report(path, max_items)
    if kind == "mining":
        return write_mining_report(path, max_items)
    return write_scored_report(path, input_path=input_path, fields=fields, max_records=max_items)


def report_after_run(path: str | Path, input_path: str | Path | None = None, fields: FieldMap | None = None) -> Path | None:
    """What a finished run calls: :func:`write_report`, or one warning line when the page cannot be made
    (the run's own outputs are complete either way, and ``python cli.py report <path>`` tries again);
    with ``--debug`` / ``HN_LIGHTNING_DEBUG=1`` the error is raised."""
    try:
        return write_report(path, input_path=input_path, fields=fields)
    except Exception as exc:  # noqa: BLE001 - a page that fails must not fail the run that wrote the data
        if debug_enabled():
            raise
        print_error(f"{path}: HTML report not written ({type(exc).__name__}: {exc}); python cli.py report {path} "
                    "tries again", prefix="warning: ")
        return None
