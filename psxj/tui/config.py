"""The interface's remembered choices (theme, columns, meters), in the user's config directory.

$XDG_CONFIG_HOME/psxj/config.json, else ~/.config/psxj/config.json. psxj often runs as root
with another user's HOME (sudo -E): the directory must pass psxj.safefs's checks (root's or the
caller's own, not writable by others), or nothing is saved and the interface says why once.
Textual-free, so the command line and tests can read it too.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional

from psxj.i18n import _
from psxj.safefs import RunDir, UnsafePath

CONFIG_FILE = "config.json"
_LIMIT = 64 * 1024


def config_dir(env=os.environ) -> Optional[str]:
    base = env.get("XDG_CONFIG_HOME", "")
    if not base.startswith("/"):
        home = env.get("HOME", "")
        if not home.startswith("/"):
            return None
        base = os.path.join(home, ".config")
    return os.path.join(base, "psxj")


def load(env=os.environ) -> Dict[str, Any]:
    """The saved choices; {} when there are none or they cannot be trusted or read."""
    path = config_dir(env)
    if path is None or not os.path.isdir(path):
        return {}
    try:
        with RunDir.open(path, create=False) as directory:
            data = directory.read_bytes(CONFIG_FILE, _LIMIT)
        loaded = json.loads(data) if data else {}
    except (OSError, UnsafePath, ValueError, RecursionError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def save(choices: Dict[str, Any], env=os.environ) -> Optional[str]:
    """Merge `choices` into the saved ones. Returns None when saved, else why it was not."""
    path = config_dir(env)
    if path is None:
        return _("no HOME or XDG_CONFIG_HOME to keep it in")
    merged = {**load(env), **choices}
    try:
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            RunDir.open(parent, create=True).close()
        with RunDir.open(path, create=True) as directory:
            directory.write_atomic(CONFIG_FILE, (json.dumps(merged, indent=1) + "\n").encode())
    except UnsafePath as exc:
        return str(exc)
    except OSError as exc:
        return _("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc)
    return None


def load_choices(env=os.environ) -> Dict[str, Any]:
    """The saved choices the interface can use: a theme, optional columns it knows ("columns"), default
    columns turned off ("without"), and whether the meters are shown ("meters")."""
    from psxj.render.views import CHOOSABLE_KEYS, COLUMN_BY_KEY

    saved = load(env)
    for name, fits in (("columns", lambda c: c in COLUMN_BY_KEY and COLUMN_BY_KEY[c].optional),
                       ("without", lambda c: c in CHOOSABLE_KEYS and not COLUMN_BY_KEY[c].optional)):
        listed = saved.get(name)
        if not (isinstance(listed, list) and all(isinstance(c, str) and fits(c) for c in listed)):
            saved.pop(name, None)
        else:
            saved[name] = tuple(listed)
    if not isinstance(saved.get("meters"), bool):
        saved.pop("meters", None)
    return saved
