"""How many pairs the random arm shares with the hard-negative arm (``reports.words.arm_overlap``): counted
by hand on small arms, and stated in the mining run's report.md and report.html from the pair files."""

from __future__ import annotations

import re

from hn_lightning.mining.shards import read_records
from hn_lightning.reports.words import arm_overlap, overlap_sentence
from tests.test_reports_mining import run  # noqa: F401  (the module's mined run, a fixture)


def pair(rejected: str, chosen: str | None, meta: bool = True) -> dict:
    record = {"id": f"{rejected}-vs-{chosen or 'ref'}"}
    if meta:
        record["meta"] = {"rejected_id": rejected, "chosen_id": chosen}
    return record


def test_overlap_counted_by_hand():
    hard = [pair("p1#s0", "p1#s1"), pair("p1#s2", None), pair("p2#s0", "p2#s3")]
    rnd = [pair("p1#s0", "p1#s1"),          # identical
           pair("p1#s2", "p1#s1"),          # same rejected, other chosen (hard has the reference)
           pair("p2#s0", "p2#s3", meta=False),  # identical, read from the id
           pair("p3#s1", None)]             # not in the hard arm
    assert arm_overlap(hard, rnd) == {"random": 4, "identical": 2, "shared_rejected": 3}
    # the reference as chosen is one side like any other
    assert arm_overlap(hard, [pair("p1#s2", None)])["identical"] == 1
    assert arm_overlap(hard, [])["random"] == 0


def test_sentence_warns_only_when_most_pairs_are_shared():
    most = overlap_sentence({"random": 205, "identical": 171, "shared_rejected": 187})
    assert "171 of its 205 pairs (83%)" in most and "187" in most and "differ in too few pairs" in most
    few = overlap_sentence({"random": 10, "identical": 4, "shared_rejected": 6})
    assert "4 of its 10 pairs (40%)" in few and "too few" not in few
    assert overlap_sentence({"random": 0, "identical": 0, "shared_rejected": 0}) == "The random arm is empty."


def test_mining_reports_state_the_overlap_of_the_run(run):  # noqa: F811
    expected = overlap_sentence(arm_overlap(read_records(run / "pairs" / "hardneg"), read_records(run / "pairs" / "random")))
    assert expected in (run / "report.md").read_text(encoding="utf-8")
    page = (run / "report.html").read_text(encoding="utf-8")
    assert expected in re.sub(r"\s+", " ", page)
