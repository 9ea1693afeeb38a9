"""Judging processes: what kind each is, and the daemon audit with its evidence from /proc."""
