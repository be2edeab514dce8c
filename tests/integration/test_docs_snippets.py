"""Every Python block of README.md and docs/*.md runs exactly as written, in a fresh namespace.

A block that is deliberately partial follows the line ``<!-- snippet: continues NAME ... -->`` and runs
in the namespace left by the block named ``<!-- snippet: NAME -->`` (its setup), right after it.
No block is timed here: a stated run time is a benchmark's claim, and a loaded machine must not fail
a test. A block that trains sets what it needs to run at its stated speed (``torch.set_num_threads``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!-- snippet: (?P<marker>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.S)


@dataclass
class Snippet:
    path: Path
    line: int
    code: str
    name: str | None = None  # set up by <!-- snippet: NAME -->
    continues: str | None = None  # <!-- snippet: continues NAME ... -->


def snippets(path: Path) -> list[Snippet]:
    text = path.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        marker = (m["marker"] or "").split()
        snippet = Snippet(path, text[: m.start("code")].count("\n") + 1, m["code"])
        if marker[:1] == ["continues"]:
            snippet.continues = marker[1]
        elif marker:
            snippet.name = marker[0]
        found.append(snippet)
    return found


def chains() -> list[list[Snippet]]:
    """Each standalone block with the partial blocks that continue it, in document order."""
    out: list[list[Snippet]] = []
    for path in DOCS:
        for s in snippets(path):
            if s.continues is None:
                out.append([s])
                continue
            setup = [c for c in out if c[0].path == path and c[0].name == s.continues]
            assert setup, f"{path.name}:{s.line} continues unknown snippet {s.continues!r}"
            setup[-1].append(s)
    return out


CHAINS = chains()


def test_every_doc_with_python_is_covered():
    covered = {c[0].path.name for c in CHAINS}
    assert {"README.md", "integration.md", "estimators.md"} <= covered


@pytest.mark.parametrize("chain", CHAINS, ids=[f"{c[0].path.name}:{c[0].line}" for c in CHAINS])
def test_snippet_runs_as_written(chain, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that save files write them here
    namespace: dict = {"__name__": "__snippet__"}
    for snippet in chain:
        exec(compile(snippet.code, f"{snippet.path.name}:{snippet.line}", "exec"), namespace)  # noqa: S102
    if "r" in namespace and hasattr(namespace["r"], "shape") and "batch" in namespace:
        assert namespace["r"].shape == (len(namespace["batch"]),)  # a reward per transition
