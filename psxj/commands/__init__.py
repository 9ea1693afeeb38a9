"""The command line: one module per subcommand, one argparse tree (psxj.commands.main), and the shared
output helpers (psxj.commands.live_output). The top of the pipeline: nothing below imports it."""
