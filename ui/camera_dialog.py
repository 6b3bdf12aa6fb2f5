"""Taking a photo with the laptop's camera (QtMultimedia), offered only where a camera exists.

QtMultimedia is imported on first use, not at start: it costs start-up time and, on a Linux
without the PulseAudio library, cannot load at all — then the camera is simply not offered.
"""
from __future__ import annotations

import functools
from datetime import datetime

from PySide6.QtCore import QBuffer, QIODevice, QLoggingCategory
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget)

from models.local_time import agency_wall

# Loading the FFmpeg backend logs, as warnings, every optional library it did not find
# (PipeWire, VA-API): noise for our users, and a failure under strict tests.
_QUIET_MULTIMEDIA = ("qt.multimedia.symbolsresolver.warning=false\n"
                     "qt.multimedia.ffmpeg.info=false")


@functools.cache
def _multimedia():
    """The QtMultimedia module, or None where it cannot be loaded."""
    QLoggingCategory.setFilterRules(_QUIET_MULTIMEDIA)
    try:
        from PySide6 import QtMultimedia
    except ImportError:
        return None
    return QtMultimedia


def camera_available() -> bool:
    """True when QtMultimedia loads and at least one camera is connected."""
    multimedia = _multimedia()
    return multimedia is not None and bool(multimedia.QMediaDevices.videoInputs())


def camera_devices_watcher(parent: QWidget):
    """A QMediaDevices whose videoInputsChanged tells when a camera comes or goes (or None)."""
    multimedia = _multimedia()
    return None if multimedia is None else multimedia.QMediaDevices(parent)


class CameraDialog(QDialog):
    """Live preview and a shutter button; after accept(), `jpeg` holds the photo."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mm = _multimedia()  # first: it quiets the backend's logging before anything loads
        from PySide6.QtMultimediaWidgets import QVideoWidget
        self.setWindowTitle("拍照")
        self.resize(900, 640)
        self.jpeg: bytes | None = None
        self.taken_at: datetime | None = None
        self.preview = QVideoWidget()
        self.preview.setMinimumSize(640, 420)
        self.status = QLabel("正在打开摄像头……")
        self.status.setWordWrap(True)
        self.shutter = QPushButton("拍照（空格）")
        self.shutter.setProperty("role", "primary")
        self.shutter.setMinimumHeight(48)
        self.shutter.setEnabled(False)
        self.shutter.setDefault(True)
        self.shutter.setShortcut("Space")
        cancel = QPushButton("取消")
        self.shutter.clicked.connect(self._shoot)
        cancel.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(cancel)
        row.addWidget(self.shutter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addLayout(row)

        self.camera = mm.QCamera(mm.QMediaDevices.defaultVideoInput(), self)
        self.capture = mm.QImageCapture(self)
        self.session = mm.QMediaCaptureSession(self)
        self.session.setCamera(self.camera)
        self.session.setImageCapture(self.capture)
        self.session.setVideoOutput(self.preview)
        self.capture.readyForCaptureChanged.connect(self._ready)
        self.capture.imageCaptured.connect(self._captured)
        self.capture.errorOccurred.connect(lambda _id, _err, text: self._failed(text))
        self.camera.errorOccurred.connect(lambda _err, text: self._failed(text))
        if mm.QMediaDevices.defaultVideoInput().isNull():
            self._failed("未找到摄像头")
        else:
            self.camera.start()

    def _ready(self, ready: bool) -> None:
        self.shutter.setEnabled(ready)
        if ready:
            self.status.setText("对准要取证的部位，按“拍照”或空格键")

    def _failed(self, detail: str) -> None:
        self.shutter.setEnabled(False)
        self.status.setText(f"摄像头无法使用（{detail}）。请确认没有其他程序占用摄像头，"
                            "或改用“添加照片”导入相机拍摄的照片。")

    def _shoot(self) -> None:
        self.shutter.setEnabled(False)
        self.status.setText("正在拍照……")
        self.capture.capture()

    def _captured(self, _request_id: int, image: QImage) -> None:
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "JPG", 92)
        self.jpeg = bytes(buffer.data())
        self.taken_at = datetime.now().astimezone()
        self.accept()

    def file_name(self) -> str:
        """A name for the captured photo, as a camera would give it."""
        moment = agency_wall(self.taken_at or datetime.now().astimezone())
        return f"拍照_{moment:%Y%m%d_%H%M%S}.jpg"

    def done(self, result: int) -> None:
        self.camera.stop()  # the camera light goes off with the dialog
        super().done(result)
