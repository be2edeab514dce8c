"""Key-door gridworld: a long-horizon sparse-reward task with discrete actions.

Two ``size × size`` rooms side by side, split by a wall column with one door cell at the bottom::

    room 1 (x = 0..size−1)      wall x = size      room 2 (x = size+1..2·size)
    S  = (0, size−1)  bottom-left of room 1        K = (size−1, 0)  top-right of room 1
    D  = (size, size−1)  the door                  G = (2·size, 0)  top-right of room 2

(y grows downward, row 0 at the top.) Actions 0..3 move up, right, down, left; moving into a wall,
the outer boundary or the closed door leaves the agent in place. Stepping on K picks the key, which
opens the door. Reward 1 and termination on reaching G with the key; else reward 0; truncation at
``max_episode_steps`` (default 12 × the optimal length: uniform random actions then succeed in ~4%
of the episodes at size 7, 0% at 5 ×). Optimal length: S→K 2(size−1), K→D size,
D→G 2·size − 1, i.e. 5·size − 3 (32 for the default size 7).

Observation: float32 (x / (W−1), y / (H−1), has_key) with W = 2·size + 1, H = size.
``info["success"]`` is True on the goal step; ``info["xy"]`` is the cell (x, y).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

MOVES = np.array([(0, -1), (1, 0), (0, 1), (-1, 0)])  # up, right, down, left (y downward)


class KeyDoorEnv(gym.Env[np.ndarray, np.int64]):
    """The two-room key-door task (see the module docstring)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, size: int = 7, max_episode_steps: int | None = None) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 2:
            raise ValueError(f"keydoor: size must be an int >= 2, got {size!r}")
        self.size, self.width, self.height = size, 2 * size + 1, size
        self.start, self.key = (0, size - 1), (size - 1, 0)
        self.door, self.goal = (size, size - 1), (2 * size, 0)
        self.optimal_steps = 5 * size - 3
        steps = 12 * self.optimal_steps if max_episode_steps is None else max_episode_steps
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"keydoor: max_episode_steps must be an int >= 1, got {max_episode_steps!r}")
        self.max_episode_steps = steps
        self.observation_space = spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32)
        self.action_space = spaces.Discrete(4)
        self.pos, self.has_key, self.t = self.start, False, 0

    def blocked(self, x: int, y: int) -> bool:
        """Outside the grid, the wall column, or the door while the key is missing."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return True
        if x == self.size:
            return (x, y) != self.door or not self.has_key
        return False

    def obs(self) -> np.ndarray:
        x, y = self.pos
        return np.array([x / (self.width - 1), y / (self.height - 1), float(self.has_key)], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.pos, self.has_key, self.t = self.start, False, 0
        return self.obs(), {"xy": np.array(self.pos, dtype=np.float32), "success": False}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(f"keydoor: action must be in 0..3, got {action!r}")
        x, y = self.pos[0] + int(MOVES[a, 0]), self.pos[1] + int(MOVES[a, 1])
        if not self.blocked(x, y):
            self.pos = (x, y)
        if self.pos == self.key:
            self.has_key = True
        self.t += 1
        success = self.pos == self.goal and self.has_key
        info = {"xy": np.array(self.pos, dtype=np.float32), "success": success}
        return self.obs(), float(success), success, self.t >= self.max_episode_steps and not success, info


def shortest_path_length(env: KeyDoorEnv) -> int:
    """Breadth-first search over (x, y, has_key) from the start to the goal (for tests and docs)."""
    from collections import deque

    start = (*env.start, False)
    seen, queue = {start}, deque([(start, 0)])
    while queue:
        (x, y, key), d = queue.popleft()
        if (x, y) == env.goal and key:
            return d
        for dx, dy in MOVES:
            nx, ny = x + int(dx), y + int(dy)
            env.has_key = key
            if env.blocked(nx, ny):
                continue
            nk = key or (nx, ny) == env.key
            if (nx, ny, nk) not in seen:
                seen.add((nx, ny, nk))
                queue.append(((nx, ny, nk), d + 1))
    env.has_key = False
    return -1
