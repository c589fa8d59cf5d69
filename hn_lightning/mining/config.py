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
from hn_lightning.evaluation.prompts import BOXED_INSTRUCTION
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

    backend: Literal["auto", "hf", "vllm", "synthetic"] = "auto"
    """``auto``: vLLM when it is installed and a CUDA GPU is present, else Hugging Face ``generate``.
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
    hf_batch_size: int = 8
    """HF backend: prompts per ``generate`` call within a shard (each expands to K rows; bounds the KV
    cache). vLLM schedules a whole shard at once."""
    vllm_gpu_memory_utilization: float = 0.85
    """vLLM: fraction of GPU memory for weights and KV cache."""
    vllm_max_model_len: int = 4096
    """vLLM: context length (prompt + ``max_new_tokens`` must fit)."""


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


# --------------------------------------------------------------------------- filters + selection
@dataclass
class FilterConfig:
    """Stage 3: removals, applied in this order (a sample is counted under the first rule it fails).

    Degenerate rules (no verifier needed): ``empty`` (blank completion), ``truncated`` (stopped at the
    length limit), ``no_answer`` (the answer checker extracts nothing), ``repetition`` (a loop),
    ``nonsensical`` (not text). Then ``trivially_correct`` and ``trivially_wrong`` (verifier scores).
    """

    drop_truncated: bool = True
    """Remove samples that hit ``max_new_tokens``: their chain and answer are incomplete."""
    repetition_ngram: int = 6
    """Word n-gram size of the repetition rule."""
    max_repeated_ngram_fraction: float = 0.5
    """``repetition`` when at least this fraction of the word n-grams are repeats of earlier ones (a normal
    solution repeats few 6-grams; a loop repeats nearly all of them). Needs ``repetition_min_words`` words."""
    repetition_min_words: int = 30
    """Shorter completions are never called loops by the n-gram rule."""
    max_char_run: int = 40
    """``repetition`` when one character repeats this many times in a row (``!!!!``, ``0000``)."""
    min_alnum_fraction: float = 0.4
    """``nonsensical`` when fewer than this fraction of the non-space characters are letters or digits
    (math text with LaTeX is typically 55-75%)."""
    max_non_ascii_fraction: float = 0.3
    """``nonsensical`` when more than this fraction of the characters are non-ASCII (a sign of random
    tokens for English problems). Set 1.0 for problems in other scripts."""
    min_words: int = 3
    """``nonsensical`` when the completion has fewer words than this."""
    trivially_correct_max_dim: float = 0.25
    """``trivially_correct``: final answer correct and every dimension below this. A dimension the
    verifier's gate skipped counts as below (the gate skips it for clean right answers). 0.25 equals the
    verifier's ``gate_min_sem_right``: a right answer whose steps stay on the reference is no use as a
    negative. (Trivially correct samples stay available as *chosen* solutions.)"""
    trivially_wrong_min_wrongness: float = 0.75
    """``trivially_wrong``: wrongness above this **and** absurdity above ``trivially_wrong_min_absurdity``:
    completely off-track, an easy negative that teaches little. Text the verifier's gate keeps out of the
    fine channel (semantic drift > 0.75) scores wrongness ~0.95 and absurdity ~0.8. On-topic chains with a
    wrong step stay below: on the CPU demo they reach wrongness 0.71-0.76 and absurdity 0.55-0.61 when
    an NLI contradiction saturates ``s_logic``, and a one-slip near miss scores 0.45-0.65 / 0.1-0.35."""
    trivially_wrong_min_absurdity: float = 0.6
    """See ``trivially_wrong_min_wrongness``."""


@dataclass
class SelectionConfig:
    """Stage 3 (continued): which of the remaining samples are hard negatives. Criteria are checked in
    this order and a sample is counted under the first one it fails."""

    rule: Literal["first_error", "dimensions"] = "first_error"
    """``first_error``: a confident wrong answer whose first wrong step (``first_error_step``) comes
    after at least ``min_verified_steps`` verified-correct steps, whatever the error's kind.
    ``dimensions``: the earlier rule (``elevated_dim``, ``close``; misses right-arithmetic near misses)."""
    min_verified_steps: int = 1
    """``verified_prefix``: this many steps before the first error are verified correct (step-1 errors: off-track)."""
    progress_weight: float = 0.0
    """Pair weight ``w_raw * (1 + progress_weight * first_error_step / n_pred_steps)``; 0: ``w_raw`` as is."""
    require_wrong_answer: bool = True
    """``wrong_answer``: a hard negative has a wrong final answer (answer correctness is the most
    reliable signal a verifier has; set false to also mine right answers reached by flawed steps)."""
    min_wrongness: float = 0.35
    """``wrongness_band``: wrongness in [min, max]. 0.35 is the floor of a wrong answer whose other
    dimensions are all 0 under the default weights (s_ans weighs 0.35)."""
    max_wrongness: float = 0.85
    """Upper end of the band: above it nearly every dimension is high (not a *moderate* error)."""
    elevated_dims: list[str] = field(default_factory=lambda: ["s_struct", "s_order", "s_logic", "s_sym"])
    """``elevated_dim``: at least one of these process dimensions is at least ``min_elevated`` (the error
    is in the steps, not only in the last line). The issue names structural and logical dimensions;
    ``s_sym`` is included because arithmetic slips, the most common GSM8K near miss, land there. Use
    ``[s_struct, s_logic]`` for the strict reading."""
    min_elevated: float = 0.3
    """See ``elevated_dims``. 0.3 is the severity of the weakest real finding (a final answer no step produced)."""
    min_confidence: float = 0.5
    """``confident``: the verifier's answer confidence at least this: ``sigmoid((p - 0.5) / 0.1) >= 0.5``
    means the policy gave its own wrong answer tokens a mean probability of at least 0.5. Errors the
    policy believes in are the ones DPO must push down."""
    missing_confidence: Literal["pass", "fail"] = "pass"
    """What ``confident`` does when the sample has no log-probs (confidence is null)."""
    near_miss_rel_tol: float = 0.25
    """``close``, first way: a numeric answer within this relative distance of the gold
    (``|pred - gold| / max(|gold|, 1)``): an error late in the chain or of small size."""
    min_reference_coverage: float = 0.5
    """``close``, second way: the solution follows the reference except one or two steps: at least this
    fraction of the reference steps have an aligned predicted step (Needleman-Wunsch matches) ..."""
    max_missed_steps: int = 2
    """... at most this many reference steps are unmatched ..."""
    max_sem_for_alignment: float = 0.4
    """(rule ``dimensions``) ... and the steps stay on the problem: ``s_sem`` (drift, coverage, redundancy) at most this.
    On-topic samples of the CPU demo score 0.08-0.38; unrelated text scores 0.45 and more, and a short
    reference can match one of its steps by chance. Coverage is used rather than ``s_struct``
    (1 - F1): F1 also punishes a verbose but faithful chain for its extra steps."""


@dataclass
class PairingConfig:
    """Stage 4: pair each hard negative with a correct, structurally coherent solution of the same problem."""

    chosen: Literal["policy_then_reference", "policy", "reference"] = "policy_then_reference"
    """Chosen side: a verified-correct sample of the policy's own (on-policy, the paper's preference) and
    the reference solution when the policy has none; ``policy`` only (hard negatives without a correct
    sample stay unpaired); ``reference`` only."""
    chosen_strategy: Literal["cycle", "best"] = "cycle"
    """With several coherent correct samples: ``cycle`` through them by increasing wrongness (more
    chosen diversity), or always take the ``best``."""
    chosen_max_wrongness: float = 0.3
    """A policy sample is a coherent chosen when its answer is correct, it is not degenerate, its
    wrongness is at most this ..."""
    chosen_max_dim: float = 0.5
    """... and none of ``s_struct``, ``s_order``, ``s_logic`` exceeds this (a gated-off dimension counts as 0)."""
    max_pairs_per_problem: int | None = None
    """Cap on hard-negative pairs per problem (highest ``w_raw`` kept); ``null``: no cap."""
    pairs_per_shard: int = 10_000
    """Pairs per output shard."""


@dataclass
class BaselineConfig:
    """The control arms, built from the same samples."""

    random: bool = True
    """Write ``pairs/random``: the random-uniform baseline. Rejected samples are drawn uniformly (seeded)
    among the samples with a wrong final answer, chosen ones uniformly among the same problem's correct
    samples (reference fallback as ``pairing.chosen``); weight 1; as many pairs as the hard-negative arm.
    It is built from answer correctness only: it never reads verifier scores."""
    random_pool: Literal["non_degenerate", "all"] = "non_degenerate"
    """Samples the random arm draws from: ``non_degenerate`` applies the same verifier-free degenerate
    rules as the hard-negative arm (so the arms differ only in selection and weighting), ``all`` does not."""
    shuffled: bool = True
    """Write ``pairs/shuffled``: the hard-negative pairs with their ``w_raw`` permuted (seeded), which
    separates the effect of the weights from the effect of the pair selection."""


@dataclass
class ReportConfig:
    """The Markdown report."""

    examples: int = 3
    """Example pairs shown in ``report.md``."""
    histogram_bins: int = 10
    """Bins of the ``w_raw`` histogram."""
    max_example_chars: int = 600
    """Completions in the examples are cut to this many characters."""


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
