"""What the code cites is in the repository: docs/ pages that exist, design-note sections that exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = ["pgpcodec", "codec_plugins", "scorer_plugins", "evaluator_plugins", "plugins", "benchmarks", "scripts", "tests"]
OUTSIDE = re.compile(r"DESIGN\.md|\.\./shared|(?<![\w/])shared/")
DOC_PAGE = re.compile(r"docs/([\w-]+\.md)")
DESIGN_SECTION = re.compile(r"docs/design\.md §(\d+)")


def _sources():
    for folder in CODE:
        for path in sorted((REPO / folder).rglob("*.py")):
            if ".venv" not in path.parts and path != Path(__file__).resolve():
                yield path, path.read_text(encoding="utf-8")


def test_no_code_points_outside_the_repository():
    found = [f"{path.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
             for path, text in _sources() for m in OUTSIDE.finditer(text)]
    assert found == []


def test_the_docs_pages_the_code_names_exist():
    missing = sorted({f"{path.relative_to(REPO)}: docs/{m.group(1)}" for path, text in _sources()
                      for m in DOC_PAGE.finditer(text) if not (REPO / "docs" / m.group(1)).is_file()})
    assert missing == []


def test_the_design_sections_cited_exist():
    headings = set(re.findall(r"^## (\d+)\. ", (REPO / "docs" / "design.md").read_text(encoding="utf-8"), re.M))
    cited = {m.group(1) for _, text in _sources() for m in DESIGN_SECTION.finditer(text)}
    cited |= set(DESIGN_SECTION.findall((REPO / "docs" / "architecture.md").read_text(encoding="utf-8")))
    assert cited, "nothing cites docs/design.md any more: drop this test or the page"
    assert cited <= headings, sorted(cited - headings)
