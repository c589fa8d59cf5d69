"""hn_lightning: hard-negative, verifier-weighted DPO for small math language models.

The data flows one way, and so does the package layout:

    problems -> policy samples -> verifier scores -> mined pairs -> weighted DPO -> evaluated policy
    data/        evaluation/        verifier/          mining/        modules/+losses/  evaluation/
"""

__version__ = "0.1.0"

SYSTEM_PROMPT = (
    "You are a mathematical reasoning expert. Always reason step by step before providing the final answer."
)
"""The paper's SFT system prompt (arXiv 2512.19728, section 3.1)."""
