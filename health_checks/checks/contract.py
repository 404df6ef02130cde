"""The model forward contract matches its golden file, and the model honours it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from health_checks import ml
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, SkipCheck, Status

GOLDEN_GLOB = "tests/fixtures/**/*contract*.json"


def _diff(expected: Any, found: Any, path: str = "") -> list[str]:
    """Paths where two JSON values differ (first few only)."""
    if isinstance(expected, dict) and isinstance(found, dict):
        out = []
        for key in sorted(set(expected) | set(found)):
            where = f"{path}.{key}" if path else str(key)
            if key not in found:
                out.append(f"{where}: missing now (golden has {json.dumps(expected[key])[:80]})")
            elif key not in expected:
                out.append(f"{where}: new (not in the golden file): {json.dumps(found[key])[:80]}")
            else:
                out += _diff(expected[key], found[key], where)
        return out
    if expected != found:
        return [f"{path}: golden {json.dumps(expected)[:80]} != now {json.dumps(found)[:80]}"]
    return []


def synthetic_batch(n_stocks: int, lookback: int, n_features: int, edge_dim: int) -> dict[str, Any]:
    import torch

    generator = torch.Generator().manual_seed(0)
    src = torch.arange(n_stocks)
    dst = (src + 1) % n_stocks
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])  # (2, E)
    return {
        "features": torch.randn(n_stocks, lookback, n_features, generator=generator),  # (N, L, F)
        "mask": torch.ones(n_stocks, dtype=torch.bool),  # (N,)
        "edge_index": edge_index,
        "edge_attr": torch.rand(edge_index.shape[1], edge_dim, generator=generator),  # (E, D_e)
    }


@dataclass(frozen=True, kw_only=True)
class ContractDetails(Details):
    """The golden file compared with, the contract version, the differences of the spec, the real outputs
    of ``model(batch)`` (dims as N/Q names), their differences, and how the positional call was refused."""

    golden: str
    contract_version: int | str | None = None
    differences: list[str] = field(default_factory=list)
    real_outputs: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    output_differences: list[str] = field(default_factory=list)
    positional_call: str | None = None


class HC011(Check):
    """The model forward contract matches its golden file.

    Compares ``atft.contract.contract_spec`` with the committed golden JSON under ``tests/fixtures/``,
    then calls a small ATFT-GAT-FAN the only valid way (``model(batch)``) and compares the keys and
    shapes of its *real* outputs with the golden file's, then a positional call (four positional
    arguments, as an export written against another signature would make), which must be refused with a
    ``ContractError``.
    """

    name = "forward-contract"
    atft_only = True
    severity = Severity.CRITICAL
    details_type = ContractDetails

    def check(self, ctx: CheckContext) -> Outcome:
        ml.require_atft_tree(ctx)
        from atft import contract

        goldens = sorted(ctx.root.glob(GOLDEN_GLOB))
        if not goldens:
            raise SkipCheck(f"no golden contract file matches {GOLDEN_GLOB}; commit the snapshot first")
        golden_path = goldens[0]
        golden = json.loads(golden_path.read_text(encoding="utf-8"))
        outputs = golden.get("outputs", {})
        horizons = [int(k.removeprefix("horizon_").removesuffix("d")) for k in outputs.get("predictions", {})]
        quantiles = outputs.get("quantiles", [0.1, 0.5, 0.9])
        now = json.loads(json.dumps(contract.contract_spec(horizons, quantiles)))
        differences = _diff(golden, now)
        details = ContractDetails(golden=ctx.rel(golden_path), contract_version=now.get("contract_version"))
        if differences:
            return Outcome(
                Status.FAIL,
                f"the forward contract differs from {ctx.rel(golden_path)} in {len(differences)} places: "
                f"{differences[0]}. If the change is intended, bump CONTRACT_VERSION and regenerate the golden file.",
                replace(details, differences=differences[:20]),
                "pytest -m signature",
            )
        import torch

        from atft.model import ATFT_GAT_FAN, ModelConfig

        config = ModelConfig(
            hidden_size=16, horizons=tuple(horizons), quantiles=tuple(quantiles), gat_heads=2
        )
        model = ATFT_GAT_FAN(config, n_features=4).eval()
        n_stocks = 11  # distinct from the quantile count, so every output dim maps back to one name
        batch = synthetic_batch(n_stocks, 5, 4, config.edge_dim)
        with torch.no_grad():
            output = model(batch)
        names = {n_stocks: "N", len(quantiles): "Q"}
        real = {
            group: {
                key: [names.get(int(d), str(int(d))) for d in t.shape] for key, t in output[group].items()
            }
            for group in output
            if isinstance(output[group], dict)
        }
        expected = {k: v for k, v in outputs.items() if isinstance(v, dict)}
        details = replace(details, real_outputs=real)
        output_differences = _diff(expected, real)
        if output_differences:
            details = replace(details, output_differences=output_differences[:20])
            return Outcome(
                Status.FAIL,
                f"the model's real outputs differ from {ctx.rel(golden_path)} in {len(output_differences)} "
                f"places: {output_differences[0]} (keys and shapes of model(batch) on {n_stocks} stocks).",
                details,
                "pytest -m signature",
            )
        contract.validate_output(output, n_stocks=n_stocks, horizons=horizons, n_quantiles=len(quantiles))
        try:
            with torch.no_grad():
                model(batch["features"], None, batch["edge_index"], batch["edge_attr"])
        except contract.ContractError as error:
            details = replace(details, positional_call=f"refused: {str(error)[:160]}")
        else:
            return Outcome(
                Status.FAIL,
                "model(features, static, edge_index, edge_attr) was accepted; the contract allows only "
                "model(batch). Restore the check_call guard in ATFT_GAT_FAN.__call__.",
                details,
                "pytest -m signature",
            )
        return Outcome.passed(
            f"contract v{now.get('contract_version')} equals {ctx.rel(golden_path)}; the real outputs of "
            f"model(batch) (keys and shapes of {', '.join(sorted(real))}) match it and a positional call is "
            "refused",
            details,
        )
