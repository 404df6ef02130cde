"""The probe keeps its place: HC045 on models that cannot be deep-copied, and the watch invariants run
in-process on a probe that names the program's own training step and optimiser construction."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from health_checks.checks.gradients import HC045
from health_checks.context import CheckContext
from health_checks.core import Status
from health_checks.probe import Probe
from health_checks.registry import all_checks
from health_checks.runner import run_checks
from health_checks.settings import HealthSettings

HERE = Path(__file__).parent
WATCH_CODES = ("HC060", "HC061", "HC062", "HC063", "HC064", "HC065", "HC067", "HC068")


class CachedTranspose(nn.Module):
    """Keeps a non-leaf tensor as an attribute (``self.a_t = torch.t(self.a)``): deepcopy raises."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.randn(3, 4))
        self.a_t = torch.t(self.a)
        self.out = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x @ self.a_t).squeeze(-1)


class SpectralNet(nn.Module):
    """spectral_norm recomputes ``weight`` (a non-leaf) on every forward: deepcopy raises after one."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.utils.spectral_norm(nn.Linear(4, 8))
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x))).squeeze(-1)


def probe_of(model: nn.Module, **extra: object) -> Probe:
    generator = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(8, 4, generator=generator), torch.randn(8, generator=generator)) for _ in range(3)
    ]
    return Probe(
        label=type(model).__name__,
        model=model,
        train_batches=batches,
        val_batches=batches[:1],
        forward=lambda m, b: m(b[0]),
        predictions=lambda out: {"y": out},
        loss=lambda out, b: nn.functional.mse_loss(out, b[1]),
        targets=lambda b: {"y": b[1]},
        optimizer=lambda params: torch.optim.Adam(params, lr=1e-2),
        **extra,
    )


def context_with(probe: Probe, **settings: object) -> CheckContext:
    ctx = CheckContext(root=HERE, settings=HealthSettings(probe="x:y", **settings))
    ctx.memo("probe", lambda: probe)
    return ctx


@pytest.mark.parametrize("build", [CachedTranspose, SpectralNet], ids=["cached-non-leaf", "spectral-norm"])
def test_optimiser_step_check_runs_on_models_deepcopy_rejects(build: type[nn.Module]) -> None:
    torch.manual_seed(0)
    model = build()
    model(torch.randn(2, 4))  # spectral_norm's cached weight exists from here on
    before = {name: t.detach().clone() for name, t in model.state_dict().items()}
    outcome = HC045().check(context_with(probe_of(model)))
    assert outcome.status == Status.PASS, outcome.message
    after = model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)  # restored in place
    assert all(p.grad is None for p in model.parameters())


def good_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: tuple) -> None:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(batch[0]), batch[1]).backward()
    optimizer.step()


def step_without_zero_grad(model: nn.Module, optimizer: torch.optim.Optimizer, batch: tuple) -> None:
    nn.functional.mse_loss(model(batch[0]), batch[1]).backward()
    optimizer.step()  # planted: no zero_grad


def head_only(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.head.parameters(), lr=1e-2)  # planted: the body never trains


def watch_results(probe: Probe) -> dict:
    ctx = context_with(probe, watch_steps=3)
    checks = [c for c in all_checks() if c.code() in WATCH_CODES]
    return {r.code: r for r in run_checks(checks, ctx, progress=False)}


def test_probe_train_step_healthy_passes_and_model_is_restored() -> None:
    torch.manual_seed(0)
    model = SpectralNet()
    before = {name: t.detach().clone() for name, t in model.state_dict().items()}
    results = watch_results(probe_of(model, train_step=good_step))
    assert {c for c, r in results.items() if r.status != Status.PASS} == set(), {
        c: r.message for c, r in results.items()
    }
    assert results["HC060"].details.steps == 3
    assert all(torch.equal(before[name], model.state_dict()[name]) for name in before)


def test_probe_train_step_without_zero_grad_fails_naming_the_line() -> None:
    results = watch_results(probe_of(SpectralNet(), train_step=step_without_zero_grad))
    assert results["HC062"].status == Status.FAIL
    assert "test_watch_probe.py:" in results["HC062"].message
    assert "optimizer.step()  # planted: no zero_grad" in results["HC062"].message


def test_probe_build_optimizer_over_a_subset_fails_coverage() -> None:
    results = watch_results(probe_of(SpectralNet(), train_step=good_step, build_optimizer=head_only))
    assert results["HC061"].status == Status.FAIL
    assert "body.weight_orig" in results["HC061"].message
    assert "test_watch_probe.py" in results["HC061"].message  # where the optimiser was built


def test_without_a_train_step_or_program_the_watch_does_not_apply() -> None:
    results = watch_results(probe_of(SpectralNet()))
    assert results["HC060"].status == Status.SKIP and results["HC060"].details.not_applicable


def test_a_watcher_bug_is_health_checks_error_not_the_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    from health_checks.watch import recorder

    def broken(state: object) -> float:
        raise ZeroDivisionError("planted in the watcher")

    monkeypatch.setattr(recorder, "step_count", broken)
    results = watch_results(probe_of(SpectralNet(), train_step=good_step))
    assert results["HC060"].status == Status.WARN
    assert "health_checks' own error" in results["HC060"].message
    assert "recorder.py:" in results["HC060"].message
    assert all(results[code].status == Status.SKIP for code in WATCH_CODES[1:])
