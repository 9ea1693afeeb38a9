"""`python -m psxj` is the `psxj` command."""

from psxj.cli import main

raise SystemExit(main())
