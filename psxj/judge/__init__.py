"""Judging processes: what kind each is (and its unit, its container), the daemon audit with its
evidence from /proc, and the story of why a process runs. The judgement box of the pipeline: it reads
snapshots and the sources' facts, and never imports a view, the interface or the command line."""
