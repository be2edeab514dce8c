"""MuJoCo's warnings as Python warnings, so that each distinct message is shown once per process.

MuJoCo prints every compiler warning itself, each time a model is compiled (HalfCheetah's and
dm_control cheetah's ``settotalmass is deprecated`` once per sub-env), and dm_control reroutes them to
absl logging on import. :func:`route_mujoco_warnings` sends each distinct message once per process
to :func:`warnings.warn` as a :class:`MujocoWarning` instead; other warnings are untouched, and
``warnings.simplefilter("ignore", MujocoWarning)`` silences these.
"""

from __future__ import annotations

import ctypes
import warnings


class MujocoWarning(UserWarning):
    """A warning MuJoCo raised while compiling or simulating a model."""


_seen: set[str] = set()  # messages already shown (Python's own registry resets when filters change)


@ctypes.CFUNCTYPE(None, ctypes.c_char_p)  # module level: MuJoCo keeps the pointer, never collect it
def _forward(message: bytes) -> None:
    text = message.decode(errors="replace").strip()
    if text not in _seen:
        _seen.add(text)
        warnings.warn_explicit(text, MujocoWarning, filename="mujoco", lineno=0, module="mujoco")


def route_mujoco_warnings() -> None:
    """Install the forwarding handler (again after dm_control's import replaced it)."""
    import mujoco

    mujoco.set_mju_user_warning(_forward)
