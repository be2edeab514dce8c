"""Keyword arguments of an env: each env refuses one it does not accept, in one line naming the closest."""

from __future__ import annotations

from typing import Any

from rlinfo.errors import RlinfoError, did_you_mean, keyword_names


class EnvArgumentError(RlinfoError, TypeError):
    """A keyword argument that the named environment does not accept."""


def check_kwargs(name: str, kwargs: dict[str, Any], fn: Any, exclude: tuple[str, ...] = ()) -> None:
    """Refuse a keyword of ``kwargs`` that ``fn`` (an env constructor) does not take."""
    reject_unknown_kwargs(name, kwargs, keyword_names(fn, exclude=("num_envs", *exclude)))


def reject_unknown_kwargs(name: str, kwargs: dict[str, Any], allowed: list[str]) -> None:
    """One-line :class:`EnvArgumentError` for a keyword not in ``allowed`` (with the closest one)."""
    for key in kwargs:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            hint = f" ({hint})" if hint else ""
            raise EnvArgumentError(
                f"{name}: unexpected keyword argument {key!r}{hint}; accepted: {', '.join(allowed)}"
            )
