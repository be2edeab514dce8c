"""URLB's expert-normalised score: a fine-tuned run's task return divided by the expert's return on that
task, as the Unsupervised RL Benchmark reports it (Laskin et al. 2021; the expert scores are the ones
the benchmark's authors published for its 12 tasks: DrQ-v2 / DDPG trained 2M frames with the task
reward). ``rlinfo report --normalize urlb`` uses it; a task is named as its env, ``urlb:<domain>_<task>``.

    normalised score = return / expert(task)

Scores are aggregated per domain (walker, quadruped, jaco: the IQM over that domain's tasks and seeds,
bootstrap stratified by task) and over all tasks, as the URLB papers do.
"""

from __future__ import annotations

from rlinfo.errors import RlinfoError

EXPERT_SCORES: dict[str, float] = {
    "walker_stand": 984.0,
    "walker_walk": 971.0,
    "walker_run": 796.0,
    "walker_flip": 799.0,
    "quadruped_walk": 866.0,
    "quadruped_run": 888.0,
    "quadruped_stand": 920.0,
    "quadruped_jump": 888.0,
    "jaco_reach_top_left": 191.0,
    "jaco_reach_top_right": 223.0,
    "jaco_reach_bottom_left": 193.0,
    "jaco_reach_bottom_right": 203.0,
}
NORMALIZATIONS = ("urlb",)


def urlb_task(env_name: str) -> str:
    """``urlb:walker_run`` -> ``walker_run``; one-line error for an env outside URLB's 12 tasks."""
    task = env_name.removeprefix("urlb:")
    if not env_name.startswith("urlb:") or task not in EXPERT_SCORES:
        known = ", ".join(f"urlb:{t}" for t in EXPERT_SCORES)
        raise RlinfoError(f"--normalize urlb: {env_name} is not a URLB task (known: {known})")
    return task


def urlb_domain(env_name: str) -> str:
    """The task's domain: ``urlb:quadruped_jump`` -> ``quadruped``."""
    return urlb_task(env_name).split("_", 1)[0]


def normalized(env_name: str, value: float) -> float:
    """The expert-normalised score of a return on ``env_name``."""
    return value / EXPERT_SCORES[urlb_task(env_name)]
