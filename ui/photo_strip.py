"""A strip of evidence photos for an item, a hazard or a whole inspection.

Add from files (many at once), by dropping files or a camera card's folder, or with the
laptop camera where one exists. The slow part of an import runs in PhotoIngest's threads;
this widget only records the rows and shows progress.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtCore import (QAbstractListModel, QMargins, QMimeData, QModelIndex, QSize, Qt,
                            QTimer, Signal)
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListView, QProgressBar,
                               QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from models.errors import FieldCheckError
from models.inspection_rules import get_inspection
from models.local_time import agency_text
from models.photo_rules import FAR_HOURS, PhotoCard, photo_cards, thumbnail_path
from models.photo_store import ensure_thumbnail, record_photo
from models.store import Store
from ui.camera_dialog import camera_available, camera_devices_watcher
from ui.photo_ingest import PhotoIngest, run_off_ui_thread
from ui.style import AMBER, RED

ICON_SIZE = QSize(160, 120)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}
FILE_FILTER = "图片 (*.jpg *.jpeg *.png *.webp *.tif *.tiff);;所有文件 (*)"
RELOAD_MS = 300  # during an import, show new thumbnails at most this often
_last_folder = ""  # where the user last picked photos (a camera card, usually)


def photo_files(paths: list[Path]) -> list[Path]:
    """Files as given; folders (a camera card's DCIM) replaced by the photos inside them."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(f for f in path.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES
                          and not f.name.startswith(".") and f.is_file())
        else:
            out.append(path)
    return out


def _local_paths(mime: QMimeData) -> list[Path]:
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def taken_text(card: PhotoCard) -> str:
    return agency_text(card.taken_at, "%m-%d %H:%M", "无拍摄时间")


class PhotoListModel(QAbstractListModel):
    """Thumbnails with their EXIF time underneath; a photo far from the inspection's time
    gets an orange frame and a 时间异常 badge."""

    COL_PHOTO = 0  # the only column: a thumbnail and its time
    PhotoIdRole = Qt.ItemDataRole.UserRole + 1
    TimeFarRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, data_dir: Path, parent=None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self._rows: list[PhotoCard] = []
        self._icons: dict[tuple, QPixmap] = {}

    def set_rows(self, rows: list[PhotoCard]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def card(self, row: int) -> PhotoCard:
        return self._rows[row]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        card = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"⚠ {taken_text(card)}" if card.time_far else taken_text(card)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(card)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(card)
        if role == Qt.ItemDataRole.ForegroundRole and card.time_far:
            return QColor(AMBER)
        if role == self.PhotoIdRole:
            return card.id
        if role == self.TimeFarRole:
            return card.time_far
        return None

    def missing_thumbnails(self) -> list[PhotoCard]:
        return [c for c in self._rows if not thumbnail_path(self.data_dir, c.sha256).exists()]

    def thumbnail_ready(self, sha256: str) -> None:
        self._icons = {k: v for k, v in self._icons.items() if k[0] != sha256}
        for row, card in enumerate(self._rows):
            if card.sha256 == sha256:
                index = self.index(row)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def _tooltip(self, card: PhotoCard) -> str:
        lines = [card.caption or "（无说明）", f"拍摄时间：{taken_text(card)}"]
        if card.time_far:
            lines.append(f"时间异常：与检查开始时间相差超过 {FAR_HOURS} 小时，请核实是否为本次检查所拍")
        if card.original_name:
            lines.append(f"原文件：{card.original_name}")
        return "\n".join(lines)

    def _icon(self, card: PhotoCard) -> QPixmap:
        key = (card.sha256, card.rotation, card.time_far)
        if key not in self._icons:
            self._icons[key] = _framed(thumbnail_path(self.data_dir, card.sha256), card)
        return self._icons[key]


def _framed(thumb: Path, card: PhotoCard) -> QPixmap:
    """The thumbnail turned by the user's rotation, centred on a fixed-size tile, framed."""
    tile = QPixmap(ICON_SIZE)
    tile.fill(QColor("#eceff1"))
    picture = QPixmap(str(thumb))
    painter = QPainter(tile)
    if not picture.isNull():
        if card.rotation:
            picture = picture.transformed(QTransform().rotate(card.rotation))
        picture = picture.scaled(ICON_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        painter.drawPixmap((ICON_SIZE.width() - picture.width()) // 2,
                           (ICON_SIZE.height() - picture.height()) // 2, picture)
    width = 6 if card.time_far else 1
    painter.setPen(QPen(QColor(AMBER if card.time_far else "#b0bec5"), width))
    painter.drawRect(tile.rect().adjusted(width // 2, width // 2, -(width + 1) // 2, -(width + 1) // 2))
    if card.time_far:  # a badge on the picture itself: visible at a glance, in any width
        badge = tile.rect().adjusted(0, tile.height() - 28, 0, 0)
        painter.fillRect(badge, QColor(AMBER))
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "时间异常")
    painter.end()
    return tile


class PhotoStrip(QWidget):
    """Until set_target() is called the strip shows (and adds to) the whole inspection."""

    photos_changed = Signal()

    def __init__(self, store: Store, inspection_id: uuid.UUID, parent: QWidget | None = None, *,
                 actor: str | None = None) -> None:
        super().__init__(parent)
        self.store, self.inspection_id, self.actor = store, inspection_id, actor
        self.answer_id: uuid.UUID | None = None
        self.hazard_id: uuid.UUID | None = None
        self.whole_inspection = True  # until set_target: every photo of the inspection
        self._make_answer = None  # records the answer of an item with no result yet
        self.read_only = False
        self.viewer = None
        self._added, self._refused = 0, []
        self._thumb_jobs: set[str] = set()
        self.ingest = PhotoIngest(store.photos_dir, self)
        self.model = PhotoListModel(store.data_dir, self)
        self._reload_timer = QTimer(self, singleShot=True, interval=RELOAD_MS)
        self._reload_timer.timeout.connect(self.refresh)
        self._build()
        self._connect()
        with store.session() as s:
            self.set_read_only(get_inspection(s, inspection_id).is_finalized)
        self.refresh()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.progress = QProgressBar()
        self.progress.setFormat("正在导入照片 %v / %m")
        self.progress.setMinimumWidth(260)
        self.progress.hide()
        self.camera_button = QPushButton("拍照")
        self.camera_button.setMinimumHeight(44)
        self.add_button = QPushButton("＋ 添加照片")
        self.add_button.setProperty("role", "primary")
        self.add_button.setMinimumSize(150, 44)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.progress)
        top.addStretch()
        top.addWidget(self.camera_button)
        top.addWidget(self.add_button)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_view())
        self.pages.addWidget(self.empty_hint)
        self.pages.setFixedHeight(self.view.height())
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.pages)
        layout.addWidget(self.notice)

    def _build_view(self) -> QListView:
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setFlow(QListView.Flow.LeftToRight)
        self.view.setWrapping(False)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setIconSize(ICON_SIZE)
        grid = ICON_SIZE.grownBy(QMargins(6, 4, 6, 8 + self.fontMetrics().height()))
        self.view.setGridSize(grid)
        self.view.setUniformItemSizes(True)
        scroll_bar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        self.view.setFixedHeight(grid.height() + scroll_bar + 8)  # the bar never covers a time
        self.view.setHorizontalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        # Drops are the strip's: the view must not take them for moving icons around.
        self.view.setDragEnabled(False)
        self.view.setAcceptDrops(False)
        self.view.viewport().setAcceptDrops(False)
        self.empty_hint = QLabel()
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setStyleSheet(
            "color: #607d8b; border: 2px dashed #b0bec5; border-radius: 6px;")
        return self.view

    def _connect(self) -> None:
        self.add_button.clicked.connect(self.choose_files)
        self.camera_button.clicked.connect(self.take_photo)
        self.view.clicked.connect(self._open_index)
        self.view.activated.connect(self._open_index)
        self.ingest.progress.connect(self._progress)
        self.ingest.photo_ready.connect(self._record)
        self.ingest.failed.connect(lambda name, text: self._refused.append((name, text)))
        self.ingest.finished.connect(self._ingest_finished)
        self._devices = camera_devices_watcher(self)
        if self._devices is not None:
            self._devices.videoInputsChanged.connect(self._update_buttons)

    # ------------------------------------------------------------------ what the page calls
    def set_target(self, answer_id: uuid.UUID | None, hazard_id: uuid.UUID | None) -> None:
        """Which answer/hazard new photos attach to, and whose photos are shown."""
        self.answer_id, self.hazard_id = answer_id, hazard_id
        self.whole_inspection = False
        self.notice.hide()
        self._update_buttons()
        self.refresh()

    def set_answer_maker(self, make) -> None:
        """Evidence first: for an item without a result yet, `make()` records its answer
        (still without a result) and returns the id the photos attach to."""
        self._make_answer = make
        self._update_buttons()

    def can_add(self) -> bool:
        """Photos belong to an answer; an item not answered yet takes them when the page
        can record its answer first (set_answer_maker)."""
        return not self.read_only and (self.whole_inspection or self.answer_id is not None
                                       or self.hazard_id is not None
                                       or self._make_answer is not None)

    def _target(self) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        if (not self.whole_inspection and self.answer_id is None and self.hazard_id is None
                and self._make_answer is not None):
            self.answer_id = self._make_answer()
        return self.answer_id, self.hazard_id

    def set_read_only(self, read_only: bool) -> None:
        self.read_only = read_only
        self._update_buttons()
        self._update_title()

    def refresh(self) -> None:
        cards = []
        if self.whole_inspection or self.answer_id or self.hazard_id:
            with self.store.session() as s:
                cards = photo_cards(s, self.inspection_id, self.answer_id, self.hazard_id)
        self.model.set_rows(cards)
        self.pages.setCurrentWidget(self.view if cards else self.empty_hint)
        self._update_title()
        self._make_missing_thumbnails()

    def add_files(self, paths: list[Path | str]) -> None:
        """Import photo files (and the photos inside folders) in the background."""
        if not self.can_add():
            return
        files = photo_files([Path(p) for p in paths])
        if files:
            self._begin_run()
            self.ingest.add_files(files, self._target())

    def choose_files(self) -> None:
        global _last_folder
        names, _ = QFileDialog.getOpenFileNames(self, "选择照片（可多选）", _last_folder, FILE_FILTER)
        if names:
            _last_folder = str(Path(names[0]).parent)
            self.add_files(names)

    def take_photo(self) -> None:
        from ui.camera_dialog import CameraDialog
        dialog = CameraDialog(self)
        if dialog.exec() and dialog.jpeg:
            self._begin_run()
            self.ingest.add_bytes(dialog.file_name(), dialog.jpeg, self._target())

    def open_viewer(self, photo_id: uuid.UUID) -> None:
        from ui.photo_viewer import PhotoViewer
        if self.viewer is not None:
            return
        self.viewer = PhotoViewer(self.store, photo_id, self, read_only=self.read_only,
                                  actor=self.actor)
        self.viewer.photo_changed.connect(self._viewer_changed)
        self.viewer.finished.connect(self._viewer_closed)
        self.viewer.open()

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:
        if self.can_add() and _local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:
        paths = _local_paths(event.mimeData())
        if not self.can_add() or not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_files(paths)

    # ------------------------------------------------------------------ the import
    def _begin_run(self) -> None:
        if not self.ingest.is_running():
            self._added, self._refused = 0, []
            self.notice.hide()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress.show()

    def _record(self, prepared, target) -> None:
        answer_id, hazard_id = target
        try:
            with self.store.transaction(actor=self.actor, label="attach_photo") as s:
                record_photo(s, self.inspection_id, prepared, answer_id=answer_id,
                             hazard_id=hazard_id)
        except FieldCheckError as exc:
            self._refused.append((prepared.original_name, exc.text()))
            return
        self._added += 1
        if not self._reload_timer.isActive():
            self._reload_timer.start()

    def _ingest_finished(self) -> None:
        self.progress.hide()
        self._reload_timer.stop()
        self.refresh()
        self._show_notice()
        if self._added:
            self.photos_changed.emit()

    def _show_notice(self) -> None:
        if not self._refused:
            self.notice.hide()
            return
        lines = [f"已添加 {self._added} 张照片；以下 {len(self._refused)} 个文件未添加："]
        lines += [f"· {text}" if name in text else f"· {name}：{text}" for name, text in self._refused]
        self.notice.setText("\n".join(lines))
        self.notice.setStyleSheet(f"color: {AMBER if self._added else RED};")
        self.notice.show()

    # ------------------------------------------------------------------ small things
    def _update_buttons(self) -> None:
        can_add = self.can_add()
        self.setAcceptDrops(can_add)
        self.add_button.setVisible(not self.read_only)
        self.add_button.setEnabled(can_add)
        can_shoot = can_add and camera_available()
        self.camera_button.setVisible(can_shoot)
        self.camera_button.setEnabled(can_shoot)
        if self.read_only:
            hint = "没有照片"
        elif not can_add:
            hint = "请先选择本项的检查结果（符合 / 不符合 / 不适用），再添加照片。"
        else:
            hint = "还没有照片。点击“添加照片”（可一次多选），\n或把照片、存储卡里的文件夹拖到这里。"
        self.empty_hint.setText(hint)

    def _update_title(self) -> None:
        count = self.model.rowCount()
        self.title.setText(f"现场照片（{count} 张）" + ("· 已定稿，只能查看" if self.read_only else ""))

    def _make_missing_thumbnails(self) -> None:
        for card in self.model.missing_thumbnails():
            if card.sha256 in self._thumb_jobs:
                continue
            self._thumb_jobs.add(card.sha256)
            run_off_ui_thread(
                self, lambda c=card: ensure_thumbnail(self.store.photos_dir, c.sha256, c.file_ext),
                lambda _result, _error, sha=card.sha256: self.model.thumbnail_ready(sha))

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_viewer(self.model.card(index.row()).id)

    def _viewer_changed(self, _photo_id) -> None:
        self.refresh()
        self.photos_changed.emit()

    def _viewer_closed(self) -> None:
        viewer, self.viewer = self.viewer, None
        if viewer is not None:
            viewer.deleteLater()
