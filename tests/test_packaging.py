"""The production install is reproducible: every dependency is pinned, with hashes, in requirements.lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_is_pinned_with_hashes_in_the_lock_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {normalised(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {
        normalised(name): version for name, version in re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\", lock, re.M)
    }
    missing = sorted(wanted - pinned.keys())
    assert not missing, f"not in requirements.lock (run the README's lock command): {missing}"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n\n", 1)[-1])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
