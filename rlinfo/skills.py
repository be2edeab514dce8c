"""Skill spaces: the prior p(z) a skill-discovery agent samples its skills from.

* ``DiscreteSkills(n)``: one-hot vectors e_k, k ~ U{0..n-1}. With ``zero_centered=True`` the
  vectors are (e_k - 1/n) * n / (n - 1), the zero-mean form METRA and LSD use for discrete skills.
* ``ContinuousSkills(dim, dist)``: ``"gaussian"`` z ~ N(0, I); ``"sphere"`` z uniform on the unit
  sphere (METRA's continuous skills); ``"box"`` z ~ U[0, 1]^dim (CIC); ``"cube"`` z ~ U[-1, 1]^dim (DADS).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class DiscreteSkills:
    """One-hot skills over ``n`` choices, optionally zero-centred."""

    n: int
    zero_centered: bool = False
    discrete: bool = True

    def __post_init__(self) -> None:
        if self.n < 2:
            raise ValueError(f"DiscreteSkills needs at least 2 skills, got n={self.n}")

    @property
    def dim(self) -> int:
        return self.n

    def from_index(self, index: Tensor) -> Tensor:
        """Skill vectors [len(index), n] for integer skill indices."""
        z = torch.nn.functional.one_hot(index.long(), self.n).float()
        if self.zero_centered:
            z = (z - 1.0 / self.n) * self.n / (self.n - 1)
        return z

    def index(self, z: Tensor) -> Tensor:
        """Inverse of :meth:`from_index`: the integer skill of each row of ``z``."""
        return z.argmax(dim=-1)

    def sample(self, count: int, generator: torch.Generator | None = None) -> Tensor:
        return self.from_index(torch.randint(self.n, (count,), generator=generator))

    def mean(self) -> Tensor | None:
        """E[z] where it is itself a skill: never for one-hot skills."""
        return None


@dataclass(frozen=True)
class ContinuousSkills:
    """Continuous skills of dimension ``dim`` from a Gaussian, the unit sphere or the unit box."""

    dim: int
    dist: str = "sphere"
    discrete: bool = False

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"ContinuousSkills needs dim >= 1, got {self.dim}")
        if self.dist not in ("gaussian", "sphere", "box", "cube"):
            raise ValueError(
                f"unknown skill distribution {self.dist!r}; expected gaussian, sphere, box or cube"
            )

    def sample(self, count: int, generator: torch.Generator | None = None) -> Tensor:
        if self.dist == "box":
            return torch.rand(count, self.dim, generator=generator)
        if self.dist == "cube":
            return 2.0 * torch.rand(count, self.dim, generator=generator) - 1.0
        z = torch.randn(count, self.dim, generator=generator)
        if self.dist == "sphere":
            z = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        return z

    def mean(self) -> Tensor | None:
        """E[z] where it is itself a skill: ½·𝟙 on the box, 0 on the cube and for the Gaussian; None on the
        sphere (its mean 0 is not on it)."""
        centre = {"box": 0.5, "cube": 0.0, "gaussian": 0.0}.get(self.dist)
        return None if centre is None else torch.full((self.dim,), centre)


SkillSpace = DiscreteSkills | ContinuousSkills
