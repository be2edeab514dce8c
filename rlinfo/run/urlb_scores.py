"""URLB's expert-normalised score, as the Unsupervised RL Benchmark reports fine-tuning (Laskin et al.
2021): a run's task return divided by the expert's return on that task (``EXPERT_SCORES`` in
envs/urlb.py). ``rlinfo report --normalize urlb`` uses it; a task is named as its env,
``urlb:<domain>_<task>``.

    normalised score = return / expert(task)

The report pools each domain (walker, quadruped, jaco: the IQM over that domain's tasks and seeds,
bootstrap stratified by task) and all tasks, as the URLB papers do.
"""

from __future__ import annotations

from rlinfo.envs.urlb import EXPERT_SCORES, URLB_TASKS
from rlinfo.errors import RlinfoError

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
    task = urlb_task(env_name)
    return next(domain for domain, tasks in URLB_TASKS.items() if task in tasks)


def normalized(env_name: str, value: float) -> float:
    """The expert-normalised score of a return on ``env_name``."""
    return value / EXPERT_SCORES[urlb_task(env_name)]
