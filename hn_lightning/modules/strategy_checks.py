"""Which training strategies work with which settings: a one-line error for the combinations that do not.

Checked twice: by the CLI on the parsed config, before anything is built (Lightning itself would first
demand a GPU for FSDP), and in the modules' ``setup`` for Python users, before any weight is loaded.
"""

from __future__ import annotations

from hn_lightning.errors import UserError


class UnsupportedStrategy(UserError):
    """A strategy that cannot run these settings."""


def strategy_name(strategy) -> str:
    """``FSDPStrategy``-style name of a strategy instance, class path or registry string (``fsdp``, ``ddp``)."""
    if isinstance(strategy, str):
        return strategy.rsplit(".", 1)[-1]
    class_path = getattr(strategy, "class_path", None) or (strategy.get("class_path") if isinstance(strategy, dict) else None)
    return str(class_path).rsplit(".", 1)[-1] if class_path else type(strategy).__name__


def check_strategy(strategy, finetuning: str, reference_precompute: bool = False) -> None:
    """Refuse QLoRA and the reference precompute under FSDP, and ModelParallelStrategy (see
    ``configs/strategy/fsdp.yaml`` for why). ``strategy``: an instance, a class path or a registry name."""
    name = strategy_name(strategy)
    if name in ("ModelParallelStrategy", "model_parallel"):
        raise UnsupportedStrategy("trainer.strategy ModelParallelStrategy is not supported (the modules do not apply "
                                  "fully_shard/tensor parallelism): use configs/strategy/fsdp.yaml (FSDPStrategy)")
    if "fsdp" not in name.lower():
        return
    if finetuning == "qlora":
        raise UnsupportedStrategy("model.finetuning qlora cannot run under FSDP (bitsandbytes 4-bit weights are not "
                                  "sharded): use configs/strategy/ddp.yaml, a 4-bit policy fits one device per rank")
    if reference_precompute:
        raise UnsupportedStrategy("reference.precompute cannot run under FSDP (the pass runs outside the sharded "
                                  "forward): set reference.precompute false (a frozen copy per rank, or adapters off)")
