"""The package boundaries of docs/architecture.md, checked on the source (ast, no imports run)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("hierskp", "cache_schema")
MAX_LINES = 300
LONG_DATA_MODULES: set[str] = set()  # the synth vocabulary moved to hierskp/synth/worlds/*.yaml


def modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def dotted(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imported(path: Path) -> set[str]:
    """Absolute names of every module imported anywhere in the file (deferred imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = dotted(path) if path.name == "__init__.py" else dotted(path).rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def importers(packages: tuple[str, ...], target: str) -> list[str]:
    return [
        f"{p.relative_to(ROOT)} imports {name}"
        for p in modules(*packages)
        for name in sorted(imported(p))
        if name == target or name.startswith(target + ".")
    ]


def test_train_and_eval_never_import_each_other():
    assert importers(("hierskp/train",), "hierskp.eval") == []
    assert importers(("hierskp/eval",), "hierskp.train") == []


def test_read_model_and_run_package_sit_below_train_and_eval():
    for low in ("hierskp/dataset", "hierskp/runs", "hierskp/models", "hierskp/losses", "cache_schema"):
        for high in ("hierskp.train", "hierskp.eval", "hierskp.cli", "hierskp.experiments.train_and_evaluate", "flows"):
            assert importers((low,), high) == [], (low, high)


def test_library_never_imports_prefect():
    assert importers(LIBRARY, "prefect") == []


def test_only_cache_schema_knows_the_layout():
    assert importers(("hierskp", "flows"), "cache_schema.layout") == [
        "hierskp/ingest/manifest.py imports cache_schema.layout",  # the video id pattern only, no path
        "hierskp/ingest/manifest.py imports cache_schema.layout.VIDEO_ID_PATTERN",
    ]


def test_exactly_one_info_nce():
    defs = [
        f"{p.relative_to(ROOT)}:{node.name}"
        for p in modules(*LIBRARY)
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and "info_nce" in node.name.lower()
    ]
    assert defs == ["hierskp/losses/contrastive.py:info_nce"]


def test_library_modules_are_small():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in modules(*LIBRARY)}
    long = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in LONG_DATA_MODULES}
    assert long == {}
