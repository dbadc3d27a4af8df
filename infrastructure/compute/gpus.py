"""What this machine has: CPUs, memory and each GPU (from torch.cuda, and NVML where present)."""

import os

import psutil


def machine_inventory() -> dict:
    return {
        "cpu_count": os.cpu_count() or 1,
        "ram_mb": psutil.virtual_memory().total // (1024 * 1024),
        "gpus": gpu_inventory(),
    }


def gpu_inventory() -> list[dict]:
    """Each GPU: index, name, total and free memory (MB), utilisation (%), compute capability.
    NVML gives memory and utilisation without creating a CUDA context; torch fills in the rest."""
    gpus = _nvml_gpus()
    try:
        import torch
    except ImportError:
        return gpus
    if not torch.cuda.is_available():
        return gpus
    by_index = {gpu["index"]: gpu for gpu in gpus}
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        gpu = by_index.setdefault(index, {"index": index, "utilization": None})
        gpu.setdefault("name", props.name)
        gpu.setdefault("total_mb", props.total_memory // (1024 * 1024))
        if "free_mb" not in gpu:
            free, _ = torch.cuda.mem_get_info(index)
            gpu["free_mb"] = free // (1024 * 1024)
        gpu["compute_capability"] = f"{props.major}.{props.minor}"
    return [by_index[i] for i in sorted(by_index)]


def _nvml_gpus() -> list[dict]:
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return []
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(
                {
                    "index": index,
                    "name": name.decode() if isinstance(name, bytes) else name,
                    "total_mb": memory.total // (1024 * 1024),
                    "free_mb": memory.free // (1024 * 1024),
                    "utilization": pynvml.nvmlDeviceGetUtilizationRates(handle).gpu,
                    "compute_capability": f"{major}.{minor}",
                }
            )
        return gpus
    finally:
        pynvml.nvmlShutdown()
