"""Every relative link of README.md, CHANGELOG.md and docs/ leads somewhere: the file exists, and an
``#anchor`` names a heading of its page (GitHub's heading ids)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def heading_id(title: str) -> str:
    """GitHub's id of a heading: lower case, punctuation but ``-`` and ``_`` dropped, spaces as ``-``."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def headings(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {heading_id(t) for t in re.findall(r"^#+ (.*)$", text, re.M)}


def test_heading_ids_follow_github():
    assert heading_id("Speed against stable-baselines3 (`scripts/speed_benchmark.py --e2e`)") == (
        "speed-against-stable-baselines3-scriptsspeed_benchmarkpy---e2e"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in headings(file)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"
