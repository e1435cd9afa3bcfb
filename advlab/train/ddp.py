"""Data-parallel training (PyTorch DDP) across the processes ``torchrun`` starts.

Launch any training command under ``torchrun``: it sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``, :func:`init` joins the process group (NCCL on GPUs, gloo on CPUs), and
:func:`advlab.train.fit` then gives every rank its shard of each global batch, lets DDP
average the gradients, and writes checkpoints from rank 0 only::

    torchrun --nproc_per_node 4 -m advlab.zoo train cifar_resnet8
    torchrun --nnodes 2 --nproc_per_node 8 --rdzv-endpoint HOST:29500 -m advlab.zoo train NAME

With one process (no ``torchrun``) every function here is a no-op.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def launched() -> bool:
    """True when this process was started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(backend: str | None = None) -> bool:
    """Join the process group ``torchrun`` describes; True if training is data-parallel."""
    if dist.is_available() and dist.is_initialized():
        return world_size() > 1
    if not launched():
        return False
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """Rank 0: the process that prints, evaluates and writes files."""
    return rank() == 0


def device() -> torch.device:
    """This process's GPU (``cuda:LOCAL_RANK``) when there is one, else the CPU."""
    return torch.device(f"cuda:{local_rank()}" if torch.cuda.is_available() else "cpu")


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


@torch.no_grad()
def broadcast_state(module: torch.nn.Module, src: int = 0) -> None:
    """Copy ``src``'s parameters and buffers into every rank's ``module`` (after a step only
    ``src`` ran, such as ProtoPNet's push)."""
    if world_size() == 1:
        return
    for t in module.state_dict().values():
        buf = t.contiguous()
        dist.broadcast(buf, src)
        if buf.data_ptr() != t.data_ptr():
            t.copy_(buf)


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
