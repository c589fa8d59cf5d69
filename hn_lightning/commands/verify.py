"""``verify``: score a JSONL file of sampled solutions with the MathVerifier.

    python cli.py verify --input samples.jsonl --output scored.jsonl
    python cli.py verify --input samples.jsonl --output scored.jsonl --reference_field answer \\
        --gold_field answer --prediction_field policy.completion --set fine_channel=always

(``--gold_field answer`` works for GSM8K records: a gold text with ``#### N`` is read as ``N``.)

Each output line is a :class:`~hn_lightning.verifier.records.VerifierResult` (``to_dict()``).

**Atomic and resumable.** Results are written batch by batch into ``<output>.parts/part-NNNNNN.jsonl``,
each shard atomically (temporary file, fsync, rename). When the input is exhausted the shards (and a
previous ``<output>``, if any) are concatenated atomically into ``<output>`` and the parts folder is
removed. After a crash or Ctrl-C, running the same command again reads the ids already in the shards
(and in ``<output>``) and scores only the rest: nothing is lost, nothing is duplicated (the final
concatenation keeps each id once, so a crash between writing ``<output>`` and removing the parts
cannot double records).

**Settings fingerprint.** Every output line carries ``settings_fingerprint``: a hash of the input path,
the field mapping and the verifier settings. A rerun into an existing ``<output>`` (or parts folder)
written with another fingerprint is refused, also after the run completed (``--overwrite`` starts over).

Malformed lines (bad JSON, invalid UTF-8, missing fields, bad log-probs) stop the run with
``error: file:line: reason`` (exit code 2), or are skipped and counted with ``--on_error skip``.
Duplicate ids are malformed too. A ``--gold_field`` whose values look like whole solutions rather
than answers gets a warning.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from hn_lightning.config_tools import OneLineArgumentParser

    ap = OneLineArgumentParser(prog="verify", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True, help="JSONL file of samples, or a data name (gsm8k:test, hf:..., a datasets folder)")
    ap.add_argument("--output", required=True, help="JSONL file of results (written atomically)")
    fields = ap.add_argument_group("field mapping (dotted paths into nested records allowed)")
    fields.add_argument("--id_field", default=None, help="record id (default 'id'; records without it get 'line:<n>')")
    fields.add_argument("--question_field", default="question")
    fields.add_argument("--reference_field", default="reference", help="reference solution text")
    fields.add_argument("--gold_field", default="gold", help="gold answer: string, list, or GSM8K '#### N' text")
    fields.add_argument("--prediction_field", default="prediction", help="predicted solution text")
    fields.add_argument("--token_logprobs_field", default="token_logprobs", help="optional list of token log-probs")
    fields.add_argument("--tokens_field", default="tokens", help="optional list of decoded token texts")
    ap.add_argument("--config", default=None, help="JSON or YAML file of VerifierConfig overrides")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="VerifierConfig override, VALUE parsed as JSON when possible (repeatable)")
    ap.add_argument("--batch_size", type=int, default=None, help="samples per scoring batch (default: config batch_size)")
    ap.add_argument("--on_error", choices=["raise", "skip"], default="raise", help="what to do with malformed lines")
    ap.add_argument("--limit", type=int, default=None, help="score at most this many input records")
    ap.add_argument("--overwrite", action="store_true", help="discard previous output and parts, start over")
    ap.add_argument("--no_progress", action="store_true", help="no progress bar")
    ap.add_argument("--html", action="store_true",
                    help="also write <output>.html: every solution in the verifier's step view (python cli.py report rebuilds it)")
    return ap


def _load_overrides(path: str | None, sets: list[str]) -> dict[str, Any]:
    from hn_lightning.errors import UserError

    values: dict[str, Any] = {}
    if path:
        text = Path(path).read_text(encoding="utf-8")
        if path.endswith((".yaml", ".yml")):
            import yaml

            loaded = yaml.safe_load(text) or {}
        else:
            loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise UserError(f"{path}: expected a mapping of VerifierConfig fields")
        values.update(loaded)
    for item in sets:
        if "=" not in item:
            raise UserError(f"--set expects KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw
    return values


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """A short hash of the input path, field mapping and verifier settings (stored on every output line)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _done_ids(paths: list[Path], fingerprint: str) -> set[str]:
    """Ids already scored in ``paths``; :class:`UserError` if any was scored under other settings."""
    from hn_lightning.errors import UserError
    from hn_lightning.io import iter_jsonl

    done: set[str] = set()
    for path in paths:
        for lineno, record in iter_jsonl(path):
            found = record.get("settings_fingerprint")
            if found != fingerprint:
                raise UserError(
                    f"{path}:{lineno}: scored with other settings (fingerprint {found or 'missing'}, now {fingerprint}: "
                    f"the input, the field mapping or the verifier settings differ); rerun with --overwrite to start over "
                    f"or choose another --output")
            done.add(record["id"])
    return done


_ANSWER_LIKE_WORDS = 6


def looks_like_solution(gold: Any) -> bool:
    """A gold value that reads like a worked solution, not an answer (several lines or many words and no
    GSM8K ``#### N`` line, e.g. the GPT-3 file's ``... A: 18`` ground truth)."""
    if not isinstance(gold, str) or "####" in gold or "\\boxed" in gold:
        return False
    return "\n" in gold.strip() or len(re.findall(r"\S+", gold)) > _ANSWER_LIKE_WORDS


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from hn_lightning.errors import check_range

    check_range("--batch_size", args.batch_size, 1, optional=True)
    check_range("--limit", args.limit, 1, optional=True, why="the number of records to score")
    from rich.console import Console
    from rich.table import Table

    from hn_lightning.catalog import resolve_spec
    from hn_lightning.errors import UserError, print_error
    from hn_lightning.faults import fault_point
    from hn_lightning.io import (
        JsonlError,
        Output,
        SkipPolicy,
        atomic_write_json,
        atomic_writer,
        check_writable,
        count_lines,
        iter_jsonl,
        refuse_overlap,
    )
    from hn_lightning.progress import progress_bar
    from hn_lightning.verifier import MathVerifier, VerifierConfig
    from hn_lightning.verifier.fields import FieldMap, record_to_input

    console = Console(stderr=True)
    in_path = resolve_spec(args.input)
    out_path = Path(args.output).expanduser()
    parts_dir = out_path.with_name(out_path.name + ".parts")
    cfg = VerifierConfig.from_dict(_load_overrides(args.config, args.set))
    batch_size = args.batch_size or cfg.batch_size
    fields = FieldMap(
        id=args.id_field or "id", id_required=args.id_field is not None, question=args.question_field,
        reference=args.reference_field, gold=args.gold_field, prediction=args.prediction_field,
        token_logprobs=args.token_logprobs_field, tokens=args.tokens_field,
    )
    if not in_path.is_file():
        from hn_lightning.catalog.resolve import unresolvable

        raise UserError(unresolvable(args.input, "input"))
    # before --overwrite deletes anything: the output (or its parts folder) must not be the input
    refuse_overlap([("--input", in_path), *([("--config", args.config)] if args.config else [])],
                   [Output("--output", out_path), Output("--output's parts folder", parts_dir, folder=True)])
    check_writable("--output", out_path)
    check_writable("--output's parts folder", parts_dir, folder=True)

    if args.overwrite:
        shutil.rmtree(parts_dir, ignore_errors=True)
        if out_path.exists():
            out_path.unlink()
    settings = {"config": cfg.to_dict(), "fields": vars(fields), "input": str(in_path)}
    fingerprint = settings_fingerprint(settings)
    settings_path = parts_dir / "config.json"
    if parts_dir.exists() and settings_path.exists():
        previous = json.loads(settings_path.read_text(encoding="utf-8"))
        if previous != json.loads(json.dumps(settings)):
            raise UserError(f"{parts_dir} was written with other settings; rerun with --overwrite to start over")
    shards = sorted(parts_dir.glob("part-*.jsonl"))
    previous_outputs = ([out_path] if out_path.exists() else []) + shards
    done = _done_ids(previous_outputs, fingerprint)  # refuses output written under other settings
    parts_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(settings_path, settings)
    if done:
        console.print(f"resuming: {len(done)} samples already scored")

    verifier = MathVerifier(cfg)
    policy = SkipPolicy(on_error=args.on_error)
    total_lines = count_lines(in_path)
    if args.limit is not None:
        total_lines = min(total_lines, args.limit)
    seen: set[str] = set()
    pending: list = []
    next_shard = len(shards)
    solution_golds = 0
    stats = {"scored": 0, "resumed": 0, "wrongness": 0.0, "correct": 0, "fine": 0, "hard": 0}
    t0 = time.perf_counter()

    def flush() -> None:
        nonlocal next_shard
        if not pending:
            return
        results = verifier.score_batch([inp for _, inp in pending])
        with atomic_writer(parts_dir / f"part-{next_shard:06d}.jsonl") as fh:
            for r in results:
                fh.write(json.dumps({**r.to_dict(), "settings_fingerprint": fingerprint}, ensure_ascii=False) + "\n")
        next_shard += 1
        fault_point("verify.shard")
        for r in results:
            stats["scored"] += 1
            stats["wrongness"] += r.wrongness
            stats["correct"] += int(r.answer_correct)
            stats["fine"] += int(r.fine_channel_run)
            stats["hard"] += int(r.hard_negative)
        progress.advance(task, len(pending))
        pending.clear()

    try:
        with progress_bar(console=console, enabled=not args.no_progress) as progress:
            task = progress.add_task("verify", total=total_lines)
            n_records = 0
            for lineno, record in iter_jsonl(in_path, policy):
                if args.limit is not None and n_records >= args.limit:
                    break
                n_records += 1
                try:
                    inp = record_to_input(record, fields, lineno)
                    if inp.id in seen:
                        raise ValueError(f"duplicate id {inp.id!r}")
                except ValueError as exc:
                    policy.handle(JsonlError(in_path, lineno, str(exc)))
                    progress.advance(task, 1)
                    continue
                seen.add(inp.id)
                solution_golds += looks_like_solution(inp.gold)
                if inp.id in done:
                    stats["resumed"] += 1
                    progress.advance(task, 1)
                    continue
                pending.append((lineno, inp))
                if len(pending) >= batch_size:
                    flush()
            flush()
    except JsonlError:
        flush()  # keep what was read before the bad line
        print_error(f"{stats['scored']} results kept in {parts_dir}; fix the input and rerun to resume", prefix="note: ")
        raise  # the entry point prints "error: file:line: reason" on one line and exits 2
    if not seen:  # nothing to score is a mistake (as an empty eval task is), not an empty output
        if not any(parts_dir.glob("part-*.jsonl")):  # only the settings file this run wrote
            shutil.rmtree(parts_dir, ignore_errors=True)
        raise UserError(f"{in_path}: no record to score: " + (f"all {policy.skipped} line(s) malformed (skipped)" if policy.skipped
                                                              else "the file is empty or holds only blank lines"))

    # each id once: a crash after writing the output but before removing the parts (the output then
    # already holds the parts' records) must not double them on the rerun
    written: set[str] = set()
    with atomic_writer(out_path) as out:
        for p in previous_outputs + sorted(set(parts_dir.glob("part-*.jsonl")) - set(shards)):
            for _, record in iter_jsonl(p):
                if record["id"] not in written:
                    written.add(record["id"])
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    fault_point("verify.finalize:after_write")
    shutil.rmtree(parts_dir, ignore_errors=True)
    if seen and solution_golds >= max(1, len(seen) // 2):
        print_error(f"{solution_golds} of {len(seen)} gold values (--gold_field {args.gold_field!r}) look like whole "
                    f"solutions, not answers (no '#### N' line), so answers are judged against the wrong thing; "
                    f"point --gold_field at the answer", prefix="warning: ")

    elapsed = time.perf_counter() - t0
    n = stats["scored"]
    table = Table(title=f"verify: {out_path}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("scored now", n), ("already scored (resumed)", stats["resumed"]), ("malformed lines skipped", policy.skipped),
        ("samples/s", f"{n / elapsed:.1f}" if elapsed > 0 and n else "-"),
        ("answer accuracy", f"{stats['correct'] / n:.3f}" if n else "-"),
        ("mean wrongness", f"{stats['wrongness'] / n:.3f}" if n else "-"),
        ("fine channel run", f"{stats['fine']} / {n}"), ("hard negatives", stats["hard"]),
    ]
    rows += [(k.replace("_", " "), v) for k, v in verifier.cache_stats().items()]
    for k, v in rows:
        table.add_row(k, str(v))
    console.print(table)
    if args.html:
        from hn_lightning.reports import report_after_run

        console.print(f"report: {report_after_run(out_path, input_path=in_path, fields=fields)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
