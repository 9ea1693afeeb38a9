"""What a container runtime itself records of a container: its name and image (a source).

psxj.judge.containers finds a process's container (runtime, name, id) from cgroups, PID namespaces
and the monitor's arguments. The image is only in the runtime's own state:
- podman (and CRI-O, and anything on containers/storage): conmon's `-b BUNDLE` is
  STORAGE/<driver>-containers/<id>/userdata; STORAGE/<driver>-containers/containers.json lists each
  container's id, names and metadata, whose "image-name" is the image it was made from;
- docker: /var/lib/docker/containers/<id>/config.v2.json: "Name" and "Config.Image".
These files belong to root, or to the user of a rootless container, who may write anything there:
they are read without following a symlink (psxj.safefs.read_beneath), at most MAX_STATE_BYTES, and only
when owned by root or by the monitor's own user; what they say is reported as what they say.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple, Optional, Tuple

from psxj.i18n import _

MAX_STATE_BYTES = 8 << 20
DOCKER_ROOT = "var/lib/docker"


class RuntimeState(NamedTuple):
    name: Optional[str]
    image: Optional[str]
    origin: str                  # the file that says it
    problem: Optional[str]       # why it could not be read (then name and image are None)


def _read_json(relative: str, owners: Tuple[int, ...]) -> Tuple[Optional[object], str, Optional[str]]:
    from psxj.safefs import UnsafePath, read_beneath

    origin = "/" + relative
    try:
        data, st = read_beneath("/", relative, MAX_STATE_BYTES)
    except (OSError, UnsafePath) as exc:
        return None, origin, getattr(exc, "strerror", None) or str(exc)
    if st.st_uid not in owners:
        return None, origin, _("owned by uid {uid}, neither root nor the runtime's user: not trusted").format(
            uid=st.st_uid)
    if len(data) >= MAX_STATE_BYTES:
        return None, origin, _("larger than {mib} MiB: not read").format(mib=MAX_STATE_BYTES >> 20)
    try:
        return json.loads(data), origin, None
    except ValueError as exc:
        return None, origin, _("not JSON ({error})").format(error=exc)


def podman_state(bundle: str, container_id: str, owner: int) -> RuntimeState:
    """From containers/storage's containers.json, found from conmon's bundle directory."""
    parts = [p for p in os.path.normpath(bundle).split("/") if p]
    if len(parts) < 3 or parts[-1] != "userdata" or parts[-2] != container_id or ".." in parts:
        return RuntimeState(None, None, bundle, _("conmon's bundle {bundle} is not <storage>/<driver>-containers/"
                                                 "<id>/userdata").format(bundle=bundle))
    relative = "/".join(parts[:-2] + ["containers.json"])
    found, origin, problem = _read_json(relative, (0, owner))
    if problem is not None:
        return RuntimeState(None, None, origin, problem)
    return podman_entry(found, container_id, origin)


def podman_entry(found: object, container_id: str, origin: str) -> RuntimeState:
    for entry in found if isinstance(found, list) else ():
        if not isinstance(entry, dict) or entry.get("id") != container_id:
            continue
        names = entry.get("names") or []
        try:
            metadata = json.loads(entry.get("metadata") or "{}")
        except ValueError:
            metadata = {}
        image = metadata.get("image-name") if isinstance(metadata, dict) else None
        name = names[0] if isinstance(names, list) and names and isinstance(names[0], str) else None
        return RuntimeState(name, image if isinstance(image, str) else None, origin, None)
    return RuntimeState(None, None, origin, _("container {id} is not in it").format(id=container_id[:12]))


def docker_state(container_id: str) -> RuntimeState:
    if not container_id or "/" in container_id or container_id in (".", ".."):
        return RuntimeState(None, None, DOCKER_ROOT, _("no container id"))
    found, origin, problem = _read_json(f"{DOCKER_ROOT}/containers/{container_id}/config.v2.json", (0,))
    if problem is not None:
        return RuntimeState(None, None, origin, problem)
    return docker_entry(found, origin)


def docker_entry(found: object, origin: str) -> RuntimeState:
    if not isinstance(found, dict):
        return RuntimeState(None, None, origin, _("not a container's configuration"))
    name = found.get("Name")
    config = found.get("Config") if isinstance(found.get("Config"), dict) else {}
    image = config.get("Image")
    return RuntimeState(name.lstrip("/") if isinstance(name, str) else None,
                        image if isinstance(image, str) else None, origin, None)
