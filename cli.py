#!/usr/bin/env python
"""hn_lightning command line.

    python cli.py fit --config configs/sft_demo.yaml        # SFT (LightningCLI)
    python cli.py fit --config configs/dpo.yaml             # weighted DPO (LightningCLI)
    python cli.py fit --config configs/sft.yaml --print_config   # the full, commented config
    python cli.py verify|eval|mine --help                   # data commands
"""

import sys

from hn_lightning.cli import main

if __name__ == "__main__":
    sys.exit(main())
