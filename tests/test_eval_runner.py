"""The evaluation runner: verdicts from the shared AnswerChecker, per-sample records, MATH breakdown by
subject and level, and resume after an interruption (exception after k items, or a torn last line):
no duplicates, nothing lost, the same accuracy as an uninterrupted run."""

from __future__ import annotations

import json

import pytest

from hn_lightning.evaluation.generate import Generation, GenerationConfig
from hn_lightning.evaluation.runner import RunSettings, SettingsMismatch, evaluate_items
from hn_lightning.evaluation.tasks import EvalItem, load_task


class ScriptedEngine:
    """An engine that answers from a script: ``answers[question]`` is boxed, in reverse length order
    (like the real engine), calling ``on_done`` per prompt. Counts what it was asked."""

    name = "scripted"
    tokenizer = None

    def __init__(self, answers: dict[str, str]):
        self.answers = answers
        self.asked: list[str] = []

    def generate(self, prompts, config, on_done=None):
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        results = [None] * len(prompts)
        for i in order:
            question = prompts[i].split("<|im_start|>user\n", 1)[1].split("\nPlease reason", 1)[0]
            self.asked.append(question)
            text = f"Some steps. The result is $\\boxed{{{self.answers.get(question, 'nothing')}}}$."
            results[i] = [Generation(text=text, token_ids=[1] * 7, finish_reason="stop", num_tokens=7, seconds=0.5)]
            if on_done is not None:
                on_done(i, results[i])
        return results


def _items(n: int) -> list[EvalItem]:
    return [EvalItem(id=f"q{i}", question=f"What is {i} + {i}?" + " pad" * (i % 3), gold=[str(2 * i)]) for i in range(n)]


def _answers(items, wrong_every: int = 3) -> dict[str, str]:
    """Right answers except every ``wrong_every``-th item."""
    return {it.question: (str(int(it.gold[0]) + 1) if k % wrong_every == 0 else it.gold[0]) for k, it in enumerate(items)}


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_records_and_summary(tmp_path):
    items = _items(6)
    engine = ScriptedEngine(_answers(items))
    summary = evaluate_items(engine, items, RunSettings(task="toy"), GenerationConfig(), tmp_path)
    records = _lines(tmp_path / "samples.jsonl")
    assert len(records) == 6 and {r["id"] for r in records} == {it.id for it in items}
    r = next(r for r in records if r["id"] == "q1")
    assert r["correct"] is True and r["extracted"] == ["2"] and r["gold"] == ["2"] and r["gold_compared"] == ["2"]
    assert r["prompt"].startswith("<|im_start|>system\nYou are a helpful assistant.") and "\\boxed{2}" in r["completion"]
    assert r["finish_reason"] == "stop" and r["num_tokens"] == 7 and r["seconds"] == 0.5
    assert summary["n"] == 6 and summary["correct"] == 4 and summary["accuracy"] == pytest.approx(4 / 6)
    assert summary["ci95"][0] < 4 / 6 < summary["ci95"][1]
    assert summary["tokens_per_sec"] == pytest.approx(14.0) and summary["finish_reasons"] == {"stop": 6}
    assert json.loads((tmp_path / "summary.json").read_text())["accuracy"] == summary["accuracy"]
    assert json.loads((tmp_path / "config.json").read_text())["task"] == "toy"


def test_checker_mode_decides_the_verdict(tmp_path):
    """The runner scores through AnswerChecker: Step-DPO's checker accepts 1,000 for 1000, hendrycks does not."""
    items = [EvalItem(id="a", question="How many?", gold=["1000"])]
    engine = ScriptedEngine({"How many?": "1,000"})
    step = evaluate_items(engine, items, RunSettings(task="t", checker="stepdpo"), GenerationConfig(), tmp_path / "s")
    hend = evaluate_items(engine, items, RunSettings(task="t", checker="hendrycks"), GenerationConfig(), tmp_path / "h")
    assert step["correct"] == 1 and hend["correct"] == 0


class Interrupt(Exception):
    pass


def test_resume_after_an_exception_mid_run(tmp_path):
    items = _items(10)
    answers = _answers(items)
    full = evaluate_items(ScriptedEngine(answers), items, RunSettings(task="toy"), GenerationConfig(), tmp_path / "full")

    out = tmp_path / "cut"
    seen = []

    def die_after_four(record):
        seen.append(record["id"])
        if len(seen) == 4:
            raise Interrupt

    with pytest.raises(Interrupt):
        evaluate_items(ScriptedEngine(answers), items, RunSettings(task="toy"), GenerationConfig(), out, on_record=die_after_four)
    assert len(_lines(out / "samples.jsonl")) == 4 and not (out / "summary.json").exists()

    engine = ScriptedEngine(answers)
    starts = []
    resumed = evaluate_items(engine, items, RunSettings(task="toy"), GenerationConfig(), out,
                             on_start=lambda total, done: starts.append((total, done)))
    assert starts == [(10, 4)] and len(engine.asked) == 6  # only the missing six were generated
    records = _lines(out / "samples.jsonl")
    assert sorted(r["id"] for r in records) == sorted(it.id for it in items)  # no duplicates, no losses
    assert resumed["accuracy"] == full["accuracy"] and resumed["correct"] == full["correct"]
    assert resumed["this_run"]["new_items"] == 6 and resumed["this_run"]["resumed_items"] == 4


def test_resume_after_a_torn_last_line(tmp_path):
    items = _items(5)
    answers = _answers(items)
    full = evaluate_items(ScriptedEngine(answers), items, RunSettings(task="toy"), GenerationConfig(), tmp_path)
    path = tmp_path / "samples.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    torn_id = json.loads(lines[2])["id"]
    path.write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2], encoding="utf-8")  # killed mid-write

    engine = ScriptedEngine(answers)
    again = evaluate_items(engine, items, RunSettings(task="toy"), GenerationConfig(), tmp_path)
    records = _lines(path)
    assert len(records) == 5 and len({r["id"] for r in records}) == 5
    assert len(engine.asked) == 3 and torn_id in {r["id"] for r in records[2:]}
    assert again["accuracy"] == full["accuracy"]


def test_other_settings_are_refused_unless_overwritten(tmp_path):
    items = _items(3)
    evaluate_items(ScriptedEngine(_answers(items)), items, RunSettings(task="toy"), GenerationConfig(), tmp_path)
    with pytest.raises(SettingsMismatch, match="prompt"):
        evaluate_items(ScriptedEngine({}), items, RunSettings(task="toy", prompt="sft-system"), GenerationConfig(), tmp_path)
    fresh = evaluate_items(ScriptedEngine({}), items, RunSettings(task="toy", prompt="sft-system"), GenerationConfig(),
                           tmp_path, overwrite=True)
    assert fresh["correct"] == 0 and fresh["this_run"]["new_items"] == 3 and len(_lines(tmp_path / "samples.jsonl")) == 3
    assert "You are a mathematical reasoning expert" in _lines(tmp_path / "samples.jsonl")[0]["prompt"]


def test_math_breakdown_by_subject_and_level(tmp_path):
    items = load_task("math", limit=40, seed=5)
    answers = {it.question: (it.gold[-1] if it.level in (1, 2) else "wrong") for it in items}
    summary = evaluate_items(ScriptedEngine(answers), items, RunSettings(task="math"), GenerationConfig(), tmp_path)
    by_level, by_subject = summary["by_level"], summary["by_subject"]
    assert sum(s["n"] for s in by_level.values()) == 40 == sum(s["n"] for s in by_subject.values())
    for level, s in by_level.items():
        n = sum(1 for it in items if str(it.level) == level)
        assert s["n"] == n
        if level in ("3", "4", "5"):
            assert s["correct"] == 0
        else:  # the scripted engine boxes a gold, so Step-DPO's checker accepts most of them
            assert s["correct"] >= 0.8 * n
    for subject, s in by_subject.items():
        assert s["n"] == sum(1 for it in items if it.subject == subject)
    assert summary["correct"] == sum(s["correct"] for s in by_level.values())
