"""Experiments: comparing trained cells on the same problems (paired statistics) and plotting results.

    from hn_lightning.experiments.stats import compare_paired, mcnemar_exact, paired_bootstrap_ci
    from hn_lightning.experiments.plots import plot_accuracy, plot_forest, plot_training_curves, plot_weight_histogram
"""
