"""The fleet source: the process tables of other machines, read over SSH with nothing installed there.

    hosts.py    the host names the user gave (--host, --hosts-file), checked
    payload.py  the program sent to each host's python3: psxj's own /proc reader and audit, verbatim
    remote.py   what runs there (standard library only): answers "table", and the requests it is
                given (the judge's audit: psxj.judge.remote)
    decode.py   each host's answer, untrusted: checked and escaped here, never trusted as escaped
    ssh.py      one OpenSSH session per host, its errors in words
    reader.py   all hosts at once, concurrently: one table, and a state per host

Part of the sources. This package's __init__ and remote.py are sent to other machines: they import
nothing outside the standard library and psxj's stdlib-only modules (payload.REMOTE_MODULES).
"""
