"""Exceptions rlinfo raises for bad user input; the CLI prints them as one line and exits 2.

:func:`did_you_mean` and :func:`keyword_names` are the one place that suggests the closest valid name
and lists what a constructor accepts, for every such message in rlinfo.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any


def did_you_mean(
    word: str, choices: Iterable[str], n: int = 1, cutoff: float = 0.6, prefix: str = ""
) -> str:
    """``"did you mean 'x'?"`` (or ``'x' or 'y'``) for the closest ``choices``; ``""`` when none is close.

    ``prefix`` is prepended to each suggestion shown (e.g. the dotted path of a config section).
    """
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=n, cutoff=cutoff)
    return f"did you mean {' or '.join(repr(prefix + c) for c in close)}?" if close else ""


def keyword_names(fn: Callable[..., Any], exclude: Iterable[str] = ()) -> list[str]:
    """The parameters of ``fn`` (a function or a class's ``__init__``) that can be passed by keyword."""
    skip = {"self", *exclude}
    params = inspect.signature(fn).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in kinds and p.name not in skip]


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colour codes some libraries put in messages
BYTES_PATH = re.compile(r"""\bb(['"])(.*?)\1""")  # b'/a/path' as an OSError prints a bytes file name


def one_line(text: str, limit: int = 200) -> str:
    """A message as one clean line: no colour codes, bytes paths as plain text, the first line only, at
    most ``limit`` characters (cut at a word, with an ellipsis)."""
    text = BYTES_PATH.sub(lambda m: repr(m.group(2)), ANSI.sub("", str(text))).strip()
    line = text.splitlines()[0].strip() if text else ""
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0].rstrip(",;: ") + " …"
    return line


class RlinfoError(Exception):
    """Base class for errors caused by user input (config, CLI argument, file, environment)."""


class ConfigError(RlinfoError, ValueError):
    """An invalid configuration: unknown key, wrong type, malformed YAML or override."""


class CheckpointError(RlinfoError):
    """A checkpoint that is missing, corrupt, truncated, foreign or from a future format."""


class NonFiniteError(RlinfoError):
    """A loss, reward or observation became NaN or infinite during training."""


class EvaluationError(RlinfoError):
    """The evaluation at the end of a run failed; the run's final checkpoint is on disk."""
