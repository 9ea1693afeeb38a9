"""The teaching daemon (the tutorial's daemon() in Python) and its init-script-style control.
The teaching part of psxj: above the judgement and the views, below the lab (which builds on it) and
the top (the command line and the interface drive it)."""
