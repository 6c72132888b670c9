"""The package's layering: no import cycle, no family importing another, and the shared layer
importing no family (docs/architecture.md)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
FAMILIES = ("markov", "avalanche", "nlif", "balanced")


def _modules() -> dict[str, tuple[Path, list[str]]]:
    mods = {}
    for f in (SRC / "spikereduce").rglob("*.py"):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            mods[".".join(parts)] = (f, parts)  # relative imports resolve in the package
        else:
            mods[".".join(parts)] = (f, parts[:-1])
    return mods


def _imports() -> dict[str, set[str]]:
    """Every spikereduce module each module imports, at module level or inside a function."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, (f, pkg) in mods.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = pkg[:len(pkg) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
                names = subs if len(subs) == len(node.names) else [target, *subs]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            graph[m] |= {n for n in names if n in mods and n != m}
    return graph


def _family(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FAMILIES else None


def test_no_import_cycle():
    graph = _imports()
    state: dict[str, int] = {}
    cycles = []

    def visit(u: str, path: list[str]) -> None:
        state[u] = 1
        path.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                cycles.append(path[path.index(v):] + [v])
            elif v not in state:
                visit(v, path)
        path.pop()
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            visit(u, [])
    assert not cycles, cycles


def test_families_import_no_other_family_and_the_shared_layer_imports_none():
    wrong = []
    for m, deps in _imports().items():
        for d in deps:
            fm, fd = _family(m), _family(d)
            if fd is not None and fm != fd and m != "spikereduce":
                wrong.append(f"{m} -> {d}")
    assert not wrong, wrong


def test_result_objects_have_compact_reprs():
    from spikereduce.avalanche import assembly_table, weights
    from spikereduce.markov import MarkovParams, mfe_peaks, simulate_dsode

    r = repr(mfe_peaks(simulate_dsode(MarkovParams(), 500.0)))
    assert r.startswith("MFEPeaks(") and "pattern 'period-2'" in r and len(r) < 160
    t = repr(assembly_table(weights.ring(8, 0.7)))
    assert t.startswith("AssemblyTable(N=8") and len(t) < 120
