"""DistributedDataParallel glue: one process per GPU under ``torchrun`` (gloo on the CPU).

Without torchrun's environment (RANK, WORLD_SIZE) every function is a cheap single-process no-op,
so the trainers run unchanged in a notebook.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as td
import torch.nn as nn


def world_size() -> int:
    return td.get_world_size() if td.is_available() and td.is_initialized() else int(os.environ.get("WORLD_SIZE", 1))


def rank() -> int:
    return td.get_rank() if td.is_available() and td.is_initialized() else int(os.environ.get("RANK", 0))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", 0))


def is_main() -> bool:
    return rank() == 0


def init(device: str = "auto") -> None:
    """Join the process group torchrun describes (nccl for CUDA, gloo otherwise); no-op alone."""
    if int(os.environ.get("WORLD_SIZE", 1)) <= 1 or td.is_initialized():
        return
    cuda = torch.cuda.is_available() and device != "cpu"
    if cuda:
        torch.cuda.set_device(local_rank())
    td.init_process_group("nccl" if cuda else "gloo")


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """DDP-wrap a trainable module when running distributed (else return it unchanged)."""
    if world_size() <= 1:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP
    return DDP(module, device_ids=[device.index] if device.type == "cuda" else None)


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if hasattr(module, "module") and isinstance(module, nn.parallel.DistributedDataParallel) \
        else module


def all_finite(value: float, device: torch.device) -> bool:
    """True when the loss is finite on every process (all must agree, or backward would hang)."""
    ok = torch.tensor([1.0 if torch.isfinite(torch.tensor(value)) else 0.0], device=device)
    if world_size() > 1:
        td.all_reduce(ok, op=td.ReduceOp.MIN)
    return bool(ok.item() > 0)


def mean(value: float, device: torch.device) -> float:
    """Average a metric over processes (for logs)."""
    if world_size() <= 1:
        return value
    t = torch.tensor([value], device=device, dtype=torch.float64)
    td.all_reduce(t)
    return float(t.item()) / world_size()


def barrier() -> None:
    if world_size() > 1 and td.is_initialized():
        td.barrier()


def cleanup() -> None:
    if td.is_available() and td.is_initialized():
        td.destroy_process_group()
