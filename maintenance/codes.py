"""The codes of the registered codemods, importable without libcst (a fully cached run never loads it).

`tests/maintenance/test_codemod_examples.py` checks that this list equals the registry.
"""

from __future__ import annotations

MNT_CODES: tuple[str, ...] = ("MNT001", "MNT002", "MNT003", "MNT004", "MNT005", "MNT006", "MNT007", "MNT008")
