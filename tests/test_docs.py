"""The README and docs/: short README, and every relative link lands on a file
and heading that exist (the docs were split from one README; a moved section
must not leave a dead link)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    found, fence = set(), False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^a-z0-9 -]", "", title).replace(" ", "-"))
    return found


def test_the_readme_is_short():
    assert len((REPO / "README.md").read_text().splitlines()) <= 150


def dead_links(document: Path) -> list[str]:
    dead = []
    for target in LINK.findall(document.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        if not file.exists():
            dead.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            dead.append(target)
    return dead


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves(document):
    assert dead_links(document) == [], document.name


def test_a_dead_link_is_found(tmp_path):
    (tmp_path / "b.md").write_text("# Real heading\n")
    doc = tmp_path / "a.md"
    doc.write_text("[ok](b.md#real-heading) [gone](c.md) [moved](b.md#old-heading) [web](https://x.example)\n")
    assert dead_links(doc) == ["c.md", "b.md#old-heading"]
