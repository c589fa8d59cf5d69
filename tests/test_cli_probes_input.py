"""Bad records through every command that reads them (issue 27): an empty target is a bad record for SFT
and DPO alike; a lone UTF-16 surrogate (``"\\ud800"``: valid JSON, no Unicode text) is a bad record
(``file:line``) or a counted skip, never a tokenizer crash; a compressed file named ``.jsonl`` is read
(gzip, xz, bzip2) or named for what it is (zstd without the ``zstandard`` package), never "invalid UTF-8".
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma

import pytest

from hn_lightning.errors import UserError
from hn_lightning.io.jsonl import SkipPolicy, count_lines, iter_jsonl
from tests.cli_utils import run_cli_raw
from tests.probe_utils import PAIRS, dpo_config, fit, one_error_line, sft_config, write_lines

SURROGATE = b'"caf\\ud800"'
"""A JSON string holding a lone high surrogate."""

Q = "A shop sells 3 pens at $2 each. How much do 3 pens cost?"


def _with_surrogate(record: dict, key: str) -> bytes:
    """``record`` as a JSON line whose ``key`` is a string with a lone surrogate."""
    return json.dumps({**record, key: "@@"}).encode().replace(b'"@@"', SURROGATE)


# ------------------------------------------------------------------------------------------ empty targets
@pytest.mark.parametrize("case", ["sft_solution", "sft_messages", "dpo_chosen", "dpo_rejected_blank"])
def test_an_empty_target_is_a_bad_record_for_sft_and_dpo(tmp_path, case):
    if case.startswith("sft"):
        bad = ({"question": Q, "solution": ""} if case == "sft_solution" else
               {"messages": [{"role": "user", "content": Q}, {"role": "assistant", "content": "  "}]})
        train = write_lines(tmp_path / "train.jsonl", [{"question": Q, "solution": "3 * 2 = 6"}, bad])
        cfg, expect = sft_config(tmp_path, train), ("'solution' is empty" if case == "sft_solution" else "messages[1]")
    else:
        bad = {**PAIRS[1], "id": "bad", **({"chosen": ""} if case == "dpo_chosen" else {"rejected": " \n "})}
        train = write_lines(tmp_path / "train.jsonl", [PAIRS[0], bad, *PAIRS[2:6]])
        cfg, expect = dpo_config(tmp_path, train), f"'{case.split('_')[1]}' is empty"
    one_error_line(fit(tmp_path, cfg), f"{train}:2: ", expect, "an empty target is a bad record")


def test_sft_empty_targets_under_skip_are_counted(tmp_path):
    """The probe's file: 40 empty solutions trained and exported before; now every one is a counted skip."""
    train = write_lines(tmp_path / "train.jsonl", [{"question": f"{Q} ({i})", "solution": ""} for i in range(40)])
    proc = fit(tmp_path, sft_config(tmp_path, train, on_error="skip"))
    one_error_line(proc, "the SFT data give no optimizer step: 40 record(s) read (40 malformed skipped")
    assert "skipping malformed record (40 so far)" in proc.stderr


# ------------------------------------------------------------------------------------------ lone surrogates
def test_lone_surrogate_is_found_where_jsonl_is_read(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"a": "ok \\ud83d\\ude00"}\n{"a": ' + SURROGATE + b'}\n{"m": [{"c": "\\uDFFF x"}]}\n'
                     b'{"b": "a literal \\\\ud800 is fine"}\n')
    policy = SkipPolicy(on_error="skip")
    assert [n for n, _ in iter_jsonl(path, policy)] == [1, 4]  # a valid pair (an emoji) and an escaped backslash pass
    assert policy.skipped == 2
    assert "s.jsonl:2: field a holds a lone UTF-16 surrogate" in policy.examples[0]
    assert "s.jsonl:3: field m[0].c holds" in policy.examples[1]


SURROGATE_PROBES = {
    "dpo_fit": ("dpo", "chosen"),
    "sft_fit": ("sft", "solution"),
}


@pytest.mark.parametrize("case", sorted(SURROGATE_PROBES))
def test_fit_refuses_a_lone_surrogate_with_file_and_line(tmp_path, case):
    kind, key = SURROGATE_PROBES[case]
    good = PAIRS[0] if kind == "dpo" else {"question": Q, "solution": "3 * 2 = 6"}
    train = write_lines(tmp_path / "train.jsonl", [good, _with_surrogate(good, key)])
    cfg = dpo_config(tmp_path, train) if kind == "dpo" else sft_config(tmp_path, train)
    one_error_line(fit(tmp_path, cfg), f"{train}:2: field {key} holds a lone UTF-16 surrogate")


def test_dpo_fit_skips_and_counts_lone_surrogates(tmp_path):
    """Under ``on_error: skip`` the surrogate lines are counted skips (they crashed the tokenizer before)."""
    train = write_lines(tmp_path / "train.jsonl", [_with_surrogate({**p, "id": f"s{i}"}, "prompt") for i, p in enumerate(PAIRS[:3])])
    proc = fit(tmp_path, dpo_config(tmp_path, train, on_error="skip"))
    one_error_line(proc, "the training pairs give no optimizer step: 3 record(s) read (3 malformed skipped)")
    assert "skipping malformed record (3 so far)" in proc.stderr and "lone UTF-16 surrogate" in proc.stderr


def test_eval_mine_and_verify_refuse_a_lone_surrogate(tmp_path):
    task = write_lines(tmp_path / "task.jsonl", [{"id": "1", "question": Q, "answer": "6"}, _with_surrogate({"id": "2", "answer": "6"}, "question")])
    one_error_line(run_cli_raw(["eval", "--model", "tiny-qwen2", "--task", str(task), "--out", str(tmp_path / "ev")], cwd=tmp_path, timeout=300),
                   f"{task}:2: field question holds a lone UTF-16 surrogate")
    problems = write_lines(tmp_path / "problems.jsonl", [_with_surrogate({"answer": "6"}, "question")])
    one_error_line(run_cli_raw(["mine", "--out", str(tmp_path / "mine"), "--problems.gsm8k", "null", "--problems.math", "null",
                                "--problems.custom", json.dumps([{"path": str(problems)}])], cwd=tmp_path, timeout=300),
                   f"{problems}:1: field question holds a lone UTF-16 surrogate")
    samples = write_lines(tmp_path / "samples.jsonl", [_with_surrogate({"id": "a", "question": Q, "gold": "6"}, "prediction")])
    one_error_line(run_cli_raw(["verify", "--input", str(samples), "--output", str(tmp_path / "out.jsonl"), "--no_progress"],
                               cwd=tmp_path, timeout=300), f"{samples}:1: field prediction holds a lone UTF-16 surrogate")


def test_verifier_cache_key_of_a_lone_surrogate():
    """The cache's key no longer raises on such text (a library caller may pass it); other keys are unchanged."""
    import hashlib

    from hn_lightning.verifier.cache import text_key

    assert len(text_key("ns", "caf\ud800")) == 64
    plain = hashlib.sha256(b"ns" + b"\0" + "café".encode()).hexdigest()
    assert text_key("ns", "café") == plain


# ------------------------------------------------------------------------------------------ compressed files
@pytest.mark.parametrize("kind", ["gzip", "xz", "bzip2"])
def test_compressed_jsonl_is_read_whatever_its_name(tmp_path, kind):
    data = b"".join(json.dumps({"i": i}).encode() + b"\n" for i in range(50))
    packed = {"gzip": gzip.compress, "xz": lzma.compress, "bzip2": bz2.compress}[kind](data)
    path = tmp_path / "plain-looking.jsonl"
    path.write_bytes(packed)
    assert [r["i"] for _, r in iter_jsonl(path)] == list(range(50)) and count_lines(path) == 50
    path.write_bytes(packed[: len(packed) // 2])  # cut short: one line naming the file, not a decoder traceback
    with pytest.raises(UserError, match=f"plain-looking.jsonl: truncated or corrupt {kind} data"):
        list(iter_jsonl(path))


def test_zstd_is_named_or_read(tmp_path):
    path = tmp_path / "pairs.jsonl"
    try:
        import zstandard
    except ImportError:
        path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 16)
        with pytest.raises(UserError, match="pairs.jsonl: a zstd-compressed file .* decompress it first"):
            list(iter_jsonl(path))
    else:
        path.write_bytes(zstandard.ZstdCompressor().compress(b'{"i": 1}\n'))
        assert [r for _, r in iter_jsonl(path)] == [{"i": 1}]


def test_eval_reads_a_gzip_task_named_jsonl_and_names_a_zstd_one(tmp_path):
    rows = b"".join(json.dumps({"id": str(i), "question": f"What is {i} + 1?", "answer": str(i + 1)}).encode() + b"\n" for i in range(2))
    task = tmp_path / "mytask.jsonl"
    task.write_bytes(gzip.compress(rows))
    proc = run_cli_raw(["eval", "--model", "tiny-qwen2", "--task", str(task), "--out", str(tmp_path / "ev"), "--max_new_tokens", "4",
                        "--no_progress", "--dtype", "float32"], cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [json.loads(ln)["id"] for ln in open(tmp_path / "ev" / "mytask" / "samples.jsonl")] == ["0", "1"]
    try:
        import zstandard  # noqa: F401
    except ImportError:
        task.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 16)
        one_error_line(run_cli_raw(["eval", "--model", "tiny-qwen2", "--task", str(task), "--out", str(tmp_path / "ev2")],
                                   cwd=tmp_path, timeout=300), f"{task}: a zstd-compressed file")


@pytest.mark.parametrize("case", ["empty", "all_malformed"])
def test_verify_with_nothing_to_score_is_an_error(tmp_path, case):
    """As an empty eval task: exit 2 with the reason, no empty output written (it exited 0 with an empty file)."""
    inp = write_lines(tmp_path / "in.jsonl", [b"", b"  "] if case == "empty" else [b"{broken", {"id": "x"}])
    proc = run_cli_raw(["verify", "--input", str(inp), "--output", str(tmp_path / "out.jsonl"), "--no_progress",
                        "--on_error", "skip"], cwd=tmp_path, timeout=300)
    one_error_line(proc, f"{inp}: no record to score: ",
                   "the file is empty" if case == "empty" else "all 2 line(s) malformed (skipped)")
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.jsonl.parts").exists()
