"""Reference-vs-rlinfo check of METRA, LSD, CSF, DIAYN, DADS and CIC on Ant: same batch, same weights, same
one update.

    python scripts/reference_check.py --metra-dir PATH [--csf-dir PATH] [--metra-commit SHA]
        [--csf-commit SHA] [--hidden 1024] [--algos metra lsd diayn dads csf cic] [--out DIR]

DIAYN (the README's ``--inner 0 --unit_length 0 --dual_reg 0`` command: ``iod.metra.METRA``, reward
log q(z|s′) of φ's Gaussian), DADS (``--algo dads``: ``iod.dads.DADS`` with its skill dynamics) and CIC (the
CSF checkout's ``scripts/pretrain/cic/cic_ant.sh``: ``iod.cic.CIC``) go through the same steps as METRA
below, with their own networks (``reward_nets``) and causes (``CAUSES``: DADS's normalisation, done mask
and prior-draw layout, CIC's kNN scale and distances); what is not comparable one-to-one, and how the
aligned scenario makes it comparable, is in ``CAUSE_TEXT``.

``--metra-dir`` is a local checkout of seohongpark/METRA (``iod/``, ``garagei/``, ``garaged/src/garage``,
``tests/main.py`` and ``README.md`` are read), ``--csf-dir`` one of
Princeton-RL/contrastive-successor-features (the same layout, ``run/train.py`` for the flag defaults and
``scripts/pretrain/csf/csf_ant.sh`` for the Ant command); nothing of either is copied into rlinfo. Without
``--csf-dir`` only METRA and LSD are checked.
``--out`` defaults to docs/results. For each of METRA (the README's Ant command), LSD (the same command with
``--dual_reg 0 --spectral_normalization 1``) and CSF (``csf_ant.sh``: ``--algo metra_sf``) the script

1. builds the reference's networks exactly as its trainer builds them (``tests/main.py``; CSF:
   ``run/train.py``): ``PolicyEx`` over a ``GaussianMLPTwoHeadedModuleEx`` with ``TanhNormal``, a
   ``GaussianMLPIndependentStdModuleEx`` trajectory encoder φ, two ``ContinuousMLPQFunctionEx`` critics (CSF:
   with ``output_dim = dim_option``, the successor features ψ₁, ψ₂), ``ParameterModule`` log λ and log α, one
   Adam per group in an ``OptimizerGroupWrapper``, and the reference's own algorithm object
   (``iod.metra.METRA``; CSF: ``iod.metra_sf.MetraSf``);
2. builds rlinfo's parts with ``rlinfo.run.build.build`` from the ``metra_ant`` / ``lsd_ant`` / ``csf_ant``
   presets and its off-policy learner (``rlinfo.run.offpolicy.OffPolicy``);
3. copies the reference's weights into rlinfo's networks (φ, critics and target critics, actor, log λ,
   log α), so both start from identical parameters (METRA: φ's output weights first scaled so that the batch's
   RMS ‖Δφ‖ is 1, where the constraint binds as in training; at initialisation ‖Δφ‖ ≪ 1 and the constraint
   term is the constant slack ε for every transition);
4. feeds both the same batch of 256 real Ant transitions (29-d METRA observations from rlinfo's Ant env with
   uniformly random actions, 4 episodes of 200 steps, one unit-length 2-D skill per episode, the 4 episode
   ends always included), normalised with the preset normaliser ŝ = (s − μ)/(σ + 1e-8), and the episode ends
   as each side's buffer stores them (reference: dones = 1 on each path's last transition; rlinfo: terminated
   there when the preset sets ``train.time_limit_bootstrap: false``);
5. runs one gradient step on each side with the same torch RNG state, so SAC's two action samples (and CSF's
   256 negative skills, the first draw on both sides: ``torch.randn(256, 2)`` normalised) are the same:
   the reference's own loop body ``_train_components`` (METRA/LSD: φ step, λ step, reward relabel, critics,
   policy, α, Polyak; CSF: φ step, ψ step, Polyak, policy, α) and rlinfo's own ``OffPolicy.learn_batch``
   (reward-module update, relabel, agent update);
6. compares, quantity by quantity (METRA/LSD): the reward r = Δφᵀz inside φ's loss, φ's loss, λ's loss, the
   relabelled reward after the φ step, the critic target (mean), the critic loss, the policy's mean log π, the
   policy loss, the α loss; (CSF): φ's positive term Δφᵀz and log-sum-exp term per sample, φ's loss, the
   cumulant Δφ after the φ step, the ψ TD target (mean), the ψ loss, log π, the policy and α losses; and for
   all three each group's gradient (Adam's first moment after the step, / (1 − β₁)) and every parameter group
   after the step.

Scenarios. ``preset`` runs both as configured (reference: its Ant command, its own normaliser numbers; rlinfo:
the preset). ``aligned`` removes every difference this script knows a cause for (``CAUSES``), using each
project's own inputs (the same normalised observations on both sides; the spectral-norm power-iteration
vectors u, v set to the top singular vectors on both sides) and, as the reference has no option for them, two
diagnostic patches while it runs: its ``TanhNormal.log_prob`` with the exact tanh correction
(``exact_tanh_log_prob``) and, for LSD, its relabel with φ in eval mode
(``run_reference(relabel_in_eval=True)``).
``aligned+<cause>`` re-enables one cause at a time, so each difference of ``preset`` is attributed to the
causes that produce it. A quantity is *equal* when |rlinfo − reference| ≤ ATOL + RTOL·|reference| (scalars,
per-sample vectors: max over samples). Parameters after the step: see ``compare_params`` (the first Adam step
is ±lr wherever |g| ≫ 1e-8, so it compares gradient signs; the few elements with |g| ≲ 1e-7, where float32
rounding of g can move the step anywhere in [−lr, lr], are counted rather than compared).

What is stubbed (tiny stand-ins defined below, installed in ``sys.modules`` before importing a reference;
none is reached by the loss, optimiser or network code that runs):

- package ``__init__`` files that import the reference's whole experiment stack (gym, akro, dowel, the
  samplers) are skipped by registering path-only packages for ``garage``, ``garage.np``, ``garage.np.algos``,
  ``garage.torch.policies`` and ``garagei``; every submodule under them is the checkout's own file, executed
  unchanged (``garage.torch`` and every other package ``__init__`` run as they are);
- ``garage.TrajectoryBatch`` and ``garagei.log_performance_ex``: placeholders (used only by ``train_once`` /
  ``_evaluate_policy`` for logging, never called here);
- CSF only: ``garagei.experiment.option_local_runner`` (its ``iod/metra.py`` imports ``OptionLocalRunner`` for
  type hints only; the real module pulls in the sampler and runner stack): a placeholder class;
- ``dowel`` and ``dowel_wrapper`` (the logger; ``Histogram``, ``get_tabular``): placeholders;
- ``akro`` (garage's spaces; ``akro.Image`` is read only in ``StochasticPolicy.get_action``): placeholder;
- ``moviepy.editor`` and ``sklearn.decomposition`` (videos and PCA plots in ``iod/utils.py``), and
  ``matplotlib`` likewise, only when not installed; these third-party stand-ins (and ``akro``, ``dowel``,
  ``dowel_wrapper``) are removed from ``sys.modules`` again once the reference is imported;
- the env spec (``METRA`` reads ``action_space.shape`` for its target entropy; ``low``/``high`` only in
  ``_clip_actions``, unused with ``TanhNormal``): a ``SimpleNamespace``;
- the replay buffer: a stand-in whose ``sample_transitions`` returns the fixed batch, so the reference's
  own ``_sample_replay_buffer`` and ``_train_components`` run with one optimisation epoch.

The two references share top-level package names (``garage``, ``garagei``, ``iod``), so they run one after
the other in the same process: the METRA checkout's modules are removed from ``sys.modules`` (and its
path from ``sys.path``) after the METRA and LSD checks, before the CSF checkout is imported
(``unload_reference``).

rlinfo's side is built with these overrides, none of which touches an update: ``device=cpu``,
``env.num_envs=1``, ``train.buffer_size=1000``, ``train.learning_starts=100`` and ``train.threads=1``.
The reference's inputs mirror its buffer: observations and options as float32, dones [B] (1 on the last
transition of each 200-step path, where its worker sets ``_terminals[-1] = True``).

Outputs: a table on stdout, ``<out>/reference_check.csv`` (one row per algorithm × scenario × quantity, with
the date, torch version and the reference's commit) and ``<out>/reference_check.md`` (the tables, the causes
of every difference, and the training-schedule facts that are not loss values).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import functools
import importlib.util
import math
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
RTOL, ATOL = 1e-5, 1e-6  # float32 rounding through 1024-wide layers in a different operation order
PARAM_RTOL = 1e-3  # parameters: largest difference after the step, as a fraction of the step's size ...
PARAM_ULPS = (
    4  # ... plus this many float32 ulps of the largest |θ| (Polyak's tiny target steps round differently)
)
WELL_CONDITIONED = 0.9  # parameters compared: reference step ≥ this × the largest step (|g| ≳ 10 Adam ε)
MAX_ILL_FRACTION = 0.01  # ... and of the others, those that differ must be fewer than this fraction
GRAD_RTOL = 1e-4  # gradients: max |Δ| against the group's largest |∇| (sums over 256 samples × 1024 units)
EPS32 = float(torch.finfo(torch.float32).eps)
BATCH, EPISODES, EPISODE_LEN = 256, 4, 200
SKILL_DIM, SEED = 2, 0

# ---------------------------------------------------------------------------------------------- comparisons


@dataclass
class Row:
    """One compared quantity."""

    algo: str
    scenario: str
    quantity: str
    reference: float
    rlinfo: float
    abs_diff: float
    rel_diff: float
    verdict: str
    note: str = ""


def verdict(equal: bool) -> str:
    return "equal to float32 precision" if equal else "differs"


def compare_scalar(algo: str, scenario: str, quantity: str, ref: float, ours: float) -> Row:
    """|ours − ref| ≤ ATOL + RTOL·|ref|."""
    ref, ours = float(ref), float(ours)
    diff = abs(ours - ref)
    rel = diff / max(abs(ref), 1e-30)
    return Row(algo, scenario, quantity, ref, ours, diff, rel, verdict(diff <= ATOL + RTOL * abs(ref)))


def compare_vector(algo: str, scenario: str, quantity: str, ref: Tensor, ours: Tensor) -> Row:
    """Per-sample values: max |ours − ref| ≤ ATOL + RTOL·max |ref|; the row shows the means."""
    ref, ours = ref.detach().double().reshape(-1), ours.detach().double().reshape(-1)
    if ref.shape != ours.shape:
        raise ValueError(f"{quantity}: shapes differ, {tuple(ref.shape)} vs {tuple(ours.shape)}")
    diff = float((ours - ref).abs().max())
    scale = float(ref.abs().max())
    row = Row(
        algo,
        scenario,
        quantity,
        float(ref.mean()),
        float(ours.mean()),
        diff,
        diff / max(scale, 1e-30),
        verdict(diff <= ATOL + RTOL * scale),
    )
    row.note = "per sample: values are means, diffs max over the batch"
    return row


def compare_grads(algo: str, scenario: str, quantity: str, ref: list[Tensor], ours: list[Tensor]) -> Row:
    """Gradients of a parameter group: max |ours − ref| ≤ GRAD_RTOL · max |ref| (their scale is the group's
    own); the row shows ‖g‖."""
    diff = scale = 0.0
    for a, b in zip(ours, ref, strict=True):
        if a.shape != b.shape:
            raise ValueError(f"{quantity}: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
        diff = max(diff, float((a.double() - b.double()).abs().max()))
        scale = max(scale, float(b.abs().max()))
    norm = lambda ts: math.sqrt(sum(float(t.double().pow(2).sum()) for t in ts))  # noqa: E731
    row = Row(
        algo,
        scenario,
        quantity,
        norm(ref),
        norm(ours),
        diff,
        diff / max(scale, 1e-30),
        verdict(diff <= GRAD_RTOL * scale),
    )
    row.note = "values: ‖∇‖ (from Adam's first moment); rel diff: max|Δ| / max|∇_ref|"
    return row


def compare_params(
    algo: str,
    scenario: str,
    quantity: str,
    ref_before: list[Tensor],
    ref_after: list[Tensor],
    ours_after: list[Tensor],
) -> Row:
    """Parameters after one step, element by element, where Adam's first step is well-conditioned.

    Adam's first step is lr·g/(|g| + 1e-8): ±lr wherever |g| ≫ 1e-8, so there it compares the gradients'
    signs (and magnitudes through the ε term); where |g| ≲ 1e-7 any float32 rounding of g moves the step
    anywhere in [−lr, lr]. Elements whose reference step is at least WELL_CONDITIONED × the largest step are
    compared (|ours − ref| ≤ PARAM_RTOL·step + PARAM_ULPS ulps of max |θ|); of the others, those beyond that
    tolerance are counted and must be under MAX_ILL_FRACTION of all elements.
    """
    if not (len(ref_before) == len(ref_after) == len(ours_after)):
        raise ValueError(f"{quantity}: parameter lists differ in length")
    deltas = [a.double() - b.double() for a, b in zip(ref_after, ref_before, strict=True)]
    step = max(float(d.abs().max()) for d in deltas)
    diff_well = diff_ill = 0.0
    ill_total = 0
    off: list[Any] = [0]  # [element count, (|Δ|, well-conditioned mask) per tensor]
    for d_ref, a, b in zip(deltas, ours_after, ref_after, strict=True):
        if a.shape != b.shape:
            raise ValueError(f"{quantity}: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
        d = (a.double() - b.double()).abs()
        well = d_ref.abs() >= WELL_CONDITIONED * step
        if bool(well.any()):
            diff_well = max(diff_well, float(d[well].max()))
        if bool((~well).any()):
            diff_ill = max(diff_ill, float(d[~well].max()))
        ill_total += int((~well).sum())
        off[0] += d.numel()
        off.append((d, well))
    ulp = PARAM_ULPS * EPS32 * max(float(t.abs().max()) for t in ref_after)
    tol = PARAM_RTOL * step + ulp
    ill = sum(int((d[~well] > tol).sum()) for d, well in off[1:])
    total = off[0]
    norm_ref = math.sqrt(sum(float(t.double().pow(2).sum()) for t in ref_after))
    norm_ours = math.sqrt(sum(float(t.double().pow(2).sum()) for t in ours_after))
    equal = diff_well <= tol and ill <= MAX_ILL_FRACTION * total
    row = Row(
        algo, scenario, quantity, norm_ref, norm_ours, diff_well, diff_well / max(step, 1e-30), verdict(equal)
    )
    row.note = (
        f"values: ‖θ‖ after the step; diffs over the {total - ill_total} of {total} elements whose reference "
        f"step is ≥ {WELL_CONDITIONED:g} × the largest ({step:.2e}); rel diff: max|Δ| / that step; of the "
        "other "
        f"{ill_total} (|g| ≲ 1e-7), {ill} differ by more than the tolerance (up to {diff_ill:.2e})"
    )
    return row


# ------------------------------------------------------------------------------------ loading the reference


def _module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, m)
    return m


def _unused(what: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"reference_check stand-in {what} was called; the check should never reach it")

    return fail


class _Placeholder:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


def _path_only(name: str, path: Path) -> types.ModuleType:
    """A package whose submodules load from ``path`` without running its ``__init__.py``."""
    m = _module(name)
    m.__path__ = [str(path)]  # type: ignore[attr-defined]
    return m


REFERENCE_PACKAGES = ("garage", "garagei", "iod", "dowel", "dowel_wrapper", "global_context")


def load_reference(ref_dir: Path, kind: str = "metra") -> types.SimpleNamespace:
    """Import a reference's algorithm, network and optimiser code from its checkout (stubs: see the module
    docstring). ``kind``: "metra" (seohongpark/METRA, ``iod.metra.METRA``) or "csf"
    (Princeton-RL/contrastive-successor-features, also ``iod.metra_sf.MetraSf``)."""
    ref_dir = ref_dir.resolve()
    garage_dir = ref_dir / "garaged" / "src" / "garage"
    algo_file = ref_dir / "iod" / ("metra_sf.py" if kind == "csf" else "metra.py")
    option = "--csf-dir" if kind == "csf" else "--metra-dir"
    repo = {"metra": "seohongpark/METRA", "csf": "Princeton-RL/contrastive-successor-features"}[kind]
    for need in (algo_file, garage_dir / "torch" / "modules", ref_dir / "garagei"):
        if not need.exists():
            raise SystemExit(f"{option} {ref_dir}: {need} not found (a checkout of {repo}?)")
    for name in REFERENCE_PACKAGES:
        if name in sys.modules:
            raise SystemExit(f"module {name!r} already imported: run the reference check in a fresh process")
    _path_only("garage", garage_dir).TrajectoryBatch = _Placeholder  # type: ignore[attr-defined]
    _path_only("garage.np", garage_dir / "np")
    _path_only("garage.np.algos", garage_dir / "np" / "algos")
    _path_only("garagei", ref_dir / "garagei").log_performance_ex = _unused("garagei.log_performance_ex")  # type: ignore[attr-defined]
    if kind == "csf":  # imported by its iod/metra.py for type hints only
        _path_only("garagei.experiment", ref_dir / "garagei" / "experiment")
        _module("garagei.experiment.option_local_runner", OptionLocalRunner=_Placeholder)
    # third-party stand-ins live in sys.modules only while the reference is imported (its modules keep their
    # references); afterwards they are removed so that nothing else in this process ever sees them
    third_party = ["akro", "dowel", "dowel_wrapper"]
    _module("akro", Image=_Placeholder, Box=_Placeholder)
    _module(
        "dowel",
        Histogram=_Placeholder,
        logger=types.SimpleNamespace(log=_unused("dowel.logger.log")),
        tabular=None,
    )
    _module("dowel_wrapper", get_tabular=_unused("dowel_wrapper.get_tabular"))
    for missing, children in (
        ("moviepy", ("editor",)),
        ("sklearn", ("decomposition",)),
        ("matplotlib", ("figure", "patches", "cm", "pyplot")),
    ):
        if importlib.util.find_spec(missing) is None:
            third_party.append(missing)
            _module(missing)
            for child in children:
                third_party.append(f"{missing}.{child}")
                _module(f"{missing}.{child}", Ellipse=_Placeholder, figure=_Placeholder)
    sys.path.append(str(ref_dir))  # appended: the checkout's top-level names never shadow installed ones
    try:
        return _import_reference(ref_dir, garage_dir, kind)
    finally:
        for name in third_party:
            sys.modules.pop(name, None)


def unload_reference(R: types.SimpleNamespace) -> None:
    """Remove a reference's modules from ``sys.modules`` and its checkout from ``sys.path``, so that another
    checkout with the same package names can be imported next. Objects already built (and the functions in
    ``R``) keep working: they hold their modules."""
    for name in list(sys.modules):
        if name.split(".")[0] in REFERENCE_PACKAGES:
            del sys.modules[name]
    while str(R.dir) in sys.path:
        sys.path.remove(str(R.dir))


def _import_reference(ref_dir: Path, garage_dir: Path, kind: str) -> types.SimpleNamespace:
    import garage.torch  # noqa: F401  (the real package __init__: torch only)

    _path_only("garage.torch.policies", garage_dir / "torch" / "policies")
    from garage.torch.distributions import TanhNormal
    from garagei.torch.modules.gaussian_mlp_module_ex import (
        GaussianMLPIndependentStdModuleEx,
        GaussianMLPModuleEx,
        GaussianMLPTwoHeadedModuleEx,
    )
    from garagei.torch.modules.parameter_module import ParameterModule
    from garagei.torch.optimizers.optimizer_group_wrapper import OptimizerGroupWrapper
    from garagei.torch.policies.policy_ex import PolicyEx
    from garagei.torch.q_functions.continuous_mlp_q_function_ex import ContinuousMLPQFunctionEx
    from garagei.torch.utils import xavier_normal_ex
    from iod.metra import METRA
    from iod.utils import get_normalizer_preset

    algo_classes: dict[str, Any] = {"metra": METRA}  # by the command's --algo
    if kind == "csf":
        from iod.cic import CIC
        from iod.metra_sf import MetraSf

        algo_classes.update(metra_sf=MetraSf, cic=CIC)
    else:
        from iod.dads import DADS

        algo_classes.update(dads=DADS)
    return types.SimpleNamespace(
        TanhNormal=TanhNormal,
        GaussianMLPIndependentStdModuleEx=GaussianMLPIndependentStdModuleEx,
        GaussianMLPModuleEx=GaussianMLPModuleEx,
        GaussianMLPTwoHeadedModuleEx=GaussianMLPTwoHeadedModuleEx,
        ParameterModule=ParameterModule,
        OptimizerGroupWrapper=OptimizerGroupWrapper,
        PolicyEx=PolicyEx,
        ContinuousMLPQFunctionEx=ContinuousMLPQFunctionEx,
        xavier_normal_ex=xavier_normal_ex,
        algo_classes=algo_classes,
        get_normalizer_preset=get_normalizer_preset,
        dir=ref_dir,
        kind=kind,
    )


def _add_command_flags(flags: dict[str, str], tokens: list[str]) -> dict[str, str]:
    """``--name v1 v2 ... --other ...`` tokens over ``flags`` (a flag's value: the tokens up to the next flag,
    joined by one space)."""
    i = 0
    while i < len(tokens):
        if tokens[i].startswith("--"):
            values = []
            j = i + 1
            while j < len(tokens) and not tokens[j].startswith("--"):
                values.append(tokens[j])
                j += 1
            flags[tokens[i][2:]] = " ".join(values)
            i = j
        else:
            i += 1
    return flags


def _argparse_defaults(source: str) -> dict[str, str]:
    """``parser.add_argument('--name', ..., default=value, ...)`` -> {name: value} (as written, unquoted)."""
    return {
        k: v.strip().strip("'\"")
        for k, v in re.findall(r"add_argument\('--(\w+)',[^)]*?default=([^,)]+)", source)
    }


def reference_flags(metra_dir: Path, algo: str) -> dict[str, str]:
    """``tests/main.py``'s defaults updated with the README's Ant command for ``algo`` (metra, lsd, dads,
    diayn)."""
    flags = _argparse_defaults((metra_dir / "tests" / "main.py").read_text())
    readme = (metra_dir / "README.md").read_text().splitlines()
    title = f"# {algo.upper()} on state-based Ant"
    command = readme[next(i for i, line in enumerate(readme) if line.startswith(title)) + 1]
    return _add_command_flags(flags, command.split())


CSF_SCRIPT = Path("scripts") / "pretrain" / "csf" / "csf_ant.sh"
CIC_SCRIPT = Path("scripts") / "pretrain" / "cic" / "cic_ant.sh"


def csf_flags(csf_dir: Path, script_path: Path = CSF_SCRIPT) -> dict[str, str]:
    """``run/train.py``'s defaults updated with a shell script's command (``csf_ant.sh``; CIC:
    ``cic_ant.sh``; its shell variables such as ``$option_dim`` substituted, line continuations joined)."""
    flags = _argparse_defaults((csf_dir / "run" / "train.py").read_text())
    script = (csf_dir / script_path).read_text()
    variables = dict(re.findall(r"^(\w+)=(\S+)\s*$", script, flags=re.MULTILINE))
    command = script[script.index("run.train") + len("run.train") :].replace("\\\n", " ")
    command = re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], command)
    return _add_command_flags(flags, command.split())


def reference_commit(metra_dir: Path, given: str | None) -> str:
    if given:
        return given
    try:
        out = subprocess.run(
            ["git", "-C", str(metra_dir), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        if out.returncode == 0:
            return out.stdout.strip()
    except OSError:
        pass
    return "unknown (pass --metra-commit)"


# ---------------------------------------------------------------------------------------------- the batch


@dataclass
class RawBatch:
    """Raw (unnormalised) Ant transitions, float64, and which rows end a 200-step episode."""

    obs: np.ndarray
    next_obs: np.ndarray
    action: np.ndarray
    skill: np.ndarray  # unit length (METRA, LSD, CSF: unit_length 1)
    path_end: np.ndarray
    gauss_skill: np.ndarray  # the same draw before normalising: z ~ N(0, I₂) (DIAYN, DADS: unit_length 0)
    episode: np.ndarray  # the episode of each row


def skill_of(raw: RawBatch, dim: int, unit_length: bool) -> np.ndarray:
    """Each row's skill as the reference's trainer draws it for its episode (``np.random.randn`` per
    trajectory, normalised when ``unit_length``): 2-D ones from the batch's own draws, others (CIC's 64-D)
    from a second generator, one draw per episode."""
    if dim == SKILL_DIM:
        return raw.skill if unit_length else raw.gauss_skill
    z = np.random.default_rng(SEED + dim).standard_normal((EPISODES, dim))
    if unit_length:
        z /= np.linalg.norm(z, axis=-1, keepdims=True)
    return z[raw.episode]


def collect_batch(seed: int = SEED) -> RawBatch:
    """EPISODES × 200 Ant steps with uniformly random actions; BATCH rows with every episode end included."""
    from rlinfo.envs import make

    rng = np.random.default_rng(seed)
    env = make("ant")
    obs_l, next_l, act_l, skill_l, end_l, gauss_l = [], [], [], [], [], []
    try:
        for ep in range(EPISODES):
            obs, _ = env.reset(seed=seed + ep)
            gauss = rng.standard_normal(SKILL_DIM)
            z = gauss / np.linalg.norm(gauss)  # the reference's unit_length skill: randn / ‖randn‖
            for t in range(EPISODE_LEN):
                a = rng.uniform(-1.0, 1.0, env.action_space.shape)
                nxt, _, terminated, truncated, _ = env.step(a)
                obs_l.append(obs)
                next_l.append(nxt)
                act_l.append(a)
                skill_l.append(z)
                gauss_l.append(gauss)
                end_l.append(t == EPISODE_LEN - 1)
                assert not terminated and (truncated == (t == EPISODE_LEN - 1))
                obs = nxt
    finally:
        env.close()
    ends = np.flatnonzero(end_l)
    others = rng.choice(np.setdiff1d(np.arange(len(obs_l)), ends), BATCH - len(ends), replace=False)
    idx = np.sort(np.concatenate([ends, others]))
    pick = lambda xs: np.asarray(xs, dtype=np.float64)[idx]  # noqa: E731
    episode = np.repeat(np.arange(EPISODES), EPISODE_LEN)[idx]
    return RawBatch(
        pick(obs_l), pick(next_l), pick(act_l), pick(skill_l), np.asarray(end_l)[idx], pick(gauss_l), episode
    )


def normalise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """ŝ = (s − μ)/(σ + 1e-8): the reference's ConsistentNormalizedEnv (√var + 1e-8, var = σ²) and rlinfo's
    PresetNormalizeObservation share this formula; applied in float64, stored as float32 by both buffers."""
    return (x - mean) / (np.sqrt(np.asarray(std, dtype=np.float64) ** 2) + 1e-8)


# ------------------------------------------------------------------------------------------ the two sides


@dataclass
class Setup:
    """One scenario: which of the known causes of difference are left in."""

    name: str
    normaliser: bool = True  # reference μ, σ (iod/utils.py ant_preset) vs rlinfo's envs/obs_stats.json
    sn_state: bool = True  # LSD: each side's own power-iteration vectors u, v vs both at the singular vectors
    sn_relabel: bool = True  # LSD: the reference's relabel runs φ in train mode (2 more power iterations)
    tanh_logprob_eps: bool = True  # reference log(1 − tanh²u + 1e-6) vs rlinfo's exact tanh correction
    sd_normaliser: bool = True  # DADS: reference batch-norm vs rlinfo's running mean/std (off: neither)
    prior_draws: bool = True  # DADS: the 100 prior skills' draws laid out differently over the batch
    knn_rms_var: bool = True  # CIC: the kNN scale folds the batch's unbiased (reference) / biased variance


CAUSES = (
    "normaliser", "sn_state", "sn_relabel", "tanh_logprob_eps", "sd_normaliser",
    "prior_draws", "knn_rms_var",
)  # fmt: skip
CAUSE_APPLIES = {
    "metra": ("normaliser", "tanh_logprob_eps"),
    "lsd": ("normaliser", "sn_state", "sn_relabel", "tanh_logprob_eps"),
    "csf": ("normaliser", "tanh_logprob_eps"),
    "diayn": ("normaliser", "tanh_logprob_eps"),
    "dads": ("normaliser", "sd_normaliser", "prior_draws", "tanh_logprob_eps"),
    "cic": ("normaliser", "sn_state", "knn_rms_var", "tanh_logprob_eps"),
}
PRESETS = {"metra": "metra_ant", "lsd": "lsd_ant", "csf": "csf_ant", "diayn": "diayn_ant", "dads": "dads_ant",
           "cic": "cic_ant"}  # fmt: skip
# which checkout runs each algorithm
REFERENCE_OF = {"metra": "metra", "lsd": "metra", "csf": "csf", "diayn": "metra", "dads": "metra",
                "cic": "csf"}  # fmt: skip


def scenarios(algo: str) -> list[Setup]:
    off = {c: False for c in CAUSES}
    out = [Setup("preset"), Setup("aligned", **off)]
    for c in CAUSE_APPLIES[algo]:
        out.append(Setup(f"aligned+{c}", **{**off, c: True}))
    return out


def flags_for(R: types.SimpleNamespace, algo: str) -> dict[str, str]:
    """The reference's flags of ``algo``'s Ant command (METRA/LSD/DIAYN/DADS: README + tests/main.py; CSF,
    CIC: csf_ant.sh, cic_ant.sh + run/train.py)."""
    if REFERENCE_OF[algo] == "csf":
        return csf_flags(R.dir, CIC_SCRIPT if algo == "cic" else CSF_SCRIPT)
    return reference_flags(R.dir, algo)


def gaussian_module(
    R: types.SimpleNamespace,
    hidden_sizes: list[int],
    act: Callable[[Tensor], Tensor],
    input_dim: int,
    output_dim: int,
    sn: bool,
    const_std: bool = False,
    min_std: float = 1e-6,
    max_std: float | None = None,
) -> nn.Module:
    """What both trainers' ``get_gaussian_module_construction`` builds: a
    ``GaussianMLPIndependentStdModuleEx`` (mean and log σ MLPs) or, with ``const_std``, a
    ``GaussianMLPModuleEx`` with σ fixed at 1;
    Xavier-uniform weights, zero biases, σ = exp(·) clamped to [min_std, max_std]."""
    init = torch.nn.init.xavier_uniform_
    kwargs: dict[str, Any] = dict(learn_std=False) if const_std else dict(
        std_hidden_sizes=hidden_sizes, std_hidden_nonlinearity=act, std_hidden_w_init=init,
        std_output_w_init=init,
    )  # fmt: skip
    cls = R.GaussianMLPModuleEx if const_std else R.GaussianMLPIndependentStdModuleEx
    return cls(
        init_std=1.0, min_std=min_std, max_std=max_std,
        hidden_sizes=hidden_sizes, hidden_nonlinearity=act, hidden_w_init=init, output_w_init=init,
        std_parameterization="exp", bias=True, spectral_normalization=sn, input_dim=input_dim,
        output_dim=output_dim, **kwargs,
    )  # fmt: skip


def build_reference(
    R: types.SimpleNamespace, flags: dict[str, str], obs_dim: int, action_dim: int, hidden: int
) -> Any:
    """The reference's networks and algorithm object (by ``--algo``: ``METRA``, ``DADS``; CSF checkout:
    ``MetraSf``, ``CIC``), as its trainer builds them from ``flags`` (``tests/main.py``; CSF:
    ``run/train.py``, the same construction with ψ₁, ψ₂ of ``output_dim = dim_option`` and the contrastive
    options; DADS: the
    skill dynamics; CIC: the prediction network h and the spectrally normalised skill encoder p, trained
    with φ by the ``traj_encoder`` optimiser)."""
    master_dims = [hidden] * int(flags["model_master_num_layers"])
    nonlin_flag = None if flags["model_master_nonlinearity"] == "None" else flags["model_master_nonlinearity"]
    nonlinearity = {None: None, "relu": torch.relu, "tanh": torch.tanh}[nonlin_flag]
    dim_option = int(flags["dim_option"])
    sn = bool(int(flags["spectral_normalization"]))
    algo_name = flags.get("algo", "metra")
    csf = algo_name == "metra_sf"
    policy_kwargs: dict[str, Any] = dict(hidden_sizes=master_dims, layer_normalization=False)
    if nonlinearity is not None:  # unset: GaussianMLPTwoHeadedModule's default hidden_nonlinearity, tanh
        policy_kwargs.update(hidden_nonlinearity=nonlinearity)
    policy_kwargs.update(
        max_std=np.exp(2.0),
        normal_distribution_cls=R.TanhNormal,
        output_w_init=functools.partial(R.xavier_normal_ex, gain=1.0),
        init_std=1.0,
    )
    policy_module = R.GaussianMLPTwoHeadedModuleEx(
        input_dim=obs_dim + dim_option, output_dim=action_dim, **policy_kwargs
    )
    option_policy = R.PolicyEx(
        name="option_policy", module=policy_module, option_info={"dim_option": dim_option}
    )
    act = nonlinearity or torch.relu
    traj_encoder = gaussian_module(R, master_dims, act, obs_dim, dim_option, sn)
    dual_lam = R.ParameterModule(torch.Tensor([np.log(float(flags["dual_lam"]))]))
    extra_nets: dict[str, Any] = {}
    if algo_name == "dads":  # tests/main.py: GaussianMLPModuleEx (--sd_const_std 1), σ clamped to [0.3, 10]
        extra_nets["skill_dynamics"] = gaussian_module(
            R, master_dims, act, obs_dim + dim_option, obs_dim, sn, bool(int(flags["sd_const_std"])),
            0.3, 10.0,
        )  # fmt: skip
    if algo_name == "cic":  # run/train.py: pred_net h on [φ(s), φ(s′)], z_encoder p always with SN
        extra_nets["pred_net"] = gaussian_module(R, master_dims, act, 2 * dim_option, dim_option, sn)
        extra_nets["z_encoder"] = gaussian_module(R, master_dims, act, dim_option, dim_option, True)
    q_out = {"output_dim": dim_option} if csf else {}  # CSF: the successor features ψ(s, a, z) ∈ R^D
    qf1, qf2 = (
        R.ContinuousMLPQFunctionEx(
            obs_dim=obs_dim + dim_option,
            action_dim=action_dim,
            hidden_sizes=master_dims,
            hidden_nonlinearity=act,
            **q_out,
        )
        for _ in range(2)
    )
    log_alpha = R.ParameterModule(torch.Tensor([np.log(float(flags["alpha"]))]))
    lr = float(flags["common_lr"])  # every *_lr flag is None in these commands: the common lr
    te_nets = [traj_encoder] + [extra_nets[k] for k in ("z_encoder", "pred_net") if k in extra_nets]
    te_params = [p for m in te_nets for p in m.parameters()]  # CIC: φ, p and h in one Adam
    optimizers = {
        "option_policy": torch.optim.Adam([{"params": option_policy.parameters(), "lr": lr}]),
        "traj_encoder": torch.optim.Adam([{"params": te_params, "lr": lr}]),
        "dual_lam": torch.optim.Adam([{"params": dual_lam.parameters(), "lr": lr}]),
        "qf": torch.optim.Adam([{"params": list(qf1.parameters()) + list(qf2.parameters()), "lr": lr}]),
        "log_alpha": torch.optim.Adam([{"params": log_alpha.parameters(), "lr": lr}]),
    }
    if "skill_dynamics" in extra_nets:
        optimizers["skill_dynamics"] = torch.optim.Adam(
            [{"params": extra_nets["skill_dynamics"].parameters(), "lr": lr}]
        )
    low, high = -np.ones(action_dim, dtype=np.float32), np.ones(action_dim, dtype=np.float32)
    env_spec = types.SimpleNamespace(
        action_space=types.SimpleNamespace(shape=(action_dim,), low=low, high=high)
    )
    kwargs: dict[str, Any] = dict(
        env_name="ant",
        algo=algo_name,
        env_spec=env_spec,
        option_policy=option_policy,
        traj_encoder=traj_encoder,
        skill_dynamics=extra_nets.get("skill_dynamics"),
        dist_predictor=None,
        dual_lam=dual_lam,
        optimizer=R.OptimizerGroupWrapper(optimizers=optimizers, max_optimization_epochs=None),
        alpha=float(flags["alpha"]),
        max_path_length=int(flags["max_path_length"]),
        n_epochs_per_eval=1000,
        n_epochs_per_log=100,
        n_epochs_per_tb=100,
        n_epochs_per_save=10000,
        n_epochs_per_pt_save=1000,
        n_epochs_per_pkl_update=1000,
        dim_option=dim_option,
        num_random_trajectories=48,
        num_video_repeats=2,
        eval_record_video=0,
        video_skip_frames=1,
        eval_plot_axis=None,
        name="METRA",
        device=torch.device("cpu"),
        sample_cpu=1,
        num_train_per_epoch=1,
        sd_batch_norm=int(flags["sd_batch_norm"]),
        skill_dynamics_obs_dim=obs_dim,
        trans_minibatch_size=BATCH,
        trans_optimization_epochs=1,
        discount=float(flags["sac_discount"]),
        discrete=int(flags["discrete"]),
        unit_length=int(flags["unit_length"]),
        qf1=qf1,
        qf2=qf2,
        log_alpha=log_alpha,
        tau=float(flags["sac_tau"]),
        scale_reward=float(flags["sac_scale_reward"]),
        target_coef=float(flags["sac_target_coef"]),
        replay_buffer=None,
        min_buffer_size=int(flags["sac_min_buffer_size"]),
        inner=int(flags["inner"]),
        dual_reg=int(flags["dual_reg"]),
        dual_slack=float(flags["dual_slack"]),
        dual_dist=flags["dual_dist"],
        pixel_shape=None,
    )
    if csf:  # run/train.py's metra_sf branch: the options that matter for Ant (the others at their defaults)
        kwargs.update(
            log_sum_exp=bool(int(flags["log_sum_exp"])),
            sample_new_z=bool(int(flags["sample_new_z"])),
            num_negative_z=int(flags["num_negative_z"]),
            infonce_lam=float(flags["infonce_lam"]),
            turn_off_dones=bool(int(flags["turn_off_dones"])),
            self_normalizing=bool(int(flags["self_normalizing"])),
            no_diff_in_rep=bool(int(flags["no_diff_in_rep"])),
            add_log_sum_exp_to_rewards=bool(int(flags["add_log_sum_exp_to_rewards"])),
            add_penalty_to_rewards=bool(int(flags["add_penalty_to_rewards"])),
            metra_mlp_rep=bool(int(flags["metra_mlp_rep"])),
        )
    else:
        kwargs.update(num_alt_samples=int(flags["num_alt_samples"]), split_group=int(flags["split_group"]))
    if algo_name == "cic":  # run/train.py's cic branch: CIC over CSF's LSD class
        kwargs.update(
            pred_net=extra_nets["pred_net"],
            z_encoder=extra_nets["z_encoder"],
            cic_temp=float(flags["cic_temp"]),
            cic_alpha=float(flags["cic_alpha"]),
            knn_k=int(flags["apt_knn_k"]),
            rms=int(flags["apt_rms"]),
            alive_reward=None if flags["alive_reward"] == "None" else float(flags["alive_reward"]),
            dual_dist_scaling=flags["dual_dist_scaling"],
            const_scaler=float(flags["const_scaler"]),
            aug=int(flags["aug"]),
            joint_train=int(flags["joint_train"]),
            goal_range=float(flags["goal_range"]),
            **{k: int(flags[k]) for k in ("wdm", "wdm_cpc", "wdm_idz", "wdm_ids", "wdm_diff")},
        )
    algo = R.algo_classes[algo_name](**kwargs)
    algo.option_policy.train()  # IOD.train: policies and the trajectory encoder in train mode while training
    algo.traj_encoder.train()
    return algo


class FixedBatchBuffer:
    """Stand-in for PathBufferEx: ``sample_transitions`` returns the fixed batch (arrays [B, k])."""

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        self.data = data
        self.n_transitions_stored = 10**9

    def sample_transitions(self, batch_size: int) -> dict[str, np.ndarray]:
        assert batch_size == len(self.data["obs"])
        return {k: v.copy() for k, v in self.data.items()}


def build_rlinfo(preset: str, hidden: int = 1024, extra: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """(parts, learner) of the preset, with the overrides of the module docstring (and ``hidden`` units when
    it is not the presets' 1024: ``agent.hidden_dim``, ``reward.params.hidden_dim``; ``extra``: a scenario's
    own, e.g. DADS's ``reward.params.normalize=false``)."""
    from rlinfo.config import load_config
    from rlinfo.run.build import build
    from rlinfo.run.offpolicy import OffPolicy

    overrides = [
        "device=cpu",
        "env.num_envs=1",
        "train.buffer_size=1000",
        "train.learning_starts=100",
        "train.threads=1",
    ]
    if hidden != 1024:
        overrides += [f"agent.hidden_dim={hidden}", f"reward.params.hidden_dim={hidden}"]
    cfg = load_config(preset, [*overrides, *extra])
    parts = build(cfg)
    torch.set_num_threads(1)
    return parts, OffPolicy(parts)


# ----------------------------------------------------------------------------------- weight correspondence


def _linears(seq: nn.Module) -> list[nn.Module]:
    return [m for m in seq if isinstance(m, nn.Linear) or type(m).__name__ == "EnsembleLinear"]


def ref_mlp_linears(m: nn.Module) -> list[nn.Linear]:
    """The nn.Linear layers of a garage MultiHeadedMLPModule: hidden layers, then each head."""
    return [layer.linear for layer in m._layers] + [head.linear for head in m._output_layers]


def ref_weight(linear: nn.Linear) -> Tensor:
    return linear.weight_orig if hasattr(linear, "weight_orig") else linear.weight


def rl_weight(linear: nn.Module) -> Tensor:
    if hasattr(linear, "parametrizations"):
        return linear.parametrizations.weight.original
    return linear.weight


def reward_nets(ref: Any, module: Any, algo: str) -> list[tuple[str, list[nn.Linear], list[nn.Module], int]]:
    """The reward side's networks as (group name, the reference's Linear layers, rlinfo's, the first row of
    rlinfo's output layer that the reference has): the reference's Gaussian modules contribute their mean MLP
    (DIAYN also its log σ MLP); rlinfo's DADS output row 0 is the mixture logit of its one component (its
    gradient is exactly 0: log_softmax of one logit), rows 1.. the means."""
    te = ref.traj_encoder
    if algo == "diayn":
        return [
            ("q mean μ(s′)", ref_mlp_linears(te._mean_module), _linears(module.discriminator), 0),
            ("q log σ(s′)", ref_mlp_linears(te._log_std_module), _linears(module.log_std_net), 0),
        ]
    if algo == "dads":
        sd = ref_mlp_linears(ref.skill_dynamics._mean_module)
        return [("skill dynamics", sd, _linears(module.dynamics), 1)]
    if algo == "cic":
        return [
            ("φ (state net g)", ref_mlp_linears(te._mean_module), _linears(module.state_net), 0),
            ("h (pred net)", ref_mlp_linears(ref.pred_net._mean_module), _linears(module.pred_net), 0),
            ("p (skill net)", ref_mlp_linears(ref.z_encoder._mean_module), _linears(module.skill_net), 0),
        ]
    return [("φ", ref_mlp_linears(te._mean_module), _linears(module.phi_net), 0)]


def param_groups(
    ref: Any,
    agent: Any,
    module: Any,
    algo: str,
    f_ref: Callable[[Tensor], Tensor | None] = lambda p: p,
    f_rl: Callable[[Tensor], Tensor | None] = lambda p: p,
    targets: bool = True,
) -> dict[str, tuple[list[Tensor], list[Tensor]]]:
    """name -> (reference tensors, rlinfo tensors) in the reference's layout, for copying and comparing.

    ``f_ref``/``f_rl`` map each parameter first (identity: the parameters; Adam's state: what the optimiser
    saw); rlinfo's ensemble members, transposed weights and actor-head halves are views of what they
    return."""
    groups: dict[str, tuple[list[Tensor], list[Tensor]]] = {}
    for name, ref_ls, rl_ls, row in reward_nets(ref, module, algo):
        rows = [slice(None)] * (len(rl_ls) - 1) + [slice(row, None)]  # the output layer's rows
        groups[name] = (
            [f_ref(t) for l in ref_ls for t in (ref_weight(l), l.bias)],
            [f_rl(t)[r] for l, r in zip(rl_ls, rows, strict=True) for t in (rl_weight(l), l.bias)],
        )
    if algo == "metra":
        groups["log λ"] = ([f_ref(ref.dual_lam.param)], [f_rl(module.log_lambda).reshape(1)])
    critic = "critic ψ" if algo == "csf" else "critic"  # CSF: the successor features ψ₁, ψ₂
    nets = [(critic, (ref.qf1, ref.qf2), agent.critic)]
    if targets:
        nets.append((f"target {critic}", (ref.target_qf1, ref.target_qf2), agent.critic_target))
    for name, ref_qfs, rl_net in nets:
        ref_t, rl_t = [], []
        for e, qf in enumerate(ref_qfs):
            for ref_l, rl_l in zip(ref_mlp_linears(qf), _linears(rl_net), strict=True):
                ref_t += [f_ref(ref_l.weight), f_ref(ref_l.bias)]
                rl_t += [f_rl(rl_l.weight)[e].T, f_rl(rl_l.bias)[e, 0]]
        groups[name] = (ref_t, rl_t)
    ref_pi = ref_mlp_linears(
        ref.option_policy._module._shared_mean_log_std_network
    )  # l1, l2, mean head, log σ head
    rl_pi = _linears(agent.actor.net)
    a = agent.actor.net[-1].out_features // 2
    w2, b2 = f_rl(rl_pi[2].weight), f_rl(rl_pi[2].bias)
    groups["policy"] = (
        [f_ref(t) for l in ref_pi for t in (l.weight, l.bias)],
        [
            f_rl(rl_pi[0].weight),
            f_rl(rl_pi[0].bias),
            f_rl(rl_pi[1].weight),
            f_rl(rl_pi[1].bias),
            w2[:a],
            b2[:a],
            w2[a:],
            b2[a:],
        ],
    )
    groups["log α"] = ([f_ref(ref.log_alpha.param)], [f_rl(agent.log_alpha).reshape(1)])
    return groups


def adam_first_moment(optimizers: Any) -> Callable[[Tensor], Tensor]:
    """p -> Adam's exp_avg of p after the one step: (1 − β₁)·∇p, the gradient the optimiser stepped on."""
    states = {}
    for opt in optimizers:
        for group in opt.param_groups:
            for q in group["params"]:
                if q in opt.state:
                    states[q] = opt.state[q]["exp_avg"] / (1.0 - group["betas"][0])
    return lambda p: states[p]


def copy_reference_into_rlinfo(groups: dict[str, tuple[list[Tensor], list[Tensor]]]) -> None:
    with torch.no_grad():
        for name, (ref_t, rl_t) in groups.items():
            for r, o in zip(ref_t, rl_t, strict=True):
                if r.shape != o.shape:
                    raise ValueError(f"{name}: shape {tuple(r.shape)} vs {tuple(o.shape)}")
                o.copy_(r)  # views of rlinfo's parameters (ensemble slices, head halves) write through


def scale_phi_to_the_constraint(ref: Any, obs: Tensor, next_obs: Tensor) -> None:
    """METRA: scale φ's output weights so the batch's root-mean-square ‖Δφ‖ is 1, where the constraint binds
    as it does in training. At initialisation ‖Δφ‖ ≪ 1, so min(ε, 1 − c) = ε for every transition whatever c
    is, and the loss could not tell Σ_d from mean_d. Both sides get the scaled weights (scaled before the
    copy)."""
    head = ref.traj_encoder._mean_module._output_layers[0].linear
    with torch.no_grad():
        mean_module = ref.traj_encoder._mean_module
        delta = mean_module(next_obs) - mean_module(obs)
        head.weight.mul_(1.0 / float(delta.pow(2).sum(-1).mean().sqrt()))


SPECTRAL_NETS = {"lsd": "φ", "cic": "p (skill net)"}  # the spectrally normalised group of each algorithm


def set_power_iteration_state(ref: Any, module: Any, algo: str, aligned: bool, gen: torch.Generator) -> None:
    """LSD's φ, CIC's skill net p: u, v of every spectrally normalised layer. Aligned: the top singular pair
    of the shared W on both sides (a fixed point of either power iteration). Otherwise the reference keeps its
    random unit u, v (``SpectralNorm.apply``) and rlinfo gets what its constructor leaves: 15 iterations from
    random u, v."""
    _, ref_ls, rl_ls, _ = next(n for n in reward_nets(ref, module, algo) if n[0] == SPECTRAL_NETS[algo])
    for ref_l, rl_l in zip(ref_ls, rl_ls, strict=True):
        sn = rl_l.parametrizations.weight[0]
        w = rl_l.parametrizations.weight.original.detach()
        with torch.no_grad():
            if aligned:
                u, _, vh = torch.linalg.svd(w.double(), full_matrices=False)
                u1, v1 = u[:, 0], vh[0]
                sign = 1.0 if float(u1.sum()) >= 0 else -1.0
                for dst_u, dst_v in ((ref_l.weight_u, ref_l.weight_v), (sn._u, sn._v)):
                    dst_u.copy_((sign * u1).float())
                    dst_v.copy_((sign * v1).float())
            else:
                sn._u.copy_(
                    nn.functional.normalize(torch.randn(sn._u.shape, generator=gen), dim=0, eps=sn.eps)
                )
                sn._v.copy_(
                    nn.functional.normalize(torch.randn(sn._v.shape, generator=gen), dim=0, eps=sn.eps)
                )
                sn._power_method(w, 15)


class ReferenceLayoutDraws:
    """Aligned DADS only: rlinfo's skill space, except that its draw of B·L prior skills is the reference's
    ``torch.normal(zeros, ones)`` of shape [L·B, D] (row i·B + b: alternative i of transition b, the layout
    of its ``torch.cat([obs] * L)``) reordered to rlinfo's [B, L] layout (row b·L + i). Both draws consume
    the global torch RNG at the same point of the update, so both sides then score the same 100 skills per
    transition. Every other attribute is the wrapped space's."""

    def __init__(self, space: Any, num: int) -> None:
        self.space, self.num = space, num

    def __getattr__(self, name: str) -> Any:
        return getattr(self.space, name)

    def sample(self, count: int, generator: torch.Generator | None = None) -> Tensor:
        assert generator is None and count % self.num == 0, (count, self.num)
        shape = (count, self.space.dim)
        z = torch.normal(mean=torch.zeros(shape), std=torch.ones(shape))
        return z.view(self.num, count // self.num, -1).transpose(0, 1).reshape(shape)


def fold_unbiased_variance(rms: Any) -> None:
    """Aligned CIC only: rlinfo's kNN ``RunningMeanStd`` folds each batch's unbiased variance (``torch.var``,
    what the reference's ``iod.utils.RMS`` folds) instead of its biased one; rlinfo's own ``fold_moments``
    does the update (an instance attribute, set for this run only)."""
    from rlinfo.running_stats import fold_moments

    def update(x: Tensor) -> None:
        x = x.detach().to(rms.mean.dtype).reshape(-1, *rms.mean.shape)
        fold_moments(rms.mean, rms.var, rms.count, x.mean(0), x.var(0, unbiased=True), x.shape[0])

    rms.update = update


@contextlib.contextmanager
def exact_tanh_log_prob(R: types.SimpleNamespace, on: bool) -> Iterator[None]:
    """Aligned scenarios only: the reference's ``TanhNormal.log_prob`` (called with the pre-tanh sample u, as
    ``sac_utils`` always calls it) computed with the exact correction log(1 − tanh²u) = 2(log 2 − u −
    softplus(−2u)) instead of log(clip(1 − tanh²u) + 1e-6). The reference has no option for this, so this
    diagnostic replaces the method while the aligned reference runs and restores it afterwards."""
    if not on:
        yield
        return
    original = R.TanhNormal.log_prob

    def log_prob(
        self: Any, value: Tensor, pre_tanh_value: Tensor | None = None, epsilon: float = 1e-6
    ) -> Tensor:
        assert pre_tanh_value is not None, "sac_utils always passes the pre-tanh value"
        u = pre_tanh_value
        return self._normal.log_prob(u) - (2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))).sum(
            -1
        )

    R.TanhNormal.log_prob = log_prob
    try:
        yield
    finally:
        R.TanhNormal.log_prob = original


# ------------------------------------------------------------------------------------------------ one run


@dataclass
class Side:
    """What one side computed in its one update: per-sample tensors and scalars, by quantity name."""

    values: dict[str, Tensor | float] = field(default_factory=dict)


SAC_LABELS = {
    "critic_target": "critic target (mean)",
    "critic_loss": "critic loss (qf1 + qf2)",
    "log_pi": "policy log π (mean)",
    "policy_loss": "policy loss",
    "alpha_loss": "α loss",
}
# the algorithms that update a reward network then SAC (``run_reference`` / ``run_rlinfo``): what each
# quantity is called in the report, by the key those functions record it under
LABELS = {
    "wdm": {
        "reward_in_loss": "reward r = Δφᵀz in φ's loss",
        "loss": "φ loss (te loss)",
        "lambda_loss": "λ loss",
        "reward": "relabelled reward (after the φ step)",
        **SAC_LABELS,
    },
    "diayn": {
        "reward_in_loss": "reward r = log q(z|s′) in q's loss",
        "loss": "q loss −mean log q(z|s′) (te loss)",
        "reward": "relabelled reward (after the q step)",
        **SAC_LABELS,
    },
    "dads": {
        "loss": "skill-dynamics loss −mean log q(Δ|s, z)",
        "reward": "reward with 100 prior skills (after the q step)",
        **SAC_LABELS,
    },
    "cic": {
        "loss": "CPC loss (te loss)",
        "reward": "kNN reward (after the φ step)",
        **SAC_LABELS,
    },
}
FAMILY = {"metra": "wdm", "lsd": "wdm", "csf": "csf", "diayn": "diayn", "dads": "dads", "cic": "cic"}
# the compared quantities in report order; a Tensor value is compared per sample, a float as a scalar
QUANTITIES = {
    **{family: tuple(labels.values()) for family, labels in LABELS.items()},
    "csf": (
        "positive term Δφᵀz in φ's loss",
        "log-sum-exp term log Σ_z′ exp(Δφᵀz′)",
        "φ loss (te loss)",
        "cumulant Δφ (after the φ step)",
        "ψ TD target (mean over batch and D)",
        "ψ loss (qf1 + qf2)",
        "policy log π (per sample)",
        "policy loss",
        "α loss",
    ),
}


def _scalars(tensors: dict[str, Any]) -> dict[str, Any]:
    """The reference's train_store with its one-element tensors as floats."""
    return {
        k: float(v.detach().reshape(-1)[0]) if torch.is_tensor(v) and v.numel() == 1 else v
        for k, v in tensors.items()
    }


def run_reference(
    algo_obj: Any,
    data: dict[str, np.ndarray],
    seed: int,
    algo: str = "metra",
    relabel_in_eval: bool = False,
) -> Side:
    """METRA/LSD/DIAYN/DADS/CIC: one ``_train_components`` step (METRA, LSD, DIAYN: φ (q) step, the reward
    recorded in its loss, λ step, relabel; DADS: skill-dynamics step, reward; CIC: CPC step, kNN reward;
    then SAC). Diagnostics of the aligned scenarios, the reference has no option for them:
    ``relabel_in_eval`` (LSD): the relabel runs φ in eval mode (no power iteration), as rlinfo's relabel
    does."""
    calls: list[Tensor] = []
    original = algo_obj._update_rewards

    def recording(tensors: dict[str, Any], v: dict[str, Any]) -> None:
        relabel = len(calls) == 1
        if relabel and relabel_in_eval:
            algo_obj.traj_encoder.eval()
        try:
            original(tensors, v)
        finally:
            algo_obj.traj_encoder.train()
        calls.append(v["rewards"].detach().clone())

    algo_obj._update_rewards = recording  # instance attribute: records each call, changes nothing
    algo_obj.replay_buffer = FixedBatchBuffer(data)
    torch.manual_seed(seed)
    t = _scalars(algo_obj._train_components({}))  # the reference's loop body, one optimisation epoch
    in_loss = FAMILY[algo] in ("wdm", "diayn")  # METRA's _update_loss_te computes the reward first
    assert len(calls) == 1 + in_loss, f"expected {'the reward in its loss, then ' * in_loss}the relabel"
    values: dict[str, Tensor | float] = {
        "loss": t["LossSd" if algo == "dads" else "LossTe"],
        "reward": calls[-1],
        "critic_target": t["QTargetsMean"],
        "critic_loss": t["LossQf1"] + t["LossQf2"],
        "log_pi": t["SacpNewActionLogProbMean"],
        "policy_loss": t["LossSacp"],
        "alpha_loss": t["LossAlpha"],
    }
    if in_loss:
        values["reward_in_loss"] = calls[0]
    if "LossDualLam" in t:
        values["lambda_loss"] = t["LossDualLam"]
    return labelled(algo, values)


def labelled(algo: str, values: dict[str, Tensor | float]) -> Side:
    """A side's values under the report's names (``LABELS``)."""
    return Side({LABELS[FAMILY[algo]][k]: v for k, v in values.items()})


def run_reference_csf(algo_obj: Any, data: dict[str, np.ndarray], seed: int) -> Side:
    """CSF: one ``MetraSf._train_components`` step (φ step with the contrastive loss, ψ step and Polyak,
    policy, α). Recorded without changing anything: ``_update_rewards``' per-sample positive term and
    log-sum-exp (an instance-attribute wrapper), φ's outputs (a forward hook on the mean network: the φ loss's
    φ(s), φ(s′), then ``_update_loss_sf_td``'s, whose difference is ψ's cumulant) and the policy's log π
    (``_optimize_op`` leaves it in the mini-batch)."""
    calls: list[tuple[Tensor, Tensor]] = []
    original_rewards = algo_obj._update_rewards

    def recording(tensors: dict[str, Any], v: dict[str, Any]) -> None:
        original_rewards(tensors, v)
        calls.append((v["rewards"].detach().clone(), v["log_sum_exp"].detach().clone()))

    log_probs: list[Tensor] = []
    original_op = algo_obj._optimize_op

    def optimize_op(tensors: dict[str, Any], v: dict[str, Any]) -> None:
        original_op(tensors, v)
        log_probs.append(v["new_action_log_probs"].detach().clone())

    phi_out: list[Tensor] = []
    handle = algo_obj.traj_encoder._mean_module.register_forward_hook(
        lambda m, i, o: phi_out.append(o.detach().clone())
    )
    algo_obj._update_rewards, algo_obj._optimize_op = recording, optimize_op
    algo_obj.replay_buffer = FixedBatchBuffer(data)
    torch.manual_seed(seed)
    try:
        t = _scalars(algo_obj._train_components({}))
    finally:
        handle.remove()
    assert len(calls) == 1 and len(phi_out) == 4 and len(log_probs) == 1, (len(calls), len(phi_out))
    return Side(
        {
            "positive term Δφᵀz in φ's loss": calls[0][0],
            "log-sum-exp term log Σ_z′ exp(Δφᵀz′)": calls[0][1],
            "φ loss (te loss)": t["LossTe"],
            "cumulant Δφ (after the φ step)": phi_out[3] - phi_out[2],  # next_repr − cur_repr
            "ψ TD target (mean over batch and D)": t["QfTargetsMean"],
            "ψ loss (qf1 + qf2)": t["LossQf1"] + t["LossQf2"],
            "policy log π (per sample)": log_probs[0],
            "policy loss": t["LossOp"],
            "α loss": t["LossAlpha"],
        }
    )


def _record_samples(agent: Any, rec: dict[str, Any]) -> None:
    """Record the log π of each ``agent.actor.sample`` call in ``rec["sample"]`` (an instance attribute)."""
    orig_sample = agent.actor.sample

    def sample(obs: Tensor, generator: Any = None) -> tuple[Tensor, Tensor]:
        out = orig_sample(obs, generator)
        rec["sample"].append(out[1].detach().clone())
        return out

    agent.actor.sample = sample


def run_rlinfo(learner: Any, batch: Any, seed: int, algo: str = "metra") -> Side:
    """METRA/LSD/DIAYN/DADS/CIC: one ``learn_batch``; the reward in φ's (DIAYN: q's) loss, the relabelled
    reward and the SAC target are recorded by instance-attribute wrappers and a forward hook that change
    nothing."""
    module, agent = learner.reward_module, learner.agent
    rec: dict[str, Any] = {"sample": []}
    if algo == "diayn":  # the first log q(z|s′) is the update's; DIAYN's reward is log q (− log p(z) = 0)
        orig_log_q = module.log_q

        def log_q(b: Any) -> tuple[Tensor, Tensor]:
            out = orig_log_q(b)
            rec.setdefault("reward_in_loss", out[1].detach().clone() - module.log_p_z)
            return out

        module.log_q = log_q
    elif algo in ("dads", "cic"):
        pass  # no reward inside the module's loss
    elif hasattr(module, "losses"):  # METRA
        orig_losses = module.losses

        def losses(b: Any) -> dict[str, Tensor]:
            out = orig_losses(b)
            rec["reward_in_loss"] = out["reward"].detach().clone()
            return out

        module.losses = losses
    else:  # LSD
        orig_terms = module._loss_terms

        def terms(b: Any) -> tuple[Tensor, Tensor, Tensor]:
            out = orig_terms(b)
            rec["reward_in_loss"] = out[1].detach().clone()
            return out

        module._loss_terms = terms
    orig_update = agent.update

    def update(
        obs: Tensor, action: Tensor, reward: Tensor, next_obs: Tensor, terminated: Tensor, **kw: Any
    ) -> Any:
        rec["reward"], rec["terminated"], rec["alpha"] = (
            reward.detach().clone(),
            terminated.clone(),
            agent.alpha,
        )
        return orig_update(obs, action, reward, next_obs, terminated, **kw)

    agent.update = update
    _record_samples(agent, rec)
    handle = agent.critic_target.register_forward_hook(
        lambda m, i, o: rec.setdefault("next_q", o.detach().clone())
    )
    torch.manual_seed(seed)
    try:
        stats = learner.learn_batch(batch, update_reward=True)  # rlinfo's update: module, relabel, agent
    finally:
        handle.remove()
    prefix = module.name
    next_q = rec["next_q"].squeeze(-1).min(dim=0).values
    not_done = (~rec["terminated"]).float()
    target = rec["reward"] + agent.gamma * not_done * (next_q - rec["alpha"] * rec["sample"][0])
    values: dict[str, Tensor | float] = {
        "loss": float(stats[f"{prefix}/loss_phi" if FAMILY[algo] == "wdm" else f"{prefix}/loss"]),
        "reward": rec["reward"],
        "critic_target": float(target.mean()),
        "critic_loss": float(stats["agent/critic"]),
        "log_pi": -float(stats["agent/entropy"]),
        "policy_loss": float(stats["agent/actor"]),
        "alpha_loss": float(stats["agent/alpha_loss"]),
    }
    if "reward_in_loss" in rec:
        values["reward_in_loss"] = rec["reward_in_loss"]
    if f"{prefix}/loss_lambda" in stats:
        values["lambda_loss"] = float(stats[f"{prefix}/loss_lambda"])
    return labelled(algo, values)


def run_rlinfo_csf(learner: Any, batch: Any, seed: int) -> Side:
    """CSF: one ``learn_batch`` (φ step, the cumulant with the new φ, ``SuccessorFeatureSAC.update``); the
    loss terms, the cumulant the agent receives, its TD target and the policy's log π are recorded by
    instance-attribute wrappers that change nothing."""
    module, agent = learner.reward_module, learner.agent
    rec: dict[str, Any] = {"sample": []}
    orig_losses, orig_update, orig_target = module.losses, agent.update, agent.target

    def losses(b: Any, z_neg: Tensor | None = None) -> dict[str, Tensor]:
        out = orig_losses(b, z_neg)
        rec["reward"], rec["lse"] = out["reward"].detach().clone(), out["logsumexp"].detach().clone()
        return out

    def update(obs: Tensor, action: Tensor, reward: Tensor, *args: Any, **kw: Any) -> Any:
        rec["cumulant"] = reward.detach().clone()
        return orig_update(obs, action, reward, *args, **kw)

    def target(*args: Any, **kw: Any) -> Tensor:
        out = orig_target(*args, **kw)
        rec["target"] = out.detach().clone()
        return out

    module.losses, agent.update, agent.target = losses, update, target
    _record_samples(agent, rec)
    torch.manual_seed(seed)
    stats = learner.learn_batch(batch, update_reward=True)
    assert len(rec["sample"]) == 2, "expected a′ ~ π(·|s′) for the target, then ã ~ π(·|s) for the actor"
    return Side(
        {
            "positive term Δφᵀz in φ's loss": rec["reward"],
            "log-sum-exp term log Σ_z′ exp(Δφᵀz′)": rec["lse"],
            "φ loss (te loss)": float(stats["csf/loss_phi"]),
            "cumulant Δφ (after the φ step)": rec["cumulant"],
            "ψ TD target (mean over batch and D)": float(rec["target"].mean()),
            "ψ loss (qf1 + qf2)": float(stats["agent/critic"]),
            "policy log π (per sample)": rec["sample"][1],
            "policy loss": float(stats["agent/actor"]),
            "α loss": float(stats["agent/alpha_loss"]),
        }
    )


INIT_RTOL = (
    0.05  # initial weights: per-layer std of rlinfo's draw within max(5%, 5 standard errors of a sample
)
# std, 5/√(2n) for n weights) of the reference's; a missing or extra scale factor shows as a large ratio


def init_rows(algo: str, groups: dict[str, tuple[list[Tensor], list[Tensor]]]) -> list[Row]:
    """Each side's own initial weights, before the copy: per layer the std of the weights (the scale the
    initialiser draws at) and whether the biases are zero. Critics: both members' layers in order."""
    names = {"policy": ("hidden 1", "hidden 2", "mean head", "log σ head")}
    rows = []
    for group, (ref_t, rl_t) in groups.items():
        if group.startswith(("target", "log")):
            continue
        pairs = len(ref_t) // 2
        for k in range(pairs):
            w_ref, b_ref, w_rl, b_rl = ref_t[2 * k], ref_t[2 * k + 1], rl_t[2 * k], rl_t[2 * k + 1]
            if group in names and pairs == len(names[group]):
                layer = names[group][k]
            elif not group.startswith("critic"):  # φ and the other reward networks
                layer = ("hidden 1", "hidden 2", "output")[k]
            else:  # critics: members one after the other
                per = pairs // 2
                layer = f"member {k // per + 1} layer {k % per + 1}"
            s_ref, s_rl = float(w_ref.detach().double().std()), float(w_rl.detach().double().std())
            zero_ref, zero_rl = bool((b_ref == 0).all()), bool((b_rl == 0).all())
            tol = max(INIT_RTOL, 5.0 / math.sqrt(2.0 * w_ref.numel()))
            same = abs(s_rl / s_ref - 1.0) <= tol and zero_ref == zero_rl
            row = Row(
                algo,
                "initialisation",
                f"{group} {layer}: weight std",
                s_ref,
                s_rl,
                abs(s_rl - s_ref),
                s_rl / s_ref - 1.0,
                f"same scale (std within {tol:.0%})" if same else "differs",
            )
            row.note = (
                f"{tuple(w_ref.shape)} weights; biases zero: reference {zero_ref}, rlinfo {zero_rl}; "
                "rel diff: std ratio − 1"
            )
            rows.append(row)
    return rows


def check(R: types.SimpleNamespace, algo: str, setup: Setup, raw: RawBatch, hidden: int) -> list[Row]:
    """Build both sides for ``setup``, run one update on each, compare."""
    from rlinfo.envs.normalize import preset_stats
    from rlinfo.types import Batch

    flags = flags_for(R, algo)
    rl_extra: tuple[str, ...] = ()
    if algo == "dads" and not setup.sd_normaliser:  # both sides' own option: no normalisation of s, Δ
        flags["sd_batch_norm"], rl_extra = "0", ("reward.params.normalize=false",)
    rl_stats = preset_stats("ant")
    rl_mean, rl_std = np.asarray(rl_stats["mean"]), np.asarray(rl_stats["std"])
    ref_mean, ref_std = R.get_normalizer_preset("ant_preset")
    torch.manual_seed(SEED)
    parts, learner = build_rlinfo(PRESETS[algo], hidden, rl_extra)
    try:
        obs_dim, action_dim = parts.obs_dim, parts.action_dim
        torch.manual_seed(SEED + 1)
        ref = build_reference(R, flags, obs_dim, action_dim, hidden)
        rl_obs = normalise(raw.obs, rl_mean, rl_std).astype(np.float32)
        rl_next = normalise(raw.next_obs, rl_mean, rl_std).astype(np.float32)
        if setup.normaliser:
            ref_obs = normalise(raw.obs, ref_mean, ref_std).astype(np.float32)
            ref_next = normalise(raw.next_obs, ref_mean, ref_std).astype(np.float32)
        else:
            ref_obs, ref_next = rl_obs, rl_next
        # episode ends as each buffer stores them: the reference's worker marks each path's last transition
        # done; rlinfo's learner stores a time-limit truncation as a termination when its preset has
        # train.time_limit_bootstrap: false (OffPolicy.store), else as no termination
        terminated = raw.path_end & (not parts.cfg.train.time_limit_bootstrap)
        skill = skill_of(raw, int(flags["dim_option"]), bool(int(flags["unit_length"]))).astype(np.float32)
        data = {
            "obs": ref_obs,
            "next_obs": ref_next,
            "actions": raw.action.astype(np.float32),
            "dones": raw.path_end.astype(np.float32)[:, None],
            "options": skill,
            "next_options": skill,
        }
        batch = Batch(
            obs=torch.from_numpy(rl_obs),
            action=torch.from_numpy(raw.action.astype(np.float32)),
            next_obs=torch.from_numpy(rl_next),
            terminated=torch.from_numpy(terminated),
            skill=torch.from_numpy(skill),
        )
        groups = param_groups(ref, learner.agent, learner.reward_module, algo)
        initial = init_rows(algo, groups) if setup.name == "preset" else []
        if algo == "metra":
            scale_phi_to_the_constraint(ref, torch.from_numpy(rl_obs), torch.from_numpy(rl_next))
        copy_reference_into_rlinfo(groups)
        if algo in SPECTRAL_NETS:
            set_power_iteration_state(
                ref, learner.reward_module, algo, not setup.sn_state, torch.Generator().manual_seed(7)
            )
        if algo == "dads" and not setup.prior_draws:
            learner.reward_module.skill_space = ReferenceLayoutDraws(
                learner.reward_module.skill_space, int(flags["num_alt_samples"])
            )
        if algo == "cic" and not setup.knn_rms_var:
            fold_unbiased_variance(learner.reward_module.rms)
        before = {name: [t.detach().clone() for t in ref_t] for name, (ref_t, _) in groups.items()}
        with exact_tanh_log_prob(R, not setup.tanh_logprob_eps):
            if algo == "csf":
                ref_side = run_reference_csf(ref, data, seed=SEED + 100)
            else:
                ref_side = run_reference(
                    ref,
                    data,
                    seed=SEED + 100,
                    algo=algo,
                    relabel_in_eval=algo == "lsd" and not setup.sn_relabel,
                )
        if algo == "csf":
            rl_side = run_rlinfo_csf(learner, batch, seed=SEED + 100)
        else:
            rl_side = run_rlinfo(learner, batch, seed=SEED + 100, algo=algo)
        rows = [
            compare_vector(
                algo,
                setup.name,
                "normalised observations (input)",
                torch.from_numpy(ref_obs),
                torch.from_numpy(rl_obs),
            )
        ]
        for q in QUANTITIES[FAMILY[algo]]:
            if q not in ref_side.values and q not in rl_side.values:
                continue  # λ loss of LSD
            ref_v, rl_v = ref_side.values[q], rl_side.values[q]
            if isinstance(ref_v, Tensor):
                assert isinstance(rl_v, Tensor)
                rows.append(compare_vector(algo, setup.name, q, ref_v, rl_v))
            else:
                assert not isinstance(rl_v, Tensor)
                rows.append(compare_scalar(algo, setup.name, q, ref_v, rl_v))
        grads = param_groups(
            ref,
            learner.agent,
            learner.reward_module,
            algo,
            f_ref=adam_first_moment(ref._optimizer._optimizers.values()),
            f_rl=adam_first_moment(
                [*learner.agent.optimizers.values(), *learner.reward_module.optimizers.values()]
            ),
            targets=False,
        )
        for name, (ref_t, rl_t) in grads.items():
            rows.append(
                compare_grads(algo, setup.name, f"gradient of {name} (Adam's step input)", ref_t, rl_t)
            )
        for name, (ref_t, rl_t) in groups.items():
            rows.append(
                compare_params(
                    algo,
                    setup.name,
                    f"{name} parameters after one step",
                    before[name],
                    [t.detach() for t in ref_t],
                    [t.detach() for t in rl_t],
                )
            )
        return rows + initial
    finally:
        parts.close()


# ----------------------------------------------------------------------------------------- the reports


CAUSE_TEXT = {
    "normaliser": (
        "Observation normaliser numbers (every algorithm). Same formula ŝ = (s − μ)/(σ + 1e-8), different "
        "μ, σ: "
        "rlinfo ships its own (`envs/obs_stats.json`, measured under gymnasium/MuJoCo 3), both references "
        "have "
        "`ant_preset` (`iod/utils.py: get_normalizer_preset`, the same numbers in both checkouts). {stats} "
        "Every "
        'network input differs, so everything downstream does. Documented: docs/algorithms.md, "Locomotion '
        'envs against the METRA reference".'
    ),
    "sn_state": (
        "Spectral-norm power-iteration state at the start (LSD's φ; CIC's skill net p, which the CSF "
        "reference always normalises and rlinfo with `skill_spectral_norm: true`). Both divide each weight "
        "by σ = uᵀWv, "
        "updating "
        "u, v by one power iteration per train-mode forward, but the reference (garagei `SpectralNorm`, v "
        "← Wᵀu "
        "then u ← Wv) starts from random unit u, v, while rlinfo's torch parametrization (u ← Wv then v ← "
        "Wᵀu) "
        "runs 15 iterations at construction. In the φ loss the reference computes φ(s) then φ(s′), rlinfo "
        "φ(s′) "
        "then φ(s), so within one loss the two states are divided by σ estimates one iteration apart, in "
        "opposite orders. Early in training the σ estimates, hence φ, its reward and every SAC quantity "
        "differ; "
        "with u, v at the top singular vectors (a fixed point of both iterations) they agree. Documented: "
        'docs/algorithms.md, "The METRA paper\'s comparison presets" (the paragraph on this script).'
    ),
    "sn_relabel": (
        "Power iterations in the relabel (LSD). The reference's `_update_rewards` after the φ step runs φ in "
        "train mode (`IOD.train` sets `traj_encoder.train()`), i.e. 2 more power iterations per gradient "
        "step, "
        "4 in all, and relabels with σ estimated on the new W; rlinfo relabels in eval mode with the u, v of "
        "its loss forwards on the old W (2 iterations per step in all). The relabelled rewards differ by "
        "about "
        "1e-6 relative; whether that crosses this check's tolerances (through the critics' first Adam step "
        "on "
        "elements with |∇| ≲ 1e-7) depends on the batch and the width: the attribution list above shows what "
        "it changes in this run. A second-order effect once σ estimates have converged. The counts are in "
        'docs/algorithms.md, "The METRA paper\'s comparison presets"; its LSD section says "one power '
        'iteration per φ update".'
    ),
    "tanh_logprob_eps": (
        "Tanh log-probability (every algorithm: the references share garage's `TanhNormal`). The reference's "
        "`TanhNormal.log_prob` subtracts Σ log(clip(1 − tanh²u) + 1e-6); rlinfo subtracts the exact "
        "Σ 2(log 2 − u − softplus(−2u)). The 1e-6 matters where 1 − tanh²u is small (|u| ≳ 3): log π differs "
        "on those samples, and so can the gradients of parameters whose gradient is tiny, enough to change "
        "their first Adam step (lr·g/(|g| + ε)); in METRA/LSD it also enters the critic target through "
        "log π(a′|s′), while CSF's ψ target has no entropy term (the attribution lists above show what it "
        "changes in this run). Tiny, but a systematic formula difference: with the exact formula both sides "
        'agree. Documented: docs/algorithms.md, "The METRA paper\'s comparison presets" (the paragraph on '
        "this "
        "script)."
    ),
    "sd_normaliser": (
        "Skill-dynamics normalisation (DADS; not comparable one-to-one). The reference (`--sd_batch_norm 1`) "
        "passes s and Δ = s′ − s through `BatchNorm1d` layers (momentum 0.01): in train mode in the "
        "skill-dynamics loss (the batch's own mean and biased variance, + 1e-5) and in eval mode in the "
        "reward (running statistics that start at μ = 0, σ² = 1 and move 1% per step towards the batches'); "
        "rlinfo (`normalize: true`) standardises both with running mean/variance (count-weighted from the "
        "first batch on) in the loss and in the reward alike. At the first update both losses normalise "
        "with nearly the batch statistics, but the reference's reward sees almost unnormalised s and Δ "
        "(its running statistics have moved 1%) while rlinfo's sees the batch's; after many steps both "
        "converge to the data's statistics, but the reference's reward lags by ~100 updates. The aligned "
        "scenario turns normalisation off on both sides (`--sd_batch_norm 0`, `reward.params.normalize="
        "false`), so what it compares is the rest of DADS."
    ),
    "prior_draws": (
        "Layout of the 100 prior skills (DADS; not comparable one-to-one). Both draw L·B = 25,600 skills "
        "z_i ~ N(0, I₂) from the global torch RNG at the same point of the update, but the reference lays "
        "them out as [L, B] (`torch.cat([obs] * L)`) and rlinfo as [B, L], so each transition is scored "
        "against different random alternatives and the per-sample rewards differ as two Monte-Carlo "
        "estimates do. The aligned scenario gives rlinfo the reference's draw in its own layout "
        "(`ReferenceLayoutDraws`); then both score the same skills."
    ),
    "knn_rms_var": (
        "kNN distance scale (CIC). Both divide the B·k = 4096 kNN distances by a running variance (the "
        "CSF reference's `iod.utils.RMS`; rlinfo `knn_rms_stat: variance`, the same Chan et al. update "
        "from μ = 0, σ² = 1, count 1e-4), but the reference folds each batch's unbiased variance "
        "(`torch.var`) and rlinfo's `RunningMeanStd` the biased one: a factor 4096/4095 on the scale at "
        "the first update, fading as the count grows. The aligned scenario folds the unbiased variance "
        "into rlinfo's statistics (`fold_unbiased_variance`)."
    ),
}


def normaliser_stats(R: types.SimpleNamespace) -> str:
    from rlinfo.envs.normalize import preset_stats

    s = preset_stats("ant")
    rl_mean, rl_std = np.asarray(s["mean"]), np.asarray(s["std"])
    ref_mean, ref_std = (np.asarray(x, dtype=np.float64) for x in R.get_normalizer_preset("ant_preset"))
    return (
        f"Over the 29 dimensions max |Δμ|/σ_ref = {np.max(np.abs(rl_mean - ref_mean) / ref_std):.3f} and "
        f"σ_rlinfo/σ_ref ∈ [{np.min(rl_std / ref_std):.3f}, {np.max(rl_std / ref_std):.3f}]."
    )


def matched_settings(algos: list[str]) -> list[str]:
    """The preset settings that make rlinfo do what the reference does where its default would not; each
    sentence states the value read from the resolved preset (so a preset that changes shows here)."""
    import inspect

    from rlinfo.agents.successor_features import SuccessorFeatureSAC
    from rlinfo.config import load_config

    cfgs = {a: load_config(PRESETS[a], []) for a in algos}
    out = []
    act = {a: c.agent.params.get("actor_activation", "relu") for a, c in cfgs.items()}
    out.append(
        "Policy hidden activation: the references' commands pass no `--model_master_nonlinearity`, so the "
        "policy's `GaussianMLPTwoHeadedModule` keeps its default `torch.tanh` (φ and the critics get ReLU); "
        "`agent.params.actor_activation` is "
        + ", ".join(f"`{act[a]}` in {PRESETS[a]}" for a in algos)
        + ". With the copied weights the policies compute the same function, which the `aligned` rows "
        "confirm without any option for it."
    )
    wdm = [a for a in algos if a != "csf"]
    if wdm:
        tlb = {a: cfgs[a].train.time_limit_bootstrap for a in wdm}
        out.append(
            f"Time limits ({', '.join(TITLES[a].split(' ')[0] for a in wdm)}): the reference's worker sets "
            "`_terminals[-1] = True` on each path's "
            "last "
            "step and `sac_utils.update_loss_qf` multiplies the bootstrap by (1 − dones); "
            + ", ".join(f"{PRESETS[a]} has `train.time_limit_bootstrap: {str(tlb[a]).lower()}`" for a in wdm)
            + " (false: rlinfo's learner stores a truncation as a termination). The batch carries the 4 "
            "episode ends as each buffer stores them, so the critic targets are compared on them too."
            + (" `cic_ant.sh` passes `--turn_off_dones 1`, but only the metra/metra_sf/dads/sac branches of "
               "`run/train.py` pass it on: `CIC` (an `LSD` subclass) calls `sac_utils.update_loss_qf` "
               "without it, so its dones count." if "cic" in wdm else "")
        )
    if "csf" in algos:
        default = inspect.signature(SuccessorFeatureSAC.__init__).parameters["turn_off_dones"].default
        tod = cfgs["csf"].agent.params.get("turn_off_dones", default)
        out.append(
            "Time limits (CSF): `csf_ant.sh` passes `--turn_off_dones 1`, so `MetraSf._update_loss_sf_td` "
            "zeroes the dones and every ψ target bootstraps; csf_ant has `train.time_limit_bootstrap: "
            f"{str(cfgs['csf'].train.time_limit_bootstrap).lower()}` (episode ends stored as "
            "terminations), and "
            f"its `sf_sac` agent has `turn_off_dones: {str(tod).lower()}`"
            + (", so it ignores them: every ψ target bootstraps on both sides" if tod else "")
            + "."
        )
    if "metra" in algos:
        red = cfgs["metra"].reward.params.get("constraint_reduction", "sum")
        out.append(
            "METRA's constraint: the reference penalises 1 − mean_d Δφ_d² (`dual_dist one`, "
            "`torch.square(phi_y - phi_x).mean(dim=1)`); metra_ant has `reward.params.constraint_reduction: "
            f"{red}`" + (" (the same)." if red == "mean" else " (Σ_d: the paper's ‖Δφ‖² ≤ 1).")
        )
    if "dads" in algos:
        mask = bool(cfgs["dads"].reward.params.get("mask_terminal", False))
        out.append(
            "Done transitions in DADS's skill-dynamics loss: the reference's `_update_loss_sd` multiplies "
            "log q(Δ|s, z) by (1 − dones) and averages over the rest, leaving out each path's last "
            "transition; "
            f"dads_ant has `reward.params.mask_terminal: {str(mask).lower()}`"
            + (" (the same)." if mask else " (every transition in the mean).")
        )
    inits = {
        a: f"`agent.params.init: {c.agent.params.get('init', 'torch')}`, "
        f"`reward.params.init: {c.reward.params.get('init', 'torch')}`"
        for a, c in cfgs.items()
    }
    out.append(
        "Initialisation: the weights are copied, so it plays no part in the one-step comparison; the presets "
        "set "
        + "; ".join(f"{inits[a]} in {PRESETS[a]}" for a in algos)
        + ". The *initialisation* rows below compare each side's own initial draw layer by layer."
    )
    return out


def skill_model_facts(R: types.SimpleNamespace, algo: str) -> list[tuple[str, str, str, str]]:
    """(fact, reference, rlinfo preset, same?) for DIAYN, DADS (the README's commands) and CIC (cic_ant.sh):
    the shared schedule facts and those of each skill model; values read from both sides."""
    from rlinfo.config import load_config

    f, c = flags_for(R, algo), load_config(PRESETS[algo], [])
    p, d = c.reward.params, int(f["dim_option"])
    yes, no = "same", "**differs**"
    skills = (
        f"dim_option {d}, unit_length {f['unit_length']}: z ~ N(0, I_{d}) per trajectory",
        f"skill_dim {p['skill_dim']}, skill_dist {p.get('skill_dist', 'gaussian')}",
        yes if int(p["skill_dim"]) == d and p.get("skill_dist", "gaussian") == "gaussian"
        and not int(f["unit_length"]) else no,
    )  # fmt: skip
    facts = [*common_facts(f, c), ("skills", *skills)]
    if algo == "diayn":
        facts.append((
            "skill posterior",
            f"inner {f['inner']}: r = log N(z; μ(s′), σ(s′)) of φ's Gaussian (mean and log σ MLPs, "
            "σ ≥ 1e-6), "
            "the same r as φ's loss; update order φ step → relabel → SAC",
            f"discrete {str(p['discrete']).lower()}: the same Gaussian q(z|s′), its update then the relabel",
            yes if not p["discrete"] and not int(f["inner"]) else no,
        ))  # fmt: skip
    if algo == "dads":
        facts += [
            (
                "skill dynamics",
                f"GaussianMLPModuleEx (sd_const_std {f['sd_const_std']}: σ = 1), on [ŝ, z] → Δ",
                f"{p['num_components']} component(s), learn_variance {str(p['learn_variance']).lower()}",
                yes if int(p["num_components"]) == 1 and not p["learn_variance"]
                and int(f["sd_const_std"]) else no,
            ),  # fmt: skip
            (
                "prior samples",
                f"num_alt_samples {f['num_alt_samples']} z_i ~ N(0, I), "
                "r = log(L+1) − log(1 + Σ exp(clip(log q_i − log q, ±50)))",
                f"num_prior_samples {p['num_prior_samples']}, include_positive "
                f"{str(p.get('include_positive', True)).lower()} (no ±50 clip)",
                yes if int(p["num_prior_samples"]) == int(f["num_alt_samples"]) else no,
            ),
            (
                "normalisation of s and Δ",
                f"sd_batch_norm {f['sd_batch_norm']}: BatchNorm1d (momentum 0.01), batch statistics in the "
                "loss, running ones in the reward",
                f"normalize {str(p['normalize']).lower()}: running mean/std in loss and reward",
                "**differs** (see `sd_normaliser`)",
            ),
        ]
    if algo == "cic":
        facts += [
            (
                "CPC loss",
                f"cic_temp {f['cic_temp']}, positive subtracted from the denominator as e^(1/T)",
                f"temperature {p['temperature']}, subtract_positive {str(p['subtract_positive']).lower()}",
                yes if float(p["temperature"]) == float(f["cic_temp"]) and p["subtract_positive"] else no,
            ),
            (
                "reward",
                f"cic_alpha {f['cic_alpha']}: the kNN term only, k = {f['apt_knn_k']} nearest φ(s′_j) of "
                "each "
                f"φ(s_i), scaled by the running variance (apt_rms {f['apt_rms']}), clip 5e-4, log(1 + mean)",
                f"reward {p['reward']}, knn_k {p['knn_k']}, knn_rms {str(p['knn_rms']).lower()} "
                f"({p['knn_rms_stat']}), knn_clip {p['knn_clip']}",
                yes if float(f["cic_alpha"]) == 1.0 and p["reward"] == "knn_cross"
                and int(p["knn_k"]) == int(f["apt_knn_k"]) and p["knn_rms_stat"] == "variance" else no,
            ),  # fmt: skip
        ]
    return facts


def schedule_facts(R: types.SimpleNamespace) -> list[tuple[str, str, str, str]]:
    """(fact, reference, rlinfo preset, same?) for METRA's and LSD's training schedule; values read from both
    sides."""
    from rlinfo.config import load_config

    m = reference_flags(R.dir, "metra")
    ls = reference_flags(R.dir, "lsd")
    cm, cl = load_config("metra_ant", []), load_config("lsd_ant", [])
    return [*common_facts(m, cm), *metra_lsd_facts(m, ls, cm, cl)]


def _epochs_to(n: int, per_epoch: int) -> int:
    return -(-n // per_epoch)


# rlinfo's actor under each ``agent.params.init`` (rlinfo.nn.NET_INITS)
ACTOR_INITS = {"torch": "PyTorch's default: kaiming-uniform weights and uniform biases",
               "garage": "Xavier-uniform hidden, Xavier-normal × 0.1 output, zero biases"}  # fmt: skip


def common_facts(f: dict[str, str], c: Any) -> list[tuple[str, str, str, str]]:
    """Schedule facts every METRA-trainer algorithm shares: ``f`` the reference's flags, ``c`` the preset."""
    envs, roll, grads = c.env.num_envs, c.train.rollout_steps, c.train.grad_steps
    actor_init = c.agent.params.get("init", "torch")
    tb, mpl, epochs = (
        int(f["traj_batch_size"]),
        int(f["max_path_length"]),
        int(f["trans_optimization_epochs"]),
    )
    per_epoch = envs * (roll - 1) if roll == mpl + 1 else envs * roll
    start, act_dim = int(f["sac_min_buffer_size"]), 8
    ref_te = -act_dim / 2.0 * float(f["sac_target_coef"])
    rl_te = -c.agent.target_entropy_scale * act_dim
    whole = roll == mpl + 1
    yes, no = "same", "**differs**"
    warm = c.train.warmup
    return [
        (
            "env steps per epoch",
            f"traj_batch_size × max_path_length = {tb} × {mpl} = {tb * mpl}, whole trajectories, all stored",
            f"num_envs × rollout_steps = {envs} × {roll} vector steps: "
            + (
                f"one whole {mpl}-step episode per env plus the autoreset step after it (not a transition), "
                f"so {per_epoch} stored transitions per epoch and the updates come between episodes"
                if whole
                else f"{envs * roll} vector steps; episodes cross epoch boundaries"
            ),
            yes if whole and envs == tb else no,
        ),
        (
            "gradient steps per epoch",
            f"trans_optimization_epochs = {epochs}",
            f"grad_steps = {grads}",
            yes if epochs == grads else no,
        ),
        (
            "minibatch",
            f"trans_minibatch_size = {f['trans_minibatch_size']}, uniform with replacement over the "
            "stored transitions (`PathBufferEx.sample_transitions`)",
            f"agent.batch_size = {c.agent.batch_size}, uniform with replacement (`ReplayBuffer.sample`)",
            yes if int(f["trans_minibatch_size"]) == c.agent.batch_size else no,
        ),
        (
            "replay capacity",
            f"sac_max_buffer_size = {f['sac_max_buffer_size']}",
            f"train.buffer_size = {c.train.buffer_size}",
            yes if int(f["sac_max_buffer_size"]) == c.train.buffer_size else no,
        ),
        (
            "before learning starts",
            f"updates start once {start} transitions are stored (after {_epochs_to(start, tb * mpl)} epochs: "
            f"{_epochs_to(start, tb * mpl) * tb * mpl:,}); those were collected by the untrained skill "
            "policy",
            f"train.warmup = {warm}: "
            + ("the untrained skill policy acts" if warm == "policy" else "uniformly random actions")
            + f" until learning_starts = {c.train.learning_starts} env steps are stored (after "
            f"{_epochs_to(c.train.learning_starts, per_epoch)} epochs: "
            f"{_epochs_to(c.train.learning_starts, per_epoch) * per_epoch:,}), then updates",
            yes if warm == "policy" and start == c.train.learning_starts and per_epoch == tb * mpl else no,
        ),
        (
            "target networks",
            f"Polyak τ = {f['sac_tau']} after every gradient step",
            f"Polyak τ = {c.agent.tau} after every gradient step",
            yes if float(f["sac_tau"]) == c.agent.tau else no,
        ),
        (
            "policy input",
            "cat([ŝ, z]) (`get_np_concat_obs` when acting, `get_torch_concat_obs` in the losses)",
            "cat([ŝ, z]) (`Collector.agent_input`, `OffPolicy._learn_batch`)",
            yes,
        ),
        (
            "observation normalisation",
            "preset ŝ = (s − μ)/(σ + 1e-8) in the env wrapper; μ, σ: `ant_preset`",
            "same formula in the env wrapper; μ, σ: rlinfo's `envs/obs_stats.json`",
            "**differs** (numbers; documented)",
        ),
        (
            "SAC target entropy",
            f"−|A|/2 · sac_target_coef = {ref_te:g}",
            f"−target_entropy_scale · |A| = {rl_te:g}",
            yes if ref_te == rl_te else no,
        ),
        (
            "SAC α",
            f"learned from {f['alpha']} (log α, Adam lr {f['common_lr']})",
            f"learned from {c.agent.alpha_init} (log α, Adam lr {c.agent.lr})",
            yes
            if float(f["alpha"]) == c.agent.alpha_init
            and float(f["common_lr"]) == c.agent.lr
            and c.agent.learn_alpha
            else no,
        ),
        (
            "discount",
            f"sac_discount = {f['sac_discount']}",
            f"agent.gamma = {c.agent.gamma}",
            yes if float(f["sac_discount"]) == c.agent.gamma else no,
        ),
        (
            "learning rates",
            f"common_lr = {f['common_lr']} for policy, critics, φ, λ, α (every *_lr flag unset)",
            f"agent.lr = {c.agent.lr}, reward.params.lr = {c.reward.params['lr']}",
            yes if float(f["common_lr"]) == c.agent.lr == c.reward.params["lr"] else no,
        ),
        (
            "policy network",
            f"2 × {f['model_master_dim']} tanh hidden layers (GaussianMLPTwoHeadedModule's default: no "
            "--model_master_nonlinearity), xavier-uniform hidden init, both heads `xavier_normal_ex` (gain "
            "1, × 0.1), zero biases (log σ head: log init_std = 0), log σ clamped to [log 1e-6, 2]",
            f"2 × {c.agent.hidden_dim} {c.agent.params.get('actor_activation', 'relu')} hidden layers, "
            f"init {actor_init} ({ACTOR_INITS[actor_init]}), log σ clamped to [−5, 2]",
            "same function and initial scales (see the initialisation rows)" if actor_init == "garage"
            else "same function; initialisation **differs** (see the initialisation rows)",
        ),
        (
            "tanh log-probability",
            "log N(u) − Σ log(clip(1 − tanh²u) + 1e-6)",
            "exact: log N(u) − Σ 2(log 2 − u − softplus(−2u))",
            "≈ (differs only where |u| is large)",
        ),
        (
            "φ network",
            f"mean of a Gaussian MLP 2 × {f['model_master_dim']} ReLU, xavier-uniform weights, zero biases",
            f"deterministic ReLU MLP 2 × {c.reward.params['hidden_dim']}, init "
            f"{c.reward.params.get('init', 'torch')} (Xavier-uniform, zero biases)",
            "same function (the losses read only the mean)",
        ),
    ]


def metra_lsd_facts(
    m: dict[str, str], ls: dict[str, str], cm: Any, cl: Any
) -> list[tuple[str, str, str, str]]:
    yes, no = "same", "**differs**"
    return [
        (
            "update order per gradient step",
            "φ step → λ step → relabel r with the new φ → critics → policy "
            "(with the new critics) → α (with the pre-step log π) → Polyak",
            "φ step → λ step → relabel → "
            "critics → policy and α (one backward, α's loss on the pre-step log π) → Polyak",
            yes,
        ),
        (
            "skill per episode",
            "z ~ N(0, I₂)/‖·‖ (unit_length 1), drawn per trajectory, fixed for its 200 steps",
            "z uniform on the unit circle (normalised Gaussian), drawn per episode",
            yes,
        ),
        (
            "reward scale",
            f"sac_scale_reward = {m['sac_scale_reward']}",
            f"reward.intrinsic_weight = {cm.reward.intrinsic_weight}",
            yes if float(m["sac_scale_reward"]) == cm.reward.intrinsic_weight else no,
        ),
        (
            "bootstrap at the time limit",
            "no: done = 1 on each path's last transition",
            f"train.time_limit_bootstrap = {str(cm.train.time_limit_bootstrap).lower()} (metra_ant), "
            f"{str(cl.train.time_limit_bootstrap).lower()} (lsd_ant)",
            yes if not (cm.train.time_limit_bootstrap or cl.train.time_limit_bootstrap) else no,
        ),
        (
            "critics",
            f"2 separate ReLU MLPs 2 × {m['model_master_dim']}, xavier-normal weights, zero biases, one Adam",
            f"one ReLU ensemble of 2 × {cm.agent.hidden_dim}, init {cm.agent.params.get('init', 'torch')} "
            "(Xavier-normal per member, zero biases), one Adam",
            yes,
        ),
        (
            "METRA constraint",
            f"dual_dist = {m['dual_dist']}: 1 − mean_d Δφ_d² ≥ −slack; λ₀ = {m['dual_lam']}, "
            f"slack {m['dual_slack']}",
            f"constraint_reduction = {cm.reward.params.get('constraint_reduction', 'sum')}; "
            f"λ₀ = {cm.reward.params.get('dual_lambda_init', 30.0):g}, "
            f"slack {cm.reward.params.get('dual_slack', 1e-3):g}",
            yes if cm.reward.params.get("constraint_reduction", "sum") == "mean" else no,
        ),
        (
            "LSD: dual_reg / dual_dist",
            f"dual_reg = {ls['dual_reg']}: no λ, and dual_dist is read only when dual_reg = 1, so it plays "
            "no part",
            "no λ, no constraint term",
            yes,
        ),
        ("LSD: te_max", "no such flag or code in the reference (tests/main.py, iod/)", "—", yes),
        (
            "LSD: discount, lr, α, skills",
            f"same flags as METRA: sac_discount {ls['sac_discount']}, common_lr "
            f"{ls['common_lr']}, alpha {ls['alpha']} learned, unit_length {ls['unit_length']}",
            f"gamma {cl.agent.gamma}, lr {cl.agent.lr} / {cl.reward.params['lr']}, α from "
            f"{cl.agent.alpha_init} learned, skill_dist {cl.reward.params.get('skill_dist')}",
            yes,
        ),
        (
            "LSD: spectral normalisation",
            "every Linear of φ (mean and log σ nets); power iteration on each "
            "train-mode forward, 4 per gradient step, random u, v at start",
            "every Linear of φ; 2 per gradient step (loss only), 15 at construction",
            "**differs** (early σ estimates; documented)",
        ),
    ]


def csf_schedule_facts(R: types.SimpleNamespace) -> list[tuple[str, str, str, str]]:
    """(fact, reference, rlinfo preset, same?) for CSF: ``csf_ant.sh`` over ``run/train.py`` vs csf_ant."""
    import inspect

    from rlinfo.agents.successor_features import SuccessorFeatureSAC
    from rlinfo.config import load_config

    f, c = csf_flags(R.dir), load_config("csf_ant", [])
    sig = inspect.signature(SuccessorFeatureSAC.__init__).parameters
    tod = c.agent.params.get("turn_off_dones", sig["turn_off_dones"].default)
    soft = c.agent.params.get("soft_target", sig["soft_target"].default)
    p = c.reward.params
    d = int(f["dim_option"])
    yes, no = "same", "**differs**"
    facts = common_facts(f, c)
    facts += [
        (
            "update order per gradient step",
            "φ step → ψ step (cumulant Δφ with the new φ) → Polyak → policy (with the new ψ) → α "
            "(`MetraSf._train_components`; no λ step: `log_sum_exp` skips it)",
            "φ step → cumulant Δφ with the new φ → ψ step → policy and α (one backward) → Polyak; no λ",
            "same (the policy loss reads no target network)",
        ),
        (
            "skills and negatives",
            f"dim_option {d}, unit_length {f['unit_length']}; {f['num_negative_z']} negatives z′ ~ "
            "randn/‖·‖ drawn afresh every φ step (`sample_new_z 1`), shared by the batch",
            f"skill_dim {p['skill_dim']}, skill_dist {p.get('skill_dist', 'sphere')}; num_negatives "
            f"{p['num_negatives']}, negatives {p.get('negatives', 'prior')} (fresh prior draws, shared)",
            yes
            if int(p["skill_dim"]) == d
            and int(p["num_negatives"]) == int(f["num_negative_z"])
            and p.get("negatives", "prior") == "prior"
            else no,
        ),
        (
            "φ loss",
            f"−mean(Δφᵀz − infonce_lam · logsumexp_z′ Δφᵀz′), infonce_lam = {f['infonce_lam']} "
            f"(`log_sum_exp 1`, `dual_reg {f['dual_reg']}`: the branch that replaces METRA's penalty)",
            f"−(mean Δφᵀz − ξ · mean logsumexp), ξ = {p['xi']}",
            yes if float(f["infonce_lam"]) == float(p["xi"]) else no,
        ),
        (
            "ψ target",
            "Δφ + γ (1 − dones) ψ̄_j(s′, a′), j = argmin_i ψ̄_iᵀz, no entropy term; dones zeroed "
            f"(`turn_off_dones {f['turn_off_dones']}`)",
            f"Δφ + γ ψ̄_j(s′, a′), same j; soft_target {str(soft).lower()}, turn_off_dones {str(tod).lower()}",
            yes if (not soft) and tod == bool(int(f["turn_off_dones"])) else no,
        ),
        (
            "ψ loss",
            f"F.mse_loss(ψ_i, y) per critic (mean over the batch and the D = {d} features), summed over i",
            "½ Σ_i mean_B ‖ψ_i − y‖² (sum over D)",
            yes if d == 2 else f"**differs** (factor D/2 = {d / 2:g})",
        ),
        (
            "ψ networks",
            f"2 separate ReLU MLPs 2 × {f['model_master_dim']} with output_dim = dim_option = {d}, "
            "xavier-normal weights, zero biases, one Adam",
            f"one ReLU ensemble of 2 × {c.agent.hidden_dim} with {p['skill_dim']} outputs, init "
            f"{c.agent.params.get('init', 'torch')}, one Adam",
            yes,
        ),
        (
            "policy loss",
            "mean(α log π(ã|s) − min_i ψ_i(s, ã)ᵀz)",
            "mean(α log π(ã|s)) − mean(min_i ψ_i(s, ã)ᵀz)",
            yes,
        ),
        (
            "replay sampling",
            "`PathBufferEx(sample_goals=True)`: uniform transitions, plus a future observation per row "
            "(numpy RNG) that `MetraSf`'s losses never read",
            "uniform transitions",
            yes,
        ),
    ]
    return facts


def cell(text: str) -> str:
    """A markdown table cell: ``|`` (as in |A|, |g|) escaped."""
    return text.replace("|", "\\|")


def fmt(x: float) -> str:
    return f"{x:.6g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.3e}"


def attribution(rows: list[Row], algo: str) -> dict[str, list[str]]:
    """cause -> the quantities that differ when only that cause is left in."""
    out: dict[str, list[str]] = {}
    for c in CAUSE_APPLIES[algo]:
        out[c] = [
            r.quantity
            for r in rows
            if r.algo == algo and r.scenario == f"aligned+{c}" and r.verdict == "differs"
        ]
    return out


TITLES = {
    "metra": "METRA",
    "lsd": "LSD (`--dual_reg 0 --spectral_normalization 1`)",
    "csf": "CSF (`--algo metra_sf`, `csf_ant.sh`)",
    "diayn": "DIAYN (`--inner 0 --unit_length 0 --dual_reg 0`)",
    "dads": "DADS (`--algo dads --inner 0 --unit_length 0 --dual_reg 0`)",
    "cic": "CIC (`--algo cic`, `cic_ant.sh`)",
}
REPOS = {"metra": "seohongpark/METRA", "csf": "Princeton-RL/contrastive-successor-features"}


def write_reports(
    rows: list[Row],
    out: Path,
    meta: dict[str, str],
    commits: dict[str, str],
    refs: dict[str, types.SimpleNamespace],
    hidden: int,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "reference_check.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "date",
                "torch",
                "reference_commit",
                "algo",
                "scenario",
                "quantity",
                "reference",
                "rlinfo",
                "abs_diff",
                "rel_diff",
                "verdict",
                "note",
            ]
        )
        for r in rows:
            w.writerow(
                [
                    meta["date"],
                    meta["torch"],
                    commits[REFERENCE_OF[r.algo]],
                    r.algo,
                    r.scenario,
                    r.quantity,
                    repr(r.reference),
                    repr(r.rlinfo),
                    repr(r.abs_diff),
                    repr(r.rel_diff),
                    r.verdict,
                    r.note,
                ]
            )
    algos = [a for a in PRESETS if any(r.algo == a for r in rows)]
    norm = normaliser_stats(next(iter(refs.values())))
    against = " and ".join(f"{REPOS[k]} at `{commits[k]}`" for k in REPOS if k in commits)
    names = " / ".join(f"`{PRESETS[a]}`" for a in algos)
    lines = [
        "# Reference-vs-rlinfo check: " + ", ".join(TITLES[a].split(" ")[0] for a in algos) + " on Ant",
        "",
        f"Generated by `scripts/reference_check.py` on {meta['date']} (torch {meta['torch']}, CPU, float32) "
        f"against {against}. Do not edit by hand; rerun the script.",
        "",
        f"Ant-sized inputs: observation 29-d, action 8-d, skills one per episode as each command draws them "
        "(METRA, LSD, CSF: 2-D unit length; DIAYN, DADS: 2-D z ~ N(0, I); CIC: 64-D z ~ N(0, I)), "
        f"{hidden}-unit × 2 networks "
        f"as in the presets, a batch of {BATCH} real Ant transitions ({EPISODES} random-action episodes of "
        f"{EPISODE_LEN} steps; the 4 episode ends included). Both sides start from the reference's initial "
        "weights (copied into rlinfo) and make one gradient step with the same torch RNG state (the same SAC "
        "sampling noise and, for CSF, the same 256 negative skills; DADS's 100 prior skills per transition "
        "come from the same draw, laid out differently unless aligned): the reference through its own "
        "`_train_components` (`METRA`, also for DIAYN; `DADS`; CSF: `MetraSf`; CIC: `CIC`), rlinfo through "
        f"`OffPolicy.learn_batch` on the parts `rlinfo.run.build` makes from {names}.",
        "",
        f"*Equal to float32 precision*: |rlinfo − reference| ≤ {ATOL:g} + {RTOL:g}·|reference| (per-sample "
        "rows: the max over the batch against the largest |value|). Parameters after the step: Adam's first "
        "step is lr·g/(|g| + 1e-8), i.e. ±lr wherever |g| ≫ 1e-8, so it compares the gradients' signs; every "
        f"element whose reference step is ≥ {WELL_CONDITIONED:g} × the largest (|g| ≳ 1e-7) must agree to "
        f"{PARAM_RTOL:g} × the step + {PARAM_ULPS} float32 ulps of max |θ|; of the elements with smaller "
        "steps "
        "(where float32 rounding of a near-zero g can move the step anywhere in ±lr) those that differ "
        "must be "
        f"under {MAX_ILL_FRACTION:.0%} of all; their count and largest difference are in the CSV's note. "
        f"Gradients (Adam's first moment / (1 − β₁)): max |Δ| ≤ {GRAD_RTOL:g} × the group's largest |∇|.",
        "",
        "Scenarios: **preset** = both as configured (reference: its Ant command; rlinfo: the preset). "
        "**aligned** = every known cause of difference removed with each project's own inputs (the same "
        "normalised observations on both sides; LSD's power-iteration vectors at the top singular vectors on "
        "both sides; DADS without normalisation on both sides, each project's own option) and diagnostic "
        "patches where neither has an option: of the reference, `TanhNormal.log_prob` with the exact tanh "
        "correction, for LSD the relabel with φ in eval mode, for DADS its skill-dynamics loss over every "
        "transition; of rlinfo, for DADS the reference's layout of the prior draws, for CIC exact kNN "
        "distances and the unbiased batch variance in the kNN scale. **aligned+cause** re-enables one cause.",
        "",
    ]
    for algo in algos:
        title = TITLES[algo]
        for scen in ("preset", "aligned"):
            lines += [
                f"## {title}: {scen}",
                "",
                "| quantity | reference | rlinfo | abs diff | rel diff | verdict |",
                "|---|---|---|---|---|---|",
            ]
            for r in rows:
                if r.algo == algo and r.scenario == scen:
                    lines.append(
                        f"| {r.quantity} | {fmt(r.reference)} | {fmt(r.rlinfo)} | {r.abs_diff:.2e} | "
                        f"{r.rel_diff:.2e} | {r.verdict} |"
                    )
            lines.append("")
        lines += [f"### {title}: which quantities each cause changes (aligned + that cause alone)", ""]
        for c, qs in attribution(rows, algo).items():
            lines.append(f"- `{c}`: " + (", ".join(qs) if qs else "nothing at float32 precision"))
        lines.append("")
    lines += ["## What differs and why", ""]
    for c in CAUSES:
        if any(c in CAUSE_APPLIES[a] for a in algos):
            lines.append(f"- **`{c}`**: " + CAUSE_TEXT[c].format(stats=norm))
    aligned_diffs = [r for r in rows if r.scenario == "aligned" and r.verdict == "differs"]
    lines.append("")
    if aligned_diffs:
        lines.append("Still differing with every known cause removed (unexplained, see the report):")
        lines += [
            f"- {r.algo}: {r.quantity} (abs diff {r.abs_diff:.2e}, rel {r.rel_diff:.2e})"
            for r in aligned_diffs
        ]
    else:
        lines.append(
            "With every cause above removed, every quantity of "
            + ("every algorithm" if len(algos) > 1 else "the algorithm")
            + " is equal to float32 precision: the loss, reward, relabel, critic and optimiser code compute "
            "the same thing."
        )
    lines += [
        "",
        "## Settings the presets match (no longer causes of difference)",
        "",
        *[f"- {s}" for s in matched_settings(algos)],
        "",
        "## Initialisation (each side's own draw, before the copy)",
        "",
        f"Per layer the std of the weights each side draws (rlinfo: the preset's `init`), at width {hidden}; "
        f"*same scale* when the ratio is within max({INIT_RTOL:.0%}, 5/√(2n)) for a layer of n weights (5 "
        "standard errors of a sample std) and both or neither have zero biases.",
        "",
        "| algorithm | layer | reference std | rlinfo std | ratio | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.scenario == "initialisation":
            lines.append(
                f"| {r.algo} | {r.quantity.removesuffix(': weight std')} | {fmt(r.reference)} | "
                f"{fmt(r.rlinfo)} | {r.rlinfo / r.reference:.3f} | {r.verdict} |"
            )
    schedules = []  # (title, the reference's column head, rlinfo's column head, facts)
    if "metra" in refs and ({"metra", "lsd"} & set(algos)):
        schedules.append(("METRA and LSD", "reference (README Ant command + tests/main.py defaults)",
                          "rlinfo preset", schedule_facts(refs["metra"])))  # fmt: skip
    if "csf" in refs and "csf" in algos:
        schedules.append(("CSF", "reference (csf_ant.sh + run/train.py defaults)", "rlinfo csf_ant",
                          csf_schedule_facts(refs["csf"])))  # fmt: skip
    for a, head in (("diayn", "README DIAYN"), ("dads", "README DADS"), ("cic", "cic_ant.sh")):
        if a in algos:
            facts_a = skill_model_facts(refs[REFERENCE_OF[a]], a)
            schedules.append((TITLES[a].split(" ")[0], f"reference ({head} command + defaults)",
                              f"rlinfo {PRESETS[a]}", facts_a))  # fmt: skip
    for title, ref_head, ours_head, facts in schedules:
        lines += ["", f"## Training-schedule facts: {title} (not loss values)", "",
                  f"| fact | {ref_head} | {ours_head} | same? |", "|---|---|---|---|"]  # fmt: skip
        lines += ["| " + " | ".join(cell(x) for x in fact) + " |" for fact in facts]
    lines.append("")
    (out / "reference_check.md").write_text("\n".join(lines))


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'algo':5} {'scenario':30} {'quantity':44} {'reference':>13} {'rlinfo':>13} {'abs diff':>9} "
        f"{'rel diff':>9}  verdict"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.algo:5} {r.scenario:30} {r.quantity[:44]:44} {fmt(r.reference):>13} {fmt(r.rlinfo):>13} "
            f"{r.abs_diff:9.2e} {r.rel_diff:9.2e}  {r.verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--metra-dir", type=Path, default=None, help="a local checkout of seohongpark/METRA")
    p.add_argument(
        "--csf-dir",
        type=Path,
        default=None,
        help="a local checkout of Princeton-RL/contrastive-successor-features (adds CSF to the check)",
    )
    p.add_argument(
        "--metra-commit", default=None, help="the METRA checkout's commit, when it is not a git work tree"
    )
    p.add_argument("--csf-commit", default=None, help="the CSF checkout's commit, likewise")
    p.add_argument(
        "--hidden", type=int, default=1024, help="network width (the presets' 1024; smaller is faster)"
    )
    p.add_argument(
        "--algos",
        nargs="+",
        default=None,
        choices=list(PRESETS),
        help="default: metra lsd diayn dads with --metra-dir, csf cic with --csf-dir",
    )
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "results")
    args = p.parse_args(argv)
    algos = args.algos or [
        *(["metra", "lsd", "diayn", "dads"] if args.metra_dir else []),
        *(["csf", "cic"] if args.csf_dir else []),
    ]
    if any(REFERENCE_OF[a] == "metra" for a in algos) and args.metra_dir is None:
        p.error("METRA, LSD, DIAYN and DADS need --metra-dir")
    if any(REFERENCE_OF[a] == "csf" for a in algos) and args.csf_dir is None:
        p.error("CSF and CIC need --csf-dir")
    torch.set_num_threads(1)
    raw = collect_batch()
    rows: list[Row] = []
    refs: dict[str, types.SimpleNamespace] = {}
    commits: dict[str, str] = {}
    for kind, directory, given in (
        ("metra", args.metra_dir, args.metra_commit),
        ("csf", args.csf_dir, args.csf_commit),
    ):
        mine = [a for a in algos if REFERENCE_OF[a] == kind]
        if not mine:
            continue
        R = refs[kind] = load_reference(directory, kind)
        commits[kind] = reference_commit(directory, given)
        try:
            for algo in mine:
                for setup in scenarios(algo):
                    rows += check(R, algo, setup, raw, args.hidden)
        finally:
            unload_reference(R)  # the next checkout has the same package names
    print_table(rows)
    meta = {"date": datetime.date.today().isoformat(), "torch": torch.__version__}
    write_reports(rows, args.out, meta, commits, refs, args.hidden)
    print(f"\nwrote {args.out / 'reference_check.csv'} and {args.out / 'reference_check.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
