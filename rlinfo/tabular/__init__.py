"""Tabular maximum-entropy exploration in finite MDPs (numpy), after Tiapkin et al. (2023).

    from rlinfo.tabular import EntGame, UCBVIEnt, RandomPolicy, gridworld, run
    mdp = gridworld()                                   # 21 × 21, start (10, 10), p_success 0.95, H = 20
    res = run(EntGame(), mdp, n_episodes=5000, seed=0)
    res.entropy[-1], np.log(mdp.n_states)               # visitation entropy (nats) vs log |S|

Tiapkin, Belomestny, Calandriello, Moulines, Munos, Naumov, Perrault, Valko, Ménard (2023),
*Fast Rates for Maximum Entropy Exploration* (ICML).
"""

from rlinfo.tabular.baselines import RandomPolicy, run_random
from rlinfo.tabular.common import (
    ModelCounts,
    RunResult,
    backward_induction,
    entropy,
    policy_visitation,
    run,
    trajectory_entropy,
    visitation_entropy,
)
from rlinfo.tabular.entgame import EntGame
from rlinfo.tabular.mdp import FiniteMDP, double_chain, gridworld
from rlinfo.tabular.oracles import mtee_oracle_policy, mvee_oracle
from rlinfo.tabular.ucbvi_ent import UCBVIEnt

__all__ = [
    "EntGame",
    "FiniteMDP",
    "ModelCounts",
    "RandomPolicy",
    "RunResult",
    "UCBVIEnt",
    "backward_induction",
    "double_chain",
    "entropy",
    "gridworld",
    "mtee_oracle_policy",
    "mvee_oracle",
    "policy_visitation",
    "run",
    "run_random",
    "trajectory_entropy",
    "visitation_entropy",
]
