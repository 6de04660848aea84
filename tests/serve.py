"""Serve the app on a free loopback port in its own process, for the multi-process test.

Prints the port on one line once listening, then serves until killed.
Usage: python -m tests.serve DATABASE_URL NOW
"""

from __future__ import annotations

import logging
import sys

from werkzeug.serving import make_server

from app import create_app
from app.values.times import parse_time
from tests.support import AFTER_HOURS, AUTH_TOKEN, FALLBACK, PUBLIC_URL, SECRET_KEY


def main() -> None:
    url, now = sys.argv[1], parse_time(sys.argv[2])
    app = create_app(
        {
            "DATABASE_URL": url,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "LINJE72_SECRET_KEY": SECRET_KEY,
            "LINJE72_FALLBACK_NUMBER": FALLBACK,
            "LINJE72_AFTER_HOURS_NUMBER": AFTER_HOURS,
            "LINJE72_PUBLIC_URL": PUBLIC_URL,
            "LINJE72_LOG_LEVEL": "WARNING",
            "CLOCK": lambda: now,
        }
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
