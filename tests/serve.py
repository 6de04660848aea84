"""The app as the multi-process test serves it under gunicorn, with the test's settings and clock.

Usage: SERVE_DATABASE_URL=… SERVE_NOW=… gunicorn -c gunicorn.conf.py 'tests.serve:build()'
"""

from __future__ import annotations

import os

from flask import Flask

from app import create_app
from app.values.times import parse_time
from tests.support import AFTER_HOURS, AUTH_TOKEN, FALLBACK, PUBLIC_URL, SECRET_KEY


def build() -> Flask:
    now = parse_time(os.environ["SERVE_NOW"])
    return create_app(
        {
            "DATABASE_URL": os.environ["SERVE_DATABASE_URL"],
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "LINJE72_SECRET_KEY": SECRET_KEY,
            "LINJE72_FALLBACK_NUMBER": FALLBACK,
            "LINJE72_AFTER_HOURS_NUMBER": AFTER_HOURS,
            "LINJE72_PUBLIC_URL": PUBLIC_URL,
            "LINJE72_LOG_LEVEL": "WARNING",
            "CLOCK": lambda: now,
        }
    )
