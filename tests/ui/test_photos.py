"""Evidence photos on screen: importing (files, drops), the strip, the viewer, read-only."""
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QInputMethodEvent
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

import ui.photo_viewer as photo_viewer
from models.demo import demo_photo
from models.inspection import AnswerResult, Photo
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from models.photo_rules import photo_cards, thumbnail_path
from models.photo_store import attach_photo
from ui.camera_dialog import camera_available
from ui.photo_ingest import wait_off_ui_thread
from ui.photo_strip import PhotoListModel, PhotoStrip
from ui.photo_viewer import PhotoViewer

T0 = datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc)  # the clock fixture's start
WAIT_MS = 15_000
# The offscreen platform's complaint when a shown window's size limits change: test noise only.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def target(store, inspection_id):
    """A noncompliant answer and its hazard, for photos to attach to."""
    with store.transaction() as s:
        item = inspection_items(s, inspection_id)[0]
        answer = answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT)
        return answer.id, answer.hazard.id


@pytest.fixture
def strip(qtbot, store, inspection_id, target):
    widget = PhotoStrip(store, inspection_id)
    qtbot.addWidget(widget)
    widget.set_target(*target)
    widget.show()
    return widget


def _camera_files(folder: Path, *names_and_times) -> list[Path]:
    paths = []
    for name, taken in names_and_times:
        path = folder / name
        path.write_bytes(demo_photo(name, taken))
        paths.append(path)
    return paths


def _type(qtbot, widget, text):
    """Type like a user: ASCII as keys, Chinese as a committed input-method phrase
    (QTest.keyClicks aborts on non-ASCII)."""
    for run in re.findall(r"[\x00-\x7f]+|[^\x00-\x7f]+", text):
        if run.isascii():
            qtbot.keyClicks(widget, run)
        else:
            event = QInputMethodEvent("", [])
            event.setCommitString(run)
            QApplication.sendEvent(widget, event)


def _stored(store):
    with store.session() as s:
        return s.scalars(select(Photo).order_by(Photo.created_at)).all()


def _attach(store, inspection_id, target, taken=T0):
    with store.transaction() as s:
        return attach_photo(s, store.photos_dir, inspection_id, demo_photo("x", taken),
                            original_name="IMG_1.jpg", answer_id=target[0], hazard_id=target[1]).id


def _finalize(store, inspection_id):
    with store.transaction() as s:
        for item in inspection_items(s, inspection_id):
            answer_item(s, inspection_id, item.id, AnswerResult.COMPLIANT)
        finalize_inspection(s, inspection_id)


def test_adding_files_keeps_good_photos_and_names_the_broken_one(qtbot, store, strip, tmp_path):
    """Two good photos and a broken file: two thumbnails, two rows, a message naming the bad one."""
    good = _camera_files(tmp_path, ("IMG_1.jpg", T0), ("IMG_2.jpg", T0 + timedelta(minutes=3)))
    broken = tmp_path / "IMG_3.jpg"
    broken.write_bytes(demo_photo("x", T0)[:5000])
    with qtbot.waitSignal(strip.ingest.finished, timeout=WAIT_MS):
        strip.add_files([*good, broken])
    assert strip.model.rowCount() == 2
    assert strip.view.isVisibleTo(strip) and strip.progress.isHidden()
    assert [p.original_name for p in _stored(store)] in (["IMG_1.jpg", "IMG_2.jpg"],
                                                         ["IMG_2.jpg", "IMG_1.jpg"])
    assert "IMG_3.jpg" in strip.notice.text() and "已损坏" in strip.notice.text()
    assert "现场照片（2 张）" in strip.title.text()


def test_dropping_files_adds_them(qtbot, store, strip, tmp_path):
    """Photos dragged from a file manager onto the strip are imported."""
    paths = _camera_files(tmp_path, ("DSC_1.jpg", T0), ("DSC_2.jpg", T0))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = strip.rect().center()
    enter = QDragEnterEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(strip, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(strip.ingest.finished, timeout=WAIT_MS):
        QApplication.sendEvent(strip, drop)
    assert len(_stored(store)) == 2 and strip.model.rowCount() == 2
    assert strip.notice.isHidden()


def test_dropped_folder_brings_the_photos_inside(qtbot, store, strip, tmp_path):
    """A camera card's folder dropped whole imports the photos in it and its subfolders."""
    card = tmp_path / "DCIM" / "100CANON"
    card.mkdir(parents=True)
    _camera_files(card, ("IMG_1.JPG", T0), ("IMG_2.JPG", T0))
    (card / "notes.txt").write_text("not a photo")
    with qtbot.waitSignal(strip.ingest.finished, timeout=WAIT_MS):
        strip.add_files([tmp_path / "DCIM"])
    assert len(_stored(store)) == 2 and strip.notice.isHidden()


def test_unwritable_photo_folder_is_explained(qtbot, store, strip, tmp_path):
    """When the photo folder cannot be written, the user reads why and what to do."""
    store.photos_dir.write_bytes(b"")  # a file where the folder should be
    paths = _camera_files(tmp_path, ("IMG_1.jpg", T0))
    with qtbot.waitSignal(strip.ingest.finished, timeout=WAIT_MS):
        strip.add_files(paths)
    assert "无法写入照片文件夹" in strip.notice.text() and "可写" in strip.notice.text()
    assert _stored(store) == []


def test_photo_far_from_inspection_time_is_marked(qtbot, store, strip, inspection_id, target):
    """A photo whose EXIF time is days away from the inspection is marked 时间异常."""
    _attach(store, inspection_id, target, T0 - timedelta(days=2))
    _attach(store, inspection_id, target, T0 + timedelta(minutes=10))
    strip.refresh()
    model = strip.model
    far = [model.data(model.index(r), PhotoListModel.TimeFarRole) for r in range(2)]
    assert far == [True, False]
    assert "时间异常" in model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0)).startswith("⚠")
    assert not model.data(model.index(1)).startswith("⚠")


def test_photo_list_model_passes_the_model_tester(qtmodeltester, qtbot, store, inspection_id,
                                                  target):
    """The thumbnail model is a well-behaved Qt model and shows each photo's EXIF time."""
    _attach(store, inspection_id, target, T0)
    with store.session() as s:
        cards = photo_cards(s, inspection_id)
    model = PhotoListModel(store.data_dir)
    model.set_rows(cards)
    qtmodeltester.check(model)
    assert model.data(model.index(0)) == "11-02 09:30"  # T0 on the agency (Beijing) clock
    assert not model.data(model.index(0), Qt.ItemDataRole.DecorationRole).isNull()


def test_clicking_a_thumbnail_opens_the_viewer(qtbot, store, strip, inspection_id, target):
    """A click on a thumbnail shows the photo large."""
    _attach(store, inspection_id, target)
    strip.refresh()
    rect = strip.view.visualRect(strip.model.index(0))
    qtbot.mouseClick(strip.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert strip.viewer is not None and strip.viewer.isVisible()
    assert strip.viewer.file_name.text() == "IMG_1.jpg"
    strip.viewer.reject()


def test_viewer_rotates_and_captions_the_stored_photo(qtbot, store, inspection_id, target):
    """向右旋转 turns the photo a quarter; a typed caption is saved when Enter is pressed."""
    photo_id = _attach(store, inspection_id, target)
    viewer = PhotoViewer(store, photo_id)
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.mouseClick(viewer.rotate_button, Qt.MouseButton.LeftButton)
    _type(qtbot, viewer.caption, "除尘器积尘约 3 mm")
    qtbot.keyClick(viewer.caption, Qt.Key.Key_Return)
    photo = _stored(store)[0]
    assert (photo.rotation, photo.caption) == (90, "除尘器积尘约 3 mm")
    assert not viewer.isVisible()


def test_viewer_deletes_only_after_confirmation(qtbot, store, inspection_id, target, monkeypatch):
    """删除照片 asks first: 保留 keeps the photo, 删除 removes it from the record."""
    asked, answer = [], [False]
    monkeypatch.setattr(photo_viewer, "confirm",
                        lambda _parent, title, text, **_kw: asked.append(text) or answer[0])
    photo_id = _attach(store, inspection_id, target)
    viewer = PhotoViewer(store, photo_id)
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.mouseClick(viewer.delete_button, Qt.MouseButton.LeftButton)
    assert "确定删除这张照片" in asked[0] and len(_stored(store)) == 1
    answer[0] = True
    qtbot.mouseClick(viewer.delete_button, Qt.MouseButton.LeftButton)
    assert _stored(store) == [] and not viewer.isVisible()


def test_viewer_shows_time_position_and_file(qtbot, store, inspection_id, target):
    """The viewer shows the EXIF time, the GPS position and the original file name."""
    photo_id = _attach(store, inspection_id, target)
    viewer = PhotoViewer(store, photo_id)
    qtbot.addWidget(viewer)
    assert viewer.taken.text() == "2026-11-02 09:30:00"  # T0 on the agency clock
    assert viewer.position.text().startswith("北纬 27.7")
    assert viewer.file_name.text() == "IMG_1.jpg" and viewer.time_warning.isHidden()


def test_finalized_inspection_photos_are_read_only(qtbot, store, inspection_id, target):
    """After finalizing, the strip offers no adding and the viewer no rotating or deleting."""
    _attach(store, inspection_id, target)
    _finalize(store, inspection_id)
    strip = PhotoStrip(store, inspection_id)
    qtbot.addWidget(strip)
    strip.show()
    assert not strip.add_button.isEnabled() and not strip.add_button.isVisible()
    assert not strip.camera_button.isVisible() and not strip.acceptDrops()
    assert "只能查看" in strip.title.text()
    strip.open_viewer(strip.model.card(0).id)
    viewer = strip.viewer
    assert viewer.caption.isReadOnly() and not viewer.rotate_button.isVisible()
    assert not viewer.delete_button.isVisible() and viewer.read_only_note.isVisible()
    viewer.reject()


def test_unanswered_item_takes_no_photos_yet(qtbot, store, strip):
    """An item without a result shows how to proceed instead of an add button that works."""
    strip.set_target(None, None)
    assert not strip.add_button.isEnabled()
    assert "请先选择本项的检查结果" in strip.empty_hint.text()


def test_missing_thumbnail_is_rebuilt_in_the_background(qtbot, store, strip, inspection_id, target):
    """A photo whose thumbnail file is gone gets it back without blocking the screen."""
    _attach(store, inspection_id, target)
    thumb = thumbnail_path(store.data_dir, _stored(store)[0].sha256)
    thumb.unlink()
    strip.refresh()
    qtbot.waitUntil(thumb.exists, timeout=WAIT_MS)


def test_camera_check_is_quiet_without_a_camera(qtbot, store, strip):
    """Without a camera (or without QtMultimedia) the 拍照 button is simply not there."""
    assert camera_available() is False
    assert not strip.camera_button.isVisible()


def test_ingest_reports_progress_to_the_end(qtbot, store, strip, tmp_path):
    """The progress bar counts every file, good or bad, and hides at the end."""
    paths = _camera_files(tmp_path, *((f"P{n}.jpg", T0) for n in range(4)))
    seen = []
    strip.ingest.progress.connect(lambda done, total: seen.append((done, total)))
    with qtbot.waitSignal(strip.ingest.finished, timeout=WAIT_MS):
        strip.add_files(paths)
    assert seen[-1] == (4, 4) and strip.progress.isHidden()
    assert strip.model.rowCount() == 4


def test_leaving_mid_import_is_safe(qtbot, store, inspection_id, target, tmp_path):
    """Closing the page during an import neither crashes nor records photos behind its back."""
    paths = _camera_files(tmp_path, *((f"P{n}.jpg", T0) for n in range(6)))
    strip = PhotoStrip(store, inspection_id)
    strip.set_target(*target)
    strip.add_files(paths)
    shiboken6.delete(strip)
    assert wait_off_ui_thread(WAIT_MS)
    qtbot.wait(50)  # let the queued results arrive, and be dropped
    assert _stored(store) == []


def test_caption_is_saved_after_the_typing_pause(qtbot, store, inspection_id, target):
    """A caption typed in the viewer is on disk a second after the last key, without Enter."""
    import sqlite3
    from contextlib import closing
    photo_id = _attach(store, inspection_id, target)
    viewer = PhotoViewer(store, photo_id)
    qtbot.addWidget(viewer)
    viewer.show()
    viewer.caption.setFocus()
    _type(qtbot, viewer.caption, "积尘 3 mm")
    qtbot.wait(1000)
    with closing(sqlite3.connect(store.data_dir / "fieldcheck.db")) as conn:
        assert conn.execute("SELECT caption FROM photo WHERE id = ?",
                            (photo_id.hex,)).fetchone() == ("积尘 3 mm",)
    assert viewer.caption_error.text().startswith("已保存")
    viewer.reject()
