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


def _torchrun(out: Path, settings: list[str], *options: str) -> subprocess.CompletedProcess:
    """`python -m atft train` on the tiny synthetic market under torchrun, 2 CPU processes (gloo)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command += ["-m", "atft", "train", "--market", "synthetic", "--out", str(out), "--no-progress", *options]
    for item in [*TINY_RUN, *settings]:
        command += ["--set", item]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_torchrun_two_processes_share_the_days(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    done = _torchrun(out, ["train.epochs=2", "train.max_train_days=8"])
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [0, 1]
    assert all(row["steps"] == 4 for row in rows), "each of the 2 processes trains on half of the 8 days"
    loaded = load_checkpoint(out / "last.safetensors")
    assert loaded.metadata["user"]["world_size"] == 2
    assert loaded.trainer_state["epoch"] == 1


def _agree(rank: int, world: int, store_path: str, out_dir: str) -> None:
    """Worker of `test_any_rank_agrees_on_every_rank`: one gloo process of a 2-process group."""
    import torch.distributed as dist

    from atft.distributed import DistContext, any_rank

    dist.init_process_group("gloo", init_method=f"file://{store_path}", rank=rank, world_size=world)
    context = DistContext(rank=rank, world_size=world)
    results = {"one_late": any_rank(context, rank == 1), "none_late": any_rank(context, False)}
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(results))
    dist.destroy_process_group()


def test_any_rank_agrees_on_every_rank(tmp_path: Path) -> None:
    """The wall-clock stop: when one rank is over the budget, every rank learns it at the same step."""
    import torch.multiprocessing as mp

    mp.spawn(_agree, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        assert json.loads((tmp_path / f"rank{rank}.json").read_text()) == {
            "one_late": True,
            "none_late": False,
        }


def test_torchrun_with_a_wall_clock_cap_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    """Ranks start their clocks at different moments; without agreeing, one waits in an all-reduce forever."""
    out = tmp_path / "ddp"
    settings = ["train.epochs=200", "train.max_train_days=8", "train.patience=200"]
    done = _torchrun(out, settings, "--max-seconds", "3")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "max_seconds" in done.stdout
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert 1 <= len(rows) < 200
    state = load_checkpoint(out / "last.safetensors").trainer_state
    assert state["global_step"] == sum(row["steps"] for row in rows)
