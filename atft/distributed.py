"""Multi-process data parallel for the trainer, started by ``torchrun`` (gloo on CPU, nccl on GPU).

`torch.distributed` reads the rendezvous variables torchrun sets (RANK, WORLD_SIZE, MASTER_ADDR, ...);
the CLI decides whether to ask for it (`atft.cli.train`), nothing else here looks at the environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank, the world size and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> ``cuda:<local_rank>`` when CUDA is available, else cpu; anything else as given."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"train.device={name!r} but CUDA is not available here; use 'cpu' or 'auto'.")
    return device


def init(device_name: str) -> DistContext:
    """Join the process group torchrun prepared: nccl when training on CUDA, gloo on CPU."""
    device = resolve_device(device_name)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = rank % max(torch.cuda.device_count(), 1) if device.type == "cuda" else 0
    if device.type == "cuda":
        device = torch.device(f"cuda:{local_rank}")
        torch.cuda.set_device(device)
    log.info("process %d of %d on %s (%s)", rank, world, device, backend)
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, device=device)


def any_rank(context: DistContext, flag: bool) -> bool:
    """True on every rank when `flag` is True on any rank (an all-reduce MAX; the flag itself otherwise)."""
    if not context.enabled:
        return flag
    value = torch.tensor([1 if flag else 0], dtype=torch.int32, device=context.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def barrier(context: DistContext) -> None:
    if context.enabled:
        dist.barrier()


def shutdown(context: DistContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()
