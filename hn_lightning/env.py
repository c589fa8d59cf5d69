"""Process-wide defaults for offline, quiet runs. Imported first by the CLI."""

from __future__ import annotations

import logging
import os


def configure_environment() -> None:
    """The user's ``HF_HUB_OFFLINE`` governs every Hugging Face library (a Hub id ``org/name`` downloads
    into ``$HF_HOME`` when online and resolves from that cache alone when ``HF_HUB_OFFLINE=1``; registered
    models, shipped datasets and local paths never touch the network), no tokenizer thread warnings,
    quieter transformers logging, and INFO logs from hn_lightning."""
    offline = os.environ.get("HF_HUB_OFFLINE")
    if offline is not None:
        os.environ.setdefault("TRANSFORMERS_OFFLINE", offline)
        os.environ.setdefault("HF_DATASETS_OFFLINE", offline)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    logger = logging.getLogger("hn_lightning")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[hn_lightning] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
