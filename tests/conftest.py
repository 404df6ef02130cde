"""Suite-wide pytest configuration: fixture projects are not collected; GPU tests skip with a reason where
CUDA is absent."""

from __future__ import annotations

import pytest

# fixture projects are inputs of the tools under test; their own test files are not part of our suite
collect_ignore_glob = ["*/fixtures/*"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; torch.cuda.is_available() is False here")
    for item in gpu_items:
        item.add_marker(skip)
