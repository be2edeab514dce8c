"""The twelve tasks of the Unsupervised RL Benchmark (URLB; Laskin et al. 2021, reference code
rll-research/url_benchmark) as ``DMCEnv`` gymnasium envs with flat float32 state observations.

Names ``urlb:<domain>_<task>``; each domain is pretrained reward-free on one env (``PRETRAIN_TASKS``) and
fine-tuned on its four tasks (``URLB_TASKS``):

    domain     tasks                                          obs  act  episode
    walker     stand, walk, run, flip                          24    6  1000 steps (25 s, 0.025 s/step)
    quadruped  walk, run, stand, jump                          78   12  1000 steps (20 s, 0.02 s/step)
    jaco       reach_top_left, reach_top_right,                55    9   250 steps (10 s, 0.04 s/step)
               reach_bottom_left, reach_bottom_right

URLB's state runs use action repeat 1, so an episode is the dm_control time limit in control steps.
Observations are flattened in the task's observation order, as URLB's ``flat_observation`` does.

Suite tasks. walker stand/walk/run and quadruped walk/run are dm_control's suite tasks unchanged (URLB
loads them with ``suite.load``), so they are built the same way here; only the action scale below
differs from ``dmc:*`` (``urlb:walker_walk`` equals ``dmc:walker-walk`` step for step).

Custom tasks. URLB's own files (``custom_dmc_tasks/``) ship walker.xml and quadruped.xml that are
dm_control's suite XML files with only the include paths changed, and its quadruped model is built by
the same ``make_model(floor_size=20 s · 0.5 m/s = 10)`` as quadruped walk. So no model is edited here:
the custom tasks load dm_control's own models and subclass its task classes, replacing the reward only
(the initial states and observations are the suite's, as in URLB). With tol the dm_control
``rewards.tolerance`` (1 inside the bounds; outside, a sigmoid of the distance d to the bounds that
equals ``value_at_margin`` at d = margin):

* walker_flip: r = stand · (5 · spin + 1) / 6, with
  stand = (3 · tol(h, [1.2, ∞), margin 0.6, gaussian, 0.1) + (1 + zz) / 2) / 4 (the suite's term, h the
  torso height, zz the torso z-axis' world z) and spin = tol(L, [5, ∞), margin 5, linear, value_at_margin 0)
  = clip(L / 5, 0, 1), L the y component of the torso subtree's angular momentum about its centre of
  mass (``data.subtree_angmom``): only turning forwards is rewarded (L > 0: the torso's top turns
  towards +x, where walker walks). Initial state: the suite walker's (random joint angles).
* quadruped_stand: r = upright = tol(zz, [1, ∞), margin 2, linear, value_at_margin 0) = (1 + zz) / 2.
* quadruped_jump: r = upright · tol(c, [1, ∞), margin 1, linear, value_at_margin 0.5), c the height of
  the whole body's centre of mass (the ``center_of_mass`` subtreecom sensor of the torso, i.e.
  ``data.subtree_com[torso]``), which is (1 + c) / 2 for -1 < c < 1. Initial state of both: the suite
  quadruped's (uniformly random orientation, at the lowest height without contacts).
* jaco_reach_<corner>: dm_control's manipulation ``Reach`` task with the Duplo-brick workspace
  (Kinova Jaco arm and three-finger hand on the standard arena, tool centre point started uniformly in
  [-0.1, 0.1]² × [0.2, 0.4] pointing down, grasp closed by a uniform factor, perfect-feature
  observations) except that the brick is placed at a fixed corner (x, y, z) = (±0.09, ±0.09, 0.001)
  instead of uniformly in [-0.1, 0.1]²: top = +y, left = -x. Reward r = tol(‖p − b‖, [0, 0.05],
  margin 0.05, gaussian, value_at_margin 0.1), p the tool centre point (the hand's pinch site), b the
  brick body's origin; the brick is a free body, so it moves when pushed and the target moves with it.
  The brick's random yaw and its settling drop are kept, as in URLB.

Actions: as in URLB, every action space is [-1, 1], mapped affinely onto the task's action spec
(``DMCEnv.from_environment(..., unit_actions=True)``): the identity for walker; quadruped's spec is
yaw ±1, lift [-1, 1.1], extend ±0.8 per leg (so ``urlb:quadruped_walk`` takes the same actions as
``dmc:quadruped-walk`` only after this map); jaco's is ±0.63 for joints 1-3, ±0.84 for joints 4-6 and
±5 for the fingers. Out-of-range actions are clipped to [-1, 1] (URLB passes them on; MuJoCo then clamps
the controls to the same bounds).

Differences from URLB, all on the interface: the time limit is reported as a truncation (``DMCEnv``;
URLB's last step has discount 1, the same meaning); ``info["xy"]`` is the torso (x, y) for walker
(x, 0) and quadruped and the tool centre point's (x, y) for jaco; pixel observations (URLB's
``obs_type=pixels``) are not provided.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import numpy as np

from rlinfo.errors import did_you_mean

from .dmc import DMCEnv, UnknownTaskError, check_options, ensure_mujoco_gl

URLB_TASKS: dict[str, tuple[str, ...]] = {
    "walker": ("walker_stand", "walker_walk", "walker_run", "walker_flip"),
    "quadruped": ("quadruped_walk", "quadruped_run", "quadruped_stand", "quadruped_jump"),
    "jaco": (
        "jaco_reach_top_left",
        "jaco_reach_top_right",
        "jaco_reach_bottom_left",
        "jaco_reach_bottom_right",
    ),
}
PRETRAIN_TASKS: dict[str, str] = {
    "walker": "walker_stand",
    "quadruped": "quadruped_walk",
    "jaco": "jaco_reach_top_left",
}
URLB_NAMES: tuple[str, ...] = tuple(f"urlb:{t}" for tasks in URLB_TASKS.values() for t in tasks)
# the return of an expert on each task (published with URLB: DDPG trained 2M frames on the task reward);
# a fine-tuned run's normalised score is its return divided by these (``rlinfo report --normalize urlb``)
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
SUITE_TASKS = ("walker_stand", "walker_walk", "walker_run", "quadruped_walk", "quadruped_run")

TIME_LIMIT = {"walker": 25.0, "quadruped": 20.0, "jaco": 10.0}  # seconds
EPISODE_STEPS = {"walker": 1000, "quadruped": 1000, "jaco": 250}  # TIME_LIMIT / control timestep
WALKER_CONTROL_TIMESTEP = 0.025
QUADRUPED_CONTROL_TIMESTEP = 0.02
QUADRUPED_FLOOR_SIZE = 10.0  # the suite's walk floor: 20 s at 0.5 m/s

WALKER_STAND_HEIGHT = 1.2  # torso height (m) above which the stand term is 1
WALKER_SPIN_SPEED = 5.0  # torso angular momentum above which the spin term is 1
QUADRUPED_JUMP_HEIGHT = 1.0  # centre-of-mass height (m) above which the jump term is 1
JACO_TARGET_RADIUS = 0.05  # m
JACO_TCP_BOX = ((-0.1, -0.1, 0.2), (0.1, 0.1, 0.4))  # where the tool centre point starts
JACO_BRICK_Z = 0.001  # the brick starts 1 mm above the table
JACO_TARGETS = {  # brick (x, y): top = +y, left = -x
    "reach_top_left": (-0.09, 0.09),
    "reach_top_right": (0.09, 0.09),
    "reach_bottom_left": (-0.09, -0.09),
    "reach_bottom_right": (0.09, -0.09),
}

_Workspace = namedtuple("_Workspace", ["target_bbox", "tcp_bbox", "arm_offset"])  # what Reach reads


# ---------------------------------------------------------------------------- reward terms
def _tolerance(
    x: float, lower: float, upper: float, margin: float, sigmoid: str, value_at_margin: float
) -> float:
    from dm_control.utils import rewards

    return float(rewards.tolerance(x, (lower, upper), margin, sigmoid, value_at_margin))


def walker_stand(height: float, zz: float) -> float:
    """stand = (3 · tol(height, [1.2, ∞), margin 0.6, gaussian, 0.1) + (1 + zz) / 2) / 4."""
    standing = _tolerance(height, WALKER_STAND_HEIGHT, np.inf, WALKER_STAND_HEIGHT / 2, "gaussian", 0.1)
    return (3 * standing + (1 + zz) / 2) / 4


def walker_spin(angmom_y: float) -> float:
    """spin = tol(L_y, [5, ∞), margin 5, linear, 0) = clip(L_y / 5, 0, 1)."""
    return _tolerance(angmom_y, WALKER_SPIN_SPEED, np.inf, WALKER_SPIN_SPEED, "linear", 0.0)


def walker_flip(height: float, zz: float, angmom_y: float) -> float:
    """r = stand · (5 · spin + 1) / 6."""
    return walker_stand(height, zz) * (5 * walker_spin(angmom_y) + 1) / 6


def quadruped_upright(zz: float) -> float:
    """upright = tol(zz, [1, ∞), margin 2, linear, 0) = (1 + zz) / 2."""
    return _tolerance(zz, 1.0, np.inf, 2.0, "linear", 0.0)


def quadruped_jump(zz: float, com_height: float) -> float:
    """r = upright · tol(c, [1, ∞), margin 1, linear, 0.5)  (= upright · (1 + c) / 2 for -1 < c < 1)."""
    up = _tolerance(com_height, QUADRUPED_JUMP_HEIGHT, np.inf, QUADRUPED_JUMP_HEIGHT, "linear", 0.5)
    return quadruped_upright(zz) * up


def jaco_reach(distance: float) -> float:
    """r = tol(‖p − b‖, [0, 0.05], margin 0.05, gaussian, 0.1)."""
    return _tolerance(distance, 0.0, JACO_TARGET_RADIUS, JACO_TARGET_RADIUS, "gaussian", 0.1)


# ---------------------------------------------------------------------------- dm_control tasks
@functools.cache
def _task_types() -> dict[str, type]:
    """The custom dm_control task classes (defined on first use: dm_control is imported lazily)."""
    from dm_control.manipulation.reach import Reach
    from dm_control.suite import quadruped, walker

    class WalkerFlip(walker.PlanarWalker):
        """The suite walker, rewarded for turning forwards (a front flip) while high and upright."""

        def __init__(self, random: Any = None) -> None:
            super().__init__(move_speed=0.0, random=random)  # move_speed is unused: the reward is replaced

        def get_reward(self, physics: Any) -> float:
            data = physics.named.data
            return walker_flip(
                data.xpos["torso", "z"], data.xmat["torso", "zz"], data.subtree_angmom["torso", 1]
            )

    class QuadrupedStand(quadruped.Move):
        """The suite quadruped (random orientation), rewarded for being upright."""

        def __init__(self, random: Any = None) -> None:
            super().__init__(desired_speed=0.0, random=random)  # desired_speed is unused

        def get_reward(self, physics: Any) -> float:
            return quadruped_upright(physics.named.data.xmat["torso", "zz"])

    class QuadrupedJump(QuadrupedStand):
        """The suite quadruped, rewarded for a high centre of mass while upright."""

        def get_reward(self, physics: Any) -> float:
            data = physics.named.data
            return quadruped_jump(data.xmat["torso", "zz"], data.sensordata["center_of_mass"][2])

    class JacoReach(Reach):
        """dm_control's Duplo reach with the brick at a fixed corner (see the module docstring)."""

        def get_reward(self, physics: Any) -> float:
            hand = physics.bind(self.hand.tool_center_point).xpos
            brick = physics.bind(self._target).xpos  # the brick's free body (its attachment frame)
            return jaco_reach(float(np.linalg.norm(hand - brick)))

    return {
        "walker_flip": WalkerFlip,
        "quadruped_stand": QuadrupedStand,
        "quadruped_jump": QuadrupedJump,
        "jaco": JacoReach,
    }


def _walker_flip(time_limit: float) -> Any:
    from dm_control.rl import control
    from dm_control.suite import walker

    physics = walker.Physics.from_xml_string(*walker.get_model_and_assets())
    task = _task_types()["walker_flip"]()
    return control.Environment(physics, task, time_limit=time_limit, control_timestep=WALKER_CONTROL_TIMESTEP)


def _quadruped(task_name: str, time_limit: float) -> Any:
    from dm_control.rl import control
    from dm_control.suite import common, quadruped

    physics = quadruped.Physics.from_xml_string(
        quadruped.make_model(floor_size=QUADRUPED_FLOOR_SIZE), common.ASSETS
    )
    task = _task_types()[task_name]()
    return control.Environment(
        physics, task, time_limit=time_limit, control_timestep=QUADRUPED_CONTROL_TIMESTEP
    )


def _jaco(corner: str, time_limit: float) -> tuple[Any, Callable[[Any], np.ndarray]]:
    from dm_control import composer
    from dm_control.entities import props
    from dm_control.manipulation.shared import arenas, constants, observations, robots, workspaces

    x, y = JACO_TARGETS[corner]
    brick = workspaces.BoundingBox(lower=(x, y, JACO_BRICK_Z), upper=(x, y, JACO_BRICK_Z))
    tcp = workspaces.BoundingBox(*JACO_TCP_BOX)
    workspace = _Workspace(target_bbox=brick, tcp_bbox=tcp, arm_offset=robots.ARM_OFFSET)
    features = observations.PERFECT_FEATURES
    hand = robots.make_hand(obs_settings=features)
    task = _task_types()["jaco"](
        arena=arenas.Standard(),
        arm=robots.make_arm(obs_settings=features),
        hand=hand,
        prop=props.Duplo(
            observable_options=observations.make_options(features, observations.FREEPROP_OBSERVABLES)
        ),
        obs_settings=features,
        workspace=workspace,
        control_timestep=constants.CONTROL_TIMESTEP,
    )
    env = composer.Environment(task, time_limit=time_limit)
    return env, lambda physics: physics.bind(hand.tool_center_point).xpos[:2]


# ---------------------------------------------------------------------------- the env
def check_urlb_name(name: str) -> str:
    """``name`` if it is one of ``URLB_NAMES``, else a one-line ``UnknownTaskError`` with the closest."""
    if name not in URLB_NAMES:
        hint = did_you_mean(name, URLB_NAMES, cutoff=0.5)
        hint = f" ({hint})" if hint else ""
        raise UnknownTaskError(f"unknown URLB task {name!r}{hint}; known: {', '.join(URLB_NAMES)}")
    return name


def make_urlb(
    task: str,
    max_episode_steps: int | None = None,
    time_limit: float | None = None,
    render_mode: str | None = None,
    render_size: tuple[int, int] = (84, 84),
    camera_id: int = 0,
) -> DMCEnv:
    """``make_urlb("walker_flip")``: one URLB task as a ``DMCEnv`` (``task`` with or without ``urlb:``).

    The episode is URLB's (walker, quadruped 1000 steps, jaco 250) unless ``time_limit`` (seconds) or
    ``max_episode_steps`` (steps; the dm_control limit is then lifted) says otherwise.
    """
    name = check_urlb_name(task if task.startswith("urlb:") else f"urlb:{task}")
    check_options(name, max_episode_steps, time_limit, render_mode)
    ensure_mujoco_gl()
    key = name[5:]
    domain, _, rest = key.partition("_")
    if time_limit is None:
        time_limit = float("inf") if max_episode_steps is not None else TIME_LIMIT[domain]
    xy = None
    if key in SUITE_TASKS:
        from dm_control import suite

        env = suite.load(domain, rest, task_kwargs={"time_limit": float(time_limit)})
    elif key == "walker_flip":
        env = _walker_flip(float(time_limit))
    elif domain == "quadruped":
        env = _quadruped(key, float(time_limit))
    else:
        env, xy = _jaco(rest, float(time_limit))
    from .mujoco_warnings import route_mujoco_warnings

    route_mujoco_warnings()  # after dm_control's import, which installs its own handler
    return DMCEnv.from_environment(
        env,
        name,
        domain=domain,
        task=rest,
        max_episode_steps=max_episode_steps,
        render_mode=render_mode,
        render_size=render_size,
        camera_id=camera_id,
        unit_actions=True,
        xy=xy,
    )
