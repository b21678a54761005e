"""The project's documentation resolves: every contract citation in the code names a file in the
repository, every parenthesised section it cites is a heading there, and the README leads to the
architecture page and the contributing guide.

Code cites the contracts by file name and section, e.g. ``derivations.md (Output layout)`` or
``site-export.md, Bad input``; the files are ``docs/contracts/site-export.md`` and
``docs/contracts/derivations.md``, and the design's starting ``layout.md`` lives on in
``docs/architecture.md``. A citation that does not resolve is a failure to fix in the citing code
(or in the docs), not a reason to loosen this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONTRACTS = DOCS / "contracts"

# Cited name -> the file in this repository that holds it.
CITED = {
    "site-export.md": CONTRACTS / "site-export.md",
    "derivations.md": CONTRACTS / "derivations.md",
    "layout.md": DOCS / "architecture.md",
}
CONTRACT_NAMES = ("site-export.md", "derivations.md")

# Where code cites the contracts: the packages, and the study metadata files (data with comments).
CODE_DIRS = ("assets", "pipelines", "schemas", "study", "synth")
CODE_SUFFIXES = {".py", ".csv", ".yaml", ".yml"}

# A cited file name, with the folder path written before it if any (``../shared/spec/``).
CITATION = re.compile(r"(?P<dir>(?:[\w.~-]*/)+)?(?P<name>site-export\.md|derivations\.md|layout\.md)")
# ``derivations.md (Section name ...)``: the parenthesised form, the one whose section is checked.
SECTION = re.compile(r"(?P<name>site-export\.md|derivations\.md)\s+\((?P<section>[^)]+)\)")
SECTION_WORDS = 3  # only the first few words of a cited section must start a heading's words


def code_files() -> list[Path]:
    files = []
    for folder in CODE_DIRS:
        files += [p for p in sorted((ROOT / folder).rglob("*")) if p.is_file() and p.suffix in CODE_SUFFIXES]
    return [p for p in files if "__pycache__" not in p.parts]


def flat_text(path: Path) -> str:
    """The file's text with line breaks (and a comment's leading ``#``) folded into one space, so a
    citation wrapped over two lines of a docstring or a comment reads as one."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return re.sub(r"[ \t]*\r?\n[ \t]*(?:#+[ \t]*)?", " ", text)


def headings(path: Path) -> list[str]:
    """The Markdown headings of a file (outside fenced code blocks), lower case, words only."""
    found, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(" ".join(words(line.lstrip("#"))))
    return found


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9+-]*", text.lower())


def citations() -> list[tuple[Path, re.Match[str]]]:
    return [(path, m) for path in code_files() for m in CITATION.finditer(flat_text(path))]


def where(path: Path, text: str) -> str:
    return f"{path.relative_to(ROOT)}: {text!r}"


def test_the_code_cites_the_contracts():
    """Guard for the tests below: they see the citations (a scan that finds nothing proves nothing)."""
    names = {m["name"] for _, m in citations()}
    assert {"site-export.md", "derivations.md"} <= names
    assert any(True for path in code_files() for _ in SECTION.finditer(flat_text(path)))


def test_every_cited_file_is_in_the_repository():
    missing = sorted({name for name, target in CITED.items() if not target.is_file()})
    assert not missing, (
        f"cited but not in the repository: {[str(CITED[n].relative_to(ROOT)) for n in missing]}"
    )


def test_every_citation_with_a_path_points_inside_the_repository():
    """``docs/contracts/site-export.md`` resolves; ``../shared/spec/site-export.md`` or
    ``/shared/spec/derivations.md`` points outside the repository and does not."""
    unresolved = []
    for path, m in citations():
        if not m["dir"]:
            continue
        cited = m["dir"] + m["name"]
        candidates = [(ROOT / cited.lstrip("/")), (path.parent / cited)] if not cited.startswith("/") else []
        inside = [
            c.resolve() for c in candidates if c.resolve().is_relative_to(ROOT) and c.resolve().is_file()
        ]
        if not inside or not any(c == CITED[m["name"]].resolve() for c in inside):
            unresolved.append(where(path, cited))
    assert not unresolved, "citations that do not resolve inside the repository:\n" + "\n".join(unresolved)


def test_every_parenthesised_section_is_a_heading_of_the_cited_contract():
    """``derivations.md (Output layout)``: the first words of the cited section (up to the first
    comma, semicolon or colon) are the first words of a heading of that contract."""
    contract_headings = {name: headings(CITED[name]) for name in CONTRACT_NAMES}
    unresolved = []
    for path in code_files():
        for m in SECTION.finditer(flat_text(path)):
            first = re.split(r"[,;:]", m["section"])[0]
            cited = words(first)[:SECTION_WORDS]
            if not cited:
                continue
            # a heading marked "(v2)" is cited by its name without the mark
            heads = [
                h.split()[1:] if h.startswith("v2 ") else h.split() for h in contract_headings[m["name"]]
            ]
            ok = any(h[: len(cited)] == cited for h in heads)
            if not ok:
                unresolved.append(where(path, f"{m['name']} ({m['section']})"))
    assert not unresolved, "cited sections that are no heading of the contract:\n" + "\n".join(unresolved)


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_each_contract_states_the_version_the_project_implements(name):
    """The "Status in this project" block names the contract version every output records."""
    version = str(
        yaml.safe_load((ROOT / "study" / "study.yaml").read_text(encoding="utf-8"))["contract_version"]
    )
    text = CITED[name].read_text(encoding="utf-8")
    assert "## Status in this project" in text
    assert f'`contract_version` "{version}"' in text


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_each_contract_is_a_faithful_copy_of_the_design_spec(name):
    """When the design's spec folder is beside the repository (as in CI), the copy holds it unchanged."""
    source = ROOT.parent / "shared" / "spec" / name
    if not source.is_file():
        pytest.skip(f"{source} not present")
    title, body = source.read_text(encoding="utf-8").split("\n", 1)
    copy = CITED[name].read_text(encoding="utf-8")
    assert copy.startswith(title + "\n")
    assert body.lstrip("\n") in copy


def test_the_readme_links_the_architecture_page_and_the_contributing_guide():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in ("docs/architecture.md", "CONTRIBUTING.md", "docs/contracts/", "CHANGELOG.md"):
        assert f"]({target}" in readme, f"README.md does not link {target}"


def test_relative_links_of_the_documentation_resolve():
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(where(page, target))
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)
