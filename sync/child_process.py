"""A helper process for a bundle's files: the import's staging (sync.staging) and the
export's copy (sync.export_files) each run one job in a child of their own, so that the
hashing and system calls do not wait on the interpreter the records keep busy.

The child is a plain interpreter running a module that imports only the standard library
(it starts in about 50 ms): multiprocessing's spawn would first re-import the caller's
__main__ (a GUI, a benchmark) — slow, and unsafe without a guard. The job goes as one JSON
line on stdin, the answers come as one JSON message per line on stdout (progress, done or
error). The parent keeps stdin open until it has the answer: end of stdin means the parent
is gone (killed, crashed) or gave up, and the child stops at once instead of writing on.
Standard library only, like its children.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

PARENT_GONE_EXIT = 3  # the child's exit status when its parent went away
PROGRESS_EVERY = 0.1  # seconds between progress messages from a child


def command(module: str, argument: str) -> tuple[list[str], dict]:
    """(argv, environment) that runs `module`'s child_main."""
    if getattr(sys, "frozen", False):
        # A frozen build's executable is FieldCheck itself, which takes no `-c`: main.py
        # hands `argument` straight to the module's child_main, before anything else is
        # imported.
        return [sys.executable, argument], dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return [sys.executable, "-c", f"from {module} import child_main; child_main()"], env


def spawn(argv_env: tuple[list[str], dict]) -> subprocess.Popen | None:
    """The child started, or None where no interpreter can be started (an embedded build:
    the caller then does the work on a thread)."""
    argv, env = argv_env
    try:
        return subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except OSError:
        return None


def send_job(child: subprocess.Popen, job: dict) -> None:
    child.stdin.write(json.dumps(job).encode() + b"\n")
    child.stdin.flush()  # and kept open: its end tells the child this process is gone


def stop(child: subprocess.Popen, *, close_output: bool = True) -> None:
    """End the child and wait for it: after this it writes nothing more."""
    with contextlib.suppress(OSError):
        child.stdin.close()
    if child.poll() is None:
        child.kill()
    if close_output:
        child.stdout.close()
    child.wait()


def serve(run: Callable[[dict, Callable], object], problems: type[Exception] | tuple,
          other_kind: str) -> None:
    """A child's main: reads the job, answers `["done", run(job, progress)]`, or
    `["error", kind, entry, detail, errno]` — of one of `problems` (which carry those
    attributes), or of `other_kind` for anything else; then leaves. `progress(*values,
    last=False)` sends ["progress", *values] at most every PROGRESS_EVERY, and always
    when `last`."""
    line = sys.stdin.buffer.readline()
    if not line:  # stopped before it was given a job (started early, then not needed)
        os._exit(PARENT_GONE_EXIT)
    job = json.loads(line)
    threading.Thread(target=_exit_when_parent_goes, args=(sys.stdin.buffer,), daemon=True).start()
    sent = [0.0]

    def send(message) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def progress(*values, last: bool = False) -> None:
        now = time.monotonic()
        if now - sent[0] >= PROGRESS_EVERY or last:
            sent[0] = now
            send(["progress", *values])
    try:
        send(["done", run(job, progress)])
    except problems as exc:
        send(["error", exc.kind, exc.entry, exc.detail, exc.errno])
    except BaseException as exc:  # noqa: BLE001 — anything else still reaches the parent
        send(["error", other_kind, "", f"{type(exc).__name__}: {exc}", None])
    # Straight out: a normal interpreter shutdown would wait on the stdin buffer the watcher
    # thread is blocked reading, and abort ("could not acquire lock … at interpreter shutdown").
    sys.stdout.flush()
    os._exit(0)


def _exit_when_parent_goes(stdin) -> None:
    # A pipe's end reaches EOF when the last writer closes it, which the OS does for a
    # process that dies by any means (SIGKILL, a crash, Task Manager) — Linux and Windows.
    while stdin.read(4096):
        pass
    os._exit(PARENT_GONE_EXIT)
