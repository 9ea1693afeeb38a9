"""`python -m psxj` is the `psxj` command.

The top of the pipeline: it only hands over to the command line (psxj.commands.main).
"""

from psxj.commands.main import main

raise SystemExit(main())
