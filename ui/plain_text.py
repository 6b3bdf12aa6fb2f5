"""Text is text: names, addresses, notes and hazard text — typed here or brought by a
bundle — are shown literally, never read as markup.

Qt labels guess (Qt.AutoText): a text that starts like a tag is rendered as HTML, so an
enterprise named `<font size=30 color=red>A&B</font>有限公司` would fill the walk's header.
One policy for the whole app instead of a fix per label: `install` makes every QLabel that
is still on AutoText when it is polished — ours, those inside a QMessageBox or a form, the
one a tooltip is shown in — a Qt.PlainText label. A label that shows markup on purpose says
so with `rich()`, and escapes every piece of record text it puts in.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLabel

_POLICY_NAME = "fieldcheck_plain_text_policy"


class _PlainTextPolicy(QObject):
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Polish and isinstance(obj, QLabel) \
                and obj.textFormat() == Qt.TextFormat.AutoText:
            obj.setTextFormat(Qt.TextFormat.PlainText)
        return False


def install(app: QApplication) -> None:
    """Make every label of `app` plain text unless it is `rich()` (once per application)."""
    if app.findChild(QObject, _POLICY_NAME) is None:
        policy = _PlainTextPolicy(app)
        policy.setObjectName(_POLICY_NAME)
        app.installEventFilter(policy)


def rich(label: QLabel) -> QLabel:
    """A label whose markup is ours: every record text in it must go through html.escape."""
    label.setTextFormat(Qt.TextFormat.RichText)
    return label
