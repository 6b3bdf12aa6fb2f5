"""models/ is the domain layer: it imports nothing from rendering, Qt or sync, not even lazily."""
import ast
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"
UPWARD = ("documents", "ui", "sync", "PySide6", "reportlab", "pyhanko")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names = []
    for node in ast.walk(tree):  # every import, at module level or inside a function
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_models_never_import_an_upper_layer():
    """No module of models/ imports documents/, ui/, sync/, Qt, reportlab or pyhanko."""
    found = {f"{path.relative_to(MODELS)}: {name}"
             for path in MODELS.rglob("*.py") for name in _imports(path)
             if name.split(".")[0] in UPWARD}
    assert found == set()
