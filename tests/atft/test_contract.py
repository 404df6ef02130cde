"""The forward contract (CI gate `signature`): golden file, one call convention, named errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from atft import contract
from atft.contract import ContractError, contract_spec, validate_output
from atft.model import ATFT_GAT_FAN, ModelConfig

pytestmark = pytest.mark.signature

FIXTURES = Path(__file__).parents[1] / "fixtures" / "model"
CONFIG = ModelConfig(hidden_size=16, horizons=(1, 5), quantiles=(0.1, 0.5, 0.9), dropout=0.0)


def make_batch(n: int = 7, length: int = 6, n_features: int = 5, n_static: int = 0, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    src = torch.arange(n)
    dst = (src + 1) % n
    edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
    batch = {
        "features": torch.randn(n, length, n_features, generator=generator),
        "mask": torch.ones(n, dtype=torch.bool),
        "edge_index": edge_index,
        "edge_attr": torch.rand(edge_index.shape[1], 3, generator=generator),
    }
    if n_static:
        batch["static_features"] = torch.rand(n, n_static, generator=generator)
    return batch


@pytest.fixture
def model() -> ATFT_GAT_FAN:
    torch.manual_seed(0)
    return ATFT_GAT_FAN(CONFIG, n_features=5).eval()


def test_contract_matches_the_golden_file() -> None:
    golden = json.loads((FIXTURES / "forward_contract.json").read_text())
    current = json.loads(json.dumps(contract_spec(ModelConfig().horizons, ModelConfig().quantiles)))
    assert current == golden, "the forward contract changed; regenerate the golden file only on purpose"


def test_output_follows_the_contract(model: ATFT_GAT_FAN) -> None:
    output = model(make_batch())
    validate_output(output, n_stocks=7, horizons=CONFIG.horizons, n_quantiles=3)
    assert list(output["predictions"]) == ["horizon_1d", "horizon_5d"]
    median = CONFIG.quantiles.index(0.5)
    assert torch.equal(output["point"]["horizon_5d"], output["predictions"]["horizon_5d"][:, median])


def test_positional_multi_argument_call_names_the_problem(model: ATFT_GAT_FAN) -> None:
    batch = make_batch()
    with pytest.raises(
        ContractError, match=r"exactly one positional argument.*received 4 positional arguments"
    ):
        model(batch["features"], None, batch["edge_index"], batch["edge_attr"])


def test_keyword_call_and_non_mapping_fail(model: ATFT_GAT_FAN) -> None:
    batch = make_batch()
    with pytest.raises(ContractError, match="keyword arguments"):
        model(batch=batch)
    with pytest.raises(ContractError, match=r"expects a batch mapping.*received tensor of shape \[7, 6, 5\]"):
        model(batch["features"])


def test_missing_key_names_key_and_expected_shape(model: ATFT_GAT_FAN) -> None:
    batch = make_batch()
    del batch["edge_attr"]
    with pytest.raises(ContractError, match=r"missing key 'edge_attr': expected torch.float32 \[E, D_e\]"):
        model(batch)


@pytest.mark.parametrize(
    ("key", "value", "pattern"),
    [
        (
            "features",
            torch.zeros(7, 6, 4),
            r"batch\['features'\]: expected shape \[7, 6, 5\] with F=5, received shape \[7, 6, 4\]",
        ),
        (
            "features",
            torch.zeros(7, 5),
            r"batch\['features'\]: expected shape \[N, L, F\] \(3 dims\), received shape \[7, 5\]",
        ),
        (
            "mask",
            torch.ones(6, dtype=torch.bool),
            r"batch\['mask'\]: expected shape \[7\].*received shape \[6\]",
        ),
        ("mask", torch.ones(7), r"batch\['mask'\]: expected dtype torch.bool"),
        (
            "edge_attr",
            torch.zeros(14, 2),
            r"batch\['edge_attr'\]: expected shape \[14, 3\] with D_e=3, received shape \[14, 2\]",
        ),
        ("edge_index", torch.tensor([[0, 9], [1, 2]]), r"refers to node 9"),
    ],
)
def test_misshaped_keys_name_key_expected_and_received(model: ATFT_GAT_FAN, key, value, pattern) -> None:
    batch = make_batch()
    batch[key] = value
    if key == "edge_index":
        batch["edge_attr"] = torch.zeros(2, 3)
    with pytest.raises(ContractError, match=pattern):
        model(batch)


def test_non_finite_features_are_refused(model: ATFT_GAT_FAN) -> None:
    batch = make_batch()
    batch["features"][0, 0, 0] = float("nan")
    with pytest.raises(ContractError, match="NaN or inf"):
        model(batch)


def test_static_features_are_required_when_the_model_has_them() -> None:
    model = ATFT_GAT_FAN(CONFIG, n_features=5, n_static=3)
    with pytest.raises(ContractError, match="missing key 'static_features'"):
        model(make_batch())
    assert model(make_batch(n_static=3))["predictions"]["horizon_1d"].shape == (7, 3)


def test_extra_batch_keys_are_ignored(model: ATFT_GAT_FAN) -> None:
    batch = make_batch()
    plain = model(batch)["predictions"]["horizon_1d"]
    batch |= {"targets": torch.zeros(7, 2), "date": "2020-01-02", "codes": list("abcdefg")}
    assert torch.equal(model(batch)["predictions"]["horizon_1d"], plain)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every model call that went through the contract (check_call)."""
    calls: list[str] = []
    real = contract.check_call

    def spy(args, kwargs):
        batch = real(args, kwargs)
        calls.append(str(batch.get("date", "?")))
        return batch

    monkeypatch.setattr("atft.model.check_call", spy)
    return calls


def test_every_path_goes_through_the_forward_contract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Train step, validation, export and reload-then-predict all call model(batch) and nothing else."""
    import pandas as pd

    from atft.checkpoint import load_checkpoint
    from atft.config import load_config
    from atft.data import load_dataset
    from atft.export import export_predictions
    from atft.inference import predict_frame
    from atft.train import train

    config = load_config(
        None,
        [
            "data.market=synthetic",
            "data.n_stocks=20",
            "data.n_days=160",
            "data.cache_dir=none",
            "train.epochs=1",
            "train.max_train_days=4",
            "train.torch_threads=1",
            "model.hidden_size=8",
            "model.gat_heads=2",
            "model.attention_heads=2",
        ],
    )
    dataset = load_dataset(config.data)
    calls = _spy(monkeypatch)
    result = train(config, tmp_path / "run", dataset=dataset, progress=False)
    n_val = len(dataset.split_days("val"))
    assert len(calls) == 4 + n_val, "train steps + validation days must all use model(batch)"

    calls.clear()
    rows = export_predictions(result.checkpoint_path, dataset, "test", tmp_path / "test.parquet")
    assert len(calls) == len(dataset.split_days("test")) and rows == len(
        pd.read_parquet(tmp_path / "test.parquet")
    )

    calls.clear()
    loaded = load_checkpoint(result.checkpoint_path)
    frame = predict_frame(loaded, dataset, "val")
    assert len(calls) == n_val and not frame.empty
