"""Linje 72: the unified number for the 72-hour treatment responsibility after discharge.

`app:create_app()` is the WSGI entry. This package's root and `app.cli` are the
composition root, the only places that know every surface; everything else in
`app` is layered below the entry points (see README, "Where things are").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the WSGI application; refuse to start when a required setting is missing."""
    # Imported here, not at the top: the entry points import `app.services`, which
    # imports this package first; the factory that imports them must come later.
    from app.factory import build_app

    return build_app(test_config)
