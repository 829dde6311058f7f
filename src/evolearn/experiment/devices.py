"""Choosing the torch device a run computes on."""

from __future__ import annotations

import os

import torch


def cuda_device_count() -> int:
    """Number of CUDA devices torch can use (0 where torch has no CUDA)."""
    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver must not stop a CPU run
        return 0


def least_used_gpu() -> int:
    """Index of the CUDA device with the most free memory, read with NVML, else torch."""
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
    if not use_cuda:
        return torch.device("cpu"), None
    if cuda_device_count() == 0:
        return torch.device("cpu"), "use_cuda is set but no CUDA device is available: using the CPU"
    return torch.device("cuda", least_used_gpu()), None
