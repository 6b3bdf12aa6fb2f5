"""The layers hold, checked by import-linter (.importlinter) rather than by memory."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    """models knows no upper layer; documents, sync and release import each other not; only
    models and sync speak SQL; an import runs one way with no circle in sync."""
    run = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         "--no-cache", "--no-logo", str(ROOT / ".importlinter")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_main_speaks_no_sql():
    """main.py (a module, outside import-linter's packages) leaves SQL to models and sync."""
    tree = ast.parse((ROOT / "main.py").read_text("utf-8"))
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names]
    imported += [node.module for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0]
    assert [name for name in imported if name.split(".")[0] == "sqlalchemy"] == []
