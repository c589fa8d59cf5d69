"""Non-training commands of ``cli.py`` (each module exposes ``main(argv) -> int``)."""
