"""Mutual-information and entropy estimators: pure functions and small modules on torch tensors.

Bounds (``scores[i, j] = f(x_i, y_j)``, diagonal = joint samples; each returns a differentiable scalar in
nats): ``nwj``, ``dv``, ``mine`` (+ the stateful ``MINE``), ``infonce``, ``js``, ``tuba``, ``smile``.
Critics producing score matrices: ``SeparableCritic``, ``JointCritic``, ``BilinearCritic``,
``LipschitzCritic`` (+ ``wasserstein_dependency``). Non-parametric: ``knn_entropy`` (Kozachenko-Leonenko),
``ksg_mi`` (KSG estimator 1), ``particle_entropy_reward`` (APT/CIC) with ``RunningMean``.
See docs/estimators.md for formulas, references and the measured bias/variance.
"""

from rlinfo.estimators.bounds import (
    MINE,
    dv,
    infonce,
    js,
    js_fgan,
    log_mean_exp_offdiag,
    mine,
    nwj,
    smile,
    tuba,
)
from rlinfo.estimators.critics import (
    BilinearCritic,
    JointCritic,
    LipschitzCritic,
    SeparableCritic,
    wasserstein_dependency,
)
from rlinfo.estimators.knn import (
    knn_distances,
    knn_entropy,
    ksg_mi,
    log_unit_ball_volume,
    particle_entropy_reward,
)
from rlinfo.running_stats import RunningMean  # re-exported: the kNN reward's normaliser

__all__ = [
    "MINE",
    "BilinearCritic",
    "JointCritic",
    "LipschitzCritic",
    "RunningMean",
    "SeparableCritic",
    "dv",
    "infonce",
    "js",
    "js_fgan",
    "knn_distances",
    "knn_entropy",
    "ksg_mi",
    "log_mean_exp_offdiag",
    "log_unit_ball_volume",
    "mine",
    "nwj",
    "particle_entropy_reward",
    "smile",
    "tuba",
    "wasserstein_dependency",
]
