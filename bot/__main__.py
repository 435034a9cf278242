"""`python -m bot` does what `hackbot` does."""

import sys

from bot.cli import main

sys.exit(main())
