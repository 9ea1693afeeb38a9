"""Benchmark: a full refresh of 100 hosts over SSH on loopback (goal: under 2 s).

    python bench/bench_fleet.py [--hosts 100] [--servers 4] [--rounds 5] [--kex ALGORITHM]

Starts `--servers` real sshd instances on 127.0.0.1, each in its own PID namespace (tests/sshlab.py:
throwaway keys, private known_hosts and ssh config), and names `--hosts` hosts round-robin across
them; each host is one SSH connection with its own remote psxj reader. Prints:
  - cold: connecting to every host and reading its first table (the first refresh);
  - warm: a full refresh over the open sessions (what the interface does every --delay seconds),
    the median of --rounds, and the slowest;
  - the command line `psxj --host ... --print` end to end (interpreter start, connect, print).
Every sshd and ssh started is killed by PID and reaped at the end. Needs root (namespaces).

The first connection's cost is mostly the SSH key exchange: OpenSSH 9's default, the post-quantum
sntrup761x25519, takes ~75 ms of the client's CPU per connection on this project's machine, against
~14 ms for curve25519-sha256. psxj never changes the user's choice; `--kex curve25519-sha256` puts
it in the lab's ssh config to show what the exchange costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

from sshlab import SshLab  # noqa: E402

from psxj.sources.fleet.reader import FleetReader  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kex", help="KexAlgorithms for the lab's client config (default: OpenSSH's own)")
    args = parser.parse_args()
    lab = SshLab()
    if args.kex:
        lab.client_options.append(f"KexAlgorithms {args.kex}")
    try:
        for index in range(args.servers):
            lab.start(f"server{index}", setup="sleep 3600 &")
        hosts = [f"h{n:03d}" for n in range(args.hosts)]
        for n, host in enumerate(hosts):
            lab.alias(host, f"server{n % args.servers}")

        reader = FleetReader(hosts, lab.config, timeout=30, patience=None)
        try:
            started = time.perf_counter()
            first = reader.read()
            cold = time.perf_counter() - started
            failing = [s for s in first.host_states if s.failing]
            warm = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                snapshot = reader.read()
                warm.append(time.perf_counter() - started)
            failing += [s for s in snapshot.host_states if s.failing]
        finally:
            reader.close()

        started = time.perf_counter()
        printed = subprocess.run([sys.executable, "-m", "psxj", "--ssh-config", lab.config, "--host", ",".join(hosts),
                                  "--print"], capture_output=True, cwd=os.path.join(HERE, ".."), timeout=120)
        command_line = time.perf_counter() - started
    finally:
        lab.close()

    per_host = len(snapshot) / max(len(snapshot.parts), 1)
    rows = len(printed.stdout.splitlines()) - 1
    print(f"{args.hosts} hosts on {args.servers} sshd (loopback), {len(snapshot)} processes in all "
          f"({per_host:.0f} a host), {os.cpu_count()} CPUs, key exchange: {args.kex or 'OpenSSH default'}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"cold (connect + first table): {cold:.2f} s")
    print(f"warm full refresh: median {statistics.median(warm):.2f} s, slowest {max(warm):.2f} s "
          f"over {args.rounds} rounds  -> goal 2 s: {'met' if max(warm) < 2 else 'NOT met'}")
    print(f"psxj --host ({args.hosts} hosts) --print, end to end: {command_line:.2f} s "
          f"(exit {printed.returncode}, {rows} rows)")
    if printed.returncode != 0:
        print("psxj --print said:", printed.stderr.decode(errors="replace").splitlines()[:3])
    if failing:
        print(f"{len(failing)} host answers failed: {failing[0].host}: {failing[0].detail}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
