"""Safe checkpoints: safetensors for every tensor, JSON for everything else, one file, atomic writes.

Layout of ``model.safetensors``:

    tensors   model.<parameter>             the model's state dict
              optimizer.<index>.<name>      optimiser state (only in resumable checkpoints)
              state.<name>                  trainer tensors such as RNG states (only in resumable ones)
    metadata  {"atft": JSON}                schema_version, config, n_features, n_static, feature_names,
                                            horizons, quantiles, metrics, library_versions, git_commit,
                                            created_at, user metadata, optimizer param groups, trainer state

Loading never unpickles anything. A pickle (a legacy ``torch.save`` file) is refused before a byte of it
is interpreted; `migrate_legacy(..., trust_pickle=True)` converts one explicitly, once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import pickle
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from atft.config import ExperimentConfig
from atft.io import atomic_write_bytes
from atft.model import ATFT_GAT_FAN

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_METADATA_KEY = "atft"
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # pickle protocol >= 2, torch.save's zip container


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read safely; the message names the file and what to do."""


@dataclass
class LoadedCheckpoint:
    """What `load_checkpoint` returns: a ready model (eval mode), its config and metadata."""

    model: ATFT_GAT_FAN
    config: ExperimentConfig
    metadata: dict[str, Any]
    optimizer_state: dict[str, Any] | None = None  # torch optimiser state dict, resumable checkpoints only
    trainer_state: dict[str, Any] = field(default_factory=dict)  # epoch, step, RNG states, history ...


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DDP / torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a checkpoint, as strings."""
    versions = {"python": platform.python_version(), "torch": str(torch.__version__)}
    for name in ("atft", "numpy", "torch_geometric", "safetensors", "pandas"):
        try:
            versions[name] = importlib_metadata.version(name.replace("_", "-"))
        except importlib_metadata.PackageNotFoundError:
            module = __import__(name)
            versions[name] = str(getattr(module, "__version__", "unknown"))
    return versions


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the repository holding this code (None outside a git checkout)."""
    import git  # gitpython; imported here because only checkpoint writing needs it

    try:
        repo = git.Repo(start or Path(__file__).parent, search_parent_directories=True)
        return repo.head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None


def _split_state(prefix: str, state: Mapping[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Move the tensors of a (nested) mapping into `tensors` under dotted keys; return the JSON rest."""
    rest: dict[str, Any] = {}
    for key, value in state.items():
        dotted = f"{prefix}.{key}"
        if isinstance(value, torch.Tensor):
            tensors[dotted] = value.detach().cpu().contiguous()
            rest[str(key)] = {"__tensor__": dotted}
        elif isinstance(value, Mapping):
            rest[str(key)] = _split_state(dotted, value, tensors)
        else:
            rest[str(key)] = value
    return rest


def _join_state(rest: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(rest, Mapping):
        if set(rest) == {"__tensor__"}:
            return tensors[rest["__tensor__"]]
        return {key: _join_state(value, tensors) for key, value in rest.items()}
    return rest


def save_checkpoint(
    path: Path,
    model: nn.Module,
    config: ExperimentConfig,
    *,
    metadata: Mapping[str, Any],
    optimizer: torch.optim.Optimizer | None = None,
    trainer_state: Mapping[str, Any] | None = None,
) -> Path:
    """Write `model` (unwrapped from DDP/compile), its config and metadata to `path` atomically.

    `metadata` must be JSON-able; it usually carries ``feature_names``, ``metrics`` and ``epoch``.
    `optimizer` and `trainer_state` (tensors allowed, e.g. RNG states) make the checkpoint resumable.
    """
    path = Path(path)
    plain = unwrap(model)
    if not isinstance(plain, ATFT_GAT_FAN):
        raise TypeError(
            f"save_checkpoint expects an ATFT_GAT_FAN (possibly wrapped), received {type(plain).__name__}."
        )
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in plain.state_dict().items()}
    header: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "format": "atft-checkpoint",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "n_features": plain.n_features,
        "n_static": plain.n_static,
        "horizons": list(plain.config.horizons),
        "quantiles": list(plain.config.quantiles),
        "library_versions": library_versions(),
        "git_commit": git_commit(),
        "user": dict(metadata),
    }
    if optimizer is not None:
        header["optimizer"] = _split_state("optimizer", optimizer.state_dict(), tensors)
    if trainer_state is not None:
        header["trainer_state"] = _split_state("state", trainer_state, tensors)
    try:
        text = json.dumps(header, allow_nan=True)
    except TypeError as error:
        raise TypeError(
            f"checkpoint metadata must be JSON-able (str, numbers, lists, dicts): {error}"
        ) from error
    atomic_write_bytes(path, save_safetensors_bytes(tensors, metadata={_METADATA_KEY: text}))
    log.info("saved checkpoint %s (%d tensors)", path, len(tensors))
    return path


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist (or is not a file).")


def _check_not_pickle(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(9)
        size = path.stat().st_size
    except FileNotFoundError as error:
        raise CheckpointError(f"checkpoint {path} does not exist.") from error
    except OSError as error:
        raise CheckpointError(f"checkpoint {path} cannot be read: {error}") from error
    # A safetensors file starts with its header length (u64, little endian) and then "{": a header of
    # 128 + 256k bytes makes its first byte 0x80, the pickle magic, so that alone proves nothing.
    safetensors = len(head) == 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") < size
    if not safetensors and any(head.startswith(magic) for magic in _PICKLE_MAGIC):
        raise CheckpointError(
            f"checkpoint {path} is a pickle / torch.save file, which can run arbitrary code when loaded; refused "
            f"without reading it. If you trust its origin, convert it once with "
            f"`python -m atft checkpoint migrate {path} NEW.safetensors --trust-pickle`."
        )
    if len(head) < 8:
        raise CheckpointError(f"checkpoint {path} is truncated or empty ({len(head)} bytes); re-export it.")


def read_metadata(path: Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint, validated (schema version), without loading tensors."""
    path = Path(path)
    _check_not_pickle(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(_METADATA_KEY)
    except (SafetensorError, OSError) as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({error}); it cannot be loaded."
        ) from error
    if raw is None:
        raise CheckpointError(
            f"checkpoint {path} is a safetensors file without atft metadata; not an atft checkpoint."
        )
    try:
        header = json.loads(raw)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"checkpoint {path} has unreadable metadata ({error}).") from error
    version = header.get("schema_version")
    if not isinstance(version, int):
        raise CheckpointError(f"checkpoint {path} has no integer schema_version (found {version!r}).")
    if version > SCHEMA_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has schema version {version}, newer than this atft supports ({SCHEMA_VERSION}); "
            "upgrade atft to load it."
        )
    return header


def _migrate_config(config: Any) -> Any:
    """Fill config fields added since the checkpoint was written with the value that keeps its model.

    ``model.fan_recompose`` (FAN's recomposition stage) appeared after schema 1 checkpoints were first
    written; a checkpoint without it has no ``fan_forecast`` weights, so it loads with the stage off.
    ``train.select_horizon`` appeared later still; such a checkpoint's epoch was chosen by the mean
    RankIC over horizons, which None says (and its horizons need not include 5).
    """
    model = config.get("model") if isinstance(config, Mapping) else None
    if isinstance(model, Mapping) and "fan_recompose" not in model:
        config = {**config, "model": {**model, "fan_recompose": False}}
    train = config.get("train") if isinstance(config, Mapping) else None
    if isinstance(train, Mapping) and "select_horizon" not in train:
        config = {**config, "train": {**train, "select_horizon": None}}
    return config


def load_checkpoint(path: Path, *, map_location: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Load a checkpoint written by `save_checkpoint`; the model comes back in eval mode on `map_location`."""
    path = Path(path)
    header = read_metadata(path)
    try:
        tensors = load_safetensors_bytes(path.read_bytes())
    except (SafetensorError, OSError) as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({error}); it cannot be loaded."
        ) from error
    try:
        config = ExperimentConfig.from_dict(_migrate_config(header["config"]))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path} carries an invalid config: {error}") from error
    model = ATFT_GAT_FAN(config.model, int(header["n_features"]), int(header.get("n_static", 0)))
    state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            f"checkpoint {path} does not match the model its config describes: {error}"
        ) from error
    model.to(map_location).eval()
    optimizer_state = _join_state(header["optimizer"], tensors) if "optimizer" in header else None
    if optimizer_state is not None:  # JSON turned the integer parameter ids of `state` into strings
        optimizer_state["state"] = {int(k): v for k, v in optimizer_state["state"].items()}
    trainer_state = _join_state(header.get("trainer_state", {}), tensors)
    metadata = {k: v for k, v in header.items() if k not in ("optimizer", "trainer_state")}
    return LoadedCheckpoint(model, config, metadata, optimizer_state, trainer_state)


def _legacy_model(legacy: Mapping[str, Any], state: Mapping[str, Any]) -> tuple[nn.Module, ExperimentConfig]:
    """The model and config a legacy checkpoint dict describes, its weights loaded (strict)."""
    config = ExperimentConfig.from_dict(_migrate_config(dict(legacy["config"])))
    n_features = int(state["vsn.weight"].shape[0])
    static = state.get("projection.static.weight")
    model = ATFT_GAT_FAN(config.model, n_features, int(static.shape[1]) if static is not None else 0)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()}, strict=True)
    return model, config


def migrate_legacy(old: Path, new: Path, *, trust_pickle: bool) -> Path:
    """Convert a legacy ``torch.save`` checkpoint (a pickled dict) into the safe format.

    The legacy dict holds ``state_dict`` (or ``model_state_dict``), ``config`` (an ExperimentConfig dict)
    and optionally ``feature_names`` and ``metrics``. Without `trust_pickle` the file is read with torch's
    restricted unpickler (``weights_only=True``: tensors and plain containers only, nothing runs); a file
    that needs more (arbitrary classes such as ``TorchVersion``) is refused. With ``trust_pickle=True``,
    given by a person who knows where the file came from, it is fully unpickled, once, to convert it.
    """
    old, new = Path(old), Path(new)
    _check_exists(old)
    try:
        legacy = torch.load(old, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[-1][:300]
        raise CheckpointError(
            f"{old} holds objects beyond tensors and plain data ({first}); converting it means unpickling "
            "it, which runs any code inside it. Pass --trust-pickle only if you trust its origin."
        ) from error
    except Exception as error:  # a file of any bytes: whatever the unpickler raises, it is unreadable
        first = " ".join(str(error).split())[:300] or type(error).__name__
        raise CheckpointError(
            f"legacy checkpoint {old} cannot be read as a torch.save file ({type(error).__name__}: {first})."
        ) from error
    if not isinstance(legacy, Mapping):
        raise CheckpointError(f"legacy checkpoint {old} holds a {type(legacy).__name__}, expected a dict.")
    state = legacy.get("state_dict", legacy.get("model_state_dict"))
    if not isinstance(state, Mapping) or "config" not in legacy:
        raise CheckpointError(
            f"legacy checkpoint {old} has keys {sorted(map(str, legacy))}; expected 'state_dict' (or "
            "'model_state_dict') and 'config'."
        )
    try:
        model, config = _legacy_model(legacy, state)
    except Exception as error:  # whatever the legacy dict holds, a failure to build the model is the file's
        first = " ".join(str(error).split())[:300] or type(error).__name__
        raise CheckpointError(
            f"legacy checkpoint {old} does not hold an atft model and config ({type(error).__name__}: {first})."
        ) from error
    metadata = {
        "feature_names": list(legacy.get("feature_names", [])),
        "metrics": legacy.get("metrics", {}),
        "migrated_from": old.name,
        "legacy_keys": sorted(map(str, legacy)),
    }
    return save_checkpoint(new, model, config, metadata=json.loads(json.dumps(metadata, default=str)))
