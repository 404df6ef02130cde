"""Export a trained model's predictions of one split to parquet (the predictions frame plus quantiles)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from atft.checkpoint import LoadedCheckpoint, load_checkpoint
from atft.inference import predict_frame
from atft.io import atomic_file

log = logging.getLogger(__name__)


class EmptyExportError(RuntimeError):
    """The export would write no row (the project we replace "fixed" its export and still wrote 0 rows)."""


def export_predictions(
    checkpoint_path: Path | LoadedCheckpoint, dataset: Any, split: str, out_path: Path
) -> int:
    """Write date, code, horizon, prediction, target and q<quantile> columns of `split` to `out_path`.

    Returns the number of rows written; raises `EmptyExportError` instead of writing an empty file.
    """
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
        frame.to_parquet(stream, index=False)
    log.info("exported %d rows of %s to %s", len(frame), split, out_path)
    return len(frame)
