"""The export of predictions writes rows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from health_checks import ml
from health_checks.context import CheckContext
from health_checks.core import Check, Details, NotApplicable, Outcome, Severity, Status
from health_checks.render import ReportView


def count_rows(path: Path) -> int:
    import pandas as pd

    if path.suffix == ".parquet":
        return len(pd.read_parquet(path))
    return len(pd.read_csv(path))


@dataclass(frozen=True, kw_only=True)
class ExportDetails(Details):
    """The split exported, its days, the row count export_predictions returned and the rows in the file."""

    split: str
    rows_returned: int | None = None
    days: int
    rows_in_file: int | None = None


class HC032(Check):
    """The export of predictions writes rows.

    ``atft.export.export_predictions`` of the quick-trained checkpoint on the validation split: it must return a
    positive row count and the file must hold exactly that many rows (an export that returns without error
    can still write zero rows).
    """

    name = "export"
    atft_only = True
    severity = Severity.CRITICAL
    details_type = ExportDetails
    requires = ("HC020", "HC030")

    def check(self, ctx: CheckContext) -> Outcome:
        if ctx.settings.model_factory:
            raise NotApplicable(
                "the tree builds its own model (model_factory); there is no atft checkpoint to export"
            )
        ml.require_atft_tree(ctx)
        from atft import export as atft_export

        _config, result = ml.quick_train(ctx)
        data = ml.dataset(ctx)
        split = "val"  # the split the other model checks already predict; the test split is 3x longer
        out = ctx.scratch / "export" / "predictions.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        empty_error = atft_export.EmptyExportError
        days = len(list(data.split_days(split)))
        try:
            returned = int(atft_export.export_predictions(result.checkpoint_path, data, split, out))
        except empty_error as error:
            return Outcome(
                Status.FAIL,
                f"the export of {days} {split} days wrote no row: {error}",
                ExportDetails(split=split, days=days),
                ml.with_checkpoint(
                    ctx,
                    f"python -m atft export --checkpoint CKPT --market {ml.market(ctx)} --split {split} --out predictions.parquet",
                ),
            )
        details = ExportDetails(split=split, days=days, rows_returned=returned)
        if not out.is_file():
            return Outcome(
                Status.FAIL, f"export_predictions returned {returned} but wrote no file at {out}", details
            )
        on_disk = count_rows(out)
        details = replace(details, rows_in_file=on_disk)
        if returned <= 0 or on_disk <= 0:
            return Outcome(
                Status.FAIL,
                f"the export wrote {on_disk} rows (returned {returned}) for {days} {split} days.",
                details,
                ml.with_checkpoint(
                    ctx,
                    f"python -m atft export --checkpoint CKPT --market {ml.market(ctx)} --split {split} --out predictions.parquet",
                ),
            )
        if on_disk != returned:
            return Outcome(
                Status.FAIL,
                f"export_predictions returned {returned} rows but the file holds {on_disk}",
                details,
            )
        return Outcome.passed(f"{on_disk} rows exported for {days} {split} days", details)

    @classmethod
    def figures(cls, view: ReportView) -> list[str]:
        export = view.details(cls.code(), ExportDetails)
        return [f"rows exported: {export.rows_in_file}"] if export and export.rows_in_file is not None else []
