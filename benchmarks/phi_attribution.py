"""What a trained φ responds to on Ant: the share of each step's change Δφ that comes from the torso's
position, its height and orientation, the joint angles, and the velocities.

    python -m benchmarks.phi_attribution runs/ant_skills     -> docs/results/ant_skills_phi.csv

For the methods with a state representation φ (METRA, LSD, CSF: r = (φ(s′) − φ(s))ᵀz), the latest
checkpoint of each run follows 16 skills (drawn as in training, seed 0) for one deterministic 200-step
episode each. Δφ is linearised at every step, Δφ_k ≈ ∇φ_k(s)·Δs, and split over the groups of Ant's
29 observation dimensions (qpos: x, y | z and the torso quaternion | 8 joint angles; qvel: 14
velocities):

    share_g = Σ_k E|∇_g φ_k(s) · Δs_g|  /  Σ_g Σ_k E|∇_g φ_k(s) · Δs_g|

A φ that maps the torso's position gives skills that travel; a φ that maps the joint angles gives
skills that hold postures, which earn the reward without moving the Ant.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runs import merge_csv, read_csv

RESULTS = Path("docs/results")
GROUPS = {"xy": slice(0, 2), "height_orientation": slice(2, 7), "joint_angles": slice(7, 15),
          "velocities": slice(15, 29)}  # fmt: skip
SHARES = tuple(f"share_{g}" for g in GROUPS)
KEY = ("method", "seed", "step")
COLUMNS = (*KEY, *SHARES, "mean_state_change", "mean_phi_change", "machine", "date")
SKILLS, STEPS = 16, 200


def attribution(run_dir: Path) -> dict[str, Any] | None:
    """The row of one run's latest checkpoint, or None for a method without φ."""
    import torch

    import rlinfo
    from rlinfo.rewards import reward_class
    from rlinfo.run.build import make_envs
    from rlinfo.run.rundir import load_run_config

    name = load_run_config(run_dir).reward.name
    if name == "none" or not hasattr(reward_class(name), "phi"):
        return None  # no φ: skip before building the run's networks
    run = rlinfo.load(run_dir)
    phi = getattr(run.reward_module, "phi", None)
    if phi is None or run.skill_space is None:
        return None
    skills = run.skill_space.sample(SKILLS, torch.Generator().manual_seed(0)).numpy().astype(np.float32)
    envs = make_envs(run.config, SKILLS, seed=0)
    try:
        obs, _ = envs.reset(seed=0)
        path = [obs]
        for _ in range(STEPS):
            obs, *_ = envs.step(run.policy.act(obs, skill=skills))
            path.append(obs)
    finally:
        envs.close()
    states = torch.as_tensor(np.stack(path), dtype=torch.float32)  # [T + 1, N, 29]: the policy's inputs
    shares, state_change, phi_change = attribute(phi, states)
    return {"method": run.config.reward.name, "seed": run.config.seed, "step": run.step,
            **{f"share_{g}": round(v, 4) for g, v in shares.items()},
            "mean_state_change": round(state_change, 4), "mean_phi_change": round(phi_change, 4)}  # fmt: skip


def attribute(phi: Any, states: Any) -> tuple[dict[str, float], float, float]:
    """(share of Δφ per group of ``GROUPS``, mean ‖Δs‖, mean ‖Δφ‖) over the steps of ``states``
    [T + 1, N, D]."""
    import torch

    dim = states.shape[-1]
    s, change = states[:-1].reshape(-1, dim), (states[1:] - states[:-1]).reshape(-1, dim)
    s = s.detach().requires_grad_(True)
    out = phi(s)
    totals = dict.fromkeys(GROUPS, 0.0)
    for k in range(out.shape[-1]):  # Δφ_k ≈ ∇φ_k(s)·Δs, split over the groups
        (grad,) = torch.autograd.grad(out[:, k].sum(), s, retain_graph=True)
        for g, dims in GROUPS.items():
            totals[g] += float((grad[:, dims] * change[:, dims]).sum(-1).abs().mean())
    total = sum(totals.values())
    with torch.no_grad():
        phi_change = float((phi(states[1:]) - phi(states[:-1])).norm(dim=-1).mean())
    return {g: v / total for g, v in totals.items()}, float(change.norm(dim=-1).mean()), phi_change


def latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run's (method, seed) row of its largest step, in the order the runs first appear."""
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    for r in rows:
        key = (r["method"], r["seed"])
        if r["step"] >= runs.get(key, {"step": -1})["step"]:
            runs[key] = r
    return list(runs.values())


def summary(rows: list[dict[str, Any]]) -> str:
    """Each run's largest share at its latest step, e.g. ``metra seed 0 at 1,000,000: x, y (39%)``."""
    names = dict(zip(GROUPS, ("x, y", "height and orientation", "joint angles", "velocities"), strict=True))
    parts = []
    for r in latest(rows):
        group = max(GROUPS, key=lambda g: r[f"share_{g}"])
        share = f"{names[group]} ({100 * r[f'share_{group}']:.0f}%)"
        parts.append(f"{r['method']} seed {r['seed']} at {r['step']:,}: {share}")
    return "Largest share: " + "; ".join(parts) + "."


def collect(sweep_dir: Path, out: Path = RESULTS / "ant_skills_phi.csv") -> int:
    """One row per run with φ (its latest checkpoint), merged into ``out``."""
    from benchmarks.machine import describe

    meta = {"machine": describe(), "date": time.strftime("%Y-%m-%d", time.gmtime())}
    runs = sorted(p.parent for p in sweep_dir.glob("*/checkpoints/latest.json"))
    new = [row | meta for row in map(attribution, [r.parent for r in runs]) if row is not None]
    rows = merge_csv(out, COLUMNS, KEY, new, load(out))
    print(f"{len(new)} runs with φ measured, {len(rows)} in {out}")
    return 0


def load(path: Path = RESULTS / "ant_skills_phi.csv") -> list[dict[str, Any]]:
    return read_csv(path, ints=("seed", "step"), floats=(*SHARES, "mean_state_change", "mean_phi_change"))


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Per run, at its latest measured step: the shares of Δφ in percent and the mean sizes of a step's Δs
    and Δφ."""
    head = ["method", "seed", "env steps", "x, y", "height, orientation", "joint angles", "velocities"]
    head += ["‖Δs‖", "‖Δφ‖"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in latest(rows):
        shares = " | ".join(f"{100 * r[s]:.0f}%" for s in SHARES)
        sizes = f"{r['mean_state_change']:.2f} | {r['mean_phi_change']:.3f}"
        lines.append(f"| {r['method']} | {r['seed']} | {r['step']:,} | {shares} | {sizes} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS / "ant_skills_phi.csv")
    args = parser.parse_args(argv)
    return collect(args.sweep_dir, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
