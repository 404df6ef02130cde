"""Two trainings in two processes give the same numbers: the first builds the data cache (arrays and day
graphs), the second reads it back from disk. The health report's metrics are compared across runs, so a
moved metric on unchanged inputs must be a real change, never noise from the process or the cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.atft.tiny import TINY_MODEL

SCRIPT = """
import json, sys
from pathlib import Path
from atft.config import load_config
from atft.train import train
config = load_config(None, json.loads(sys.argv[1]))
result = train(config, Path(sys.argv[2]), progress=False)
print(json.dumps(result.val_metrics, sort_keys=True))
"""


def test_two_processes_cold_and_warm_cache_give_identical_metrics(tmp_path: Path) -> None:
    overrides = [
        "data.market=synthetic",
        "data.n_stocks=20",
        "data.n_days=160",
        f'data.cache_dir="{tmp_path / "cache"}"',
        "train.epochs=2",
        "train.max_train_days=12",
        "train.torch_threads=1",
        "model.dropout=0.2",  # dropout draws from the seeded generator
        *TINY_MODEL,
    ]
    runs = []
    for name in ("cold", "warm"):
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, json.dumps(overrides), str(tmp_path / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert any((tmp_path / "cache").rglob("graphs/*.npz"))  # the warm run read day graphs from disk
    assert runs[0] == runs[1]
    assert {row["horizon"] for row in runs[0]} and all("sharpe" in row for row in runs[0])
