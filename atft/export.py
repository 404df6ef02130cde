"""Export a trained model's predictions of one split (the predictions frame plus quantiles).

The format follows the output file's suffix (`.parquet` or `.csv`); any other suffix is refused before
anything is computed, so a `preds.xlsx` never holds Parquet bytes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from atft.checkpoint import LoadedCheckpoint, load_checkpoint
from atft.inference import predict_frame
from atft.io import atomic_file

log = logging.getLogger(__name__)


# suffix -> writer of a predictions frame to a binary stream
EXPORT_FORMATS = {
    ".parquet": lambda frame, stream: frame.to_parquet(stream, index=False),
    ".csv": lambda frame, stream: stream.write(frame.to_csv(index=False).encode()),
}


class ExportFormatError(ValueError):
    """The output file's suffix names no format the export writes."""


def check_export_path(out_path: Path) -> str:
    """The suffix of `out_path` (lower case) when it names a format the export writes, else ExportFormatError."""
    suffix = Path(out_path).suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ExportFormatError(
            f"--out {out_path}: unknown suffix {suffix or '(none)'!r}; the export writes "
            f"{' or '.join(EXPORT_FORMATS)}, chosen by the suffix"
        )
    return suffix


class EmptyExportError(RuntimeError):
    """The export would write no row (the project we replace "fixed" its export and still wrote 0 rows)."""


def export_predictions(
    checkpoint_path: Path | LoadedCheckpoint, dataset: Any, split: str, out_path: Path
) -> int:
    """Write date, code, horizon, prediction, target and q<quantile> columns of `split` to `out_path`.

    The format is chosen by the suffix (`check_export_path`). Returns the number of rows written; raises
    `EmptyExportError` instead of writing an empty file.
    """
    write = EXPORT_FORMATS[check_export_path(out_path)]
    loaded = (
        checkpoint_path if isinstance(checkpoint_path, LoadedCheckpoint) else load_checkpoint(checkpoint_path)
    )
    frame = predict_frame(loaded, dataset, split)
    if frame.empty:
        raise EmptyExportError(
            f"the {split!r} split of market {getattr(dataset, 'market', '?')!r} produced no prediction rows; "
            "nothing was written. Check the split dates (data.val_end / data.test_end) and the universe."
        )
    out_path = Path(out_path)
    with atomic_file(out_path) as stream:
        write(frame, stream)
    log.info("exported %d rows of %s to %s", len(frame), split, out_path)
    return len(frame)
