"""Pure tensor functions (torch only): log-probs, SFT loss, DPO-family losses, weight normalization."""

from hn_lightning.losses.dpo import (
    IPO,
    Hinge,
    LossSettingError,
    PairLogps,
    PreferenceLoss,
    RobustDPO,
    SigmoidDPO,
    weighted_mean,
)
from hn_lightning.losses.reference_free import ORPO, SimPO
from hn_lightning.losses.weights import WeightStats, normalize_weights

__all__ = [
    "IPO", "ORPO", "Hinge", "LossSettingError", "PairLogps", "PreferenceLoss", "RobustDPO", "SigmoidDPO", "SimPO", "WeightStats",
    "normalize_weights", "weighted_mean",
]
