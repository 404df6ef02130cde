"""MNT008's premise on CPU: a Dataset holding a lock cannot reach a spawned DataLoader worker; its twin can.

The two datasets live at module level so that the spawned worker can import them by name; MNT008 itself
is then run over this very file and must flag the first and only the first.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from maintenance.engine import analyze_text  # noqa: E402


class LockedDataset(Dataset):
    """Three numbers behind a cache lock that goes to the workers with the dataset."""

    def __init__(self) -> None:
        self.values = [1.0, 2.0, 3.0]
        self._lock = threading.Lock()  # noqa: MNT008 (the premise: this one must fail in the loader)

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: int) -> torch.Tensor:
        with self._lock:
            return torch.tensor(self.values[index])


class PicklableLockedDataset(LockedDataset):
    """The twin: `__getstate__` drops the lock and `__setstate__` gives each worker its own."""

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _load(dataset: Dataset) -> list[float]:
    loader = DataLoader(dataset, batch_size=1, num_workers=1, multiprocessing_context="spawn")
    return [float(batch.item()) for batch in loader]


@pytest.mark.filterwarnings("ignore:Got pickle error:UserWarning")
def test_a_dataset_with_a_lock_fails_in_a_spawned_worker() -> None:
    with pytest.raises(TypeError, match=r"pickle '_thread\.lock'"):
        _load(LockedDataset())


def test_the_getstate_twin_loads_in_a_spawned_worker() -> None:
    assert _load(PicklableLockedDataset()) == [1.0, 2.0, 3.0]


def test_mnt008_flags_the_locked_dataset_and_not_its_twin() -> None:
    source = Path(__file__).read_text(encoding="utf-8").replace("# noqa: MNT008", "# was suppressed")
    findings = analyze_text(source, "test_unpicklable_dataset.py", ["MNT008"]).findings
    assert [(f.code, "LockedDataset" in f.message, "_lock" in f.message) for f in findings] == [
        ("MNT008", True, True)
    ]
    assert "PicklableLockedDataset" not in findings[0].message
    # the twin inherits the lock from LockedDataset's __init__ but defines __getstate__: not reported
    lines = source.splitlines()
    (locked_line,) = [
        n for n, line in enumerate(lines, 1) if line.strip().startswith("self._lock = threading.Lock()  #")
    ]
    assert findings[0].line == locked_line
