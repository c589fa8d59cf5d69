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
(and in ``<output>``) and scores only the rest: nothing is lost, nothing is duplicated. The verifier
settings are stored in ``<output>.parts/config.json``; resuming with different settings is refused
(use ``--overwrite`` to start over).

Malformed lines (bad JSON, missing fields, bad log-probs) stop the run with ``file:line: reason``,
or are skipped and counted with ``--on_error skip``. Duplicate ids are malformed too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="verify", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    return ap


def _load_overrides(path: str | None, sets: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if path:
        text = Path(path).read_text(encoding="utf-8")
        if path.endswith((".yaml", ".yml")):
            import yaml

            loaded = yaml.safe_load(text) or {}
        else:
            loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of VerifierConfig fields")
        values.update(loaded)
    for item in sets:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw
    return values


def _done_ids(paths: list[Path]) -> set[str]:
    from hn_lightning.io import iter_jsonl

    return {record["id"] for path in paths for _, record in iter_jsonl(path)}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rich.console import Console
    from rich.table import Table

    from hn_lightning.io import (
        JsonlError,
        SkipPolicy,
        atomic_write_json,
        atomic_writer,
        count_lines,
        iter_jsonl,
    )
    from hn_lightning.paths import resolve_data_path
    from hn_lightning.progress import progress_bar
    from hn_lightning.verifier import MathVerifier, VerifierConfig
    from hn_lightning.verifier.fields import FieldMap, record_to_input

    console = Console(stderr=True)
    in_path = resolve_data_path(args.input)
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

        print(unresolvable(args.input, "input"), file=sys.stderr)  # one unwrapped line
        return 2

    if args.overwrite:
        shutil.rmtree(parts_dir, ignore_errors=True)
        if out_path.exists():
            out_path.unlink()
    settings = {"config": cfg.to_dict(), "fields": vars(fields), "input": str(in_path)}
    settings_path = parts_dir / "config.json"
    if parts_dir.exists() and settings_path.exists():
        previous = json.loads(settings_path.read_text(encoding="utf-8"))
        if previous != json.loads(json.dumps(settings)):
            console.print(f"[red]{parts_dir} was written with other settings; rerun with --overwrite to start over")
            return 2
    parts_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(settings_path, settings)
    shards = sorted(parts_dir.glob("part-*.jsonl"))
    previous_outputs = ([out_path] if out_path.exists() else []) + shards
    done = _done_ids(previous_outputs)
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
    stats = {"scored": 0, "resumed": 0, "wrongness": 0.0, "correct": 0, "fine": 0, "hard": 0}
    t0 = time.perf_counter()

    def flush() -> None:
        nonlocal next_shard
        if not pending:
            return
        results = verifier.score_batch([inp for _, inp in pending])
        with atomic_writer(parts_dir / f"part-{next_shard:06d}.jsonl") as fh:
            for r in results:
                fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
        next_shard += 1
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
                if inp.id in done:
                    stats["resumed"] += 1
                    progress.advance(task, 1)
                    continue
                pending.append((lineno, inp))
                if len(pending) >= batch_size:
                    flush()
            flush()
    except JsonlError as exc:
        flush()  # keep what was read before the bad line
        console.print(f"[red]{exc}")
        console.print(f"[yellow]{stats['scored']} results kept in {parts_dir}; fix the input and rerun to resume")
        return 1

    with atomic_writer(out_path) as out:
        for p in previous_outputs + sorted(set(parts_dir.glob("part-*.jsonl")) - set(shards)):
            with open(p, encoding="utf-8") as fh:
                shutil.copyfileobj(fh, out)
    shutil.rmtree(parts_dir, ignore_errors=True)

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
