"""``dtype: auto``: the weight dtype the hardware runs natively, decided once per process.

* a CUDA GPU with bf16 support (Ampere and later) -> ``bfloat16``;
* a CPU with native bf16 matmuls (x86 AVX512-BF16 or AMX-BF16, as torch's own CPU probe or
  ``/proc/cpuinfo`` reports them; aarch64 with the ``bf16`` feature) -> ``bfloat16``: about 3-10x faster
  than float32 there;
* anything else (an AVX2-only CPU: most laptops and many servers; a GPU without bf16) -> ``float32``:
  without native support torch falls back to a generic bf16 kernel that is 5-70x *slower* than float32.

``HN_LIGHTNING_NO_BF16=1`` forces the float32 answer (to measure the other case on a bf16 machine);
an explicit ``float32`` / ``bfloat16`` / ``float16`` is always taken as written. The decision and its
reason are logged once per process.

Trainer precision: the CPU demo configs use ``precision: 32-true`` (no autocast), so the base runs in
whatever dtype ``auto`` picked and the LoRA adapters in float32: correct on both kinds of CPU. The GPU
configs use ``bf16-true``, which casts the model to bf16 anyway (on a GPU ``auto`` is bf16 too).
"""

from __future__ import annotations

import functools
import logging
import os
import platform
from pathlib import Path

import torch

log = logging.getLogger(__name__)

DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16")
"""What a config's ``dtype`` accepts."""

FORCE_FLOAT32_ENV = "HN_LIGHTNING_NO_BF16"
"""Set to ``1`` to make ``auto`` pick float32 even where bf16 is native."""

_TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return flags


def probe_native_bf16() -> tuple[bool, str]:
    """``(native, reason)``: whether bf16 matmuls run natively on the device a run would use."""
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        if torch.cuda.is_bf16_supported():
            return True, f"CUDA GPU {name} supports bf16"
        return False, f"CUDA GPU {name} has no bf16 support"
    cpu = getattr(torch, "cpu", None)
    checks = {"AVX512-BF16": "_is_avx512_bf16_supported", "AMX": "_is_amx_tile_supported"}
    for label, fn in checks.items():
        probe = getattr(cpu, fn, None)
        if probe is not None and probe():
            return True, f"CPU has {label} (torch's CPU probe)"
    flags = _cpuinfo_flags()
    for flag in ("avx512_bf16", "amx_bf16"):
        if flag in flags:
            return True, f"CPU has {flag} (/proc/cpuinfo)"
    if platform.machine().lower() in ("aarch64", "arm64") and "bf16" in flags:
        return True, "ARM CPU with the bf16 feature (/proc/cpuinfo)"
    have = "AVX2" if "avx2" in flags else platform.machine() or "unknown"
    return False, f"CPU without native bf16 matmuls ({have}; no AVX512-BF16/AMX): bf16 would be far slower"


@functools.lru_cache(maxsize=1)
def auto_dtype() -> str:
    """The ``auto`` choice, ``"bfloat16"`` or ``"float32"``; decided and logged once per process."""
    if os.environ.get(FORCE_FLOAT32_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        choice, reason = "float32", f"{FORCE_FLOAT32_ENV} is set"
    else:
        native, reason = probe_native_bf16()
        choice = "bfloat16" if native else "float32"
    log.info("dtype auto -> %s (%s)", choice, reason)
    return choice


def resolve_dtype_name(name: str) -> str:
    """``auto`` -> :func:`auto_dtype`; an explicit dtype name as written (checked)."""
    if name == "auto":
        return auto_dtype()
    if name not in _TORCH_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_NAMES)}; got {name!r}")
    return name


def resolve_dtype(name: str) -> torch.dtype:
    """The ``torch.dtype`` for a config's ``dtype`` (``auto`` resolved as above)."""
    return _TORCH_DTYPES[resolve_dtype_name(name)]
