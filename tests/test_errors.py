"""One error line: an error raised in a DataLoader worker keeps its original message (torch re-raises it
with the worker's traceback inside the message); other messages are only folded onto one line."""

from __future__ import annotations

import pytest
from torch._utils import ExceptionWrapper

from hn_lightning.errors import UserError, from_worker, one_line


def _through_a_worker(exc: Exception, worker: int = 1) -> Exception:
    try:
        raise exc
    except Exception:  # noqa: BLE001
        wrapper = ExceptionWrapper(where=f"in DataLoader worker process {worker}")
    with pytest.raises(type(exc)) as caught:
        wrapper.reraise()
    return caught.value


def test_worker_error_keeps_its_message_and_names_the_worker():
    exc = _through_a_worker(UserError("data/pairs.jsonl:2: invalid JSON (Expecting value at column 1)"))
    assert "Original Traceback" in str(exc)  # what torch does
    assert one_line(exc) == "data/pairs.jsonl:2: invalid JSON (Expecting value at column 1) (in DataLoader worker process 1)"


def test_worker_error_with_a_multiline_message_and_a_chained_cause():
    def inner():
        try:
            {}["k"]
        except KeyError as err:
            raise UserError("pairs.jsonl:7: missing field\n  hint: add 'w_raw': value") from err

    try:
        inner()
    except UserError:
        wrapper = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(UserError) as caught:
        wrapper.reraise()
    assert one_line(caught.value) == "pairs.jsonl:7: missing field   hint: add 'w_raw': value (in DataLoader worker process 0)"


def test_other_messages_are_only_folded():
    assert one_line("a\nb: c") == "a b: c"
    assert from_worker("Caught nothing here") == "Caught nothing here"
