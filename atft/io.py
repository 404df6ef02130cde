"""The one atomic write of atft: a file or a folder appears complete under its final name, or not at all.

Checkpoints, the dataset cache and exported predictions are written through `atomic_file` /
`atomic_write_bytes` (a temporary file in the same folder, fsync, rename) or `atomic_directory` (a
temporary folder renamed into place). A crash or a full disk leaves the previous version untouched and
no temporary behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def _umask_mode(mode: int) -> int:
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


@contextmanager
def atomic_file(path: Path | str) -> Iterator[BinaryIO]:
    """Yield a binary stream; on success it is fsynced and renamed to `path` (ordinary file permissions)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temporary = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        temporary.chmod(_umask_mode(0o666))  # mkstemp creates 0600; these are ordinary files
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_file(path) as stream:
        stream.write(data)


@contextmanager
def atomic_directory(path: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; on success it replaces `path` (a folder) at once.

    An existing `path` is moved aside and removed only after the new folder is in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield temporary
        temporary.chmod(_umask_mode(0o777))
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            path.replace(old / "previous")
        temporary.replace(path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
