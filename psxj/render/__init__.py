"""Views that are text: ps's own table, JSON and CSV, two tables compared, events in words, the table's
rows (flat, forest, sessions) and a process's details. The view box of the pipeline, below the
interface and the command line, which show what it makes; it reads snapshots, judgements and selections."""
