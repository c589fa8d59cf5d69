"""Keep the command line's output to what a user can act on.

Each entry below is a message a library prints on every ordinary run that the user can do nothing about;
it is silenced by its exact text (a targeted warnings filter or a logging filter, never a blanket
``ignore``), with the reason next to it. Anything not listed still shows. Called once from the CLI entry
point (:func:`hn_lightning.cli.main`); the Python API leaves the user's warning settings alone.
"""

from __future__ import annotations

import logging
import warnings

EXPECTED_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    (r"LightningCLI's args parameter is intended to run from within Python", UserWarning,
     "`cli.py demo` runs each fit stage through LightningCLI(args=[...]) on purpose; the demo's own command "
     "line is not meant for LightningCLI"),
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning,
     "Lightning's own use of a torch API (lightning/pytorch/utilities/_pytree.py); fixed upstream, not ours"),
    (r"`is_gradient_checkpointing` is deprecated", FutureWarning,
     "PEFT asks transformers for a renamed attribute when it wraps the model (LoRA); not ours"),
    (r"Found \d+ module\(s\) in eval mode at the start of training", Warning,
     "intentional: the frozen DPO reference copy (and any frozen base) stays in eval mode, so dropout is off"),
)
"""``(message regex, category, why)`` of the warnings filtered at the CLI entry point."""

DROPPED_LOG_LINES: dict[str, tuple[str, ...]] = {
    # Lightning advertises its cloud logger at every fit (an advertisement, not a diagnostic); its
    # rank_zero_info logs under whichever of these two modules was imported last.
    "lightning.pytorch.utilities.rank_zero": ("💡 Tip: For seamless cloud logging",),
    "lightning.fabric.utilities.rank_zero": ("💡 Tip: For seamless cloud logging",),
    # bitsandbytes (imported by PEFT) looks for an optional CPU 4-bit kernel on AVX512-BF16 CPUs at import;
    # only QLoRA would use it, and QLoRA is a GPU setting here.
    "bitsandbytes.backends.cpu.ops": ("Failed to load CPU gemm_4bit_forward",),
}
"""Logger name -> message prefixes dropped from it."""


class _DropPrefixes(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def silence_expected_noise() -> None:
    """Install the filters above (idempotent)."""
    for pattern, category, _why in EXPECTED_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=category)
    for name, prefixes in DROPPED_LOG_LINES.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropPrefixes) for f in logger.filters):
            logger.addFilter(_DropPrefixes(prefixes))
