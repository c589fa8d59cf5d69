"""Pure tensor functions (torch only): log-probs, SFT loss, DPO-family losses, weight normalization."""

from hn_lightning.losses.dpo import IPO, Hinge, PairLogps, PreferenceLoss, SigmoidDPO, weighted_mean
from hn_lightning.losses.weights import WeightStats, normalize_weights

__all__ = ["IPO", "Hinge", "PairLogps", "PreferenceLoss", "SigmoidDPO", "WeightStats", "normalize_weights", "weighted_mean"]
