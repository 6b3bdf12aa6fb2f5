"""Copying a bundle's files into its zip — in a second process when they are large.

Each photo is read once; that one buffer gives its SHA-256 (checked against its
content-addressed name, and the manifest's entry) and zipfile's CRC-32 and write. That is
system calls and hashing, which let go of the interpreter — yet a thread doing it beside
the export's reading and encoding of the records spends most of its time waiting to get
it back: on the 2-core reference laptop 475 MB of photos took 1.6–1.9 s alone and
4.8–6.4 s next to a busy thread. A child process has its own interpreter, so both cores
work. The child is a plain interpreter running this module, which imports only the
standard library (it starts in about 50 ms, so small exports stay on a thread); it writes
the files as a complete zip, flushed to the stick as it goes (Flusher), which the exporter
then opens to append the records (deflated meanwhile: `deflated`, `write_deflated`), the
manifest and its signature (zipfile's append mode: the same entries, one central
directory — docs/bundle-format.md is unchanged). The same pattern as the import's
staging child (sync.staging), started and stopped the same way (sync.child_process).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import subprocess
import threading
import zipfile
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sync import child_process
from sync.flushing import BackgroundFlush

# Below this many bytes of files a process costs more than it saves.
PROCESS_THRESHOLD = 32 * 1024 * 1024
# Bytes written between two flushes of the zip to the stick while copying: without them the
# final fsync waited 0.27-0.33 s for 475 MB of dirty pages; with them 0.02 s.
# How a frozen build's own executable is asked to be the child (see main.main).
CHILD_ARGUMENT = "--export-files-child"

Job = tuple[str, str, "str | None"]   # entry name, file path, the SHA-256 its content must have
Progress = Callable[[int], None]      # bytes copied


class FileProblem(Exception):
    """kind: 'missing' (no such file, or not a regular one), 'damaged' (the content is not the
    hash it must have), 'read' (another OSError on the file), 'write' (an OSError on the
    bundle), 'failed' (the child ended without an answer)."""

    def __init__(self, kind: str, entry: str, detail: str = "", errno: int | None = None) -> None:
        super().__init__(f"{kind}: {entry}: {detail}")
        self.kind, self.entry, self.detail, self.errno = kind, entry, detail, errno


def zip_info(name: str, when: datetime | tuple, compress: int) -> zipfile.ZipInfo:
    """Every bundle entry's header: its time, a regular file (never a link)."""
    stamp = tuple(when.timetuple()[:6]) if isinstance(when, datetime) else tuple(when)
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = compress
    info.external_attr = 0o100644 << 16
    return info


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def deflated(data: bytes, level: int) -> tuple[bytes, int, str]:
    """What zipfile's writestr makes of `data` as a deflated entry at `level` — the raw
    deflate stream (its compressor: zlib, wbits -15, one compress and a flush), the CRC-32
    — and its SHA-256; made beforehand, beside the copy of the files (zlib lets go of the
    interpreter), instead of after it."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return (compressor.compress(data) + compressor.flush(), zlib.crc32(data),
            hashlib.sha256(data).hexdigest())


def write_deflated(zf: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes,
                   made: tuple[bytes, int, str], level: int) -> None:
    """`data` as a deflated entry whose stream was `made` by `deflated`: the very bytes
    writestr(info, data, compresslevel=level) writes. zipfile only compresses as it writes,
    so the stream goes in as a stored entry and its local header is then rewritten to
    say what it is (same length: same name, no zip64 field below 4 GB) — the central
    directory is written from the same ZipInfo at close. Near 4 GB: writestr itself."""
    stream, crc, _sha = made
    if max(len(data), len(stream)) * 1.05 > zipfile.ZIP64_LIMIT or info.compress_type != \
            zipfile.ZIP_DEFLATED:
        zf.writestr(info, data, compresslevel=level)
        return
    info.compress_type, info.file_size = zipfile.ZIP_STORED, len(stream)
    with zf.open(info, "w") as dest:  # sets the header offset, sizes, CRC (of the stream)
        dest.write(stream)
    info.compress_type, info.file_size, info.CRC = zipfile.ZIP_DEFLATED, len(data), crc
    end = zf.fp.tell()
    zf.fp.seek(info.header_offset)
    zf.fp.write(info.FileHeader(zip64=False))
    zf.fp.seek(end)


def read_checked(entry: str, path, expected: str | None) -> tuple[bytes, str]:
    """The file, read once, and its SHA-256 — for a photo or signature image checked
    against its content-addressed name (`expected`): a file damaged on this disk stops the
    export here, where it can be put right, instead of travelling in a signed bundle the
    office refuses. Missing, or not a regular file (never waiting on a pipe: O_NONBLOCK):
    FileProblem 'missing'; another OSError passes."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        raise FileProblem("missing", entry) from None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if not regular:  # (before fdopen, which refuses a folder and would leave the fd open)
        os.close(fd)
        raise FileProblem("missing", entry)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    sha = hashlib.sha256(data).hexdigest()
    if expected is not None and sha != expected:
        raise FileProblem("damaged", entry)
    return data, sha


class Flusher(BackgroundFlush):
    """The file being written flushed to its disk as it goes (fdatasync; sync.flushing)."""

    def __init__(self, fh) -> None:
        sync = getattr(os, "fdatasync", os.fsync)
        super().__init__(lambda: sync(fh.fileno()), before=fh.flush, name="export-flush")

    def close(self) -> None:
        """Stopped, and the first error of a flush raised."""
        self.stop()
        if self.error is not None:
            exc = self.error
            raise FileProblem("write", "", exc.strerror or str(exc), exc.errno)


def write_zip(zip_path: Path, jobs: list[Job], when, progress: Progress | None = None,
              flush: bool = False) -> list[dict]:
    """The jobs' files, stored, as a complete zip at `zip_path` (an existing file,
    overwritten from its start): the manifest entries {name, size, sha256}, in job order.
    `flush`: flushed to the disk as it is written (every FLUSH_EVERY bytes)."""
    entries: list[dict] = []
    done = 0
    try:
        fh = open(zip_path, "r+b")
    except OSError as exc:
        raise FileProblem("write", "", exc.strerror or str(exc), exc.errno) from exc
    flusher = Flusher(fh) if flush else None
    with fh, contextlib.ExitStack() as finally_:
        if flusher is not None:
            finally_.callback(flusher.stop)  # (stopped already when all went well)
        zf = zipfile.ZipFile(fh, "w", allowZip64=True)
        # Given up: no directory written at its collection into a closed file (a traceback
        # on the child's stderr); the exporter discards the file.
        finally_.callback(setattr, zf, "fp", None)
        for entry, path, expected in jobs:
            try:
                data, sha = read_checked(entry, path, expected)
            except OSError as exc:
                raise FileProblem("read", entry, exc.strerror or str(exc), exc.errno) from exc
            try:
                zf.writestr(zip_info(entry, when, zipfile.ZIP_STORED), data)
            except OSError as exc:
                raise FileProblem("write", entry, exc.strerror or str(exc), exc.errno) from exc
            entries.append({"name": entry, "size": len(data), "sha256": sha})
            done += len(data)
            if progress:
                progress(done)
            if flusher is not None:
                try:
                    flusher.wrote(len(data))
                except OSError as exc:
                    raise FileProblem("write", entry, exc.strerror or str(exc), exc.errno) from exc
        try:
            zf.close()  # its central directory: what the exporter's append mode reads
            fh.flush()
        except OSError as exc:
            raise FileProblem("write", "", exc.strerror or str(exc), exc.errno) from exc
        if flusher is not None:
            flusher.close()
    return entries


# --------------------------------------------------------------------------- the child process

def child_main() -> None:
    """`python -c "from sync.export_files import child_main; child_main()"`
    (sync.child_process)."""
    def run(job: dict, progress) -> list[dict]:
        return write_zip(Path(job["zip"]), [tuple(j) for j in job["jobs"]], tuple(job["when"]),
                         progress, job["flush"])
    child_process.serve(run, FileProblem, "failed")


def _child_command() -> tuple[list[str], dict]:
    return child_process.command("sync.export_files", CHILD_ARGUMENT)


class Child:
    """The child copying one bundle's files; `stop` at any time ends it (it writes no more)."""

    def __init__(self) -> None:
        self._lock, self._reading = threading.Lock(), False
        # (None: no interpreter to start, an embedded build: the caller uses a thread)
        self.process: subprocess.Popen | None = child_process.spawn(_child_command())

    def run(self, zip_path: Path, jobs: list[Job], when: datetime,
            progress: Progress | None = None, flush: bool = False) -> list[dict]:
        """write_zip in the child: its entries, or FileProblem."""
        child = self.process
        with self._lock:
            self._reading = True
        try:
            child_process.send_job(child, {"zip": str(zip_path), "jobs": jobs, "flush": flush,
                                           "when": list(when.timetuple()[:6])})
            for line in child.stdout:
                message = json.loads(line)
                if message[0] == "progress":
                    if progress:
                        progress(message[1])
                elif message[0] == "done":
                    return message[1]
                else:
                    _, kind, entry, detail, errno = message
                    raise FileProblem(kind, entry, detail, errno)
            raise FileProblem("failed", "", f"复制进程意外退出（{child.wait()}）")
        except (OSError, ValueError) as exc:  # a broken pipe, a garbled line
            raise FileProblem("failed", "", f"复制进程出错（{exc}）") from exc
        finally:
            with self._lock:
                self._reading = False
            self.stop()
            child.stdout.close()

    def stop(self) -> None:
        """End the child and wait for it: after this it writes nothing more."""
        with self._lock:
            child = self.process
            if child is None:
                return
            # (never run, given up first: its output closed here; else run closes it)
            child_process.stop(child, close_output=not self._reading)
