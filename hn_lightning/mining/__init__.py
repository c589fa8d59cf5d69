"""Hard-negative mining: from a policy and training problems to verifier-weighted preference pairs.

The paper's data funnel (arXiv 2512.19728): sample (or ingest) candidates, score them with the
MathVerifier, remove degenerate / trivially correct / trivially wrong samples, select hard negatives
(moderate wrongness, an elevated process dimension, high confidence, close to a good solution), pair
each with a correct solution of the same problem, and build the control arms (random-uniform pairs
with weight 1, and the hard-negative pairs with permuted weights).

    python cli.py mine --config configs/mine.yaml            # every stage
    python cli.py mine score --config configs/mine.yaml      # one stage

Output (``out``): ``pairs/hardneg``, ``pairs/random``, ``pairs/shuffled`` (read by
:class:`hn_lightning.data.PreferenceDataModule`), ``funnel.json``, ``report.md``, ``manifest.json``.

Modules, one job each: :mod:`.config` (settings), :mod:`.problems`, :mod:`.prompts`,
:mod:`.candidates` + :mod:`.samplers` (sampling), :mod:`.ingest` + :mod:`.teacher_forcing` (offline
pools), :mod:`.scoring`, :mod:`.filters`, :mod:`.selection`, :mod:`.decisions`, :mod:`.pairing`,
:mod:`.baselines`, :mod:`.funnel`, :mod:`.report`, :mod:`.shards` (atomic sharded I/O),
:mod:`.ids` (ids and seeds), :mod:`.resources` (lazy model/verifier), :mod:`.progress`,
:mod:`.synthetic` (a model-free stand-in policy for tests), :mod:`.pipeline` (stages and resumption).
"""

from hn_lightning.mining.config import (
    BaselineConfig,
    CandidatesConfig,
    FilterConfig,
    IngestConfig,
    IngestFields,
    MineConfig,
    PairingConfig,
    PolicyConfig,
    ProblemsConfig,
    ProblemSource,
    PromptConfig,
    ReportConfig,
    SamplingConfig,
    ScoringConfig,
    SelectionConfig,
)
from hn_lightning.mining.pipeline import STAGES, MiningPipeline, StageNotReady, StageSettingsChanged

__all__ = [
    "STAGES",
    "BaselineConfig",
    "CandidatesConfig",
    "FilterConfig",
    "IngestConfig",
    "IngestFields",
    "MineConfig",
    "MiningPipeline",
    "PairingConfig",
    "PolicyConfig",
    "ProblemSource",
    "ProblemsConfig",
    "PromptConfig",
    "ReportConfig",
    "SamplingConfig",
    "ScoringConfig",
    "SelectionConfig",
    "StageNotReady",
    "StageSettingsChanged",
]
