"""Every knob of the mining pipeline, as documented dataclasses.

``python cli.py mine --print_config`` prints them as commented YAML (the attribute docstrings below
are the comments); ``configs/mine.yaml`` (GPU, full) and ``configs/mine_demo.yaml`` (CPU demo) set
them. Thresholds follow one convention, the verifier's: every dimension is in [0, 1] and **higher
means more wrong**. The reasoning behind each default is in the docstrings and in the report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from hn_lightning import SYSTEM_PROMPT
from hn_lightning.errors import SettingError, check_range
from hn_lightning.evaluation.cb_engine import PagedCacheSettings
from hn_lightning.evaluation.prompts import BOXED_INSTRUCTION
from hn_lightning.mining.rules_config import BaselineConfig, FilterConfig, PairingConfig, SelectionConfig
from hn_lightning.models.registry import DEFAULT_MODEL

__all__ = [
    "BaselineConfig",
    "CandidatesConfig",
    "FilterConfig",
    "IngestConfig",
    "IngestFields",
    "MineConfig",
    "PairingConfig",
    "PolicyConfig",
    "ProblemSource",
    "ProblemsConfig",
    "PromptConfig",
    "ReportConfig",
    "SamplingConfig",
    "ScoringConfig",
    "SelectionConfig",
    "fingerprint",
]


# --------------------------------------------------------------------------- problems
@dataclass
class ProblemSource:
    """A JSONL file of problems with any field names (dotted paths into nested records allowed)."""

    path: str
    """The data: a JSONL path, a shipped dataset name (``math:train``), ``hf:<org>/<name>[:<config>]:<split>``
    or a ``datasets`` folder (``save_to_disk``); map its fields below."""
    name: str | None = None
    """Id prefix (problem ids are ``<name>-<line index>`` or ``<name>-<id field>``); default: the file's
    parent folder and stem, e.g. ``gsm8k-train``."""
    question_field: str = "question"
    """The problem text."""
    gold_field: str = "answer"
    """The gold answer: a string, a list of strings, or a GSM8K ``#### N`` text."""
    reference_field: str | None = "solution"
    """A reference solution (the verifier's alignment target and the fallback chosen solution). A GSM8K
    ``answer`` text is cleaned (calculator annotations removed, ``#### N`` boxed). ``null``: none."""
    id_field: str | None = None
    """A record id field; default: the 0-based line index of the record in the file."""


@dataclass
class ProblemsConfig:
    """Which training problems to mine. Test files are refused unless ``allow_test_data``."""

    gsm8k: str | None = "gsm8k:train"
    """GSM8K-format file (``question``; ``answer`` with calculator annotations and ``#### N``): gold =
    the ``answer`` text, reference = the answer without annotations and with a boxed final answer.
    ``null`` skips GSM8K. Ids: ``gsm8k-train-<line index>``. Default: the shipped GSM8K train set (7473);
    any data name or path (``hf:openai/gsm8k:main:train``, a ``datasets`` folder) with these fields."""
    math: str | None = "math:train"
    """MATH-format data (``problem``, ``solution``, ``answer``). ``null`` skips MATH. Ids: ``math-train-<line index>``.
    Default: the shipped MATH train set (7500)."""
    custom: list[ProblemSource] = field(default_factory=list)
    """More problem files with a field mapping."""
    limit_per_source: int | None = None
    """At most this many problems from each source (a seeded random subset when ``shuffle``, else the first ones)."""
    limit: int | None = None
    """At most this many problems in all (after ``limit_per_source``; seeded subset when ``shuffle``)."""
    shuffle: bool = True
    """Take seeded random subsets (``seed``) instead of the first records, and mine in that order."""
    seed: int = 0
    """Seed of the problem subset and order."""
    allow_test_data: bool = False
    """Allow benchmark test data (``gsm8k:test``, ``math:test``, ``math500``, ``*test*.jsonl``, a ``test/`` folder...) as problems.
    Refused by default: mined pairs are training data."""

    def __post_init__(self) -> None:
        check_range("problems.limit_per_source", self.limit_per_source, 1, optional=True, why="0 mines nothing")
        check_range("problems.limit", self.limit, 1, optional=True, why="0 mines nothing")


# --------------------------------------------------------------------------- policy + prompts
@dataclass
class PolicyConfig:
    """The policy that samples candidates and scores their tokens (the SFT model in the paper's pipeline)."""

    name_or_path: str = DEFAULT_MODEL
    """A registered name (``qwen2.5-coder-0.5b-instruct`` is the embedded default, ``tiny-qwen2`` for
    tests), a local Hugging Face directory (e.g. ``runs/sft/hf_model``), a ``.gguf`` file or a Hugging Face
    Hub id ``org/name[@revision]``."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weight dtype. ``auto``: bfloat16 on a GPU and on a CPU with native bf16 (AVX512-BF16/AMX: 3-10x
    faster there), float32 otherwise (``HN_LIGHTNING_NO_BF16=1`` forces float32)."""
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2", "flex_attention"] = "auto"
    """Attention kernel (HF backend). ``auto``: flash_attention_2 when available on a GPU, else sdpa."""
    trust_remote_code: bool = False
    """Allow model code from the checkpoint directory to run."""


@dataclass
class PromptConfig:
    """How a problem becomes the prompt. The user turn is ``question + "\\n" + instruction``; it is
    rendered with the tokenizer's chat template after the system prompt. The pairs' ``prompt`` field is
    exactly that user turn, and the DPO DataModule adds its ``system_prompt`` (default: the same paper
    prompt), so DPO sees the very prompt the completions were sampled from. Change both or neither."""

    system_prompt: str | None = SYSTEM_PROMPT
    """System message (the paper's SFT prompt); ``null`` for none. Must equal the DataModule's ``system_prompt``."""
    instruction: str = BOXED_INSTRUCTION
    """Appended to the question on its own line; asks for a boxed final answer (the format the answer
    checker and the evaluation read). Empty string: the question alone."""


# --------------------------------------------------------------------------- candidates
@dataclass
class SamplingConfig:
    """Sampling ``num_samples`` solutions per problem from the policy."""

    backend: Literal["auto", "hf", "cb", "vllm", "synthetic"] = "auto"
    """``auto``: vLLM when it is installed and a CUDA GPU is present, else Hugging Face ``generate`` (``hf``).
    ``cb``: transformers' continuous batching with a paged KV cache (settings in ``cb``; the prompt is
    prefilled once for its K samples); opt-in: on 2 CPU cores not reliably faster than ``hf`` (benchmarks/RESULTS.md).
    ``synthetic``: no model, hand-built candidates of known kinds from each problem's reference (the first
    ``num_samples`` of correct, near miss, rephrased, ...: :mod:`hn_lightning.mining.synthetic`); for tests
    and dry runs of a pipeline."""
    num_samples: int = 8
    """K: solutions sampled per problem."""
    temperature: float = 0.8
    """Sampling temperature (> 0). 0.8 gives diverse yet mostly on-topic chains, where near misses live."""
    top_p: float = 0.95
    """Nucleus mass."""
    max_new_tokens: int = 1024
    """Length limit; a sample that hits it is ``truncated`` and removed as degenerate."""
    problems_per_batch: int = 16
    """Problems per candidates shard, the unit of resumption (a shard holds all K samples of its
    problems). Seeds derive from the run seed and the problem ids, so a resumed run regenerates an
    unfinished shard exactly."""
    calculator: bool = False
    """GSM8K's calculator while sampling: after ``<<expr=`` the result and ``>>`` are written for the policy
    (:mod:`hn_lightning.evaluation.calculator`; those tokens get log-prob 0, their probability under the
    sampler). HF backend only; ``cb`` and ``vllm`` refuse it."""
    hf_batch_size: int = 8
    """HF backend: prompts per ``generate`` call within a shard (each expands to K rows; bounds the KV
    cache). vLLM schedules a whole shard at once."""
    cb: PagedCacheSettings = field(default_factory=PagedCacheSettings)
    """``cb`` backend: sequences decoded together, page size, tokens per forward (the paged cache is sized
    from them, the prompts and ``max_new_tokens``)."""
    vllm_gpu_memory_utilization: float = 0.85
    """vLLM: fraction of GPU memory for weights and KV cache."""
    vllm_max_model_len: int = 4096
    """vLLM: context length (prompt + ``max_new_tokens`` must fit)."""

    def __post_init__(self) -> None:
        key = "candidates.sampling"
        check_range(f"{key}.num_samples", self.num_samples, 1)
        check_range(f"{key}.temperature", self.temperature, 0, low_open=True, why="0 is greedy: the K samples would be one")
        check_range(f"{key}.top_p", self.top_p, 0, 1, low_open=True)
        for name in ("max_new_tokens", "problems_per_batch", "hf_batch_size", "vllm_max_model_len"):
            check_range(f"{key}.{name}", getattr(self, name), 1)
        check_range(f"{key}.vllm_gpu_memory_utilization", self.vllm_gpu_memory_utilization, 0, 1, low_open=True)


@dataclass
class IngestFields:
    """Field mapping of an offline pool (dotted paths allowed; ``null``: absent)."""

    id: str | None = "id"
    """Sample id; records without it get ``pool-<file index>-<line>``."""
    problem_id: str | None = None
    """Problem id; default: joined to the configured problems by question text, else ``pool-<hash of question>``."""
    question: str = "question"
    """Problem text (required)."""
    completion: str = "completion"
    """The sampled solution (required)."""
    gold: str | None = "gold"
    """Gold answer; when absent, taken from the joined problem."""
    reference: str | None = "reference"
    """Reference solution; when absent, taken from the joined problem (or empty)."""
    token_logprobs: str | None = "token_logprobs"
    """Per-token log-probs under the policy; missing ones are computed by a teacher-forced pass."""
    tokens: str | None = "tokens"
    """Decoded text of each token (same length as ``token_logprobs``)."""
    finish_reason: str | None = "finish_reason"
    """``stop`` or ``length``; absent means ``stop``."""


@dataclass
class IngestConfig:
    """Ingesting an existing pool of trajectories (the paper mined a pool of DeepSeek-R1-style traces)."""

    files: list[str] = field(default_factory=list)
    """Pool JSONL files, directories or globs."""
    fields: IngestFields = field(default_factory=IngestFields)
    """Field mapping."""
    shard_size: int = 256
    """Samples per candidates shard (the unit of resumption)."""
    logprobs: Literal["auto", "always", "never"] = "auto"
    """Teacher-forced scoring pass with the policy: ``auto`` for records without log-probs, ``always`` for
    all (log-probs under *this* policy), ``never`` (the verifier then uses neutral confidence/perplexity)."""
    batch_size: int = 8
    """Sequences per teacher-forced forward pass."""
    max_length: int = 4096
    """Prompt + completion tokens per forward pass; longer completions are scored on their first part."""
    on_error: Literal["raise", "skip"] = "raise"
    """Malformed pool lines: stop with file:line, or skip and count them."""

    def __post_init__(self) -> None:
        for name, low in (("shard_size", 1), ("batch_size", 1), ("max_length", 2)):
            check_range(f"candidates.ingest.{name}", getattr(self, name), low)


@dataclass
class CandidatesConfig:
    """Stage 1: where candidate solutions come from."""

    mode: Literal["sample", "ingest"] = "sample"
    """``sample`` from the policy, or ``ingest`` an offline pool."""
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    """Sampling settings (``mode: sample``)."""
    ingest: IngestConfig = field(default_factory=IngestConfig)
    """Pool settings (``mode: ingest``)."""


# --------------------------------------------------------------------------- scoring
@dataclass
class ScoringConfig:
    """Stage 2: the MathVerifier."""

    verifier: dict[str, Any] = field(default_factory=dict)
    """Overrides of :class:`hn_lightning.verifier.VerifierConfig` (any key, e.g. ``fine_channel: always``,
    ``answer_mode: stepdpo``). The default ``gated`` fine channel runs alignment, NLI and symbolic checks
    on plausible wrong answers (the hard-negative candidates) and on right answers with drifting steps."""
    batch_size: int = 64
    """Samples per verifier call (embedding and NLI work is batched)."""

    def __post_init__(self) -> None:
        from hn_lightning.verifier.config import VerifierConfig

        check_range("scoring.batch_size", self.batch_size, 1)
        try:  # unknown keys and ranges refused now, not when scoring starts
            VerifierConfig.from_dict(self.verifier)
        except SettingError as exc:
            raise SettingError(f"scoring.verifier: {exc}") from None


# filters, selection, pairing, baselines: hn_lightning/mining/rules_config.py (re-exported here)

@dataclass
class ReportConfig:
    """The Markdown report."""

    examples: int = 3
    """Example pairs shown in ``report.md``."""
    histogram_bins: int = 10
    """Bins of the ``w_raw`` histogram."""
    max_example_chars: int = 600
    """Completions in the examples are cut to this many characters."""

    def __post_init__(self) -> None:
        check_range("report.examples", self.examples, 0)
        check_range("report.histogram_bins", self.histogram_bins, 1)
        check_range("report.max_example_chars", self.max_example_chars, 1)


# --------------------------------------------------------------------------- top level
@dataclass
class MineConfig:
    """Hard-negative mining: candidates -> verifier scores -> filters + selection -> pairs (+ baselines)."""

    out: str = "runs/mine"
    """Output folder: ``problems.jsonl``, ``candidates/``, ``scored/``, ``filtered/``, ``pairs/{hardneg,random,
    shuffled}/``, ``funnel.json``, ``report.md``, ``manifest.json``."""
    seed: int = 0
    """Run seed: sampling batches, the random arm and the shuffled weights derive their seeds from it."""
    problems: ProblemsConfig = field(default_factory=ProblemsConfig)
    """Training problems."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    """The policy (sampling and teacher-forced log-probs)."""
    prompt: PromptConfig = field(default_factory=PromptConfig)
    """Prompt format (must match the DPO DataModule's)."""
    candidates: CandidatesConfig = field(default_factory=CandidatesConfig)
    """Stage 1: sample or ingest."""
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    """Stage 2: verifier."""
    filters: FilterConfig = field(default_factory=FilterConfig)
    """Stage 3: removals."""
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    """Stage 3: hard-negative criteria."""
    pairing: PairingConfig = field(default_factory=PairingConfig)
    """Stage 4: pairs."""
    baselines: BaselineConfig = field(default_factory=BaselineConfig)
    """Stage 4: control arms."""
    report: ReportConfig = field(default_factory=ReportConfig)
    """Report."""
    progress: bool = True
    """Show rich progress bars (with ETA) on stderr."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable settings (dataclasses are converted)."""
    norm = [asdict(p) if hasattr(p, "__dataclass_fields__") else p for p in parts]
    text = json.dumps(norm, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
