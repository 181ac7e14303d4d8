"""README.md's "Project layout" names every module of the package, so it follows the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_layout_names_every_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Project layout\n\n```\n", 1)[1].split("```", 1)[0]
    words = set(re.findall(r"\w+(?:\.py)?", block))
    modules = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "rfm_desktop").rglob("*.py")
        if p.name != "__init__.py"
    )
    assert modules, "no modules found"
    missing = [m for m in modules if Path(m).name not in words and Path(m).stem not in words]
    assert missing == []
    folders = {p.parent.name for p in (ROOT / "rfm_desktop").rglob("*.py")} - {"rfm_desktop"}
    assert all(f"{folder}/" in block for folder in folders)
