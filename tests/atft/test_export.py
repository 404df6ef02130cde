"""Export: the predictions frame with quantile columns; an empty export is an error, never a 0-row file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atft.checkpoint import load_checkpoint
from atft.cli import main
from atft.config import load_config
from atft.data import load_dataset
from atft.export import EmptyExportError, export_predictions
from atft.inference import predict_frame
from atft.train import train
from tests.atft.tiny import TINY_RUN

TINY = ["data.market=synthetic", *TINY_RUN]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    config = load_config(None, TINY)
    dataset = load_dataset(config.data)
    result = train(config, tmp_path_factory.mktemp("run"), dataset=dataset, progress=False)
    return result.checkpoint_path, dataset


def test_export_writes_the_predictions_frame_with_quantiles(trained, tmp_path: Path) -> None:
    checkpoint, dataset = trained
    out = tmp_path / "test.parquet"
    rows = export_predictions(checkpoint, dataset, "test", out)
    frame = pd.read_parquet(out)
    assert rows == len(frame) > 0
    assert list(frame.columns) == [
        "date",
        "code",
        "horizon",
        "prediction",
        "target",
        "q0.1",
        "q0.25",
        "q0.5",
        "q0.75",
        "q0.9",
    ]
    assert frame["date"].dtype.kind == "M" and frame["horizon"].dtype == np.int64
    assert sorted(frame["horizon"].unique()) == [1, 5, 10, 20]
    np.testing.assert_allclose(frame["prediction"], frame["q0.5"])
    quantiles = frame[["q0.1", "q0.25", "q0.5", "q0.75", "q0.9"]].to_numpy()
    assert (np.diff(quantiles, axis=1) >= 0).all()
    assert frame.groupby(["date", "horizon"])["prediction"].std().min() > 0, "a day with constant predictions"
    days = len(dataset.split_days("test"))
    assert frame["date"].nunique() == days


def test_export_equals_reload_then_predict(trained, tmp_path: Path) -> None:
    checkpoint, dataset = trained
    export_predictions(checkpoint, dataset, "val", tmp_path / "val.parquet")
    exported = pd.read_parquet(tmp_path / "val.parquet")
    again = predict_frame(load_checkpoint(checkpoint), dataset, "val")
    pd.testing.assert_frame_equal(exported, again)


class _NoDays:
    feature_names = None
    market = "nowhere"

    def iter_batches(self, split: str):
        return iter(())


def test_empty_export_is_an_error_and_writes_nothing(trained, tmp_path: Path) -> None:
    checkpoint, dataset = trained
    empty = _NoDays()
    empty.feature_names = dataset.feature_names
    with pytest.raises(EmptyExportError, match="no prediction rows"):
        export_predictions(checkpoint, empty, "test", tmp_path / "empty.parquet")
    assert not (tmp_path / "empty.parquet").exists()


def test_feature_mismatch_is_refused(trained) -> None:
    checkpoint, _dataset = trained
    other = _NoDays()
    other.feature_names = ["something", "else"]
    with pytest.raises(ValueError, match="trained on features"):
        predict_frame(checkpoint, other, "test")


def test_export_cli(trained, tmp_path: Path) -> None:
    checkpoint, _ = trained
    out = tmp_path / "cli.parquet"
    assert main(["export", "--checkpoint", str(checkpoint), "--split", "val", "--out", str(out)]) == 0
    assert len(pd.read_parquet(out)) > 0


def test_diagnose_cli_prints_table_and_writes_png(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint, _ = trained
    plot = tmp_path / "diag.png"
    markdown = tmp_path / "diag.md"
    status = main(
        [
            "diagnose",
            "--checkpoint",
            str(checkpoint),
            "--days",
            "3",
            "--plot",
            str(plot),
            "--markdown",
            str(markdown),
        ]
    )
    assert status in (0, 1)
    text = markdown.read_text()
    assert "head_20d" in text and "temporal" in text
    assert ("No stage collapses" in text) == (status == 0)
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert "head_input" in capsys.readouterr().out
