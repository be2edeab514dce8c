"""Skill alignment and displacement spread (rlinfo/evaluation/alignment.py), checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlinfo.evaluation.alignment import (
    alignment_figure,
    displacement_spread,
    final_displacements,
    rollout_diagnostics,
    skill_alignment,
)


def test_final_displacement_and_one_dimensional_motion() -> None:
    xy = np.array([[[0, 0], [1, 1], [3, 4]], [[1, 1], [1, 1], [0, 1]]], dtype=float)
    np.testing.assert_array_equal(final_displacements(xy), [[3, 4], [-1, 0]])
    flat = np.array([[[0, 0], [2, 0]], [[1, 0], [-1, 0]]], dtype=float)  # y never changes: x only
    np.testing.assert_array_equal(final_displacements(flat), [[2], [-2]])
    with pytest.raises(ValueError, match=r"\[N, T\+1, 2\]"):
        final_displacements(np.zeros((3, 2)))


def test_displacement_spread_by_hand() -> None:
    out = displacement_spread(np.array([[3.0, 4.0], [-1.0, 0.0]]))  # norms 5, 1; mean (1, 2)
    assert out["displacement_mean"] == 3.0 and out["displacement_max"] == 5.0
    assert out["displacement_spread"] == pytest.approx(math.sqrt(8.0))  # deviations ±(2, 2)


def test_rotated_skills_are_aligned_after_procrustes_but_not_raw() -> None:
    z = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    d = np.array([[0.0, 2.0], [-3.0, 0.0], [0.0, -1.0]])  # each d = 90° rotation of z, any length
    out = skill_alignment(d, z, discrete=False)
    assert out["alignment_cos"] == pytest.approx(1.0) and out["alignment_cos_raw"] == pytest.approx(0.0)
    reflected = skill_alignment(d * [[-1.0, 1.0]], z, discrete=False)  # a reflection is fine too
    assert reflected["alignment_cos"] == pytest.approx(1.0)


def test_unrelated_or_motionless_rollouts_score_low() -> None:
    z = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert skill_alignment(np.array([[1.0, 0.0], [-1.0, 0.0]]), z, False)["alignment_cos"] == 0.0
    # one rollout does not move (cosine 0), the other moves along z: mean 0.5
    assert skill_alignment(np.array([[0.0, 0.0], [2.0, 0.0]]), z, False)["alignment_cos"] == 0.5


def test_discrete_skills_spread_and_within_skill_std() -> None:
    z = np.eye(2)[[0, 0, 1, 1]] - 0.5  # centred one-hots: argmax is the skill
    d = np.array([[1.0, 0.0], [3.0, 0.0], [-2.0, 0.0], [-2.0, 0.0]])  # means (2, 0) and (−2, 0)
    out = skill_alignment(d, z, discrete=True)
    assert out["skill_spread"] == pytest.approx(2.0) and out["num_skills"] == 2.0
    assert out["within_skill_std"] == pytest.approx(math.sqrt(0.5))  # (1 + 1 + 0 + 0) / 4


@pytest.mark.parametrize(("k", "discrete"), [(2, False), (2, True), (1, True), (1, False)])
def test_alignment_figure_is_written(tmp_path, k, discrete) -> None:
    rng = np.random.default_rng(0)
    z = np.eye(4)[rng.integers(4, size=12)] if discrete else rng.normal(size=(12, 2))
    d = rng.normal(size=(12, k))
    stats = alignment_figure(d, z, discrete, tmp_path / "a.png")
    assert (tmp_path / "a.png").stat().st_size > 1000 and stats == skill_alignment(d, z, discrete)


def test_rollout_diagnostics_combines_spread_and_alignment() -> None:
    xy = np.array([[[0, 0], [0, 2]], [[5, 5], [2, 5]]], dtype=float)  # d = (0, 2), (−3, 0)
    z = np.array([[1.0, 0.0], [0.0, 1.0]])  # rotated by 90°: aligned after Procrustes
    out = rollout_diagnostics(xy, z, discrete=False)
    assert out["displacement_mean"] == 2.5 and out["alignment_cos"] == pytest.approx(1.0)
    assert set(rollout_diagnostics(xy, np.zeros((2, 0)), False)) == {
        "displacement_mean",
        "displacement_max",
        "displacement_spread",
    }
