"""Widgets are tested under the application's own look and text policy (ui.style)."""
import pytest


@pytest.fixture(autouse=True)
def _app_style(qapp):
    """What run_gui applies at start: fonts, style sheet, record text never read as markup."""
    from ui.style import apply_style
    apply_style(qapp)


@pytest.fixture(autouse=True)
def _no_leftover_modal_pollers():
    """A `when_modal_opens` poller that saw no dialog stops with its test."""
    yield
    from tests.ui.test_settings_dialogs import PENDING_POLLS
    PENDING_POLLS.clear()
