"""The handwritten signature pad and dialog, used with mouse, pen and finger."""
import io

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from ui.signature_pad import PNG_MARGIN, PNG_SCALE, SignatureDialog, SignaturePad

ZIGZAG = [(40, 60), (70, 100), (100, 50), (130, 110), (160, 70)]
LOOP = [(220, 90), (250, 60), (280, 90), (250, 120), (222, 92)]


@pytest.fixture
def pad(qtbot):
    widget = SignaturePad()
    widget.resize(600, 220)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def draw(qtbot, widget, points, offset=(0, 0)):
    """One stroke with the mouse: press, move through the points, release."""
    pts = [QPoint(x + offset[0], y + offset[1]) for x, y in points]
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=pts[-1])


def png_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_pad_starts_empty_and_a_stroke_fills_it(qtbot, pad):
    """Drawing with the mouse puts ink on the pad and announces the change."""
    assert pad.is_empty()
    with qtbot.waitSignal(pad.changed):
        draw(qtbot, pad, ZIGZAG)
    assert not pad.is_empty()
    assert len(pad.strokes) == 1 and len(pad.strokes[0]) == len(ZIGZAG)


def test_undo_takes_back_the_last_stroke_only(qtbot, pad):
    """撤销 removes the most recent stroke and keeps the earlier ones."""
    draw(qtbot, pad, ZIGZAG)
    draw(qtbot, pad, LOOP)
    first = [list(s) for s in pad.strokes[:1]]
    with qtbot.waitSignal(pad.changed):
        pad.undo()
    assert pad.strokes == first
    pad.undo()
    assert pad.is_empty()


def test_clear_empties_the_pad(qtbot, pad):
    """清除 wipes every stroke."""
    draw(qtbot, pad, ZIGZAG)
    draw(qtbot, pad, LOOP)
    with qtbot.waitSignal(pad.changed):
        pad.clear()
    assert pad.is_empty()


def test_png_is_transparent_and_trimmed_to_the_ink(qtbot, pad):
    """The PNG opens with Pillow: RGBA, transparent around the ink, cut to the ink plus margin."""
    draw(qtbot, pad, ZIGZAG)
    image = png_image(pad.to_png_bytes())
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0
    ink_box = image.getchannel("A").getbbox()
    assert ink_box is not None
    left, top, right, bottom = ink_box
    gaps = [left, top, image.width - right, image.height - bottom]
    assert all(abs(gap - PNG_MARGIN * PNG_SCALE) <= 3 for gap in gaps), gaps


def test_same_strokes_give_the_same_png(qtbot, pad):
    """Identical strokes, even drawn elsewhere on another pad, give byte-identical PNGs."""
    draw(qtbot, pad, ZIGZAG)
    draw(qtbot, pad, LOOP)
    other = SignaturePad()
    other.resize(600, 220)
    qtbot.addWidget(other)
    other.show()
    qtbot.waitExposed(other)
    draw(qtbot, other, ZIGZAG, offset=(30, 10))
    draw(qtbot, other, LOOP, offset=(30, 10))
    assert pad.to_png_bytes() == other.to_png_bytes()
    other.undo()
    assert pad.to_png_bytes() != other.to_png_bytes()


def test_a_drag_off_the_pad_stays_on_its_edge(qtbot, pad):
    """Ink dragged beyond the pad is kept at the border, so the PNG shows what the screen did."""
    draw(qtbot, pad, [(500, 100), (590, 100), (700, 100)])
    assert max(x for x, _, _ in pad.strokes[0]) == pad.width()


def test_empty_pad_has_no_png(pad):
    """Asking an empty pad for its PNG is a mistake of the caller."""
    with pytest.raises(ValueError):
        pad.to_png_bytes()


def test_a_single_tap_leaves_a_dot(qtbot, pad):
    """A press and release without moving is a dot, not nothing."""
    draw(qtbot, pad, [(100, 100)])
    assert png_image(pad.to_png_bytes()).getchannel("A").getbbox() is not None


def pen_stroke(pad, points, pressure):
    device = QPointingDevice("test pen", 4711, QInputDevice.DeviceType.Stylus,
                             QPointingDevice.PointerType.Pen,
                             QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
                             1, 2)
    kinds = [QTabletEvent.Type.TabletPress] + [QTabletEvent.Type.TabletMove] * (len(points) - 1)
    for kind, (x, y) in zip(kinds + [QTabletEvent.Type.TabletRelease], points + points[-1:]):
        pos = QPointF(x, y)
        event = QTabletEvent(kind, device, pos, pad.mapToGlobal(pos), pressure, 0, 0, 0, 0, 0,
                             Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                             Qt.MouseButton.LeftButton)
        QApplication.sendEvent(pad, event)


def test_pen_pressure_makes_the_line_wider(pad):
    """A pen stroke pressed hard is thicker than the same stroke drawn lightly."""
    line = [(40, 100), (120, 100), (200, 100)]
    pen_stroke(pad, line, 0.1)
    light = png_image(pad.to_png_bytes()).getchannel("A").getbbox()
    pad.clear()
    pen_stroke(pad, line, 1.0)
    assert len(pad.strokes) == 1
    hard = png_image(pad.to_png_bytes()).getchannel("A").getbbox()
    assert hard[3] - hard[1] > light[3] - light[1]


def test_finger_draws_a_stroke(qtbot, pad):
    """A touch gesture draws one stroke, the same as the mouse would."""
    device = QTest.createTouchDevice()
    QTest.touchEvent(pad, device).press(0, QPoint(50, 50), pad)
    QTest.touchEvent(pad, device).move(0, QPoint(90, 80), pad)
    QTest.touchEvent(pad, device).move(0, QPoint(130, 60), pad)
    QTest.touchEvent(pad, device).release(0, QPoint(130, 60), pad)
    assert len(pad.strokes) == 1 and len(pad.strokes[0]) == 3


@pytest.fixture
def dialog(qtbot):
    def make(**kwargs):
        d = SignatureDialog("被检查单位负责人：陈建国", **kwargs)
        qtbot.addWidget(d)
        d.show()
        qtbot.waitExposed(d)
        return d
    return make


def test_dialog_confirms_only_with_ink(qtbot, dialog):
    """确定, 撤销 and 清除 stay disabled until something is drawn."""
    d = dialog()
    assert not d.ok_button.isEnabled() and not d.undo_button.isEnabled()
    draw(qtbot, d.pad, ZIGZAG)
    assert d.ok_button.isEnabled() and d.undo_button.isEnabled() and d.clear_button.isEnabled()


def test_dialog_returns_the_png(qtbot, dialog):
    """Signing and pressing 确定 accepts the dialog with the signature's PNG."""
    d = dialog()
    draw(qtbot, d.pad, ZIGZAG)
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    assert d.result() == QDialog.DialogCode.Accepted
    assert d.png_bytes == d.pad.to_png_bytes() and not d.refused
    assert png_image(d.png_bytes).mode == "RGBA"


def test_dialog_undo_and_clear_buttons(qtbot, dialog):
    """The dialog's 撤销 and 清除 buttons act on the pad."""
    d = dialog()
    draw(qtbot, d.pad, ZIGZAG)
    draw(qtbot, d.pad, LOOP)
    qtbot.mouseClick(d.undo_button, Qt.MouseButton.LeftButton)
    assert len(d.pad.strokes) == 1
    qtbot.mouseClick(d.clear_button, Qt.MouseButton.LeftButton)
    assert d.pad.is_empty() and not d.ok_button.isEnabled()


def test_refusal_is_recorded(qtbot, dialog):
    """拒绝签字 (offered to the enterprise's representative) accepts with refused set, no PNG."""
    d = dialog(allow_refusal=True)
    draw(qtbot, d.pad, ZIGZAG)
    qtbot.mouseClick(d.refuse_button, Qt.MouseButton.LeftButton)
    assert d.result() == QDialog.DialogCode.Accepted
    assert d.refused and d.png_bytes is None


def test_inspectors_cannot_refuse(dialog):
    """Without allow_refusal there is no 拒绝签字 button."""
    d = dialog()
    assert d.refuse_button is None
    assert "拒绝签字" not in [b.text() for b in d.findChildren(type(d.ok_button))]


def test_cancel_leaves_no_result(qtbot, dialog):
    """取消 rejects: neither a signature nor a refusal."""
    d = dialog(allow_refusal=True)
    draw(qtbot, d.pad, ZIGZAG)
    qtbot.mouseClick(d.cancel_button, Qt.MouseButton.LeftButton)
    assert d.result() == QDialog.DialogCode.Rejected
    assert d.png_bytes is None and not d.refused
