"""One photo, large: turn it, caption it, delete it; its EXIF time, position and file name.

The large picture is decoded in the photo pool at screen size (a 12-megapixel JPEG takes a
quarter second in full); the thumbnail stands in until it arrives.
"""
from __future__ import annotations

import uuid

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap, QTransform
from PySide6.QtWidgets import (QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from models.base import utcnow
from models.errors import FieldCheckError, ValidationError
from models.local_time import agency_text
from models.photo_rules import (FAR_HOURS, delete_photo, photo_card, photo_path, rotate_photo,
                                set_caption, thumbnail_path)
from models.store import Store
from ui.messages import confirm, show_error
from ui.delayed_save import DelayedSave, SaveStateLabel
from ui.photo_ingest import run_off_ui_thread
from ui.style import AMBER, RED

DISPLAY_SIDE = 1600  # decode at most this long a side: enough for any laptop screen


def load_display_image(path: str, side: int = DISPLAY_SIDE) -> QImage:
    """The photo upright (EXIF orientation applied), at most `side` px; for a worker thread."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > side:
        reader.setScaledSize(size.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()  # a null image when unreadable: the thumbnail stays


def _position(card) -> str:
    if card.gps_lat is None or card.gps_lon is None:
        return "无"
    ns, ew = ("北纬" if card.gps_lat >= 0 else "南纬"), ("东经" if card.gps_lon >= 0 else "西经")
    return f"{ns} {abs(card.gps_lat):.5f}°，{ew} {abs(card.gps_lon):.5f}°"


class PhotoViewer(QDialog):
    photo_changed = Signal(object)  # photo id: turned, captioned or deleted

    def __init__(self, store: Store, photo_id: uuid.UUID, parent: QWidget | None = None, *,
                 read_only: bool = False, actor: str | None = None) -> None:
        super().__init__(parent)
        self.store, self.photo_id, self.actor = store, photo_id, actor
        self.read_only = read_only
        with store.session() as s:
            self.card = photo_card(s, photo_id)
        self._upright: QImage | None = None
        self.deleted = False
        self.setWindowTitle("查看照片")
        self.resize(1180, 660)
        self._build()
        self._show_facts()
        self._upright = QImage(str(thumbnail_path(store.data_dir, self.card.sha256)))
        self._render()
        stored = photo_path(store.photos_dir, self.card.sha256, self.card.file_ext)
        run_off_ui_thread(self, lambda: load_display_image(str(stored)), self._large_loaded)

    def _build(self) -> None:
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(560, 420)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setStyleSheet("background: #263238;")
        self.taken = QLabel()
        self.time_warning = QLabel(
            f"⚠ 拍摄时间与检查开始时间相差超过 {FAR_HOURS} 小时，请核实是否为本次检查所拍。")
        self.time_warning.setStyleSheet(f"color: {AMBER}; font-weight: bold;")
        self.position = QLabel()
        self.file_name = QLabel()
        self.pixels = QLabel()
        for label in (self.taken, self.time_warning, self.position, self.file_name):
            label.setWordWrap(True)
        self.caption = QLineEdit()
        self.caption.setPlaceholderText("例如：除尘器下方积尘约 3 mm")
        self.caption_save = DelayedSave(self._write_caption, self,
                                        now=self.store.clock or utcnow)
        self.caption.textEdited.connect(self.caption_save.touch)
        self.caption.editingFinished.connect(self.caption_save.flush)
        self.caption_error = SaveStateLabel(self.caption_save)  # saved / saving / refused
        self.read_only_note = QLabel("检查已定稿，照片只能查看。")
        self.read_only_note.setStyleSheet("color: #607d8b;")
        self.rotate_button = QPushButton("向右旋转(&R)")
        self.delete_button = QPushButton("删除照片(&D)")
        self.delete_button.setStyleSheet(f"color: {RED};")
        self.close_button = QPushButton("关闭")
        self.close_button.setDefault(True)  # Enter in the caption saves it and closes
        for button in (self.rotate_button, self.delete_button):
            button.setAutoDefault(False)
        self.rotate_button.clicked.connect(self.rotate)
        self.delete_button.clicked.connect(self.delete)
        self.close_button.clicked.connect(self.accept)
        self.setLayout(self._layout())
        for widget in (self.rotate_button, self.delete_button):
            widget.setVisible(not self.read_only)
        self.read_only_note.setVisible(self.read_only)
        self.caption_error.setVisible(not self.read_only)
        self.caption.setReadOnly(self.read_only)

    def _layout(self) -> QHBoxLayout:
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("拍摄时间：", self.taken)
        form.addRow(self.time_warning)
        form.addRow("拍摄位置：", self.position)
        form.addRow("原文件：", self.file_name)
        form.addRow("尺寸：", self.pixels)
        side = QVBoxLayout()
        side.addLayout(form)
        side.addSpacing(8)
        side.addWidget(QLabel("照片说明："))
        side.addWidget(self.caption)
        side.addWidget(self.caption_error)
        side.addWidget(self.read_only_note)
        side.addSpacing(8)
        side.addWidget(self.rotate_button)
        side.addWidget(self.delete_button)
        side.addStretch()
        side.addWidget(self.close_button)
        panel = QWidget()
        panel.setFixedWidth(340)
        panel.setLayout(side)
        layout = QHBoxLayout()
        layout.addWidget(self.picture, 1)
        layout.addWidget(panel)
        return layout

    def _show_facts(self) -> None:
        card = self.card
        self.taken.setText(agency_text(card.taken_at, "%Y-%m-%d %H:%M:%S",
                                       "照片中没有拍摄时间"))
        self.time_warning.setVisible(card.time_far)
        self.position.setText(_position(card))
        self.file_name.setText(card.original_name or "（相机拍摄，无原文件名）")
        self.pixels.setText(f"{card.width} × {card.height}")
        self.caption.setText(card.caption)

    # ------------------------------------------------------------------ the picture
    def _large_loaded(self, image: object, error: Exception | None) -> None:
        if error is None and isinstance(image, QImage) and not image.isNull():
            self._upright = image
            self._render()

    def _render(self) -> None:
        if self._upright is None or self._upright.isNull():
            self.picture.setText("无法显示该照片")
            return
        box = self.picture.size()
        if self.card.rotation in (90, 270):
            box = box.transposed()
        scaled = self._upright.scaled(box, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
        turned = scaled.transformed(QTransform().rotate(self.card.rotation))
        self.picture.setPixmap(QPixmap.fromImage(turned))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._render()

    # ------------------------------------------------------------------ changes
    def _change(self, label: str, change, reload: bool = True) -> bool:
        try:
            with self.store.transaction(actor=self.actor, label=label) as s:
                change(s)
                if reload:
                    self.card = photo_card(s, self.photo_id)
        except ValidationError as exc:
            self.caption_error.setText(exc.text())
            self.caption_error.show()
            return False
        except FieldCheckError as exc:
            show_error(self, exc)
            return False
        self.photo_changed.emit(self.photo_id)
        return True

    def save_caption(self) -> None:
        """Write a caption still waiting for its typing pause."""
        self.caption_save.flush()

    def _write_caption(self) -> None:
        text = self.caption.text()
        if self.read_only or " ".join(text.split()) == self.card.caption:
            return
        with self.store.transaction(actor=self.actor, label="set_caption") as s:
            set_caption(s, self.photo_id, text)
            self.card = photo_card(s, self.photo_id)
        self.photo_changed.emit(self.photo_id)

    def rotate(self) -> None:
        if self._change("rotate_photo", lambda s: rotate_photo(s, self.photo_id)):
            self._render()

    def delete(self) -> None:
        if not confirm(self, "删除照片", "确定删除这张照片吗？\n删除后它不再出现在本次检查记录中。",
                       yes="删除", no="保留"):
            return
        if self._change("delete_photo", lambda s: delete_photo(s, self.photo_id), reload=False):
            self.deleted = True
            self.accept()

    def done(self, result: int) -> None:
        if not self.deleted:
            self.save_caption()  # Esc and the title bar's × keep a typed caption too
        super().done(result)
