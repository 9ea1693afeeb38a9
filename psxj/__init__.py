"""psxj: explore Unix processes the way `ps -axj` shows them.

One data flow, source -> snapshot -> judgement -> selection -> view, one folder or module for each box
(docs/architecture.md, "The code, box by box", draws it; tests/test_architecture.py keeps it so):
  escape.py cells.py i18n.py errors.py safefs.py spawn.py   the foundation, which every layer may use
  model.py      the record and the snapshot
  sources/      live /proc, psutil elsewhere, files and recordings, other machines, kernel events
  judge/ act/   what psxj concludes (kinds, units, audit, stories); acting on a proven process
  select.py     ps's selectors and the filter line
  render/       views as text: ps's table, JSON and CSV, diffs, events, the table's rows, details
  demo/ lab/    the teaching daemon and its lab
  tui/ web/ commands/   the interface, the browser view, the command line: the top, which nothing imports
Imports go down this list, never up.
"""

__version__ = "0.1.0"
