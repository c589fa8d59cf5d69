"""Data by name: the datasets shipped with the package, Hugging Face datasets, and paths.

* :mod:`~hn_lightning.catalog.shipped`: ``gsm8k:train``, ``gsm8k:test``, ``math:train``, ``math:test``,
  ``math500`` (xz files + manifest in ``hn_lightning/assets/datasets/``, verified on first use).
* :mod:`~hn_lightning.catalog.hub`: ``hf:<repo>[:<config>]:<split>`` and local ``datasets`` folders
  (``Dataset.save_to_disk``), through the optional ``datasets`` library (``pip install 'hn_lightning[hf]'``).
* :mod:`~hn_lightning.catalog.resolve`: one entry point, :func:`resolve_spec`, for every place that takes data.
"""

from hn_lightning.catalog.resolve import DataNotFound, resolve_spec, unresolvable
from hn_lightning.catalog.shipped import ShippedDataError, dataset_names, materialize

__all__ = ["DataNotFound", "ShippedDataError", "dataset_names", "materialize", "resolve_spec", "unresolvable"]
