"""How this psxj was installed, and the command that adds an extra (`serve`) the same way.

`pip install 'psxj[serve]'` asks the package index for psxj: right for a psxj that came from there,
wrong for one installed from a checkout, a wheel file or a git URL (the index may not have psxj at
all, or someone else's). pip records where an installed distribution came from in its
`direct_url.json` (PEP 610); no record means it came from an index. psxj run from a source tree that
was never installed has neither, and its pyproject.toml says so.

Part of the command line (psxj.commands): `psxj serve` says this when textual-serve is missing.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import NamedTuple, Optional
from urllib.parse import unquote, urlparse

DEFAULT_REQUIREMENT = "textual-serve>=1.1,<2"   # pyproject.toml's serve extra, for a psxj without metadata


class Origin(NamedTuple):
    """Where the running psxj came from."""
    kind: str                    # "index", "directory" (a checkout), "archive" (a wheel or sdist), "vcs", "source"
    location: str = ""           # the directory or archive path, or the VCS URL
    editable: bool = False
    commit: str = ""             # vcs: the commit installed
    installer: str = "pip"       # who installed it: pip, uv, ...
    requirement: str = DEFAULT_REQUIREMENT   # the extra's own requirement, from the metadata


def origin_from_direct_url(record: Optional[dict], installer: str = "pip",
                           requirement: str = DEFAULT_REQUIREMENT) -> Origin:
    """What PEP 610's direct_url.json says (None: there is none, psxj came from an index)."""
    if not isinstance(record, dict) or not isinstance(record.get("url"), str):
        return Origin("index", installer=installer, requirement=requirement)
    url = record["url"]
    local = _local_path(url)
    if isinstance(record.get("vcs_info"), dict):
        vcs = record["vcs_info"]
        return Origin("vcs", f"{vcs.get('vcs', 'git')}+{url}", commit=str(vcs.get("commit_id", "")),
                      installer=installer, requirement=requirement)
    if isinstance(record.get("dir_info"), dict) and local:
        return Origin("directory", local, editable=record["dir_info"].get("editable") is True, installer=installer,
                      requirement=requirement)
    if local:
        return Origin("archive", local, installer=installer, requirement=requirement)
    return Origin("archive", url, installer=installer, requirement=requirement)   # a wheel or sdist by URL


def _local_path(url: str) -> str:
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" and parsed.netloc in ("", "localhost") else ""


def extra_command(extra: str, origin: Origin, python: str, pipx: bool = False) -> str:
    """The shell command that installs psxj's `extra` where this psxj is, from where it came."""
    quote = shlex.quote
    if pipx:   # a pipx app: its own venv, which pipx manages
        return f"pipx inject psxj {quote(origin.requirement)}"
    if origin.kind in ("directory", "source"):   # a checkout: that checkout again, with the extra
        spec = ["-e"] if origin.editable or origin.kind == "source" else []
        spec.append(quote(f"{origin.location}[{extra}]"))
    elif origin.kind == "vcs":                    # the very commit installed
        spec = [quote(f"psxj[{extra}] @ {origin.location}" + (f"@{origin.commit}" if origin.commit else ""))]
    elif origin.kind == "archive" and ("://" in origin.location or os.path.exists(origin.location)):
        spec = [quote(f"psxj[{extra}] @ {_as_url(origin.location)}")]
    elif origin.kind == "archive":                # the wheel it came from is gone: the extra's requirement
        spec = [quote(origin.requirement)]
    else:
        spec = [quote(f"psxj[{extra}]")]
    if origin.installer == "uv":   # a uv environment has no pip of its own
        return " ".join(["uv", "pip", "install", "--python", quote(python), *spec])
    # -I: the user may run it as root in a directory another user controls, where -m alone would
    # import a planted pip.py from the current directory.
    return " ".join([quote(python), "-I", "-m", "pip", "install", *spec])


def _as_url(location: str) -> str:
    return location if "://" in location else Path(location).resolve().as_uri()


def running_origin() -> Origin:
    """Where the running psxj came from: the installed distribution whose files are the ones running,
    read from its own metadata (a psxj.egg-info in the current directory is a build's leftover, not
    an install, and is passed over); a source tree never installed is `source`."""
    import importlib.metadata

    import psxj

    package = Path(psxj.__file__).resolve().parent
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name != "psxj" or dist.read_text("INSTALLER") is None and dist.read_text("direct_url.json") is None:
            continue
        installer = (dist.read_text("INSTALLER") or "pip").strip() or "pip"
        requirement = _extra_requirement(dist, "serve")
        try:
            record = json.loads(dist.read_text("direct_url.json") or "null")
        except ValueError:
            record = None
        origin = origin_from_direct_url(record, installer, requirement)
        if origin.kind == "directory" and origin.editable and _same(Path(origin.location) / "psxj", package):
            return origin
        if _same(Path(str(dist.locate_file("psxj"))), package):
            return origin
    if (package.parent / "pyproject.toml").is_file():
        return Origin("source", str(package.parent))
    return Origin("index")


def _extra_requirement(dist, extra: str) -> str:
    for requirement in dist.requires or ():
        text, _, marker = requirement.partition(";")
        if marker.replace("'", '"').replace(" ", "") == f'extra=="{extra}"':
            return text.strip()
    return DEFAULT_REQUIREMENT


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def in_pipx() -> bool:
    """psxj installed with pipx: its environment is pipx's venvs/psxj."""
    prefix = Path(sys.prefix)
    return prefix.name == "psxj" and prefix.parent.name == "venvs" and prefix.parent.parent.name == "pipx"
