"""The alerting rules operators load (docs/prometheus-alerts.yml): complete, on metrics the line
serves, and firing when they should, as promtool evaluates them against made-up series."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import JOB_LAST_SUCCESS, JOB_RUNS, JOB_SECONDS
from schedules.jobs import TASKS

RULES = Path(__file__).resolve().parents[1] / "docs" / "prometheus-alerts.yml"
APP = {"instance": "app1:8000", "job": "linje72"}


@functools.cache
def all_rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def served_names(text: str) -> set[str]:
    """Every series name a scrape can hold: counters with _total, histograms with their parts."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + part for part in ("_bucket", "_sum", "_count"))
    return names


def test_every_rule_is_complete_and_reads_only_what_the_line_serves(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    served = served_names(response.get_data(as_text=True))
    # The scheduler's own metrics (served by `linje72 scheduler`, defined beside the app's).
    scheduler = CollectorRegistry(auto_describe=False)
    for metric in (JOB_RUNS, JOB_LAST_SUCCESS, JOB_SECONDS):
        scheduler.register(metric)
    served |= served_names(generate_latest(scheduler).decode())
    rules = all_rules()
    assert len(rules) >= 10
    for name, rule in rules.items():
        assert name.startswith("Linje72"), name
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        unknown = set(re.findall(r"\blinje72_[a-z_]+", rule["expr"])) - served
        assert not unknown, (name, unknown)
    # Every job the scheduler runs is watched, and no rule names a job it does not run.
    watched = rules["Linje72JobNotSucceeding"]["expr"]
    named = {job for matcher in re.findall(r'job=~?"([^"]+)"', watched) for job in matcher.split("|")}
    assert named == set(TASKS)


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    given = ", ".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{given}}}", "values": values}


def fires(alert: str, at: str, summary: str | None, **labels: str) -> dict[str, Any]:
    """At `at`, `alert` fires once with these labels and this summary (None: it does not fire)."""
    if summary is None:
        return {"eval_time": at, "alertname": alert, "exp_alerts": []}
    rule = all_rules()[alert]
    description = rule["annotations"]["description"]
    for key, value in labels.items():
        description = description.replace(f"{{{{ $labels.{key} }}}}", value)
    return {
        "eval_time": at,
        "alertname": alert,
        "exp_alerts": [
            {
                "exp_labels": {"severity": rule["labels"]["severity"], **labels},
                "exp_annotations": {"summary": summary, "description": description},
            }
        ],
    }


def quiet_then_fires(alert: str, quiet: str, at: str, summary: str, **labels: str) -> list[dict[str, Any]]:
    """`alert` does not fire yet at `quiet`, and fires at `at`."""
    return [fires(alert, quiet, None), fires(alert, at, summary, **labels)]


def webhook_histogram(bucket: str, per_minute: int) -> list[dict[str, str]]:
    """The patient step's answers for 20 minutes, every one of them in the bucket `le=bucket`."""
    return [
        series(
            "linje72_webhook_seconds_bucket",
            f"0+{per_minute if float(le) >= float(bucket) else 0}x20",
            le=le,
            step="patient",
            **APP,
        )
        for le in ("0.025", "1.0", "2.0", "3.0", "+Inf")
    ]


def calls(connected: int, unanswered: int) -> list[dict[str, str]]:
    """An hour and a half of calls ending at a steady rate: so many of each an hour."""
    return [
        series("linje72_calls_total", f"0+{count / 60}x90", outcome=outcome, route="responsibility", **APP)
        for outcome, count in (("connected", connected), ("unanswered", unanswered))
    ]


CASES: list[tuple[str, list[dict[str, str]], list[dict[str, Any]]]] = [
    (
        "an app process stops answering",
        [series("up", "1 1 0 0 0 0", **APP)],
        quiet_then_fires(
            "Linje72AppDown",
            "3m",
            "4m",
            "A Linje 72 app process on app1:8000 is not answering its scrape",
            **APP,
        ),
    ),
    (
        "the database away for a minute",
        [series("linje72_database_up", "1 1 0 0 0 0", **APP)],
        quiet_then_fires(
            "Linje72DatabaseUnreachable", "2m", "3m", "app1:8000 cannot reach PostgreSQL", **APP
        ),
    ),
    (
        "three calls in the spool",
        [series("linje72_spool_depth", "0 3x20", **APP)],
        quiet_then_fires(
            "Linje72CallsWaitInTheSpool", "5m", "12m", "3 calls wait in the spool on app1:8000", **APP
        ),
    ),
    (
        "webhooks near the deadline",
        webhook_histogram("3.0", 10),
        quiet_then_fires("Linje72WebhooksSlow", "8m", "17m", "The slowest webhooks take 2.99s (p99)"),
    ),
    (
        "webhooks answered quickly",
        webhook_histogram("0.025", 10),
        [fires("Linje72WebhooksSlow", "17m", None)],
    ),
    (
        "the provider used the fallback URL",
        [series("linje72_webhook_seconds_count", "0 0 0 0 0 1 2 2 2 2 2", step="fallback", **APP)],
        quiet_then_fires(
            "Linje72FallbackUrlUsed",
            "3m",
            "8m",
            "The provider used the fallback URL about 2 times in 10 minutes",
        ),
    ),
    (
        "signatures refused",
        [series("linje72_security_events_total", "0+3x15", kind="refused_signature", **APP)],
        quiet_then_fires(
            "Linje72SignaturesRefused",
            "2m",
            "12m",
            "About 30 webhooks were refused for a wrong signature in 10 minutes",
        ),
    ),
    (
        "a caller used up the look-ups",
        [series("linje72_security_events_total", "0 0 1 1 1", kind="lookup_limit", **APP)],
        quiet_then_fires(
            "Linje72MisuseOfTheLine",
            "1m",
            "4m",
            "Refusals in the last hour, unit codes guessed or patients looked up: about 1",
        ),
    ),
    (
        "three calls in ten reach nobody",
        calls(connected=7, unanswered=3),
        [fires("Linje72ManyCallsReachNobody", "80m", "30% of the last hour's calls reached nobody")],
    ),
    (
        "one call in ten reaches nobody",
        calls(connected=9, unanswered=1),
        [fires("Linje72ManyCallsReachNobody", "80m", None)],
    ),
    (
        "two calls in four reach nobody, but only four calls",
        calls(connected=2, unanswered=2),
        [fires("Linje72ManyCallsReachNobody", "80m", None)],
    ),
    (
        "gaps in the coverage ahead",
        [series("linje72_coverage_gaps_ahead", "2x40", **APP)],
        quiet_then_fires(
            "Linje72CoverageGapsAhead",
            "20m",
            "35m",
            "2 gaps in the next 7 days where a department has nobody of its own to ring",
        ),
    ),
    (
        "the scheduler stops",
        [series("up", "1 1 0x20", instance="sched:9172", job="linje72-scheduler")],
        quiet_then_fires("Linje72SchedulerDown", "5m", "13m", "No Linje 72 scheduler is running"),
    ),
    (
        "the scheduler runs",
        [series("up", "1x20", instance="sched:9172", job="linje72-scheduler")],
        [fires("Linje72SchedulerDown", "15m", None)],
    ),
    (
        "a job fails",
        [series("linje72_job_runs_total", "0 0 1 1", job="purge", outcome="failed", instance="sched:9172")],
        [
            fires(
                "Linje72JobFailed",
                "3m",
                "The scheduler's job purge failed in the last hour",
                instance="sched:9172",
                job="purge",
                outcome="failed",
            )
        ],
    ),
    (
        "the spool's drain last succeeded at the start",
        [
            series("linje72_job_last_success_timestamp_seconds", "0x20", job="drain_spool", instance="s"),
            series("linje72_job_last_success_timestamp_seconds", "0x20", job="purge", instance="s"),
        ],
        quiet_then_fires(
            "Linje72JobNotSucceeding",
            "9m",
            "11m",
            "The scheduler's job drain_spool has not succeeded for 11m 0s",
            job="drain_spool",
            instance="s",
        ),
    ),
]


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (Debian's prometheus package; .ci/run installs it)",
)
def test_the_alerts_fire_when_they_should_and_not_before(tmp_path: Path) -> None:
    tests = [
        {"name": name, "interval": "1m", "input_series": given, "alert_rule_test": expected}
        for name, given, expected in CASES
    ]
    # Every alert is tested firing at least once.
    tested = {case["alertname"] for _, _, expected in CASES for case in expected if case["exp_alerts"]}
    assert tested == set(all_rules())
    file = tmp_path / "alert_rules_test.yml"
    file.write_text(yaml.safe_dump({"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": tests}))
    checked = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    run = subprocess.run(["promtool", "test", "rules", str(file)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
