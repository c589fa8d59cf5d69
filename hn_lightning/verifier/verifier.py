r"""MathVerifier: the six-dimension, dual-channel verifier of arXiv 2512.19728 (section 3.2-3.3).

For each sample (question, reference solution, gold answer, predicted solution, optional token
log-probs) it returns a :class:`~hn_lightning.verifier.records.VerifierResult`:

1. **Steps** (:mod:`~hn_lightning.verifier.steps`): both solutions are split into steps, the
   question into conditions.
2. **Answer** (:mod:`~hn_lightning.verifier.answer`): ``s_ans`` from the shared answer checker.
3. **Fast channel** (:mod:`~hn_lightning.verifier.semantic`): every text of the whole batch is
   embedded in one MiniLM call through the on-disk cache; ``s_sem`` from drift, coverage, redundancy.
4. **Gate** (``VerifierConfig.fine_channel``): which samples get the fine channel.
5. **Fine channel**: ``s_struct``/``s_order`` (:mod:`~hn_lightning.verifier.alignment`), ``s_sym``
   (:mod:`~hn_lightning.verifier.symbolic`), ``s_logic`` (:mod:`~hn_lightning.verifier.logic`, with
   every NLI pair of the batch in one cached call per head: the ``steps`` head for successive
   steps, the ``conditions`` head for problem-condition pairs).
6. **Aggregation** (:mod:`~hn_lightning.verifier.scores`, :mod:`~hn_lightning.verifier.logprobs`):
   ``wrongness``, ``absurdity``, ``confidence``, ``ppl``, ``w_raw``, ``hard_negative``.
7. **First error** (:mod:`~hn_lightning.verifier.first_error`, every sample): the step judge
   (:mod:`~hn_lightning.verifier.judges`, ``VerifierConfig.step_judge``) scores the batch's steps, then the
   rule table (:mod:`~hn_lightning.verifier.rules`) finds the earliest wrong step, its span, kind and per-step
   scores, traced against the reference (or reference-free).

Convention: every dimension is in [0, 1] and **higher means more wrong**. Scoring is deterministic:
the same inputs and cache give the same results (scores are rounded to ``round_digits``; embeddings
and NLI probabilities come bit-for-bit from the cache once computed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hn_lightning.paths import cache_dir
from hn_lightning.verifier.alignment import structure_order_scores
from hn_lightning.verifier.answer import AnswerOutcome, AnswerScorer
from hn_lightning.verifier.cache import VectorCache
from hn_lightning.verifier.config import VerifierConfig
from hn_lightning.verifier.embeddings import CachedEmbedder
from hn_lightning.verifier.encoder import Encoder, MiniLMEncoder
from hn_lightning.verifier.evidence import Evidence
from hn_lightning.verifier.first_error import gold_values, locate
from hn_lightning.verifier.judges import JudgeInput, build_judge
from hn_lightning.verifier.logic import LogicPlan, logic_scores, plan_logic_pairs
from hn_lightning.verifier.logprobs import (
    answer_token_indices,
    compute_w_raw,
    confidence_from_logprobs,
    perplexity,
)
from hn_lightning.verifier.nli.backends import CachedNLI, HFCrossEncoderNLI, MiniLMHeadNLI, NLIBackend
from hn_lightning.verifier.nli.head import default_head_dir
from hn_lightning.verifier.plain_math import plain_math
from hn_lightning.verifier.records import VerifierInput, VerifierResult
from hn_lightning.verifier.scores import weighted_score
from hn_lightning.verifier.semantic import SemanticResult, semantic_scores
from hn_lightning.verifier.steps import Step, paragraph_indices, split_conditions, split_steps
from hn_lightning.verifier.symbolic import check_symbolic

__all__ = ["MathVerifier"]


@dataclass
class _Work:
    """Per-sample state while a batch is scored."""

    inp: VerifierInput
    pred_steps: list[Step]
    ref_steps: list[Step]
    conditions: list[str]
    answer: AnswerOutcome
    timing: dict[str, float] = field(default_factory=dict)
    sem: SemanticResult | None = None
    fine: bool = False
    dims: dict[str, float | None] = field(default_factory=dict)
    components: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    plan: LogicPlan | None = None
    n_computations: int | None = None
    symbolic_findings: list = field(default_factory=list)
    judge_scores: list[float] | None = None


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class MathVerifier:
    """Score sampled solutions (see the module doc). ``encoder``/``nli_backend`` may be injected."""

    def __init__(self, config: VerifierConfig | None = None, encoder: Encoder | None = None,
                 nli_backend: NLIBackend | None = None):
        self.config = config or VerifierConfig()
        cfg = self.config
        root = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else cache_dir("verifier")
        self.emb_cache = VectorCache(root / "embeddings.sqlite" if cfg.use_cache else None)
        self.nli_cache = VectorCache(root / "nli.sqlite" if cfg.use_cache else None)
        self.encoder = encoder or MiniLMEncoder(batch_size=cfg.encoder_batch_size, precision=cfg.encoder_precision)
        self.embedder = CachedEmbedder(self.encoder, self.emb_cache)
        self._nli_backend = nli_backend
        self._nli: CachedNLI | None = None
        self._nli_conditions: CachedNLI | None = None
        self.answers = AnswerScorer(cfg.answer_mode, cfg.answer_timeout_s)
        self.judge = build_judge(cfg.step_judge)
        self.samples_scored = 0
        self.fine_channel_runs = 0

    # ---- components -----------------------------------------------------------------------------
    @property
    def nli(self) -> CachedNLI:
        """The cached NLI backend for successive-step pairs (built on first use)."""
        if self._nli is None:
            backend = self._nli_backend
            if backend is None:
                spec = self.config.nli_backend
                if spec == "minilm-head":
                    backend = MiniLMHeadNLI(self.embedder, head_dir=self.config.nli_head_dir or default_head_dir("steps"))
                else:
                    backend = HFCrossEncoderNLI(spec[len("hf:"):])
            self._nli = CachedNLI(backend, self.nli_cache)
        return self._nli

    @property
    def nli_conditions(self) -> CachedNLI:
        """The cached NLI backend for (problem condition, step) pairs: the packaged ``conditions``
        head by default, the same backend as :attr:`nli` for an injected or ``hf:`` backend."""
        if self._nli_conditions is None:
            if self._nli_backend is None and self.config.nli_backend == "minilm-head":
                head_dir = self.config.nli_condition_head_dir or default_head_dir("conditions")
                self._nli_conditions = CachedNLI(MiniLMHeadNLI(self.embedder, head_dir=head_dir), self.nli_cache)
            else:
                self._nli_conditions = self.nli
        return self._nli_conditions

    def cache_stats(self) -> dict[str, int]:
        """Cache hits/misses and encoder/NLI work since construction (or the last reset)."""
        return {
            "embedding_hits": self.emb_cache.hits,
            "embedding_misses": self.emb_cache.misses,
            "sentences_encoded": self.embedder.encoded,
            "nli_hits": self.nli_cache.hits,
            "nli_misses": self.nli_cache.misses,
            "nli_pairs_computed": sum(n.computed for n in {id(x): x for x in (self._nli, self._nli_conditions) if x}.values()),
        }

    def reset_stats(self) -> None:
        self.emb_cache.reset_counters()
        self.nli_cache.reset_counters()
        self.embedder.encoded = 0
        for n in (self._nli, self._nli_conditions):
            if n:
                n.computed = 0

    # ---- scoring --------------------------------------------------------------------------------
    def score(self, inp: VerifierInput) -> VerifierResult:
        """Score one sample (prefer :meth:`score_batch`: it batches the embedding and NLI work)."""
        return self.score_batch([inp])[0]

    def score_batch(self, inputs: list[VerifierInput]) -> list[VerifierResult]:
        """Score many samples; every embedding and NLI call of the batch is batched and cached."""
        return [r for r, _ in self.score_batch_with_evidence(inputs)]

    def score_batch_with_evidence(self, inputs: list[VerifierInput]) -> list[tuple[VerifierResult, Evidence]]:
        """:meth:`score_batch`, each result with the :class:`~hn_lightning.verifier.evidence.Evidence` its
        first-error stage read (the benchmark replays the rule table on it)."""
        cfg = self.config
        for inp in inputs:
            try:
                inp.validate()
            except ValueError as exc:
                raise ValueError(f"sample {getattr(inp, 'id', '?')!r}: {exc}") from None
        if not inputs:
            return []
        t_batch = time.perf_counter()
        work = [self._prepare(inp) for inp in inputs]

        # fast channel: one embedding call for every text of the batch
        t0 = time.perf_counter()
        texts: list[str] = []
        for w in work:
            texts.append(w.inp.question)
            texts.extend(s.clean for s in w.ref_steps)
            texts.extend(s.clean for s in w.pred_steps)
        table = self.embedder.embed(texts)
        embed_ms = _ms(time.perf_counter() - t0) / len(work)
        for w in work:
            t1 = time.perf_counter()
            q = table[w.inp.question]
            ref = self.embedder.matrix([s.clean for s in w.ref_steps], table)
            pred = self.embedder.matrix([s.clean for s in w.pred_steps], table)
            w.sem = semantic_scores(q, ref, pred, cfg.match_threshold, cfg.relevance_low, cfg.relevance_high,
                                    cfg.duplicate_threshold, cfg.sem_weights)
            w.dims = {"s_sem": w.sem.s_sem, "s_struct": None, "s_order": None, "s_logic": None, "s_sym": None,
                      "s_ans": w.answer.s_ans}
            w.components.update(drift=w.sem.drift, coverage=w.sem.coverage, redundancy=w.sem.redundancy)
            w.flags.extend(w.answer.flags)
            w.flags.extend(w.sem.flags)
            w.fine = self._gate(w)
            w.timing["embed"] = embed_ms
            w.timing["semantic"] = _ms(time.perf_counter() - t1)

        # fine channel: alignment + symbolic per sample, NLI for the whole batch at once
        fine = [w for w in work if w.fine]
        if fine:  # problem conditions are only needed here
            t0 = time.perf_counter()
            table.update(self.embedder.embed(c for w in fine for c in w.conditions))
            cond_ms = _ms(time.perf_counter() - t0) / len(fine)
            for w in fine:
                w.timing["embed_conditions"] = cond_ms
        for w in fine:
            self._fine_local(w, table)
        if fine:
            t0 = time.perf_counter()
            probs = self._predict_plans([w.plan for w in fine])
            nli_ms = _ms(time.perf_counter() - t0) / len(fine)
            offset = 0
            for w in fine:
                k = len(w.plan.premises)
                self._fine_logic(w, probs[offset:offset + k], table)
                offset += k
                w.timing["nli"] = nli_ms
        if self.judge is not None:
            t0 = time.perf_counter()
            scores = self.judge.score([JudgeInput(w.inp.question, [s.text for s in w.pred_steps],
                                                  w.inp.reference if cfg.first_error_reference else None) for w in work])
            judge_ms = _ms(time.perf_counter() - t0) / len(work)
            for w, sc in zip(work, scores, strict=True):
                w.judge_scores, w.timing["step_judge"] = sc, judge_ms
        results = [self._finish(w) for w in work]
        total_ms = _ms(time.perf_counter() - t_batch) / len(work)
        for r, _ in results:
            r.timing_ms["batch_avg_total"] = round(total_ms, 3)
        self.samples_scored += len(work)
        self.fine_channel_runs += len(fine)
        return results

    # ---- stages ---------------------------------------------------------------------------------
    def _prepare(self, inp: VerifierInput) -> _Work:
        cfg = self.config
        t0 = time.perf_counter()
        pred_steps = split_steps(inp.prediction, cfg.min_step_chars, cfg.max_steps)
        ref_steps = split_steps(inp.reference, cfg.min_step_chars, cfg.max_steps)
        conditions = split_conditions(inp.question)
        t1 = time.perf_counter()
        answer = self.answers.score(inp.prediction, inp.gold, inp.question)
        t2 = time.perf_counter()
        return _Work(inp, pred_steps, ref_steps, conditions, answer, timing={"steps": _ms(t1 - t0), "answer": _ms(t2 - t1)})

    def _gate(self, w: _Work) -> bool:
        cfg = self.config
        if cfg.fine_channel == "always":
            return True
        if cfg.fine_channel == "never":
            return False
        s_sem = w.dims["s_sem"] or 0.0
        if w.answer.correct:
            return s_sem >= cfg.gate_min_sem_right
        return s_sem <= cfg.gate_max_sem_wrong

    def _predict_plans(self, plans: list[LogicPlan]) -> np.ndarray:
        """NLI probabilities for every pair of every plan, in order: one batched call per head."""
        kinds = [k for plan in plans for k in plan.kinds]
        premises = [p for plan in plans for p in plan.premises]
        hypotheses = [h for plan in plans for h in plan.hypotheses]
        probs = np.zeros((len(kinds), 3), dtype=np.float32)
        for kind, backend in (("successive", self.nli), ("condition", self.nli_conditions)):
            idx = [i for i, k in enumerate(kinds) if k == kind]
            if idx:
                probs[idx] = backend.predict([premises[i] for i in idx], [hypotheses[i] for i in idx])
        return probs

    def _fine_local(self, w: _Work, table: dict[str, np.ndarray]) -> None:
        cfg = self.config
        t0 = time.perf_counter()
        so = structure_order_scores(w.sem.sim, cfg.match_threshold, cfg.nw_gap)
        w.dims["s_struct"], w.dims["s_order"] = so.s_struct, so.s_order
        w.components.update(matched_steps=so.matched, spearman=so.spearman, inversions=so.inversions, order_gap=so.order_gap)
        w.flags.extend(so.flags)
        t1 = time.perf_counter()
        sym = check_symbolic(
            w.pred_steps, w.inp.question, w.answer.extracted_answer,
            slip_severity=cfg.sym_slip_severity, inconsistent_severity=cfg.sym_inconsistent_severity,
            unsupported_severity=cfg.sym_unsupported_severity, answer_severity=cfg.sym_answer_severity,
            sympy_timeout_s=cfg.sympy_timeout_s,
        )
        w.dims["s_sym"] = sym.score
        w.n_computations = len(sym.computations)
        w.symbolic_findings = sym.findings
        w.components.update(sympy_calls=sym.sympy_calls, sympy_timeouts=sym.sympy_timeouts)
        w.flags.extend(sym.flags)
        t2 = time.perf_counter()
        steps = [s.clean for s in w.pred_steps]
        if w.conditions and steps:
            pred = self.embedder.matrix(steps, table)
            cond = self.embedder.matrix(w.conditions, table)
            step_cond = pred @ cond.T
        else:
            step_cond = np.zeros((len(steps), len(w.conditions)), dtype=np.float32)
        w.plan = plan_logic_pairs(steps, w.conditions, step_cond, cfg.nli_conditions_top_k)
        t3 = time.perf_counter()
        w.timing.update(alignment=_ms(t1 - t0), symbolic=_ms(t2 - t1), logic_plan=_ms(t3 - t2))

    def _fine_logic(self, w: _Work, probs: np.ndarray, table: dict[str, np.ndarray]) -> None:
        cfg = self.config
        t0 = time.perf_counter()
        steps = [s.clean for s in w.pred_steps]
        pred = self.embedder.matrix(steps, table)
        lr = logic_scores(
            w.plan, probs, pred, table[w.inp.question], steps, w.symbolic_findings,
            contradiction_threshold=cfg.nli_contradiction_threshold, condition_threshold=cfg.nli_condition_threshold,
            non_sequitur_threshold=cfg.non_sequitur_threshold,
            non_sequitur_severity=cfg.logic_non_sequitur_severity, inconsistent_severity=cfg.logic_inconsistent_severity,
        )
        w.dims["s_logic"] = lr.s_logic
        w.components.update(max_p_contradiction_successive=lr.max_contradiction_successive,
                            max_p_contradiction_condition=lr.max_contradiction_condition, nli_pairs=len(w.plan.premises),
                            contradictions=lr.n_contradictions, non_sequiturs=lr.n_non_sequiturs,
                            inconsistent_uses=lr.n_inconsistent)
        w.flags.extend(lr.flags)
        w.timing["logic"] = _ms(time.perf_counter() - t0)

    def _evidence(self, w: _Work) -> Evidence:
        """What the first-error stage reads about ``w`` (:class:`~hn_lightning.verifier.evidence.Evidence`)."""
        cfg = self.config
        ev = Evidence(steps=[s.text for s in w.pred_steps], question=w.inp.question,
                      paragraphs=paragraph_indices(w.inp.prediction, w.pred_steps), starts=[s.start for s in w.pred_steps],
                      judge=w.judge_scores, judge_threshold=self.judge.threshold if self.judge else 0.5)
        if cfg.first_error_reference:
            ev.reference = plain_math(w.inp.reference) if cfg.reference_plain_math else w.inp.reference
            ev.gold, ev.answer_correct = gold_values(w.inp.gold), w.answer.correct
        return ev

    def _finish(self, w: _Work) -> tuple[VerifierResult, Evidence]:
        cfg = self.config
        t_fe = time.perf_counter()
        ev = self._evidence(w)
        fe = locate(ev)
        w.timing["first_error"] = _ms(time.perf_counter() - t_fe)
        span = None if fe.index is None else [w.pred_steps[fe.index].start, w.pred_steps[fe.index].end]
        if fe.index is not None:
            w.flags.append(f"first error: step {fe.index + 1} ({fe.kind})")
        nd = cfg.round_digits
        wrongness = weighted_score(w.dims, cfg.wrongness_weights)
        absurdity = weighted_score(w.dims, cfg.absurdity_weights)
        lp = w.inp.token_logprobs
        confidence = ppl = None
        if lp:
            ppl = perplexity(lp)
            if w.inp.tokens is not None:
                idx, how = answer_token_indices(w.inp.tokens, w.answer.extracted, cfg.answer_span_fallback_tokens)
            else:
                idx, how = list(range(max(0, len(lp) - cfg.answer_span_fallback_tokens), len(lp))), "fallback"
            confidence = confidence_from_logprobs([lp[i] for i in idx], cfg.confidence_center, cfg.confidence_temperature)
            w.components["answer_span_tokens"] = len(idx)
            w.components["answer_span_found"] = float(how != "fallback")
        w_raw = compute_w_raw(wrongness, confidence, ppl, cfg.ppl_normalizer, cfg.neutral_confidence, cfg.neutral_ppl)
        hard = (not w.answer.correct) and wrongness >= cfg.hard_negative_min_wrongness and absurdity <= cfg.hard_negative_max_absurdity

        def r(x: float | None) -> float | None:
            return None if x is None else round(float(x), nd)

        result = VerifierResult(
            id=w.inp.id,
            s_sem=r(w.dims["s_sem"]), s_struct=r(w.dims["s_struct"]), s_order=r(w.dims["s_order"]),
            s_logic=r(w.dims["s_logic"]), s_sym=r(w.dims["s_sym"]), s_ans=float(w.dims["s_ans"]),
            wrongness=r(wrongness), absurdity=r(absurdity), confidence=r(confidence), ppl=r(ppl), w_raw=r(w_raw),
            answer_correct=w.answer.correct, extracted_answer=w.answer.extracted_answer, hard_negative=bool(hard),
            flags=list(w.flags), fine_channel_run=w.fine, n_pred_steps=len(w.pred_steps), n_ref_steps=len(w.ref_steps),
            n_computations=w.n_computations,
            first_error_step=fe.index, first_error_span=span, first_error_kind=fe.kind,
            step_scores=[round(float(x), nd) for x in fe.step_scores], step_kinds=list(fe.kinds),
            verified_steps=fe.verified_before,
            first_error_mode="reference" if cfg.first_error_reference else "reference_free",
            components={k: (round(float(v), nd) if isinstance(v, float) else v) for k, v in w.components.items()},
            timing_ms=dict(w.timing),
        )
        return result, ev

    def describe(self) -> dict[str, Any]:
        """What this verifier runs with (for logs and output headers)."""
        return {
            "encoder": self.encoder.fingerprint,
            "nli_backend": self.config.nli_backend,
            "answer_mode": self.config.answer_mode,
            "fine_channel": self.config.fine_channel,
            "step_judge": self.judge.describe() if self.judge else None,
        }
