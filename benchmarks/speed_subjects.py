"""What ``benchmarks.explain_speed`` measures on, and how memory is read on each device.

Two subjects: the synthetic 123.5 M-parameter Qwen2.5-VL (realistic 150k vocabulary, small body;
built in memory) or a real-shape checkpoint folder (``benchmarks.real_shapes``, or any saved
Qwen2-VL / Qwen2.5-VL / InternVL / LLaVA folder), opened exactly as an audit opens it. The same
code runs on CPU or a CUDA GPU: the device is a flag (``auto`` picks CUDA when there is one).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Subject:
    """A model to benchmark, with a description for the results file."""

    model: Any
    processor: Any
    info: dict[str, Any]


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda but torch sees no CUDA device")
    return name


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so that wall time covers it (no-op on CPU)."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def synthetic_subject(sizes: dict, device: str) -> Subject:
    from auditors.synthetic_models import SyntheticModelSpec, build_synthetic_vlm

    spec = SyntheticModelSpec(**{k: v for k, v in sizes.items() if k in SyntheticModelSpec.__dataclass_fields__})
    model, processor = build_synthetic_vlm("qwen2_5_vl", spec, seed=0)
    model = model.to(device)
    info = {"source": "synthetic", "architecture": "Qwen2_5_VLForConditionalGeneration (random weights)",
            **{k: v for k, v in sizes.items() if k not in ("runs", "max_new_tokens", "image_px")}}
    return Subject(model, processor, _describe(model, info))


def folder_subject(folder: Path, dtype: str, device: str) -> Subject:
    """A saved folder opened as the audit opens it (``auditors.load_pretrained``), then moved/cast."""
    import torch

    import auditors

    model, processor = auditors.load_pretrained(folder)
    if dtype != "auto":
        model = model.to(getattr(torch, dtype))
    model = model.to(device)
    built = folder / "real_shape.json"
    info = {"source": str(folder), "architecture": type(model).__name__,
            "real_shape": json.loads(built.read_text()) if built.is_file() else None}
    return Subject(model, processor, _describe(model, info))


def _describe(model, info: dict[str, Any]) -> dict[str, Any]:
    return {**info, "n_params": sum(p.numel() for p in model.parameters()), "dtype": str(model.dtype).replace("torch.", ""),
            "vocab_size": int(model.get_output_embeddings().weight.shape[0])}


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """CPU: samples RSS in a thread; ``extra`` = peak during the block minus RSS before it."""

    def __enter__(self):
        self.before = rss_bytes()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        self.extra = self.peak - self.before


class PeakCuda:
    """CUDA: peak allocated device memory during the block minus what was allocated before it."""

    def __enter__(self):
        import torch

        torch.cuda.synchronize()
        self.before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        return self

    def __exit__(self, *exc):
        import torch

        torch.cuda.synchronize()
        self.extra = torch.cuda.max_memory_allocated() - self.before


def peak_memory(device: str):
    return PeakCuda() if device == "cuda" else PeakRss()


def release_memory(device: str) -> None:
    """Return freed heap to the OS (CPU) or the allocator's cache (CUDA) before a memory reading."""
    import ctypes
    import gc

    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def machine(device: str, threads: int) -> dict[str, Any]:
    import platform

    import torch
    import transformers

    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "torch": torch.__version__, "transformers": transformers.__version__,
                            "cpu_count": os.cpu_count(), "device": device, "torch_threads": threads}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                                 if line.startswith("model name"))
        info["mem_total_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (OSError, StopIteration):
        pass
    return info
