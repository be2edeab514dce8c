"""Zero-shot goal reaching for φ-based skill methods (METRA, LSD, CSF).

Protocol of Park et al. (2024, METRA) as coded in Princeton-RL/contrastive-successor-features
(Zheng et al. 2025): one goal g per rollout, drawn uniformly from [−50, 50]² for Ant, from
[−100, 100] in x for HalfCheetah, and (here) from the centres of a maze's free cells. At every step
the skill is recomputed as z = module.skill_for_goal(s, g_obs), where the goal observation g_obs is
the current observation with its position coordinates (x, y; HalfCheetah: x) replaced by the goal
(normalised like the observation when the env has a preset normaliser, ``normalize_obs``), and the
skill-conditioned policy acts deterministically. Metrics over the rollouts:

- ``final_distance``: mean Euclidean distance between the final position and the goal;
- ``EndSuccess3``: fraction of rollouts within 3 units of the goal at the end;
- ``HitSuccess3``: fraction that come within 3 units at any step (the start included);
- ``EndSuccess1``, ``HitSuccess1``: the same within 1 unit (one radius per entry of ``radii``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

MAX_STEPS = 100_000  # cap on an episode without a time limit
GOAL_RANGES = {"ant": 50.0, "half_cheetah": 100.0}  # half-width of the uniform goal box (reference)
# a range a short CPU budget can reach: skills at 1M Ant steps travel about 5-20 units in 200 steps
NEAR_GOAL_RANGES = {"ant": 10.0, "half_cheetah": 20.0}


def sample_goals(
    env_name: str,
    num_goals: int,
    rng: np.random.Generator,
    layout: Any = None,
    goal_range: float | None = None,
) -> np.ndarray:
    """Goals [num_goals, k] in the env's position coordinates (k = 1 for HalfCheetah, else 2), uniform in
    [−R, R]^k with R = ``goal_range`` (default: the reference's ``GOAL_RANGES``)."""
    if layout is not None:  # a maze: centres of uniformly drawn free cells
        iy, ix = np.nonzero(~layout.walls)
        pick = rng.integers(len(ix), size=num_goals)
        return np.stack([ix[pick] + 0.5, iy[pick] + 0.5], axis=1)
    key = env_name.split(":")[0]
    if key not in GOAL_RANGES:
        raise ValueError(
            f"goal reaching needs the agent's position in the observation: maze:*, ant or half_cheetah, "
            f"got {env_name!r}"
        )
    k = 1 if key == "half_cheetah" else 2
    half_width = GOAL_RANGES[key] if goal_range is None else float(goal_range)
    return rng.uniform(-half_width, half_width, size=(num_goals, k))


def goal_normalizer(envs: Any) -> Any:
    """Map goals [N, k] to observation units with the env's preset normaliser (dims 0..k−1), or None.

    Looks through the wrappers of ``envs`` (or of its first sub-env) for a ``normalize_dims`` method
    (``rlinfo.envs.normalize.PresetNormalizeObservation``; duck-typed, the core never imports envs).
    """
    subs = getattr(envs, "envs", None)
    current = subs[0] if isinstance(subs, (list, tuple)) and subs else envs
    while current is not None:
        if callable(getattr(current, "normalize_dims", None)):
            return lambda goals, w=current: w.normalize_dims(goals, slice(0, goals.shape[1]))
        current = getattr(current, "env", None)
    return None


def goal_reaching(
    agent: Any,
    module: Any,
    envs: Any,
    env_name: str,
    layout: Any = None,
    max_steps: int | None = None,
    seed: int = 0,
    radii: tuple[float, ...] = (3.0, 1.0),
    device: torch.device | str = "cpu",
    goal_range: float | None = None,
    on_step: Any = None,
) -> dict[str, Any]:
    """One goal-directed episode per sub-env of ``envs``; return the metrics of the module docstring.

    ``envs`` is a vector env of ``env_name`` whose ``info["xy"]`` is the position (build it with
    ``rlinfo.envs.make_vec``; pass its maze ``layout`` for maze goals; the caller closes it).
    ``agent.act(x, deterministic=True)`` takes ``[obs, z]``; ``module.skill_for_goal(obs, goal_obs)``
    gives z. Without ``max_steps`` each rollout runs to the end of its first episode. The result
    also holds the goals and each rollout's final distance (lists), for tables and figures.
    ``goal_range``: half-width of the goal box for ant and half_cheetah (default ``GOAL_RANGES``).
    ``on_step()`` is called after every vector step (a progress bar).
    """
    num_goals = envs.num_envs
    normalizer = goal_normalizer(envs)
    goals = sample_goals(env_name, num_goals, np.random.default_rng(seed), layout, goal_range)
    k = goals.shape[1]
    steps = 0
    obs, info = envs.reset(seed=seed)
    pos = np.asarray(info["xy"], dtype=np.float64)[:, :k]
    dist = np.linalg.norm(pos - goals, axis=1)
    r = np.asarray(radii, dtype=np.float64)
    hit = dist[:, None] <= r
    alive = np.ones(num_goals, dtype=bool)
    goal_obs = goals if normalizer is None else normalizer(goals)
    goal_t = torch.as_tensor(goal_obs, dtype=torch.float32, device=device)
    while alive.any() and steps < (max_steps or MAX_STEPS):
        steps += 1
        s = torch.as_tensor(obs, dtype=torch.float32, device=device)
        g = s.clone()
        g[:, :k] = goal_t  # the goal observation: current obs with the position replaced
        z = module.skill_for_goal(s, g)
        action = agent.act(torch.cat([s, z], dim=-1), deterministic=True).cpu().numpy()
        obs, _, terminated, truncated, info = envs.step(action)
        if on_step is not None:
            on_step()
        new = np.linalg.norm(np.asarray(info["xy"], dtype=np.float64)[:, :k] - goals, axis=1)
        dist = np.where(alive, new, dist)  # an ended episode keeps its last distance
        hit |= alive[:, None] & (dist[:, None] <= r)
        alive &= ~(np.asarray(terminated) | np.asarray(truncated))
    result: dict[str, Any] = {"final_distance": float(dist.mean())}
    for i, radius in enumerate(radii):
        result[f"EndSuccess{radius:g}"] = float((dist <= radius).mean())
        result[f"HitSuccess{radius:g}"] = float(hit[:, i].mean())
    return result | {
        "num_goals": num_goals,
        "steps": steps,
        "env": env_name,
        "goals": goals.tolist(),
        "final_distances": dist.tolist(),
    }
