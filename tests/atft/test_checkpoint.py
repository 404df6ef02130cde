"""Safe checkpoints (CI gate `checkpoint`): exact round trip, committed fixture, refusals, migration."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from atft.checkpoint import (
    SCHEMA_VERSION,
    CheckpointError,
    _check_not_pickle,
    load_checkpoint,
    migrate_legacy,
    read_metadata,
    save_checkpoint,
)
from atft.config import load_config
from atft.model import ATFT_GAT_FAN
from tests.atft.tiny import TINY_MODEL

pytestmark = pytest.mark.checkpoint

FIXTURES = Path(__file__).parents[1] / "fixtures" / "model"
TINY = [
    "data.market=synthetic",
    "data.horizons=[1, 5]",
    *TINY_MODEL,
    "model.quantiles=[0.1, 0.5, 0.9]",
]


def tiny_batch() -> dict:
    return load_file(str(FIXTURES / "tiny_batch.safetensors"))


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, ATFT_GAT_FAN]:
    torch.manual_seed(3)
    config = load_config(None, TINY)
    model = ATFT_GAT_FAN(config.model, n_features=4, n_static=2).eval()
    path = save_checkpoint(
        tmp_path / "m.safetensors",
        model,
        config,
        metadata={"feature_names": list("abcd"), "metrics": {"x": 1.5}},
    )
    return path, model


def test_committed_checkpoint_reproduces_committed_predictions() -> None:
    loaded = load_checkpoint(FIXTURES / "tiny_checkpoint.safetensors")
    expected = json.loads((FIXTURES / "tiny_predictions.json").read_text())
    with torch.no_grad():
        output = loaded.model(tiny_batch())
    assert list(output["predictions"]) == list(expected)
    for key, values in expected.items():
        torch.testing.assert_close(output["predictions"][key], torch.tensor(values), rtol=1e-5, atol=1e-5)


def test_save_then_load_is_exact(saved) -> None:
    path, model = saved
    loaded = load_checkpoint(path)
    original, restored = model.state_dict(), loaded.model.state_dict()
    assert list(original) == list(restored)
    for key in original:
        assert torch.equal(original[key], restored[key]), key
    batch = tiny_batch()
    with torch.no_grad():
        assert torch.equal(
            model(batch)["predictions"]["horizon_5d"], loaded.model(batch)["predictions"]["horizon_5d"]
        )
    assert loaded.config == load_config(None, TINY)
    assert not loaded.model.training


def test_metadata_carries_what_a_reader_needs(saved) -> None:
    path, _ = saved
    meta = read_metadata(path)
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["horizons"] == [1, 5] and meta["quantiles"] == [0.1, 0.5, 0.9]
    assert meta["user"] == {"feature_names": ["a", "b", "c", "d"], "metrics": {"x": 1.5}}
    assert meta["config"]["model"]["hidden_size"] == 8
    assert all(isinstance(v, str) for v in meta["library_versions"].values())
    assert {"torch", "numpy", "safetensors", "python"} <= set(meta["library_versions"])
    assert meta["git_commit"] is None or len(meta["git_commit"]) == 40


def test_optimizer_and_trainer_state_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = load_config(None, TINY)
    model = ATFT_GAT_FAN(config.model, n_features=4, n_static=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sum(v.sum() for v in model(tiny_batch())["predictions"].values()).backward()
    optimizer.step()
    state = {"epoch": 2, "rng": {"torch": torch.get_rng_state()}, "note": "x"}
    path = save_checkpoint(
        tmp_path / "r.safetensors", model, config, metadata={}, optimizer=optimizer, trainer_state=state
    )
    loaded = load_checkpoint(path)
    assert loaded.trainer_state["epoch"] == 2 and loaded.trainer_state["note"] == "x"
    assert torch.equal(loaded.trainer_state["rng"]["torch"], state["rng"]["torch"])
    fresh = torch.optim.AdamW(loaded.model.parameters(), lr=1e-3)
    fresh.load_state_dict(loaded.optimizer_state)
    for a, b in zip(
        optimizer.state_dict()["state"].values(), fresh.state_dict()["state"].values(), strict=True
    ):
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])


def test_truncated_file_is_refused_naming_the_file(saved, tmp_path: Path) -> None:
    path, _ = saved
    data = path.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 10):
        broken = tmp_path / f"truncated_{cut}.safetensors"
        broken.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=str(broken)):
            load_checkpoint(broken)


def test_corrupt_header_is_refused(saved, tmp_path: Path) -> None:
    path, _ = saved
    data = bytearray(path.read_bytes())
    data[8:20] = b"#" * 12
    broken = tmp_path / "corrupt.safetensors"
    broken.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(broken)


def test_future_schema_version_is_refused(saved, tmp_path: Path) -> None:
    _path, model = saved
    from atft import checkpoint

    future = tmp_path / "future.safetensors"
    original = checkpoint.SCHEMA_VERSION
    checkpoint.SCHEMA_VERSION = original + 1
    try:
        save_checkpoint(future, model, load_config(None, TINY), metadata={})
    finally:
        checkpoint.SCHEMA_VERSION = original
    with pytest.raises(CheckpointError, match=rf"{future}.*schema version {original + 1}, newer"):
        load_checkpoint(future)


class _Payload:
    """Pickling this object stores a call that, when unpickled, creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("container", ["pickle", "torch"])
def test_malicious_pickle_is_refused_without_running_it(tmp_path: Path, container: str) -> None:
    marker = tmp_path / "payload_ran"
    evil = tmp_path / "evil.pt"
    if container == "pickle":
        evil.write_bytes(pickle.dumps({"state_dict": _Payload(marker)}, protocol=4))
    else:
        torch.save({"state_dict": _Payload(marker)}, evil)
    with pytest.raises(CheckpointError, match=rf"{evil} is a pickle.*refused.*--trust-pickle"):
        load_checkpoint(evil)
    with pytest.raises(CheckpointError, match="pickle"):
        read_metadata(evil)
    assert not marker.exists(), "the pickle payload executed"


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"nope\.safetensors does not exist"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_atomic_write_leaves_old_file_on_failure(saved, monkeypatch: pytest.MonkeyPatch) -> None:
    path, model = saved
    before = path.read_bytes()

    def boom(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("atft.io.os.fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, load_config(None, TINY), metadata={"new": True})
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_legacy_pickle_is_refused_then_migrated_explicitly(tmp_path: Path) -> None:
    legacy = FIXTURES / "legacy_checkpoint.pt"
    with pytest.raises(CheckpointError, match="--trust-pickle"):
        load_checkpoint(legacy)
    with pytest.raises(CheckpointError, match="--trust-pickle"):
        migrate_legacy(legacy, tmp_path / "new.safetensors", trust_pickle=False)
    assert not (tmp_path / "new.safetensors").exists()
    new = migrate_legacy(legacy, tmp_path / "new.safetensors", trust_pickle=True)
    loaded = load_checkpoint(new)
    expected = json.loads((FIXTURES / "tiny_predictions.json").read_text())
    with torch.no_grad():
        output = loaded.model(tiny_batch())
    torch.testing.assert_close(output["predictions"]["horizon_1d"], torch.tensor(expected["horizon_1d"]))
    assert loaded.metadata["user"]["migrated_from"] == "legacy_checkpoint.pt"
    assert loaded.metadata["user"]["feature_names"] == ["ret_1d", "ret_5d", "vol_20d", "turnover_z"]


def test_plain_legacy_file_migrates_without_trust(tmp_path: Path) -> None:
    """Tensors and plain containers load through torch's restricted unpickler: no --trust-pickle needed."""
    config = load_config(None, TINY)
    torch.manual_seed(1)
    model = ATFT_GAT_FAN(config.model, n_features=4, n_static=2)
    old = tmp_path / "plain.pt"
    torch.save({"model_state_dict": model.state_dict(), "config": config.to_dict()}, old)
    loaded = load_checkpoint(migrate_legacy(old, tmp_path / "plain.safetensors", trust_pickle=False))
    assert torch.equal(loaded.model.vsn.weight, model.vsn.weight)


def test_migrate_without_trust_does_not_run_a_payload(tmp_path: Path) -> None:
    marker = tmp_path / "payload_ran"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": _Payload(marker), "config": {}}, evil)
    with pytest.raises(CheckpointError, match="--trust-pickle"):
        migrate_legacy(evil, tmp_path / "out.safetensors", trust_pickle=False)
    assert not marker.exists()


def test_a_safetensors_file_whose_header_length_starts_with_0x80_is_not_taken_for_a_pickle(
    tmp_path: Path,
) -> None:
    """The first byte of a safetensors file is the low byte of its header length; 0x80 is also the pickle
    magic. A file of that header length is a valid checkpoint file, not a refused pickle."""
    path = tmp_path / "t.safetensors"
    for pad in range(300):
        save_file({"x": torch.zeros(2)}, str(path), metadata={"pad": "a" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80
    _check_not_pickle(path)  # no CheckpointError
    pickled = tmp_path / "p.pt"
    torch.save({"x": torch.zeros(2)}, pickled, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="pickle"):
        _check_not_pickle(pickled)
