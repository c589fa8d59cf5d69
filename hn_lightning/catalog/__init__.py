"""Data by name: the datasets shipped with the package, Hugging Face datasets, and paths.

* :mod:`~hn_lightning.catalog.shipped`: ``gsm8k:train``, ``gsm8k:test``, ``math:train``, ``math:test``,
  ``math500`` (xz files + manifest in ``hn_lightning/assets/datasets/``, verified on first use).
* :mod:`~hn_lightning.catalog.hub`: ``hf:<repo>[:<config>]:<split>`` and local ``datasets`` folders
  (``Dataset.save_to_disk``), through the optional ``datasets`` library (``pip install 'hn_lightning[hf]'``).
* :mod:`~hn_lightning.catalog.resolve`: one entry point, :func:`resolve_spec`, for every place that takes data
  (:func:`resolve_data_file` when it must be a file).
* :mod:`~hn_lightning.catalog.files`: :func:`expand_paths`, specs (names, folders, globs) to the files to read.
* :mod:`~hn_lightning.catalog.hygiene`: the test-set rule (:func:`refuse_test_files`).

Layering: the catalog sits above :mod:`hn_lightning.paths` (cache and shared folders) and
:mod:`hn_lightning.io`; neither imports it.
"""

from hn_lightning.catalog.files import expand_paths
from hn_lightning.catalog.hygiene import (
    TestDataRefused,
    looks_like_test_file,
    refuse_test_files,
    why_test_data,
)
from hn_lightning.catalog.resolve import DataNotFound, resolve_data_file, resolve_spec, unresolvable
from hn_lightning.catalog.shipped import ShippedDataError, dataset_names, materialize

__all__ = [
    "DataNotFound",
    "ShippedDataError",
    "TestDataRefused",
    "dataset_names",
    "expand_paths",
    "looks_like_test_file",
    "materialize",
    "refuse_test_files",
    "resolve_data_file",
    "resolve_spec",
    "unresolvable",
    "why_test_data",
]
