"""The repository's Markdown stands alone: every relative link resolves to a
file or folder inside the repository (an anchor, when given, to a heading
of that file), and no document sends the reader to a design file that is
not here."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documents():
    tracked = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / p for p in tracked.stdout.split() if "node_modules" not in p]


def anchors(path):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to -."""
    found = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            text = re.sub(r"[^\w\- ]", "", text)
            found.add(text.replace(" ", "-"))
    return found


def problems(paths):
    out = []
    for doc in paths:
        text = doc.read_text()
        if "DESIGN.md" in text:
            out.append(f"{doc.relative_to(ROOT)} names DESIGN.md, which is not in the repository")
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#") and not target[1:]:
                continue
            file, _, anchor = target.partition("#")
            resolved = (doc.parent / file).resolve() if file else doc
            if ROOT not in resolved.parents and resolved != ROOT:
                out.append(f"{doc.relative_to(ROOT)}: {target} leaves the repository")
            elif not resolved.exists():
                out.append(f"{doc.relative_to(ROOT)}: {target} does not exist")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                out.append(f"{doc.relative_to(ROOT)}: {target}: no such heading")
    return out


def test_every_link_stays_in_the_repository_and_resolves():
    docs = documents()
    assert any(d.name == "README.md" for d in docs)
    assert problems(docs) == []


def test_the_check_catches_broken_links(tmp_path):
    doc = ROOT / "docs" / "__link_check_probe.md"
    doc.write_text(
        "[a](../../shared/DESIGN.md) [b](missing.md) [c](config.md#no-such-heading) [d](config.md#the-session) [e](https://example.org)\n")
    try:
        found = problems([doc])
    finally:
        doc.unlink()
    assert len(found) == 4, found
