"""Checkpoints: the safe format round-trips, and the committed legacy pickle is refused (or migrated)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from health_checks import ml
from health_checks.checks.contract import synthetic_batch
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, SkipCheck, Status

LEGACY_GLOBS = (
    "tests/fixtures/**/*legacy*.pt",
    "tests/fixtures/**/*legacy*.pth",
    "tests/fixtures/**/*legacy*.ckpt",
)


def _outputs_equal(a: Any, b: Any) -> float:
    """Largest absolute difference between two model outputs."""
    worst = 0.0
    for key, value in a["predictions"].items():
        worst = max(worst, float((value - b["predictions"][key]).abs().max()))
    return worst


@dataclass(frozen=True, kw_only=True)
class CheckpointDetails(Details):
    """Which model was saved, the file's size and the largest prediction difference after loading it."""

    model: str
    bytes: int
    max_abs_diff: float


@dataclass(frozen=True, kw_only=True)
class LegacyCheckpointDetails(Details):
    """The legacy pickle found, how loading it was refused, and whether (and to what) it was migrated."""

    legacy: str
    refused: str | None = None
    migrated: bool | None = None
    migrated_n_features: int | None = None


class HC030(Check):
    """A checkpoint round-trips through the safe format.

    Saves the quick-trained model (or a small fresh one when there is no training) with
    ``atft.checkpoint.save_checkpoint``, loads it back with ``load_checkpoint`` and compares the predictions
    on one batch and the stored config. The file must not be a pickle.
    """

    name = "checkpoint-roundtrip"
    atft_only = True
    severity = Severity.CRITICAL
    details_type = CheckpointDetails

    def check(self, ctx: CheckContext) -> Outcome:
        ml.require_atft_tree(ctx)
        import torch

        from atft.checkpoint import load_checkpoint, save_checkpoint
        from atft.config import load_config
        from atft.model import ATFT_GAT_FAN

        trained = ctx.peek("quick_train")
        batch = None
        if trained is not None:
            config, result = trained
            model = load_checkpoint(result.checkpoint_path).model
            origin = "the quick-trained model"
            data = ml.dataset(ctx)
            batch = ml.to_torch(data.batch(next(iter(data.split_days("val")))))
        else:
            config = load_config(None, ["model.hidden_size=16"])
            model = ATFT_GAT_FAN(config.model, n_features=4)
            origin = "a fresh small model (no quick training in this run)"
        model.eval()
        path = ctx.scratch / "roundtrip.safetensors"
        save_checkpoint(path, model, config, metadata={"purpose": "health check round trip"})
        head = path.read_bytes()[:4]
        if head[:1] == b"\x80" or head == b"PK\x03\x04":
            return Outcome(Status.FAIL, f"{path.name} was written as a pickle/zip, not safetensors")
        loaded = load_checkpoint(path)
        if batch is None:
            batch = synthetic_batch(8, 20, model.n_features, model.config.edge_dim)
        with torch.no_grad():
            diff = _outputs_equal(model(batch), loaded.model(batch))
        details = CheckpointDetails(model=origin, bytes=path.stat().st_size, max_abs_diff=diff)
        problems = []
        if diff > 1e-6:
            problems.append(f"predictions differ after the round trip by up to {diff:.3g}")
        if loaded.config.to_dict() != config.to_dict():
            problems.append("the config read back differs from the config saved")
        if problems:
            return Outcome(Status.FAIL, "; ".join(problems) + ".", details, "pytest -m checkpoint")
        return Outcome.passed(
            f"{origin} saved ({details.bytes} bytes, safetensors) and loaded back with identical predictions",
            details,
        )


class HC031(Check):
    """The committed legacy pickle checkpoint is refused without --trust-pickle (migrated only with it).

    ``load_checkpoint`` must refuse the legacy ``torch.save`` file under ``tests/fixtures/`` with a
    ``CheckpointError`` (unpickling runs code). With ``--trust-pickle``, ``migrate_legacy`` converts it to the
    safe format and the result loads.
    """

    name = "legacy-checkpoint"
    atft_only = True
    severity = Severity.MAJOR
    details_type = LegacyCheckpointDetails

    def check(self, ctx: CheckContext) -> Outcome:
        ml.require_atft_tree(ctx)
        from atft.checkpoint import CheckpointError, load_checkpoint, migrate_legacy

        legacy = sorted(p for pattern in LEGACY_GLOBS for p in ctx.root.glob(pattern))
        if not legacy:
            raise SkipCheck(f"no legacy checkpoint matches {', '.join(LEGACY_GLOBS)}")
        path = legacy[0]
        details = LegacyCheckpointDetails(legacy=ctx.rel(path))
        try:
            load_checkpoint(path)
        except CheckpointError as error:
            details = replace(details, refused=str(error)[:200])
        else:
            return Outcome(
                Status.FAIL,
                f"load_checkpoint loaded the pickle {ctx.rel(path)} without --trust-pickle: loading a checkpoint "
                "can run arbitrary code. Refuse pickles in atft.checkpoint.",
                details,
                "pytest -m checkpoint",
            )
        if not ctx.trust_pickle:
            return Outcome.passed(
                f"{ctx.rel(path)} is refused without trust (migration not attempted: pass --trust-pickle)",
                replace(details, migrated=False),
            )
        new = migrate_legacy(path, ctx.scratch / "migrated.safetensors", trust_pickle=True)
        loaded = load_checkpoint(new)
        return Outcome.passed(
            f"{ctx.rel(path)} is refused without trust and migrates with --trust-pickle",
            replace(details, migrated=True, migrated_n_features=loaded.model.n_features),
        )
