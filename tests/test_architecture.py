"""The package boundaries of docs/architecture.md, checked on the source (ast, no imports run)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("hierskp", "cache_schema")
MAX_LINES = 300
LONG_DATA_MODULES: set[str] = set()  # the synth vocabulary moved to hierskp/synth/worlds/*.yaml
MAX_FUNCTION_LINES = 60
# Functions that are data tables, not logic: allowed to be long. Nothing else belongs here.
LONG_DATA_FUNCTIONS = {
    "hierskp/eval/report_render.py:_sections",  # the report's sections: (key, title, [(column, path, scale)])
}


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
        for high in ("hierskp.train", "hierskp.eval", "hierskp.commands", "hierskp.experiment", "flows"):
            assert importers((low,), high) == [], (low, high)


def test_library_never_imports_prefect():
    assert importers(LIBRARY, "prefect") == []


def test_only_cache_schema_knows_the_layout():
    assert importers(("hierskp", "flows"), "cache_schema.layout") == [
        "hierskp/data/manifest.py imports cache_schema.layout",  # the video id pattern only, no path
        "hierskp/data/manifest.py imports cache_schema.layout.VIDEO_ID_PATTERN",
    ]


def test_exactly_one_info_nce():
    defs = [
        f"{p.relative_to(ROOT)}:{node.name}"
        for p in modules(*LIBRARY)
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and "info_nce" in node.name.lower()
    ]
    assert defs == ["hierskp/losses/contrastive.py:info_nce"]


def definitions(name: str) -> list[str]:
    return [
        f"{p.relative_to(ROOT)}:{node.name}"
        for p in modules(*LIBRARY)
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name == name
    ]


def test_one_device_resolver_and_one_atomic_write():
    assert definitions("resolve_device") == ["hierskp/devices.py:resolve_device"]
    assert definitions("atomic_write") == ["cache_schema/atomic.py:atomic_write"]  # hierskp.files.atomic re-exports it
    hand_rolled = [
        str(p.relative_to(ROOT))
        for p in modules(*LIBRARY)
        if p.name != "atomic.py" and any(s in p.read_text(encoding="utf-8") for s in ("os.replace(", "os.fsync("))
    ]
    assert hand_rolled == ["hierskp/runs/promotion.py"]  # fsyncs an append to decisions.jsonl, not a replace


def long_functions(source: str, where: str, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """`where:name` -> lines (def to last line, decorators excluded) of every function longer than `limit`."""
    return {
        f"{where}:{node.name}": node.end_lineno - node.lineno + 1
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > limit
    }


def test_functions_are_short():
    """A function reads top to bottom: more than 60 lines is several phases that want names."""
    found: dict[str, int] = {}
    for p in modules(*LIBRARY):
        found |= long_functions(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
    assert {k: n for k, n in found.items() if k not in LONG_DATA_FUNCTIONS} == {}
    assert set(LONG_DATA_FUNCTIONS) <= set(found), "an allowed data table got short: drop it from the list"


def test_the_length_rule_sees_a_planted_long_function():
    body = "".join(f"        x{i} = {i}\n" for i in range(60))
    source = f"def short():\n    return 1\n\n\nclass C:\n    def planted(self):\n{body}        return 0\n"
    assert long_functions(source, "m.py") == {"m.py:planted": 62}


def test_library_modules_are_small():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in modules(*LIBRARY)}
    long = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in LONG_DATA_MODULES}
    assert long == {}
