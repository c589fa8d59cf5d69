"""Pure tensor functions (torch only): log-probs, SFT loss, DPO-family losses, weight normalization."""
