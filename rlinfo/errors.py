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
    """The parameters of ``fn`` (a function or a class's ``__init__``) that can be passed by keyword; for a
    class whose ``__init__`` passes ``**kwargs`` on to its base class, the base's too (:func:`signatures`)."""
    skip = {"self", *exclude}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [p.name for f in signatures(fn) for p in inspect.signature(f).parameters.values()
             if p.kind in kinds and p.name not in skip]  # fmt: skip
    return list(dict.fromkeys(names))


def signatures(fn: Callable[..., Any]) -> list[Callable[..., Any]]:
    """``[fn]`` for a function; for a class, its ``__init__`` and, while an ``__init__`` takes
    ``**kwargs``, the next one up the class hierarchy (where those keywords go)."""
    if not inspect.isclass(fn):
        return [fn]
    chain = []
    for klass in fn.__mro__:
        init = klass.__dict__.get("__init__")
        if klass is object or init is None:
            continue
        chain.append(init)
        kinds = {p.kind for p in inspect.signature(init).parameters.values()}
        if inspect.Parameter.VAR_KEYWORD not in kinds:
            break
    return chain


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
