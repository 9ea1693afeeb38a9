"""psxj: explore Unix processes the way `ps -axj` shows them.

The data flows source -> snapshot -> selection -> view:
  sources/   live /proc, psutil elsewhere, or a loaded file   -> model.Snapshot
  select.py  ps selectors (-p -s -u -U -g -G -t -C)            -> which records
  psformat.py, export.py, tui/                                 -> ps text, JSON/CSV, the interface
"""

__version__ = "0.1.0"
