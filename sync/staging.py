"""Reading, hashing and staging a bundle's files — in a second process when they are large.

The file work (read from the zip, SHA-256, write the staged copy) is mostly system calls
and hashing, yet a thread doing it beside the record decoding and merge planning spends
most of its time waiting for the GIL: on the 2-core reference laptop 475 MB of photos took
0.84 s alone and 2.6 s next to the planning. A child process has its own interpreter,
so both cores work. The child is a plain interpreter running this module, which imports
only the standard library: it starts in about 50 ms, which is why small bundles stay on a
thread (sync.child_process: how it is started, talked to and stopped).

Nothing here judges a bundle: the caller compares sizes and hashes with the signed
manifest. Failures come back as StagingError with a kind the caller turns into words.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import subprocess
import threading
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sync import child_process
from sync.flushing import BackgroundFlush

READ_CHUNK = 1024 * 1024
# Below this many bytes of files a process costs more than it saves.
PROCESS_THRESHOLD = 32 * 1024 * 1024
# How a frozen build's own executable is asked to be the child (see main.main).
CHILD_ARGUMENT = "--staging-child"

Job = tuple[str, int]                     # entry name, declared size
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Staged:
    size: int
    sha256: str
    path: Path | None                     # the staged copy, when staging


class StagingError(Exception):
    """kind: 'oversize' (more bytes than declared), 'corrupt' (zip damaged), 'read' or
    'write' (an OSError on the bundle or on the staging folder), 'cancelled'."""

    def __init__(self, kind: str, entry: str, detail: str, errno: int | None = None) -> None:
        super().__init__(f"{kind}: {entry}: {detail}")
        self.kind, self.entry, self.detail, self.errno = kind, entry, detail, errno


class EntryTooLarge(Exception):
    pass


def copy_limited(source, limit: int, sink=None) -> tuple[int, str, bytes]:
    """Read `source` to its end, never past `limit`: (size, sha256, the bytes unless a sink
    took them). Raises EntryTooLarge at the first byte over the limit."""
    digest, size, parts = hashlib.sha256(), 0, []
    while True:
        chunk = source.read(READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise EntryTooLarge
        digest.update(chunk)
        if sink is None:
            parts.append(chunk)
        else:
            sink.write(chunk)
    return size, digest.hexdigest(), b"".join(parts)


class _NullSink:
    def write(self, _data) -> None:
        pass


class _StageFile:
    """The staged copy; its OSErrors are the staging folder's fault, not the bundle's."""

    _FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path
        # A bare descriptor: a buffered file object per photo cost more than its write.
        self.fd = self._do(lambda: os.open(path, self._FLAGS, 0o666))  # as open() does

    def _do(self, action):
        try:
            return action()
        except OSError as exc:
            raise StagingError("write", self.name, exc.strerror or str(exc), exc.errno) from exc

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._do(lambda: os.write(self.fd, view)):]

    def close(self) -> None:
        self._do(lambda: os.close(self.fd))


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader: 30 bytes
_LOCAL_MAGIC = b"PK\x03\x04"
_UTF8_NAME, _KNOWN_FLAGS = 0x800, 0x808        # the name's encoding; sizes after the data


class _StoredData:
    """A plain STORED entry's bytes read straight from the bundle file, where its local
    header (checked as zipfile checks it) says they start: no ZipExtFile per entry and no
    CRC pass — the SHA-256 against the signed manifest is the check that counts — which
    was a fifth of the staging's CPU for 5,000 photos."""

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.fd, self.offset, self.left = fd, offset, size

    @classmethod
    def of(cls, fd: int, info: zipfile.ZipInfo) -> "_StoredData | None":
        """None for any other entry, or any oddity: zipfile then reads it (and refuses)."""
        if (info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size
                or info.flag_bits & ~_KNOWN_FLAGS):
            return None
        head = os.pread(fd, 512, info.header_offset)
        if len(head) < _LOCAL_HEADER.size:
            return None
        fields = _LOCAL_HEADER.unpack_from(head)
        magic, flags, name_len, extra_len = fields[0], fields[3], fields[10], fields[11]
        start = _LOCAL_HEADER.size
        if magic != _LOCAL_MAGIC or start + name_len > len(head):
            return None
        try:
            name = head[start:start + name_len].decode("utf-8" if flags & _UTF8_NAME else "cp437")
        except UnicodeDecodeError:
            return None
        if name != info.orig_filename:
            return None
        return cls(fd, info.header_offset + start + name_len + extra_len, info.file_size)

    def read(self, n: int) -> bytes:
        if self.left <= 0:
            return b""
        data = os.pread(self.fd, min(n, self.left), self.offset)
        if not data:
            raise EOFError("the bundle ends inside an entry")
        self.offset += len(data)
        self.left -= len(data)
        return data


def _stage_one(zf: zipfile.ZipFile, name: str, declared: int, target: Path | None,
               fd: int | None = None) -> Staged:
    try:
        info = zf.getinfo(name)
        stored = _StoredData.of(fd, info) if fd is not None else None
        with contextlib.nullcontext(stored) if stored is not None else zf.open(info) as source:
            sink = _StageFile(name, target) if target is not None else _NullSink()
            try:
                size, sha, _ = copy_limited(source, declared, sink)
            finally:
                if target is not None:
                    sink.close()
    except EntryTooLarge:
        raise StagingError("oversize", name, "") from None
    except (zipfile.BadZipFile, KeyError, zlib.error, EOFError, NotImplementedError,
            ValueError) as exc:
        raise StagingError("corrupt", name, f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        raise StagingError("read", name, exc.strerror or str(exc), exc.errno) from exc
    return Staged(size, sha, target)


class _Fd:
    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _file_sha256(path: str) -> str | None:
    """The SHA-256 of a file the store holds; None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def stage_entries(zip_path: Path, jobs: list[Job], stage_dir: Path | None,
                  progress: Progress | None = None,
                  cancelled: Callable[[], bool] = lambda: False,
                  hash_only: Mapping[str, str] | None = None) -> dict[str, Staged]:
    """Read, hash and (with a stage_dir) copy every job's entry — only read and hash those
    named in `hash_only` (entry → the file the store holds of it), unless that file is no
    longer these bytes: then it is staged after all, so the checked copy takes its place.
    Staged copies are flushed to disk before returning, so moving them into place later
    needs no data flush."""
    hash_only = hash_only or {}
    out: dict[str, Staged] = {}
    total, done, written = sum(size for _n, size in jobs), 0, 0
    try:
        zf = zipfile.ZipFile(zip_path)
    except OSError as exc:
        raise StagingError("read", "", exc.strerror or str(exc), exc.errno) from exc
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise StagingError("corrupt", "", f"{type(exc).__name__}: {exc}") from exc
    try:
        # (no pread, as on Windows: every entry through zipfile)
        fd = os.open(zip_path, os.O_RDONLY) if hasattr(os, "pread") else None
    except OSError as exc:
        zf.close()
        raise StagingError("read", "", exc.strerror or str(exc), exc.errno) from exc
    flusher = BackgroundFlush(os.sync, name="stage-flush") if stage_dir is not None and hasattr(os, "sync") else None
    try:
        with zf, contextlib.closing(_Fd(fd)):
            for n, (name, declared) in enumerate(jobs):
                if cancelled():
                    raise StagingError("cancelled", name, "")
                target = (Path(stage_dir) / f"{n:06d}"
                          if stage_dir is not None and name not in hash_only else None)
                out[name] = staged = _stage_one(zf, name, declared, target, fd)
                if target is None and stage_dir is not None and name in hash_only \
                        and _file_sha256(hash_only[name]) != staged.sha256:
                    # (damaged here at the same size, or gone: a size alone does not say)
                    target = Path(stage_dir) / f"{n:06d}"
                    out[name] = staged = _stage_one(zf, name, declared, target, fd)
                done += staged.size
                if flusher is not None and target is not None:
                    flusher.wrote(staged.size)
                    written += 1
                if progress:
                    progress(done, total)
    finally:
        if flusher is not None:
            flusher.stop()
    if flusher is not None and written:
        os.sync()  # one call instead of thousands of fsyncs (most is on disk by now)
    return out


# --------------------------------------------------------------------------- the child process

class Cancel:
    """Set once to stop staging: the thread loop checks it, a child process is killed."""

    def __init__(self) -> None:
        self._lock, self._set, self._children = threading.Lock(), False, []

    def set(self) -> None:
        with self._lock:
            self._set = True
            for child in self._children:
                if child.poll() is None:
                    child.kill()

    def is_set(self) -> bool:
        return self._set

    def attach(self, child: subprocess.Popen) -> None:
        with self._lock:
            self._children.append(child)
            if self._set:
                child.kill()


def child_main() -> None:
    """`python -c "from sync.staging import child_main; child_main()"` (sync.child_process)."""
    def run(job: dict, progress) -> dict:
        result = stage_entries(Path(job["zip"]), [tuple(j) for j in job["jobs"]],
                               Path(job["stage"]) if job["stage"] else None,
                               lambda done, total: progress(done, total, last=done == total),
                               hash_only=job.get("hash_only") or {})
        return {name: [s.size, s.sha256, str(s.path) if s.path else None]
                for name, s in result.items()}
    child_process.serve(run, StagingError, "read")


def _child_command() -> tuple[list[str], dict]:
    return child_process.command("sync.staging", CHILD_ARGUMENT)


def _spawn() -> subprocess.Popen | None:
    return child_process.spawn(_child_command())


_stop = child_process.stop


class EarlyChild:
    """A staging child started as soon as a bundle's central directory says its files are
    large: its interpreter starts while the container, manifest and signature are checked,
    not after (a tenth of a second before the first photo). Not taken, it is stopped."""

    def __init__(self, sizes: list[int], stage_dir: Path | None) -> None:
        self.child = _spawn() if stage_dir is not None and sum(sizes) >= PROCESS_THRESHOLD else None

    def take(self) -> subprocess.Popen | None:
        child, self.child = self.child, None
        return child

    def close(self) -> None:
        if self.child is not None:
            _stop(self.take())


def _in_process(zip_path: Path, jobs: list[Job], stage_dir: Path | None,
                progress: Progress | None, cancel: Cancel,
                child: subprocess.Popen | None = None,
                hash_only: Mapping[str, str] | None = None) -> dict[str, Staged]:
    child = child or _spawn()
    if child is None:  # no interpreter to start (an embedded build): slower, but on a thread
        return stage_entries(zip_path, jobs, stage_dir, progress, cancel.is_set, hash_only)
    cancel.attach(child)
    try:
        child_process.send_job(child, {"zip": str(zip_path), "jobs": jobs,
                                       "stage": str(stage_dir) if stage_dir else None,
                                       "hash_only": dict(hash_only or {})})
        for line in child.stdout:
            message = json.loads(line)
            if message[0] == "progress":
                if progress:
                    progress(message[1], message[2])
            elif message[0] == "done":
                return {name: Staged(size, sha, Path(path) if path else None)
                        for name, (size, sha, path) in message[1].items()}
            else:
                _, kind, entry, detail, errno = message
                raise StagingError(kind, entry, detail, errno)
        if cancel.is_set():
            raise StagingError("cancelled", "", "")
        raise StagingError("read", "", f"读取进程意外退出（{child.wait()}）")
    except (OSError, ValueError) as exc:  # a broken pipe, a garbled line
        if cancel.is_set():
            raise StagingError("cancelled", "", "") from exc
        raise StagingError("read", "", f"读取进程出错（{exc}）") from exc
    finally:
        _stop(child)  # failed: never leave it writing into the stage


def run_staging(zip_path: Path, jobs: list[Job], stage_dir: Path | None,
                progress: Progress | None = None, cancel: Cancel | None = None,
                *, threshold: int | None = None, early: EarlyChild | None = None,
                hash_only: Mapping[str, str] | None = None) -> dict[str, Staged]:
    """stage_entries, in a child process when the files add up to `threshold` bytes (the
    `early` one when it was started). Files already held (`hash_only`) are read and hashed
    the same, still on the child when large: the bytes to check are what counts."""
    cancel = cancel or Cancel()
    limit = PROCESS_THRESHOLD if threshold is None else threshold
    child = early.take() if early is not None else None
    if jobs and sum(size for _n, size in jobs) >= limit:
        return _in_process(zip_path, jobs, stage_dir, progress, cancel, child, hash_only)
    if child is not None:
        _stop(child)
    return stage_entries(zip_path, jobs, stage_dir, progress, cancel.is_set, hash_only)
