"""Facts from systemd itself: what a unit's manager says of it (a source, read only when judged).

/proc shows which unit's cgroup a process is in; only systemd knows the rest: the unit's MainPID and
ControlPID, its Type, ActiveState and SubState, what triggered it (TriggeredBy), how often it was
restarted (NRestarts), its Description and FragmentPath, where its standard streams go, and its fd
store. psxj asks, in this order, and says which answered (UnitFacts.source):

1. D-Bus, with jeepney (pure Python): the system bus, where systemd and logind answer anybody for
   these properties, else systemd's private socket (root, no bus daemon needed). A container's
   systemd is reached through the container's own system bus, /proc/PID/root/run/dbus/..., walked
   without following any symlink (safefs.socket_beneath), and only when the peer that answers the
   socket is proven to be in the container's PID namespace. (systemd refuses its private socket to
   a peer outside its PID namespace, so psxj does not try that one from the host.)
2. `systemctl show`, for this machine's own system manager, when D-Bus cannot be used.
3. Nothing: the judgement then says what the cgroup alone proves (psxj.judge.units).

Every answer is bounded (size, time); a failure is remembered once per manager, with its reason.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

from psxj.i18n import N_

_CALL_TIMEOUT = 2.0
_MAX_REPLY = 1 << 20        # bytes of one reply: a service's GetAll is ~20 KiB
_MAX_SOCKET_UNITS = 500
_SYSTEMD = "org.freedesktop.systemd1"
_LOGIND = "org.freedesktop.login1"
UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "Description", "FragmentPath", "TriggeredBy",
                   "Transient", "WantedBy", "RequiredBy")
SERVICE_PROPERTIES = ("Type", "MainPID", "ControlPID", "NRestarts", "StandardInput", "StandardOutput",
                      "StandardError", "TTYPath", "FileDescriptorStoreMax", "NFileDescriptorStore", "KillMode",
                      "RemainAfterExit", "ExecStop")
DBUS, SYSTEMCTL = "D-Bus", "systemctl show"


class UnitFacts(NamedTuple):
    """What a unit's manager says of it. PIDs are in the manager's own PID namespace; 0 is none."""
    name: str
    source: str                          # DBUS or SYSTEMCTL: who answered
    load_state: str
    active_state: str                    # active, reloading, inactive, failed, activating, deactivating
    sub_state: str
    description: str = ""
    fragment_path: str = ""              # the unit file; "" for a transient unit (systemd-run)
    triggered_by: Tuple[str, ...] = ()   # the timers, sockets, paths that start it
    transient: bool = False
    type: str = ""                       # a service's Type=; "" for a scope and other units
    main_pid: int = 0
    control_pid: int = 0
    n_restarts: Optional[int] = None
    standard_input: str = ""
    standard_output: str = ""
    standard_error: str = ""
    tty_path: str = ""
    fd_store_max: int = 0
    fd_store_count: int = 0
    kill_mode: str = ""
    remain_after_exit: bool = False
    exec_stop: bool = False              # it has ExecStop= commands: systemd runs them before any SIGTERM
    wanted_by: Tuple[str, ...] = ()      # the units that want it (WantedBy=, .wants/ links): a dependency
    required_by: Tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        """The unit is up (or going up or down): its processes belong to it."""
        return self.active_state in ("active", "reloading", "activating", "deactivating")


class ManagerRef(NamedTuple):
    """A systemd instance, as the judge found it: its PID on this machine and where it runs."""
    pid: int
    start_ticks: Optional[int]
    user: bool                  # a user manager (systemd --user)
    uid: int
    own_namespace: bool         # in psxj's own PID namespace (False: a container's, seen from the host)


class Unavailable(Exception):
    """systemd could not be asked. args: (a message marked for translation, with {detail}; the detail)."""

    def reason(self) -> str:
        from psxj.i18n import _

        template, detail = self.args if len(self.args) == 2 else (self.args[0], "")
        return _(template).format(detail=detail)


def _object_label(text: str) -> str:
    """sd-bus's bus_label_escape: a unit or session name as one object path element."""
    out = []
    for index, char in enumerate(text):
        if char.isascii() and (char.isalpha() or (char.isdigit() and index > 0)):
            out.append(char)
        else:
            out.append("".join(f"_{byte:02x}" for byte in char.encode()))
    return "".join(out) or "_"


def _pid_namespace(pid: int) -> Optional[str]:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _start_ticks(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class _Bus:
    """One authenticated D-Bus connection (to a bus, or peer to peer with systemd), synchronous."""

    def __init__(self, sock: socket.socket, peer_to_peer: bool) -> None:
        from jeepney import Parser
        from jeepney.auth import BEGIN, Authenticator

        self.sock = sock
        self.parser = Parser()
        self.serial = 0
        sock.settimeout(_CALL_TIMEOUT)
        sock.sendall(b"\0")
        auth = Authenticator(inc_null_byte=False)
        for line in auth:
            sock.sendall(line)
            auth.feed(self._read())
        sock.sendall(BEGIN)
        if not peer_to_peer:
            from jeepney.bus_messages import message_bus

            self.call(message_bus.Hello())

    def _read(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("closed")
        return data

    def call(self, message):
        from jeepney import HeaderFields, MessageType

        self.serial += 1
        self.sock.sendall(message.serialise(serial=self.serial))
        received = 0
        while True:
            reply = self.parser.get_next_message()
            if reply is None:
                data = self._read()
                received += len(data)
                if received > _MAX_REPLY:
                    raise ConnectionError("reply too large")
                self.parser.add_data(data)
                continue
            if reply.header.fields.get(HeaderFields.reply_serial) != self.serial:
                continue  # a signal or another's message: not ours
            if reply.header.message_type == MessageType.error:
                raise LookupError(str(reply.header.fields.get(HeaderFields.error_name, "error")))
            return reply.body

    def properties(self, bus_name: str, path: str, interface: str) -> Dict[str, object]:
        from jeepney import DBusAddress, new_method_call

        address = DBusAddress(path, bus_name=bus_name, interface="org.freedesktop.DBus.Properties")
        found = self.call(new_method_call(address, "GetAll", "s", (interface,)))[0]
        return {name: value for name, (_signature, value) in found.items()}

    def close(self) -> None:
        self.sock.close()


def _connect(root: str, relative: str, peer_ok) -> socket.socket:
    """Connect to the socket `relative` below `root` without following symlinks, and keep the
    connection only if peer_ok(pid, uid) accepts who answers it (SO_PEERCRED), before a byte is sent."""
    from psxj.safefs import socket_beneath

    path_fd = socket_beneath(root, relative)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(_CALL_TIMEOUT)
        sock.connect(f"/proc/self/fd/{path_fd}")
        pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        if not peer_ok(pid, uid):
            raise PermissionError(f"{relative}: answered by pid {pid}, uid {uid}, not the manager's")
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(path_fd)
    return sock


class SystemdSource:
    """Unit facts by (manager, unit), each asked once; a manager that cannot be asked is remembered
    with the reason. Made per snapshot (psxj.judge.units), closed with it."""

    def __init__(self) -> None:
        self._buses: Dict[Tuple[int, Optional[int]], Optional[_Bus]] = {}
        self._why: Dict[Tuple[int, Optional[int]], Tuple[str, str]] = {}
        self._facts: Dict[Tuple[int, Optional[int], str], object] = {}   # UnitFacts, or Unavailable
        self._systemctl_failed = False

    # --- the public questions -------------------------------------------------------------
    def unit(self, manager: ManagerRef, name: str) -> UnitFacts:
        """What `manager` says of unit `name`; Unavailable (with the reason) when it cannot be asked."""
        key = (manager.pid, manager.start_ticks, name)
        found = self._facts.get(key)
        if found is None:
            try:
                found = self._ask_bus(manager, name)
            except Unavailable as exc:
                found = exc
                if manager.own_namespace and not manager.user and manager.pid == 1:
                    found = self._ask_systemctl(name) or exc
            self._facts[key] = found
        if isinstance(found, Unavailable):
            raise found
        return found

    def session_leader(self, manager: ManagerRef, session: str) -> Optional[int]:
        """logind's Leader of login session `session` (the process that made it: sshd's session
        process, login), in the manager's PID namespace; None when logind cannot be asked."""
        props = self.login_session(manager, session)
        try:
            return int(props.get("Leader", 0)) or None if props else None
        except (TypeError, ValueError):
            return None

    def trigger(self, manager: ManagerRef, name: str) -> Dict[str, object]:
        """What a timer, socket or path unit is set to, in systemd's own property names: a timer's
        TimersCalendar, TimersMonotonic, LastTriggerUSec, NextElapseUSecRealtime; a socket's Listen and
        Accept; a path's Paths. Empty when it cannot be asked (only D-Bus answers this)."""
        interface = {".timer": "Timer", ".socket": "Socket", ".path": "Path"}.get(name[name.rfind("."):])
        key = (manager.pid, manager.start_ticks, "trigger:" + name)
        if interface is None:
            return {}
        if key not in self._facts:
            found: Dict[str, object] = {}
            try:
                bus, _peer = self._bus(manager)
                from jeepney import DBusAddress, new_method_call

                address = DBusAddress("/org/freedesktop/systemd1", bus_name=_SYSTEMD,
                                      interface="org.freedesktop.systemd1.Manager")
                path = bus.call(new_method_call(address, "GetUnit", "s", (name,)))[0]
                found = bus.properties(_SYSTEMD, path, "org.freedesktop.systemd1." + interface)
            except (Unavailable, OSError, LookupError, ValueError, TypeError, ImportError):
                found = {}
            self._facts[key] = found
        return self._facts[key]  # type: ignore[return-value]

    def socket_units(self, manager: ManagerRef) -> Dict[str, Tuple[str, Tuple[str, ...]]]:
        """What the manager's socket units listen on: address ("127.0.0.1:7782", "[::]:22", a path) ->
        (the socket unit, the units it triggers). Empty when it cannot be asked (D-Bus only)."""
        key = (manager.pid, manager.start_ticks, "sockets")
        if key not in self._facts:
            found: Dict[str, Tuple[str, Tuple[str, ...]]] = {}
            try:
                bus, _peer = self._bus(manager)
                from jeepney import DBusAddress, new_method_call

                address = DBusAddress("/org/freedesktop/systemd1", bus_name=_SYSTEMD,
                                      interface="org.freedesktop.systemd1.Manager")
                units = bus.call(new_method_call(address, "ListUnitsByPatterns", "asas", ([], ["*.socket"])))[0]
                for unit in units[:_MAX_SOCKET_UNITS]:
                    name, path = unit[0], unit[6]
                    listen = bus.properties(_SYSTEMD, path, "org.freedesktop.systemd1.Socket").get("Listen") or ()
                    triggers = bus.properties(_SYSTEMD, path, "org.freedesktop.systemd1.Unit").get("Triggers") or ()
                    for _kind, where in listen:
                        found[str(where)] = (str(name), tuple(str(t) for t in triggers))
            except (Unavailable, OSError, LookupError, ValueError, TypeError, ImportError, IndexError):
                pass
            self._facts[key] = found
        return self._facts[key]  # type: ignore[return-value]

    def login_session(self, manager: ManagerRef, session: str) -> Optional[Dict[str, object]]:
        """logind's record of login session `session`: Name (the user), TTY, RemoteHost, RemoteUser,
        Service (sshd, login), Leader, Remote, Type; None when logind cannot be asked."""
        key = (manager.pid, manager.start_ticks, "session:" + session)
        if key not in self._facts:
            found: Optional[Dict[str, object]] = None
            try:
                bus = self._bus(manager)
                if bus is not None and bus[1] is False:   # logind is on the bus, not systemd's private socket
                    found = bus[0].properties(_LOGIND, "/org/freedesktop/login1/session/" + _object_label(session),
                                              "org.freedesktop.login1.Session")
            except (Unavailable, OSError, LookupError, ValueError, TypeError, ImportError):
                found = None
            self._facts[key] = found
        return self._facts[key]  # type: ignore[return-value]

    def close(self) -> None:
        for bus in self._buses.values():
            if bus is not None:
                bus[0].close()
        self._buses.clear()

    # --- D-Bus ----------------------------------------------------------------------------
    def _bus(self, manager: ManagerRef):
        """(connection, peer_to_peer) for this manager, made once; Unavailable with the reason."""
        key = (manager.pid, manager.start_ticks)
        if key in self._buses:
            if self._buses[key] is None:
                raise Unavailable(*self._why[key])
            return self._buses[key]
        try:
            import jeepney  # noqa: F401
        except ImportError:
            return self._fail(key, N_("jeepney (psxj's D-Bus library) is not installed{detail}"), "")
        if _start_ticks(manager.pid) != manager.start_ticks:
            return self._fail(key, N_("the manager has exited since the table was read{detail}"), "")
        errors: List[str] = []
        root = "/" if manager.own_namespace else f"/proc/{manager.pid}/root"
        for relative, peer_to_peer, peer_ok in self._ways(manager):
            try:
                sock = _connect(root, relative, peer_ok)
            except OSError as exc:
                errors.append(f"{relative}: {exc.strerror or exc}")
                continue
            try:
                bus = _Bus(sock, peer_to_peer)
            except Exception as exc:  # noqa: BLE001 - a peer's nonsense must not end psxj
                sock.close()
                errors.append(f"{relative}: {exc}")
                continue
            self._buses[key] = (bus, peer_to_peer)
            return self._buses[key]
        return self._fail(key, N_("D-Bus could not be used: {detail}"), "; ".join(errors))

    def _fail(self, key, why: str, detail: str):
        self._why[key] = (why, detail)
        self._buses[key] = None
        raise Unavailable(why, detail)

    @staticmethod
    def _ways(manager: ManagerRef) -> Iterable[Tuple[str, bool, object]]:
        """Where to reach the manager, and who may answer there. Paths are taken inside the
        manager's own root (/proc/PID/root), so a container's are the container's."""
        namespace = _pid_namespace(manager.pid)

        def in_its_namespace(pid: int, uid: int) -> bool:
            return pid > 0 and namespace is not None and _pid_namespace(pid) == namespace

        def is_the_manager(pid: int, uid: int) -> bool:
            return pid == manager.pid and _start_ticks(pid) == manager.start_ticks

        if manager.user:
            if manager.own_namespace:
                yield f"run/user/{manager.uid}/systemd/private", True, is_the_manager
            return
        yield "run/dbus/system_bus_socket", False, in_its_namespace
        if manager.own_namespace:
            yield "run/systemd/private", True, is_the_manager

    def _ask_bus(self, manager: ManagerRef, name: str) -> UnitFacts:
        bus, _peer = self._bus(manager)
        from jeepney import DBusAddress, new_method_call

        key = (manager.pid, manager.start_ticks)
        try:
            address = DBusAddress("/org/freedesktop/systemd1", bus_name=_SYSTEMD,
                                  interface="org.freedesktop.systemd1.Manager")
            path = bus.call(new_method_call(address, "GetUnit", "s", (name,)))[0]
            unit = bus.properties(_SYSTEMD, path, "org.freedesktop.systemd1.Unit")
            service = bus.properties(_SYSTEMD, path, "org.freedesktop.systemd1.Service") \
                if name.endswith(".service") else {}
        except LookupError as exc:  # the unit is not loaded: a cgroup systemd no longer knows
            raise Unavailable(N_("systemd does not know the unit ({detail})"), str(exc)) from None
        except (OSError, ValueError, TypeError) as exc:
            bus.close()
            self._fail(key, N_("D-Bus could not be used: {detail}"), str(exc))
        return facts_from(name, DBUS, {**unit, **service})

    # --- systemctl show -------------------------------------------------------------------
    def _ask_systemctl(self, name: str) -> Optional[UnitFacts]:
        if self._systemctl_failed:
            return None
        try:
            done = subprocess.run(["systemctl", "show", "-p", ",".join(UNIT_PROPERTIES + SERVICE_PROPERTIES),
                                   "--", name], capture_output=True, timeout=5, stdin=subprocess.DEVNULL,
                                  env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C", "SYSTEMD_PAGER": ""})
        except (OSError, subprocess.SubprocessError):
            self._systemctl_failed = True
            return None
        if done.returncode != 0:
            self._systemctl_failed = True
            return None
        values: Dict[str, object] = {}
        for line in done.stdout[:_MAX_REPLY].decode("utf-8", "replace").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key] = value
        if values.get("LoadState") in (None, "not-found"):
            return None
        return facts_from(name, SYSTEMCTL, values)


def _integer(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _truth(value: object) -> bool:
    return value is True or value in ("yes", "true", 1)


def facts_from(name: str, source: str, values: Dict[str, object]) -> UnitFacts:
    """UnitFacts from systemd's property names and values (D-Bus types or `systemctl show` text)."""
    def text(key: str) -> str:
        value = values.get(key, "")
        return value if isinstance(value, str) else str(value)

    restarts = values.get("NRestarts")
    return UnitFacts(
        name=name, source=source, load_state=text("LoadState"), active_state=text("ActiveState"),
        sub_state=text("SubState"), description=text("Description"), fragment_path=text("FragmentPath"),
        triggered_by=_names(values.get("TriggeredBy")), transient=_truth(values.get("Transient")),
        type=text("Type"), main_pid=_integer(values.get("MainPID")), control_pid=_integer(values.get("ControlPID")),
        n_restarts=None if restarts in (None, "", "[not set]") else _integer(restarts),
        standard_input=text("StandardInput"), standard_output=text("StandardOutput"),
        standard_error=text("StandardError"), tty_path=text("TTYPath"),
        fd_store_max=_integer(values.get("FileDescriptorStoreMax")),
        fd_store_count=_integer(values.get("NFileDescriptorStore")), kill_mode=text("KillMode"),
        remain_after_exit=_truth(values.get("RemainAfterExit")),
        exec_stop=bool(values.get("ExecStop")) and values.get("ExecStop") not in ("", "[]"),
        wanted_by=_names(values.get("WantedBy")), required_by=_names(values.get("RequiredBy")),
    )


def _names(value: object) -> Tuple[str, ...]:
    """A list of unit names, from D-Bus (a list) or `systemctl show` (space-separated text)."""
    if isinstance(value, str):
        return tuple(value.split())[:64]
    return tuple(str(v) for v in (value or ()))[:64]
