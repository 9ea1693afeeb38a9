"""Acting on live processes, never on the wrong one: identity.py proves a process is still the one a
row showed (a pidfd, its start time, any further check); signals.py sends it a signal through that proof.

Above the sources (it reads /proc through psxj.sources.proc), below what acts: the demo, the lab and
the interface import it.
"""
