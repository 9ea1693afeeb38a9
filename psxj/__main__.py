"""`python -m psxj` is the `psxj` command."""

from psxj.commands.main import main

raise SystemExit(main())
