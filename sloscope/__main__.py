"""``python -m sloscope`` runs the CLI."""

import sys

from sloscope.cli import main

sys.exit(main())
