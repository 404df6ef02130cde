"""Reading Python source as text and writing it back in the same form (encoding, BOM, newlines), atomically;
and the one way a file's name is resolved (symlinks followed where they lead somewhere)."""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

# characters `str.splitlines` ends a line at besides "\n" (the tokenizer does not): a text without them has
# the same lines split on "\n" and by `splitlines`; with one, `lines` and the tokenizer's lines differ, so
# the engine does not splice a statement back by line number
OTHER_LINE_BREAKS = re.compile("[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass
class DecodedSource:
    """A file's text plus what is needed to write it back byte-for-byte in the same form."""

    text: str
    encoding: str
    bom: bool

    def encode(self, text: str) -> bytes:
        """`text` in the file's encoding, with its BOM when it had one (newlines are kept as they are)."""
        return (codecs.BOM_UTF8 if self.bom else b"") + text.encode(self.encoding)


def decode(data: bytes) -> DecodedSource:
    """Decode Python source bytes by PEP 263 (coding cookie, BOM), keeping `\\r\\n` as it is."""
    bom = data.startswith(codecs.BOM_UTF8)
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    if bom:
        data, encoding = data[len(codecs.BOM_UTF8) :], "utf-8"
    return DecodedSource(data.decode(encoding), encoding, bom)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace (or create) `path` with `data` through a temp file in the same directory.

    A reader sees the old bytes or the new ones, never half a file. An existing file keeps its mode; a
    new one gets the mode of a plain `open()` (0o666 less the umask).
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def resolved(path: Path) -> Path:
    """`path` with symlinks resolved; a dangling or looping symlink keeps its own (absolute) name."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return path.absolute()
