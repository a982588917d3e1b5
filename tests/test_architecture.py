"""The package boundaries of docs/architecture.md, checked on the source (ast, no imports run)."""

from __future__ import annotations

import ast
import functools
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("hierskp", "cache_schema")
MAX_LINES = 300
LONG_DATA_MODULES: set[str] = set()  # the synth vocabulary moved to hierskp/synth/worlds/*.yaml
MAX_FUNCTION_LINES = 60
# Functions that are data tables, not logic: allowed to be long. Nothing else belongs here.
LONG_DATA_FUNCTIONS = {
    "hierskp/eval/report/render.py:_sections",  # the report's sections: (key, title, [(column, path, scale)])
}


def modules(root: Path, *packages: str) -> list[Path]:
    return sorted(
        p for pkg in packages for p in ((root / pkg).rglob("*.py") if (root / pkg).is_dir() else [root / pkg])
    )


def dotted(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


@functools.cache
def imported(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of every module imported anywhere in the file (deferred imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = dotted(path, root) if path.name == "__init__.py" else dotted(path, root).rpartition(".")[0]
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


def importers(packages: tuple[str, ...], target: str, root: Path = ROOT, skip_self: bool = False) -> list[str]:
    """`file imports name` for every import of `target` (or below it) in the packages' files;
    `skip_self`: not counting a package's imports of itself."""
    return [
        f"{p.relative_to(root)} imports {name}"
        for p in modules(root, *packages)
        if not (skip_self and (dotted(p, root) + ".").startswith(target + "."))
        for name in sorted(imported(p, root))
        if name == target or name.startswith(target + ".")
    ]


# the packages of each layer; a lower layer never imports a higher one (docs/architecture.md)
LOW = (
    "hierskp/dataset",
    "hierskp/files",
    "hierskp/models",
    "hierskp/losses",
    "hierskp/index",
    "hierskp/runs",
    "hierskp/backbones",
    "hierskp/video",
    "cache_schema",
)
HIGH = (
    "hierskp.train",
    "hierskp.eval",
    "hierskp.search",
    "hierskp.experiments",
    "hierskp.api",
    "hierskp.cli",
    "hierskp.serve",
    "flows",
)
# who may open the cache's contract directly: the read model, the writer side and the edges (CLI, flows)
CACHE_SCHEMA_IMPORTERS = (
    "hierskp/dataset",
    "hierskp/extract",
    "hierskp/ingest",
    "hierskp/cli",
    "flows",
    "hierskp/files/atomic.py",  # re-exports the one atomic write, `cache_schema.atomic` (the contract writes with it too)
)
# who may use the public API module (`hierskp.api`): only what sits above it
API_IMPORTERS = ("hierskp/__init__.py", "hierskp/cli", "hierskp/serve", "flows")
MAX_MODULES = 12


def layer_violations(root: Path = ROOT) -> list[str]:
    """Every import that breaks the layering: one line each, empty when the tree is clean."""
    out = []
    out += importers(("hierskp/train",), "hierskp.eval", root) + importers(("hierskp/eval",), "hierskp.train", root)
    for high in ("hierskp.search", "hierskp.train"):
        out += importers(("hierskp/eval", "hierskp/search", "hierskp/train"), high, root, skip_self=True)
    for low in LOW:
        for high in HIGH:
            out += importers((low,), high, root)
    return out


def read_model_violations(root: Path = ROOT) -> list[str]:
    """The read model imports only the contract; nothing else in stages 2 and 3 touches the contract."""
    dataset = [
        line for line in importers(("hierskp/dataset",), "hierskp", root) if " imports hierskp.dataset" not in line
    ]
    others = [
        p
        for p in modules(root, "hierskp", "flows")
        if not any(str(p.relative_to(root)).startswith(a) for a in CACHE_SCHEMA_IMPORTERS)
    ]
    return dataset + [
        f"{p.relative_to(root)} imports {n}"
        for p in others
        for n in sorted(imported(p, root))
        if n.split(".")[0] == "cache_schema"
    ]


def api_violations(root: Path = ROOT) -> list[str]:
    below = [
        p
        for p in modules(root, "hierskp")
        if not any(str(p.relative_to(root)).startswith(a) for a in API_IMPORTERS + ("hierskp/api.py",))
    ]
    return [
        f"{p.relative_to(root)} imports {n}"
        for p in below
        for n in sorted(imported(p, root))
        if n == "hierskp.api" or n.startswith("hierskp.api.")
    ]


def crowded_packages(root: Path = ROOT) -> dict[str, int]:
    """Packages holding more than MAX_MODULES modules (``__init__`` not counted)."""
    counts = {
        str(d.relative_to(root)): sum(1 for f in d.glob("*.py") if f.name != "__init__.py")
        for pkg in LIBRARY
        for d in [root / pkg, *(root / pkg).rglob("*")]
        if d.is_dir() and (d / "__init__.py").exists()
    }
    return {d: n for d, n in counts.items() if n > MAX_MODULES}


def test_train_eval_and_search_keep_their_layers():
    assert layer_violations() == []


def test_stages_two_and_three_read_the_cache_through_the_read_model():
    assert read_model_violations() == []


def test_only_what_sits_above_the_public_api_imports_it():
    assert api_violations() == []


def test_no_package_holds_more_than_twelve_modules():
    assert crowded_packages() == {}


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
        for p in modules(ROOT, *LIBRARY)
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and "info_nce" in node.name.lower()
    ]
    assert defs == ["hierskp/losses/contrastive.py:info_nce"]


def definitions(name: str) -> list[str]:
    return [
        f"{p.relative_to(ROOT)}:{node.name}"
        for p in modules(ROOT, *LIBRARY)
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name == name
    ]


def test_one_device_resolver_and_one_atomic_write():
    assert definitions("resolve_device") == ["hierskp/devices.py:resolve_device"]
    assert definitions("atomic_write") == ["cache_schema/atomic.py:atomic_write"]  # hierskp.files.atomic re-exports it
    hand_rolled = [
        str(p.relative_to(ROOT))
        for p in modules(ROOT, *LIBRARY)
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
    for p in modules(ROOT, *LIBRARY):
        found |= long_functions(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
    assert {k: n for k, n in found.items() if k not in LONG_DATA_FUNCTIONS} == {}
    assert set(LONG_DATA_FUNCTIONS) <= set(found), "an allowed data table got short: drop it from the list"


def test_the_length_rule_sees_a_planted_long_function():
    body = "".join(f"        x{i} = {i}\n" for i in range(60))
    source = f"def short():\n    return 1\n\n\nclass C:\n    def planted(self):\n{body}        return 0\n"
    assert long_functions(source, "m.py") == {"m.py:planted": 62}


def test_library_modules_are_small():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in modules(ROOT, *LIBRARY)}
    long = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in LONG_DATA_MODULES}
    assert long == {}


# a test of the tests: each rule, run on a copy of the tree with one planted violation, names it
PLANTS = {
    "eval reads the contract": (
        "hierskp/eval/tasks/planted.py",
        "from cache_schema import open_cache\n",
        read_model_violations,
    ),
    "the read model imports a loss": (
        "hierskp/dataset/planted.py",
        "from hierskp.losses import info_nce\n",
        read_model_violations,
    ),
    "train imports eval": ("hierskp/train/planted.py", "from hierskp.eval.tasks import embed\n", layer_violations),
    "eval imports search": ("hierskp/eval/report/planted.py", "import hierskp.search.library\n", layer_violations),
    "runs imports the CLI": ("hierskp/runs/planted.py", "from hierskp.cli import main\n", layer_violations),
    "search imports the public API": (
        "hierskp/search/planted.py",
        "from hierskp.api import search_library\n",
        api_violations,
    ),
}


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for pkg in (*LIBRARY, "flows"):
        shutil.copytree(ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.yaml", "static"))
    return root


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_each_rule_names_a_planted_violation(tree_copy, plant):
    rel, source, rule = PLANTS[plant]
    assert rule(tree_copy) == [], "the copy starts clean"
    (tree_copy / rel).write_text(source)
    imported.cache_clear()
    try:
        found = rule(tree_copy)
    finally:
        (tree_copy / rel).unlink()
        imported.cache_clear()
    assert found and all(line.startswith(rel) for line in found), found


def test_a_thirteenth_module_crowds_its_package(tree_copy):
    pkg = tree_copy / "hierskp" / "eval" / "metrics"
    extra = [pkg / f"planted_{i}.py" for i in range(MAX_MODULES + 1 - len(list(pkg.glob("[!_]*.py"))))]
    for p in extra:
        p.write_text("")
    try:
        assert crowded_packages(tree_copy) == {"hierskp/eval/metrics": MAX_MODULES + 1}
    finally:
        for p in extra:
            p.unlink()
