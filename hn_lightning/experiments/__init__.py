"""Experiments (``python cli.py experiment``, ``python cli.py demo``): a grid of DPO cells trained from the
same policy and compared on the same problems. The command line is :mod:`hn_lightning.commands.experiment`;
everything else is here, one module per concern:

- ``config``: the documented :class:`~hn_lightning.experiments.config.ExperimentConfig`, its grid of
  cells and checks, the base config's path;
- ``layout``: every path under ``<out>`` (the one module that knows the output folder);
- ``runner``: the stages in order (SFT, pairs, baseline, cells, report, rounds);
- ``policy``: the starting policy, the SFT stage and the baseline row;
- ``mining``: the pairs mined inside the experiment;
- ``split``: held-out pairs (``val_split``), one :func:`~hn_lightning.experiments.split.choose_heldout`
  for the mined pairs and for pair files;
- ``cells``: one cell's fit config, training and evaluation;
- ``stages``: what every stage is made of (a resumable fit, an evaluation, the settings fingerprint,
  the metrics summary);
- ``kl``: the sampled KL(policy || reference) of a cell;
- ``rounds``: iterative rounds, each a whole experiment;
- ``report``, ``stats``, ``plots``: tables, paired statistics, plots and ``report.md`` (pure, from the
  cells' results and CSVs).

Training runs through :func:`hn_lightning.cli.lightning_main` and evaluation through ``cli.py eval``, so the
package is in the top import layer with ``cli`` and ``commands`` (tests/test_import_layers.py).

    from hn_lightning.experiments.stats import compare_paired, mcnemar_exact, paired_bootstrap_ci
    from hn_lightning.experiments.plots import plot_accuracy, plot_forest, plot_training_curves, plot_weight_histogram
"""
