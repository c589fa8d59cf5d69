"""Evaluation: batched generation (HF ``generate`` or vLLM), Step-DPO prompts, GSM8K/MATH task loading, a
resumable runner with torchmetrics accuracy and Wilson intervals. Used by ``cli.py eval``, by
:class:`hn_lightning.callbacks.evaluation.MathEvalCallback`, and (the engine) by the mining pipeline.

    from hn_lightning.evaluation import GenerationConfig, generate, load_task, evaluate_items
"""

from hn_lightning.evaluation.engine import Engine, HFEngine, eval_dtype, load_engine, select_backend
from hn_lightning.evaluation.generate import Generation, GenerationConfig, generate, prompt_token_ids
from hn_lightning.evaluation.metrics import MathAccuracy, accuracy_summary, breakdown, wilson_interval
from hn_lightning.evaluation.prompts import PROMPT_STYLES, PromptStyle, build_prompt, qwen2_boxed
from hn_lightning.evaluation.runner import RunSettings, SettingsMismatch, evaluate_items, summarize
from hn_lightning.evaluation.samples_file import SampleLog
from hn_lightning.evaluation.tasks import TASKS, EvalItem, FieldMap, load_task, task_name

__all__ = [
    "Engine",
    "EvalItem",
    "FieldMap",
    "Generation",
    "GenerationConfig",
    "HFEngine",
    "MathAccuracy",
    "PROMPT_STYLES",
    "PromptStyle",
    "RunSettings",
    "SampleLog",
    "SettingsMismatch",
    "TASKS",
    "accuracy_summary",
    "breakdown",
    "build_prompt",
    "eval_dtype",
    "evaluate_items",
    "generate",
    "load_engine",
    "load_task",
    "prompt_token_ids",
    "qwen2_boxed",
    "select_backend",
    "summarize",
    "task_name",
    "wilson_interval",
]
