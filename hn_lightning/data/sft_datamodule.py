"""SFT DataModule: JSONL chain-of-thought records → chat-formatted, packed, resumable batches."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import lightning as L
from torch.utils.data import DataLoader, Dataset

from hn_lightning import SYSTEM_PROMPT
from hn_lightning.catalog import expand_paths, refuse_test_files
from hn_lightning.data.chat import Rendered, render_conversation
from hn_lightning.data.packing import collate_rows, pack_examples
from hn_lightning.data.records import rename_fields, to_messages
from hn_lightning.data.resumable import ResumableShuffleSampler, position_state
from hn_lightning.data.tokenizer_source import resolve_tokenizer
from hn_lightning.errors import check_range
from hn_lightning.io.jsonl import JsonlError, SkipPolicy, iter_jsonl

log = logging.getLogger(__name__)

KEY = "data.init_args"
"""Where the DataModule's settings live in a training config (named in range errors)."""


@dataclass
class SFTStats:
    """What happened to the input records (logged once at setup)."""

    records: int = 0
    skipped_malformed: int = 0
    truncated: int = 0
    rows: int = 0
    tokens: int = 0

    def fill(self, max_length: int) -> float:
        """Fraction of the packed rows' capacity holding real tokens."""
        return self.tokens / max(1, self.rows * max_length)


class PackedRows(Dataset):
    """A map-style dataset whose items are packed rows (lists of :class:`Rendered` examples)."""

    def __init__(self, examples: list[Rendered], rows: list[list[int]]):
        self.examples, self.rows = examples, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> list[Rendered]:
        return [self.examples[i] for i in self.rows[index]]


def _collate(items: list[list[Rendered]], pad_id: int, completion_only: bool) -> dict[str, Any]:
    return collate_rows(items, pad_id=pad_id, completion_only=completion_only)


def _with_instruction(messages: list[dict[str, str]], instruction: str | None) -> list[dict[str, str]]:
    """``messages`` with ``instruction`` on its own line after the last user turn's text."""
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not instruction or not users:
        return messages
    out = list(messages)
    out[users[-1]] = {**out[users[-1]], "content": f"{out[users[-1]]['content']}\n{instruction}"}
    return out


class SFTDataModule(L.LightningDataModule):
    """Reads SFT JSONL, formats it with the chat template and the paper's system prompt, packs it.

    The default data is GSM8K train + MATH train as shipped with the package (``gsm8k:train``,
    ``math:train``: 14,973 human-written chains of thought; the paper's MetaMathQA is not available offline).
    """

    def __init__(
        self,
        train_files: list[str] | None = None,
        val_files: list[str] | None = None,
        val_fraction: float = 0.0,
        tokenizer: str | None = None,
        system_prompt: str | None = SYSTEM_PROMPT,
        gsm8k_style: Literal["boxed", "raw"] = "boxed",
        max_length: int = 2048,
        packing: bool = True,
        completion_only: bool = False,
        batch_size: int = 1,
        max_examples: int | None = None,
        seed: int = 0,
        num_workers: int = 0,
        on_error: Literal["raise", "skip"] = "raise",
        allow_test_data: bool = False,
        fields: dict[str, str] | None = None,
        instruction: str | None = None,
    ):
        """
        Args:
            train_files: JSONL files, directories or globs, shipped dataset names (``gsm8k:train``, ``math:train``),
                Hub datasets (``hf:<org>/<name>[:<config>]:<split>``) or ``datasets`` folders. Records are
                ``{"question", "solution"}``, ``{"messages": [...]}``, GSM8K ``{"question", "answer"}`` or MATH
                ``{"problem", "solution"}`` (rename other fields with ``fields``). Default: ``gsm8k:train`` + ``math:train``.
            val_files: optional held-out JSONL files for a validation loss.
            val_fraction: fraction of the training records held out for validation when ``val_files`` is empty.
            tokenizer: tokenizer directory; default: the tokenizer of the model being trained.
            system_prompt: system message added to every conversation (the paper's prompt); null for none.
            gsm8k_style: ``boxed`` turns GSM8K's ``#### N`` into ``The final answer is $\\boxed{N}$.`` and drops
                calculator annotations; ``raw`` keeps the answer text as is.
            max_length: tokens per packed row; longer examples are truncated from the end (counted, logged).
            packing: pack several examples per row (no cross-example attention); if false, one example per row.
            completion_only: train on assistant tokens only. The paper trains on all tokens (false).
            batch_size: rows per micro-batch.
            max_examples: use a seeded random subset of this many training records (demos).
            seed: seed for subsetting, the validation split and the per-epoch shuffle.
            num_workers: DataLoader workers.
            on_error: ``raise`` stops at the first malformed line with file:line; ``skip`` logs and counts it.
            allow_test_data: allow benchmark test files as training data (refused by default).
            fields: rename record fields before the shape is recognised, ``{new: old}``: e.g.
                ``{question: prompt, solution: response}`` reads ``prompt``/``response`` records.
            instruction: appended to every user turn on its own line (``question + "\\n" + instruction``), so the
                SFT prompt is the one evaluation and mining use (their default: the boxed-answer instruction,
                :data:`hn_lightning.evaluation.prompts.BOXED_INSTRUCTION`); null: the question alone.
        """
        super().__init__()
        check_range(f"{KEY}.val_fraction", val_fraction, 0, 1, high_open=True)
        check_range(f"{KEY}.max_length", max_length, 2, why="a prompt token and a target token")
        check_range(f"{KEY}.batch_size", batch_size, 1)
        check_range(f"{KEY}.max_examples", max_examples, 1, optional=True)
        check_range(f"{KEY}.num_workers", num_workers, 0)
        self.train_files = train_files or ["gsm8k:train", "math:train"]
        self.val_files = val_files or []
        self.val_fraction = val_fraction
        self.tokenizer_path = tokenizer
        self.system_prompt = system_prompt
        self.gsm8k_style = gsm8k_style
        self.max_length = max_length
        self.packing = packing
        self.completion_only = completion_only
        self.batch_size = batch_size
        self.max_examples = max_examples
        self.seed = seed
        self.num_workers = num_workers
        self.on_error = on_error
        self.allow_test_data = allow_test_data
        self.fields = dict(fields or {})
        self.instruction = instruction
        self.tokenizer = None
        self.train_set: PackedRows | None = None
        self.val_set: PackedRows | None = None
        self.stats = SFTStats()
        self._sampler: ResumableShuffleSampler | None = None
        self._resume: dict[str, Any] | None = None

    # -- reading -----------------------------------------------------------------------------------
    def _resolve_tokenizer(self):
        return resolve_tokenizer(self, self.tokenizer_path)

    def _read(self, specs: list[str], policy: SkipPolicy) -> list[list[dict[str, str]]]:
        paths = expand_paths(specs)
        refuse_test_files(paths, self.allow_test_data, "SFT training")
        conversations = []
        for path in paths:
            for line, record in iter_jsonl(path, policy):
                try:
                    record = rename_fields(record, self.fields, str(path), line)
                    messages = to_messages(record, str(path), line, self.system_prompt, self.gsm8k_style)
                    conversations.append(_with_instruction(messages, self.instruction))
                except JsonlError as err:
                    policy.handle(err)  # raise, or log and count
        return conversations

    def _render(self, conversations: list[list[dict[str, str]]]) -> list[Rendered]:
        out = []
        for messages in conversations:
            r = render_conversation(self.tokenizer, messages)
            if len(r.input_ids) > self.max_length:
                self.stats.truncated += 1
                r = Rendered(r.input_ids[: self.max_length], min(r.prompt_len, self.max_length))
            out.append(r)
        return out

    def _pack(self, examples: list[Rendered]) -> PackedRows:
        if self.packing:
            rows = pack_examples([len(e.input_ids) for e in examples], self.max_length)
        else:
            rows = [[i] for i in range(len(examples))]
        return PackedRows(examples, rows)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.tokenizer = self._resolve_tokenizer()
        policy = SkipPolicy(on_error=self.on_error)
        train = self._read(self.train_files, policy)
        rng = random.Random(self.seed)
        if self.max_examples is not None and self.max_examples < len(train):
            train = [train[i] for i in sorted(rng.sample(range(len(train)), self.max_examples))]
        val = self._read(self.val_files, policy) if self.val_files else []
        if not val and self.val_fraction > 0:
            held = set(rng.sample(range(len(train)), max(1, int(len(train) * self.val_fraction))))
            val = [c for i, c in enumerate(train) if i in held]
            train = [c for i, c in enumerate(train) if i not in held]
        self.stats.records = len(train)
        self.stats.skipped_malformed = policy.skipped
        if not train:
            from hn_lightning.data.pair_stream import NoTrainingSteps

            raise NoTrainingSteps(
                f"{', '.join(map(str, self.train_files))}: the SFT data give no optimizer step: "
                f"{policy.skipped + len(val)} record(s) read ({policy.skipped} malformed skipped, {len(val)} held out "
                f"for validation), 0 kept for training; one step needs at least 1 example")
        self.train_set = self._pack(self._render(train))
        self.val_set = self._pack(self._render(val)) if val else None
        self.stats.rows = len(self.train_set)
        self.stats.tokens = sum(len(e.input_ids) for e in self.train_set.examples)
        log.info(
            "SFT data: %d records -> %d rows of <=%d tokens (fill %.1f%%), %d truncated, %d malformed skipped, %d val records",
            self.stats.records, self.stats.rows, self.max_length, 100 * self.stats.fill(self.max_length),
            self.stats.truncated, self.stats.skipped_malformed, len(val),
        )

    # -- loaders -----------------------------------------------------------------------------------
    def _loader(self, dataset: PackedRows, sampler=None) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=partial(_collate, pad_id=self.tokenizer.pad_token_id, completion_only=self.completion_only),
        )

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup() first"
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer is not None else (0, 1)
        self._sampler = ResumableShuffleSampler(len(self.train_set), seed=self.seed, rank=rank, world=world, block=self.batch_size)
        if self._resume:  # rows of the global order already trained on, by all ranks of the saving run
            done = self._resume["batches"] * self._resume["batch_size"] * int(self._resume.get("world_size", 1))
            self._sampler.resume_at(self._resume["epoch"], done)
            self._resume = None
        return self._loader(self.train_set, self._sampler)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(self.val_set) if self.val_set is not None else []

    # -- resume ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        world = self.trainer.world_size if self.trainer is not None else 1
        return position_state(self.trainer, self.batch_size, {"seed": self.seed, "rows": len(self.train_set or []), "world_size": world})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("seed") != self.seed or state.get("rows") != len(self.train_set or []):
            log.warning("data changed since the checkpoint (seed/rows differ); resuming at the start of the epoch")
            return
        self._resume = state
