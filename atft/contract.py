"""The forward contract of ATFT-GAT-FAN: the one typed place that says what `model(batch)` takes and returns.

Every caller (train step, validation, export, reload then predict, diagnostics) hands the model ONE mapping
with the keys below; `validate_batch` checks them and `validate_output` checks what comes back. The
contract is snapshotted by `contract_spec()` into `tests/fixtures/forward_contract.json`, which the
`signature` gate compares exactly, so a change here is a deliberate, reviewed change.

Dimension names: N stocks of one day, L look-back steps, F features, E edges, D_e edge attributes,
S static features, Q quantiles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

CONTRACT_VERSION = 1


class ContractError(TypeError):
    """A call or a batch that breaks the forward contract; the message names the key and the shapes."""


@dataclass(frozen=True)
class TensorSpec:
    """One input tensor of the forward contract.

    ``dims`` are symbolic names; a name shared by two tensors (N) must have the same size in both, and a
    name bound by the model (F, D_e, S) must equal the model's size.
    """

    key: str
    dtype: torch.dtype
    dims: tuple[str, ...]
    required: bool
    doc: str


FORWARD_INPUTS: tuple[TensorSpec, ...] = (
    TensorSpec("features", torch.float32, ("N", "L", "F"), True, "look-back window per stock, finite"),
    TensorSpec("mask", torch.bool, ("N",), True, "stock has valid data on this day"),
    TensorSpec("edge_index", torch.int64, ("2", "E"), True, "graph edges, torch-geometric layout"),
    TensorSpec("edge_attr", torch.float32, ("E", "D_e"), True, "per-edge attributes"),
    TensorSpec("static_features", torch.float32, ("N", "S"), False, "per-stock static inputs"),
)
INPUT_KEYS: tuple[str, ...] = tuple(spec.key for spec in FORWARD_INPUTS)
OUTPUT_KEYS: tuple[str, ...] = ("predictions", "point")


def horizon_key(horizon: int) -> str:
    """The output key of one horizon: ``horizon_5d`` for 5."""
    return f"horizon_{int(horizon)}d"


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {list(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__}"


def check_call(args: Sequence[object], kwargs: Mapping[str, object]) -> Mapping[str, object]:
    """Check how the model was called and return the batch mapping.

    The only valid call is ``model(batch)`` with one positional mapping. A call such as
    ``model(features, static, edge_index, edge_attr)`` (the export bug of the project we replace) fails
    here with a message that says what to do instead.
    """
    if kwargs:
        raise ContractError(
            f"ATFT_GAT_FAN takes exactly one positional argument, a batch mapping; received keyword "
            f"arguments {sorted(kwargs)}. Call model({{{', '.join(repr(k) for k in INPUT_KEYS[:4])}, ...}})."
        )
    if len(args) != 1:
        received = ", ".join(_describe(a) for a in args) or "nothing"
        raise ContractError(
            f"ATFT_GAT_FAN takes exactly one positional argument, a batch mapping with keys "
            f"{list(INPUT_KEYS)}; received {len(args)} positional arguments ({received}). "
            f"Put the tensors in one dict: model({{'features': x, 'mask': m, 'edge_index': ei, 'edge_attr': ea}})."
        )
    batch = args[0]
    if not isinstance(batch, Mapping):
        raise ContractError(
            f"ATFT_GAT_FAN expects a batch mapping with keys {list(INPUT_KEYS)}; received {_describe(batch)}. "
            "Wrap the tensors in a dict keyed by those names."
        )
    return batch


@dataclass(frozen=True)
class ValidatedBatch:
    """The forward inputs after validation (same tensors, no copies)."""

    features: torch.Tensor  # (N, L, F)
    mask: torch.Tensor  # (N,)
    edge_index: torch.Tensor  # (2, E)
    edge_attr: torch.Tensor  # (E, D_e)
    static_features: torch.Tensor | None  # (N, S) or None


def validate_batch(
    batch: Mapping[str, object], *, n_features: int, edge_dim: int, n_static: int
) -> ValidatedBatch:
    """Check the forward inputs of `batch` against the contract and the model's sizes.

    Extra keys (targets, date, codes, ...) are allowed and ignored. Raises `ContractError` naming the key,
    the expected shape and the received shape.
    """
    bound: dict[str, int] = {"2": 2, "F": n_features, "D_e": edge_dim}
    if n_static:
        bound["S"] = n_static
    found: dict[str, torch.Tensor | None] = {}
    for spec in FORWARD_INPUTS:
        value = batch.get(spec.key)
        expected = f"{spec.dtype} [{', '.join(spec.dims)}]"
        if value is None:
            if spec.required or (spec.key == "static_features" and n_static):
                raise ContractError(
                    f"batch is missing key {spec.key!r}: expected {expected} ({spec.doc}); "
                    f"the batch has keys {sorted(batch)}."
                )
            found[spec.key] = None
            continue
        if not isinstance(value, torch.Tensor):
            raise ContractError(
                f"batch[{spec.key!r}]: expected a tensor {expected}, received {_describe(value)}."
            )
        if value.dtype != spec.dtype:
            raise ContractError(
                f"batch[{spec.key!r}]: expected dtype {spec.dtype} with shape [{', '.join(spec.dims)}], "
                f"received {_describe(value)}."
            )
        if value.dim() != len(spec.dims):
            raise ContractError(
                f"batch[{spec.key!r}]: expected shape [{', '.join(spec.dims)}] ({len(spec.dims)} dims), "
                f"received shape {list(value.shape)}."
            )
        for name, size in zip(spec.dims, value.shape, strict=True):
            if name in bound and bound[name] != size:
                shown = "[" + ", ".join(str(bound.get(d, d)) for d in spec.dims) + "]"
                raise ContractError(
                    f"batch[{spec.key!r}]: expected shape {shown} with {name}={bound[name]}, "
                    f"received shape {list(value.shape)}."
                )
            bound.setdefault(name, int(size))
        found[spec.key] = value
    features = found["features"]
    edge_index = found["edge_index"]
    assert features is not None and edge_index is not None  # required above
    if torch.compiler.is_compiling():  # value checks would break the compiled graph; shapes were checked
        return ValidatedBatch(
            features, found["mask"], edge_index, found["edge_attr"], found["static_features"]
        )  # type: ignore[arg-type]
    if not torch.isfinite(features).all():
        raise ContractError(
            "batch['features'] contains NaN or inf; the contract wants finite values (0 where masked)."
        )
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= bound["N"]):
        raise ContractError(
            f"batch['edge_index'] refers to node {int(edge_index.max())} or {int(edge_index.min())}, "
            f"expected indices in [0, {bound['N']}) for N={bound['N']} stocks."
        )
    return ValidatedBatch(
        features=features,
        mask=found["mask"],  # type: ignore[arg-type]
        edge_index=edge_index,
        edge_attr=found["edge_attr"],  # type: ignore[arg-type]
        static_features=found["static_features"],
    )


def validate_output(
    output: Mapping[str, object], *, n_stocks: int, horizons: Sequence[int], n_quantiles: int
) -> None:
    """Check the model output: ``predictions[horizon_<h>d]`` is float [N, Q] and ``point[...]`` is [N]."""
    for key in OUTPUT_KEYS:
        if key not in output:
            raise ContractError(f"model output is missing key {key!r}; expected keys {list(OUTPUT_KEYS)}.")
    predictions, point = output["predictions"], output["point"]
    assert isinstance(predictions, Mapping) and isinstance(point, Mapping)
    expected_keys = [horizon_key(h) for h in horizons]
    if list(predictions) != expected_keys:
        raise ContractError(f"output['predictions'] has keys {list(predictions)}, expected {expected_keys}.")
    for key in expected_keys:
        tensor = predictions[key]
        if tuple(tensor.shape) != (n_stocks, n_quantiles):
            raise ContractError(
                f"output['predictions'][{key!r}]: expected shape [{n_stocks}, {n_quantiles}] (N, Q), "
                f"received {list(tensor.shape)}."
            )
        if tuple(point[key].shape) != (n_stocks,):
            raise ContractError(
                f"output['point'][{key!r}]: expected shape [{n_stocks}] (N,), received {list(point[key].shape)}."
            )


def contract_spec(
    horizons: Sequence[int] = (1, 5, 10, 20), quantiles: Sequence[float] = (0.1, 0.5, 0.9)
) -> dict:
    """A JSON-able description of the forward contract (the golden file's content)."""
    return {
        "contract_version": CONTRACT_VERSION,
        "call": "model(batch) -> dict; exactly one positional argument, a mapping",
        "inputs": [
            {
                "key": spec.key,
                "dtype": str(spec.dtype).removeprefix("torch."),
                "dims": list(spec.dims),
                "required": spec.required,
                "doc": spec.doc,
            }
            for spec in FORWARD_INPUTS
        ],
        "outputs": {
            "predictions": {horizon_key(h): ["N", "Q"] for h in horizons},
            "point": {horizon_key(h): ["N"] for h in horizons},
            "quantiles": [float(q) for q in quantiles],
        },
    }
