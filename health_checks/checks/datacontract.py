"""The data family (generic, through the tree's probe): the data contract (HC048), the Dataset in worker
processes (HC049) and the data artifact's nulls (HC050).

The table checks use pandera (column presence) and pandas (null shares).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, SkipCheck, Status
from health_checks.probe import Probe, load_probe

# a null share that rose by more than this since the previous report is a warning
NULL_RISE_TOLERANCE = 0.05


def artifact_frame(ctx: CheckContext, probe: Probe) -> tuple[Any, str]:
    """The probe's data artifact as a DataFrame and a label naming it (its path relative to the tree)."""
    import pandas as pd

    artifact = probe.artifact
    if artifact is None:
        raise SkipCheck(
            "the probe declares no data artifact (Probe.artifact: a parquet/CSV path or a DataFrame)"
        )
    if isinstance(artifact, pd.DataFrame):
        return artifact, f"the DataFrame of {ctx.settings.probe}"
    path = Path(artifact)

    def read() -> Any:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix in {".csv", ".txt"}:
            return pd.read_csv(path)
        raise SkipCheck(f"the data artifact {ctx.rel(path)} is neither .parquet nor .csv")

    return ctx.memo(f"artifact:{path}", read), ctx.rel(path)


def missing_columns(frame: Any, expected: list[str]) -> list[str]:
    """The expected columns the frame lacks, as pandera's schema validation reports them."""
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    schema = pa.DataFrameSchema({name: pa.Column(nullable=True) for name in expected}, strict=False)
    try:
        schema.validate(frame.head(0), lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        return sorted(
            str(c) for c in cases.loc[cases["check"] == "column_in_dataframe", "failure_case"].tolist()
        )
    return []


@dataclass(frozen=True, kw_only=True)
class DataContractDetails(Details):
    """The artifact compared, the columns the config expects, those it lacks, and the feature widths."""

    artifact: str | None = None
    expected_columns: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    widths: dict[str, int] = field(default_factory=dict)


class HC048(Check):
    """The config's columns exist in the data and the model's input width matches the batches.

    Every column the probe's config expects (``Probe.expected_columns``) must be in the data artifact
    (a pandera schema), and the model's input width (``Probe.input_width``), the feature count the config
    declares (``Probe.expected_features``) and the batch's feature dimension (the last dimension of
    ``Probe.features(batch)``) must be one number.
    """

    name = "data-contract"
    severity = Severity.CRITICAL
    requires = ("HC040",)
    details_type = DataContractDetails

    def check(self, ctx: CheckContext) -> Outcome:
        probe = load_probe(ctx)
        if probe.features is None or probe.input_width is None:
            raise SkipCheck("the probe declares no Probe.features(batch) or Probe.input_width")
        problems = []
        found: dict[str, Any] = {}
        if probe.expected_columns:
            frame, label = artifact_frame(ctx, probe)
            missing = missing_columns(frame, list(probe.expected_columns))
            found.update(artifact=label, expected_columns=list(probe.expected_columns), missing=missing)
            if missing:
                problems.append(
                    f"the config expects column{'s' if len(missing) > 1 else ''} {', '.join(missing)}, which "
                    f"{label} does not have (it has {len(frame.columns)} columns)"
                )
        else:
            raise SkipCheck("the probe declares no Probe.expected_columns to compare with the data")
        widths = {
            "model input width": probe.input_width,
            "batch feature dimension": int(probe.features(probe.train_batches[0]).shape[-1]),
        }
        if probe.expected_features is not None:
            widths["config feature count"] = probe.expected_features
        details = DataContractDetails(**found, widths=widths)
        if len(set(widths.values())) > 1:
            problems.append(
                "the feature counts disagree: " + ", ".join(f"{k} {v}" for k, v in widths.items())
            )
        if problems:
            return Outcome(Status.FAIL, "; ".join(problems) + ".", details)
        return Outcome.passed(
            f"{len(probe.expected_columns)} expected columns present in {details.artifact}; "
            f"{' = '.join(f'{k} {v}' for k, v in widths.items())}",
            details,
        )


@dataclass(frozen=True, kw_only=True)
class WorkerDetails(Details):
    """The Dataset's class and the size of its pickle."""

    dataset: str
    pickled_bytes: int | None = None


class HC049(Check):
    """The Dataset pickles and a batch loads in a spawned worker process.

    ``pickle.dumps(Probe.dataset)``, then one item through ``DataLoader(dataset, batch_size=None,
    num_workers=1, multiprocessing_context="spawn")``: what a training with workers (and every platform
    whose default start method is spawn) does. A lambda, an open file or a database handle in the Dataset
    fails here, named.
    """

    name = "dataset-workers"
    severity = Severity.MAJOR
    requires = ("HC040",)
    details_type = WorkerDetails

    def check(self, ctx: CheckContext) -> Outcome:
        from torch.utils.data import DataLoader

        probe = load_probe(ctx)
        if probe.dataset is None:
            raise SkipCheck("the probe declares no Probe.dataset (a torch.utils.data.Dataset)")
        dataset = probe.dataset
        kind = f"{type(dataset).__module__}.{type(dataset).__qualname__}"
        try:
            size = len(pickle.dumps(dataset))
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            return Outcome(
                Status.FAIL,
                f"the Dataset {kind} cannot be pickled for worker processes: {type(error).__name__}: {error}",
                WorkerDetails(dataset=kind),
            )
        loader = DataLoader(dataset, batch_size=None, num_workers=1, multiprocessing_context="spawn")
        try:
            next(iter(loader))
        except Exception as error:  # noqa: BLE001 - any worker error is the finding, named
            return Outcome(
                Status.FAIL,
                f"the Dataset {kind} pickles but its first item fails in a spawned worker: "
                f"{type(error).__name__}: {error}",
                WorkerDetails(dataset=kind, pickled_bytes=size),
            )
        return Outcome.passed(
            f"{kind} pickles ({size:,} bytes) and loads an item in a spawned worker",
            WorkerDetails(dataset=kind, pickled_bytes=size),
        )


@dataclass(frozen=True, kw_only=True)
class NullDetails(Details):
    """The artifact, its rows, the null share per column, the 100%-null columns and the shares that rose
    since the previous report (before / now)."""

    artifact: str
    rows: int
    null_share: dict[str, float] = field(default_factory=dict)
    all_null: list[str] = field(default_factory=list)
    rises: dict[str, dict[str, float]] = field(default_factory=dict)


class HC050(Check):
    """The data artifact has rows and no column that is entirely null.

    Rows of the probe's data artifact, and the share of nulls per column; a column that is 100% null (a
    join that matched nothing) fails, and a share that rose by more than 5 points since the previous report
    is a warning. A zero-row artifact fails whatever the pipeline logged.
    """

    name = "artifact-nulls"
    severity = Severity.MAJOR
    requires = ("HC040",)
    details_type = NullDetails

    def check(self, ctx: CheckContext) -> Outcome:
        probe = load_probe(ctx)
        frame, label = artifact_frame(ctx, probe)
        if len(frame) == 0:
            return Outcome(
                Status.FAIL,
                f"{label} has 0 rows ({len(frame.columns)} columns): the step that wrote it produced nothing",
                NullDetails(artifact=label, rows=0),
            )
        shares = {str(k): round(float(v), 6) for k, v in frame.isna().mean().items()}
        previous = ((ctx.previous or {}).get("null_shares") or {}) if ctx.previous else {}
        rises = {
            col: {"before": previous[col], "now": share}
            for col, share in shares.items()
            if isinstance(previous.get(col), int | float) and share > previous[col] + NULL_RISE_TOLERANCE
        }
        all_null = sorted(col for col, share in shares.items() if share >= 1.0)
        details = NullDetails(
            artifact=label, rows=len(frame), null_share=shares, all_null=all_null, rises=rises
        )
        if all_null:
            return Outcome(
                Status.FAIL,
                f"{label}: column{'s' if len(all_null) > 1 else ''} {', '.join(all_null)} "
                f"{'are' if len(all_null) > 1 else 'is'} 100% null in {len(frame):,} rows (a join that matched "
                "nothing?)",
                details,
            )
        if rises:
            listed = ", ".join(f"{c} {v['before']:.1%} → {v['now']:.1%}" for c, v in rises.items())
            return Outcome(
                Status.WARN, f"{label}: null shares rose since the previous report: {listed}", details
            )
        worst = max(shares.items(), key=lambda kv: kv[1], default=("–", 0.0))
        return Outcome.passed(
            f"{label}: {len(frame):,} rows, {len(shares)} columns, highest null share {worst[1]:.1%} ({worst[0]})",
            details,
        )
