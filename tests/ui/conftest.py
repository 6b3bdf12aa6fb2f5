"""Widgets are tested under the application's own look and text policy (ui.style)."""
import pytest


@pytest.fixture(autouse=True)
def _app_style(qapp):
    """What run_gui applies at start: fonts, style sheet, record text never read as markup."""
    from ui.style import apply_style
    apply_style(qapp)
