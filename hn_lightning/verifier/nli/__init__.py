"""NLI for the logic dimension: pluggable backends, the MiniLM-feature head, its training data."""

from hn_lightning.verifier.nli.backends import (
    CachedNLI,
    HFCrossEncoderNLI,
    MiniLMHeadNLI,
    NLIBackend,
    label_order_from_config,
)
from hn_lightning.verifier.nli.head import LABELS, NLIHead, default_head_dir

__all__ = [
    "CachedNLI",
    "HFCrossEncoderNLI",
    "LABELS",
    "MiniLMHeadNLI",
    "NLIBackend",
    "NLIHead",
    "default_head_dir",
    "label_order_from_config",
]
