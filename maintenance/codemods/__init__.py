"""The registry of codemods: one module per problem, each an `AstRule` or a `LibcstRule` with its code.

To add a codemod: write `maintenance/codemods/<problem>.py` with an `AstRule` subclass (a `LibcstRule`
when it needs libcst to decide): CODE, NAME, a docstring with What it does / Why is this bad? / Example /
Use instead / Fix safety, INVALID and VALID examples, `may_match` and `findings` (or `visit_*` methods),
and `PREFILTER_WITHOUT_INDEX = True` when `may_match` reads no index (else `may_match_before_index`, or the
index pass keeps every file's tree for it); then add it to `REGISTRY` below; the examples test picks it up.
"""

from __future__ import annotations

from maintenance.codemods.base import (
    AstFinding,
    AstRule,
    Codemod,
    FileContext,
    IndexCheck,
    Invalid,
    LibcstRule,
    Violation,
)
from maintenance.codemods.boolean_flag import StuckBooleanFlag
from maintenance.codemods.call_signature_mismatch import CallSignatureMismatch
from maintenance.codemods.loss_without_graph import LossWithoutGraph
from maintenance.codemods.mutable_dataclass_default import MutableDataclassDefault
from maintenance.codemods.parked_code import ParkedCode
from maintenance.codemods.unpicklable_dataset import UnpicklableDataset
from maintenance.codemods.unreachable_code import UnreachableCode
from maintenance.codemods.unsafe_torch_load import UnsafeTorchLoad

REGISTRY: tuple[type[Codemod], ...] = (
    UnreachableCode,
    MutableDataclassDefault,
    UnsafeTorchLoad,
    CallSignatureMismatch,
    ParkedCode,
    LossWithoutGraph,
    StuckBooleanFlag,
    UnpicklableDataset,
)

__all__ = [
    "REGISTRY",
    "AstFinding",
    "AstRule",
    "Codemod",
    "FileContext",
    "IndexCheck",
    "Invalid",
    "LibcstRule",
    "Violation",
    "by_code",
]


def by_code() -> dict[str, type[Codemod]]:
    """The registered codemods keyed by their code."""
    return {codemod.CODE: codemod for codemod in REGISTRY}
