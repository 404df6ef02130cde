"""The code table: every MNT code, the rule class that owns it and the file it lives in.

Importable without libcst (a fully cached run never loads it). The code is the stable id; a rule's file is
named after its problem. `--list` prints each rule's file, the README's table of codes names them, and
`tests/maintenance/test_codemod_examples.py` checks this table against the registry (same codes, in the
same order; each class defined in the file named here).
"""

from __future__ import annotations

from typing import NamedTuple


class Rule(NamedTuple):
    """One row of the code table."""

    code: str
    name: str  # the rule class (the codemod's NAME)
    file: str  # the file that defines it, relative to the repository root


PARSE_ERROR = Rule("MNT000", "ParseError", "maintenance/findings.py")
RULES: tuple[Rule, ...] = (
    Rule("MNT001", "UnreachableCode", "maintenance/codemods/unreachable_code.py"),
    Rule("MNT002", "MutableDataclassDefault", "maintenance/codemods/mutable_dataclass_default.py"),
    Rule("MNT003", "UnsafeTorchLoad", "maintenance/codemods/unsafe_torch_load.py"),
    Rule("MNT004", "CallSignatureMismatch", "maintenance/codemods/call_signature_mismatch.py"),
    Rule("MNT005", "ParkedCode", "maintenance/codemods/parked_code.py"),
    Rule("MNT006", "LossWithoutGraph", "maintenance/codemods/loss_without_graph.py"),
    Rule("MNT007", "StuckBooleanFlag", "maintenance/codemods/boolean_flag.py"),
    Rule("MNT008", "UnpicklableDataset", "maintenance/codemods/unpicklable_dataset.py"),
)
MNT_CODES: tuple[str, ...] = tuple(rule.code for rule in RULES)


def rule_file(code: str) -> str | None:
    """The file of the rule with `code` (MNT000 included), or `None` for a code that is not ours."""
    for rule in (PARSE_ERROR, *RULES):
        if rule.code == code:
            return rule.file
    return None
