"""`python -m tools.rehearse ENV ...`: the command line is tools/rehearse/cli.py."""

import sys

from tools.rehearse.cli import main

sys.exit(main())
