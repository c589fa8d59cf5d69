"""Needleman-Wunsch, Spearman/inversions and the structure/order scores on hand-made matrices."""

from __future__ import annotations

import numpy as np
import pytest

from hn_lightning.verifier.alignment import inversions, needleman_wunsch, spearman, structure_order_scores


def test_nw_on_hand_made_matrix():
    # 3 predicted x 4 reference steps; pred 0 ~ ref 0, pred 1 ~ ref 2, pred 2 ~ ref 3; ref 1 is skipped.
    sim = np.array([
        [0.9, 0.2, 0.1, 0.1],
        [0.1, 0.3, 0.8, 0.2],
        [0.2, 0.1, 0.3, 0.7],
    ])
    aln = needleman_wunsch(sim, gap=-0.1, offset=0.6)
    assert aln.pairs == [(0, 0), (1, 2), (2, 3)]
    # (0.9-0.6) + gap(ref 1) + (0.8-0.6) + (0.7-0.6) = 0.3 - 0.1 + 0.2 + 0.1
    assert aln.score == pytest.approx(0.5)


def test_nw_prefers_gaps_over_bad_matches_and_handles_empty():
    sim = np.array([[0.1, 0.1], [0.1, 0.1]])
    aln = needleman_wunsch(sim, gap=-0.1, offset=0.6)
    assert aln.score == pytest.approx(-0.4)  # four gaps beat two matches worth -0.5 each
    assert aln.pairs == []
    assert needleman_wunsch(np.zeros((0, 3))).score == pytest.approx(-0.3)


def test_spearman_and_inversions_golden():
    assert spearman([0, 1, 2, 3], [0, 1, 3, 2]) == pytest.approx(1 - 6 * 2 / (4 * 15))  # 0.8
    assert spearman([0, 1, 2], [2, 1, 0]) == pytest.approx(-1.0)
    assert inversions([0, 1, 3, 2]) == 1
    assert inversions([3, 2, 1, 0]) == 6


def test_identity_alignment_scores_zero():
    so = structure_order_scores(np.eye(4) * 0.3 + 0.6)  # diagonal 0.9, off-diagonal 0.6
    assert so.s_struct == pytest.approx(0.0)
    assert so.s_order == pytest.approx(0.0)
    assert so.spearman == pytest.approx(1.0) and so.inversions == 0 and so.flags == []


def test_swapped_steps_raise_s_order_and_s_struct():
    sim = np.full((4, 4), 0.2)
    for pred_i, ref_j in enumerate([0, 2, 1, 3]):  # predicted steps 2 and 3 are swapped
        sim[pred_i, ref_j] = 0.9
    so = structure_order_scores(sim)
    # rho = 0.8 -> (1 - 0.8) / 2 = 0.1; one inversion of C(4,2) = 6 pairs -> 1/6
    assert so.s_order == pytest.approx(0.5 * 0.1 + 0.5 / 6)
    assert so.inversions == 1
    # NW keeps 3 of the 4 matches in order: P = R = 3/4 -> F2 = 0.75
    assert so.s_struct == pytest.approx(0.25)
    assert so.order_gap > 0
    assert any(f.startswith("order: predicted steps 2 and 3") for f in so.flags)


def test_struct_weighs_recall_over_precision():
    # 6 predicted steps, 2 reference steps, both reference steps matched in order: P = 1/3, R = 1
    sim = np.full((6, 2), 0.1)
    sim[1, 0] = sim[4, 1] = 0.9
    so = structure_order_scores(sim)
    assert so.s_struct == pytest.approx(1 - 5 * (1 / 3) / (4 / 3 + 1))  # 1 - F2 = 0.2857
    # the reverse (a terse prediction that skips reference steps) is worse
    assert structure_order_scores(sim.T.copy()).s_struct == pytest.approx(1 - 5 * (1 / 3) / (4 + 1 / 3))


def test_nothing_matches():
    so = structure_order_scores(np.full((3, 2), 0.1))
    assert so.s_struct == 1.0 and so.s_order == 0.0 and so.matched == 0
