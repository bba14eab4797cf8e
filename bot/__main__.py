"""`python -m bot` runs the `autodevhub` command line."""

import sys

from bot.cli import main

sys.exit(main())
