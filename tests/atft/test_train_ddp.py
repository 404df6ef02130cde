"""Multi-process data parallel on CPU: two processes under torchrun (gloo) train one model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from atft.checkpoint import load_checkpoint
from tests.atft.tiny import TINY_RUN

ROOT = Path(__file__).parents[2]


def test_torchrun_two_processes_share_the_days(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    settings = [*TINY_RUN, "train.epochs=2", "train.max_train_days=8"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command += ["-m", "atft", "train", "--market", "synthetic", "--out", str(out), "--no-progress"]
    for item in settings:
        command += ["--set", item]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [0, 1]
    assert all(row["steps"] == 4 for row in rows), "each of the 2 processes trains on half of the 8 days"
    loaded = load_checkpoint(out / "last.safetensors")
    assert loaded.metadata["user"]["world_size"] == 2
    assert loaded.trainer_state["epoch"] == 1
