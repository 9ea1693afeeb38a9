"""The figures of issue 21's closing note, measured on this machine against a real psxj, as root.

    python tools/attack_figures.py exec-storm    [--root DIR] [--seconds 20] [--storm issue|readable]
    python tools/attack_figures.py flooding-host [--root DIR] [--timeout 3]
    python tools/attack_figures.py serve-sessions [--root DIR] [--tries 8]

--root runs the psxj of another checkout (a worktree of an older commit, for the "before" figure).

exec-storm: the interface (a real pty, events on, as an administrator starts it) while `nobody` runs a
process tree in which each life execs itself 200 times with a 30 KB argument (a different counter each
time, so no two commands are equal; --storm readable: 120 KB, spinning a moment between execs so that
psxj reads every new command); the interface's RSS before, at its peak, and 5 s after the storm.
flooding-host: --print against a real sshd on 127.0.0.1 whose python3 floods (tests/hostile_host.py):
the seconds until psxj gives up on it, and its peak RSS, for each hostile shape; then the interface
with all of them at once: how long `q` takes to quit.
serve-sessions: psxj serve with its printed URL; this many websockets opened at once: how many got an
interface and how many were refused, with what message.

Not a benchmark against ps and htop (bench/ has those): these measure an attack. Every process started
here is killed by its PID (the storm by its own process group) and reaped.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "tests"))

# Each life execs itself 200 times, a 30 KB argument each time, then the loop starts the next life
# (issue 21's storm); "readable": 120 KB, and a moment between execs, so that psxj reads each new command.
STORMS = {
    "issue": r'''
life='n=$1; if [ "$n" -lt 200 ]; then exec sh -c "$0" "$0" $((n+1)) "$2"; fi'
pad=$(head -c 30000 /dev/zero | tr '\0' x)
while :; do sh -c "$life" "$life" 0 "$pad"; done
''',
    "readable": r'''
life='n=$1; i=0; while [ $i -lt 300 ]; do i=$((i+1)); done
if [ "$n" -lt 200 ]; then exec sh -c "$0" "$0" $((n+1)) "$2"; fi'
pad=$(head -c 120000 /dev/zero | tr '\0' x)
while :; do sh -c "$life" "$life" 0 "$pad"; done
''',
}


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def python_env(root: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["LANG"] = "C.UTF-8"
    env["PYTHONPATH"] = root
    return env


def exec_storm(root: str, seconds: float, kind: str) -> None:
    from conftest import PtySession

    if shutil.which("setpriv") is None:
        raise SystemExit("needs setpriv (util-linux)")
    session = PtySession([sys.executable, "-m", "psxj"], env=python_env(root), cwd=root)
    storm = None
    try:
        if not session.wait_for(b"PPID", timeout=30):
            raise SystemExit("the interface never showed its table")
        time.sleep(5)   # events open, first refreshes done
        before = rss_mib(session.proc.pid)
        storm = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                                  "/bin/sh", "-c", STORMS[kind]], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, cwd="/", start_new_session=True)
        peak, execs_start = before, _exec_count()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            peak = max(peak, rss_mib(session.proc.pid))
            time.sleep(0.5)
        execs = _exec_count() - execs_start
        os.killpg(storm.pid, signal.SIGKILL)   # the storm's own group: it and every life it started
        storm.wait()
        storm = None
        time.sleep(5)
        after = rss_mib(session.proc.pid)
        print(f"exec storm '{kind}' ({root}): interface RSS {before:.0f} MiB before, peak {peak:.0f} MiB during "
              f"{seconds:.0f} s (~{execs / seconds:.0f} execs/s), {after:.0f} MiB 5 s after")
        session.type(b"q")
        session.proc.wait(timeout=30)
    finally:
        if storm is not None:
            os.killpg(storm.pid, signal.SIGKILL)
            storm.wait()
        session.close()


def _exec_count() -> int:
    """Processes forked since boot (each life is one fork; execs are 200 a life)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("processes "):
                return int(line.split()[1]) * 200
    return 0


def flooding_host(root: str, timeout: str) -> None:
    from sshlab import SshLab

    lab = SshLab()
    try:
        for mode in ("error-then-flood", "endless-length", "trickle", "big-answer"):
            bindir = os.path.join(lab.dir, f"bin-{mode}")
            os.makedirs(bindir)
            with open(os.path.join(bindir, "python3"), "w") as f:
                f.write(f"#!/bin/sh\nexec {sys.executable} -I {HERE}/tests/hostile_host.py {mode}\n")
            os.chmod(os.path.join(bindir, "python3"), 0o755)
            lab.start(mode, path=f"{bindir}:/usr/bin:/bin")
            started = time.monotonic()
            process = subprocess.Popen([sys.executable, "-m", "psxj", "--ssh-config", lab.config, "--host", mode,
                                        "--print", "--host-timeout", timeout], cwd=root, env=python_env(root),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            peak = 0.0
            while process.poll() is None and time.monotonic() - started < 60:
                peak = max(peak, rss_mib(process.pid))
                time.sleep(0.05)
            took = time.monotonic() - started
            if process.poll() is None:
                for child in _children(process.pid):
                    os.kill(child, signal.SIGKILL)
                process.kill()
                process.wait()
                said = "(still running: killed)"
            else:
                said = process.stderr.read().decode(errors="replace").strip().splitlines()
                said = said[0][:100] if said else ""
            print(f"{mode:17} --host-timeout {timeout}: {took:5.1f} s, peak RSS {peak:4.0f} MiB  {said}")
        _quit_with_hostile_hosts(root, lab)
    finally:
        lab.close()


def _quit_with_hostile_hosts(root: str, lab) -> None:
    """The interface with every hostile host at once (--host-timeout 30): how long q takes to quit."""
    from conftest import PtySession

    session = PtySession([sys.executable, "-m", "psxj", "--ssh-config", lab.config, "--host",
                          "error-then-flood,endless-length,trickle,big-answer", "--host-timeout", "30"],
                         env=python_env(root), cwd=root)
    try:
        if not session.wait_for(b"4 hosts", timeout=30):
            print("the interface never showed its hosts")
            return
        time.sleep(2)
        started = time.monotonic()
        session.type(b"q")
        try:
            session.proc.wait(timeout=60)
            print(f"interface, all four hosts at once: q quit in {time.monotonic() - started:.1f} s")
        except subprocess.TimeoutExpired:
            print("interface, all four hosts at once: still running 60 s after q (killed)")
            for child in _tree(session.proc.pid):
                os.kill(child, signal.SIGKILL)
    finally:
        session.close()


def _tree(pid: int) -> list:
    found, pending = [], [pid]
    while pending:
        for child in _children(pending.pop()):
            found.append(child)
            pending.append(child)
    return found


def _children(pid: int) -> list:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def serve_sessions(root: str, tries: int) -> None:
    import asyncio

    import aiohttp
    from browser import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "psxj", "serve", "--port", str(port)], cwd=root,
                              env=python_env(root), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = server.stderr.readline().decode(errors="replace")
            found = re.search(r"http://\S+", line)
            if found:
                url = found.group(0)
        if url is None:
            raise SystemExit("psxj serve printed no URL")
        time.sleep(1)
        websocket = url.replace("http://", "ws://").rstrip("/") + "/ws?width=100&height=30"

        async def one(http):
            try:
                ws = await http.ws_connect(websocket)
            except aiohttp.ClientError as exc:
                return None, f"{type(exc).__name__}: {exc}".encode()
            received = b""
            try:
                while len(received) < 4000:
                    message = await asyncio.wait_for(ws.receive(), 30)
                    if message.type != aiohttp.WSMsgType.BINARY:
                        break
                    received += message.data
            except asyncio.TimeoutError:
                pass
            return ws, received

        async def all_at_once():
            async with aiohttp.ClientSession() as http:
                opened = await asyncio.gather(*(one(http) for _ in range(tries)))
                await asyncio.sleep(3)
                memory = sum(rss_mib(pid) for pid in [server.pid, *_tree(server.pid)])
                for ws, _received in opened:
                    if ws is not None:
                        await ws.close()
                return [received for _ws, received in opened], memory

        results, memory = asyncio.run(all_at_once())
        refused = [r for r in results if b"sessions are open already" in r or b"Error" in r[:40]]
        print(f"psxj serve ({root}): {tries} websockets at once: {tries - len(refused)} got an interface, "
              f"{len(refused)} refused; the server and its interfaces then held {memory:.0f} MiB")
        for r in refused[:1]:
            print("  refused with:", re.sub(rb"\x1b\[[0-9;?]*[a-zA-Z]", b"", r).decode(errors="replace").strip()[:200])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure", choices=["exec-storm", "flooding-host", "serve-sessions"])
    parser.add_argument("--root", default=HERE, help="the checkout whose psxj to run (default: this one)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--storm", choices=sorted(STORMS), default="issue")
    parser.add_argument("--timeout", default="3")
    parser.add_argument("--tries", type=int, default=8)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the figures are of a root psxj attacked by nobody")
    root = os.path.abspath(args.root)
    if args.figure == "exec-storm":
        exec_storm(root, args.seconds, args.storm)
    elif args.figure == "flooding-host":
        flooding_host(root, args.timeout)
    else:
        serve_sessions(root, args.tries)


if __name__ == "__main__":
    main()
