"""Choosing the torch device a run computes on.

torch is imported here only when a question needs it: a run that computes with numpy (the WANN
scripts without ``use_torch``, run-hebbian-gym.py) starts without it, about two seconds faster.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def cuda_device_count() -> int:
    """Number of CUDA devices torch can use (0 where torch has no CUDA)."""
    import torch

    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver must not stop a CPU run
        return 0


def least_used_gpu() -> int:
    """Index of the CUDA device with the most free memory, read with NVML, else torch."""
    import torch

    count = cuda_device_count()
    try:
        import pynvml  # the official NVML binding (package nvidia-ml-py)

        pynvml.nvmlInit()
        try:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            free = []
            for index in range(count):
                nvml_index = int(visible.split(",")[index]) if visible else index
                handle = pynvml.nvmlDeviceGetHandleByIndex(nvml_index)
                free.append(pynvml.nvmlDeviceGetMemoryInfo(handle).free)
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        free = [torch.cuda.mem_get_info(index)[0] for index in range(count)]
    return max(range(count), key=free.__getitem__)


def select_device(use_cuda: bool) -> tuple[torch.device, str | None]:
    """The device to compute on, and a note for the log when CUDA was asked for but is missing."""
    import torch

    if not use_cuda:
        return torch.device("cpu"), None
    if cuda_device_count() == 0:
        return torch.device("cpu"), "use_cuda is set but no CUDA device is available: using the CPU"
    return torch.device("cuda", least_used_gpu()), None


def visible_cuda_devices() -> int:
    """The number of CUDA devices for a run's log, without importing torch where the run has
    not: torch's count once torch is loaded, else NVML's (as many as ``CUDA_VISIBLE_DEVICES``
    lets through), 0 without a driver."""
    if "torch" in sys.modules:
        return cuda_device_count()
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            count = pynvml.nvmlDeviceGetCount()
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no NVML, no driver: no device
        return 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:  # CUDA takes the entries up to the first that is not a device
        entries = [d.strip() for d in visible.split(",")]
        usable = next((i for i, d in enumerate(entries) if not d or d.startswith("-")), None)
        count = min(count, len(entries) if usable is None else usable)
    return count


def limit_torch_threads(num_threads: int) -> None:
    """Limit torch to ``num_threads`` threads in this process, without importing it: set now
    if torch is loaded, else through ``OMP_NUM_THREADS``, which torch reads when a task first
    imports it."""
    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != num_threads:
            torch.set_num_threads(num_threads)
    else:
        os.environ["OMP_NUM_THREADS"] = str(num_threads)
