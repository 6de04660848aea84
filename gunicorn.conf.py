"""gunicorn's settings for Linje 72: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Each process is stateless (everything lives in PostgreSQL), so any number of them may run on any
number of machines behind a load balancer. Read from the environment (never a settings file,
which gunicorn does not read):

- `LINJE72_BIND` (default `0.0.0.0:8000`), or gunicorn's own `--bind`.
- `LINJE72_WORKERS` (default cores + 1, at most 8: each holds database connections),
  `LINJE72_THREADS` per worker (default 4: a webhook mostly waits for the database).
- `LINJE72_LOG_PROBES=1` writes the load balancer's /healthz and /readyz to the access log too.
- `PROMETHEUS_MULTIPROC_DIR`: where the workers keep their counters for /metrics (default a new
  temporary folder); emptied at start.
- gunicorn's own `FORWARDED_ALLOW_IPS` names the load balancer whose X-Forwarded-Proto is trusted.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import tempfile
from typing import Any

from gunicorn.glogging import Logger

MAX_DEFAULT_WORKERS = 8
PROBES = ("/healthz", "/readyz")


def _number(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise SystemExit(f"{name} must be a whole number above 0, not {text!r}")
    return int(text)


bind = [os.environ.get("LINJE72_BIND", "0.0.0.0:8000")]
# Cores + 1 processes of 4 threads: enough request slots to wait out a slow database (12 on two
# cores), without the processes and threads fighting for the cores in a surge. Measured with
# bench/webhooks.py on two cores: 5 processes of 4 threads (the usual 2 x cores + 1) spent about
# 10 ms of CPU a webhook, 3 of 4 about 8 ms, and answered a fifth more calls a second.
workers = _number("LINJE72_WORKERS", min(multiprocessing.cpu_count() + 1, MAX_DEFAULT_WORKERS))
worker_class = "gthread"
threads = _number("LINJE72_THREADS", 4)
# The provider gives up on a webhook after 15 s and every webhook answers within its deadline (at
# most 5 s): a worker silent for 10 s is stuck, and is replaced before the provider gives up.
timeout = 10
graceful_timeout = 10  # on a deploy, requests under way finish; a call's next webhook goes elsewhere
keepalive = 5
# The workers' heartbeat files on a RAM disk: a container's overlay file system can stall them.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No control socket: it sits at one path per user, which two servers on one machine would share.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# The path without its query string (a token could be in it), the status, size, time and request id.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s'

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="linje72-metrics-")


class ServerLogger(Logger):
    """gunicorn's logger, leaving the load balancer's health checks out of the access log."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if environ.get("PATH_INFO") in PROBES and os.environ.get("LINJE72_LOG_PROBES") != "1":
            return
        super().access(resp, req, environ, request_time)


logger_class = ServerLogger


def on_starting(server: Any) -> None:
    """Start with empty counters, and blank CPR numbers in gunicorn's own logs before a worker runs."""
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)
    from app.logs import configure

    configure(os.environ.get("LINJE72_LOG_LEVEL", "INFO"), os.environ.get("LINJE72_LOG_FORMAT", "text"))


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: its live gauges go, its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
