"""A region's calls, simulated one by one and counted into statistics rows as the retention job
counts real calls: for the dashboard's browser test and its benchmark (a year of 500,000 calls)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.data.models import ContactStatistic
from app.services.retention import MEASURES, answer_band

ROUTES = (("responsibility", 80), ("inpatient", 5), ("no_responsibility", 10), ("unidentified_caller", 3),
          ("invalid_patient", 2))  # fmt: skip
OUTCOMES = (("connected", 72), ("forwarded", 14), ("unanswered", 8), ("abandoned", 6))
KINDS = (("home_nursing", 45), ("nursing_home", 25), ("temporary_stay", 8), ("gp", 10), ("acute_1813", 5),
         ("acute_nursing", 4), ("residential", 3))  # fmt: skip

Bucket = tuple[date, str, str, str, str, str, str, str]


def _pick(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in table], [weight for _, weight in table])[0]


def simulate(
    departments: Sequence[tuple[str, str]],
    municipalities: Sequence[str],
    first: date,
    days: int,
    calls: int,
    seed: int = 72,
) -> dict[Bucket, Counter[str]]:
    """`calls` calls over `days` days from `first` (fewer at weekends), among `departments`
    (code, agreement), summed per statistics bucket."""
    rng = random.Random(seed)
    weights = [0.6 if (first + timedelta(days=n)).weekday() >= 5 else 1.0 for n in range(days)]
    per_day = Counter(rng.choices(range(days), weights, k=calls))
    # Some departments, and some municipalities, are far busier than others.
    department_weights = [rng.uniform(0.3, 3) for _ in departments]
    municipality_weights = [rng.uniform(0.2, 4) for _ in municipalities]
    sums: dict[Bucket, Counter[str]] = {}
    for offset, count in per_day.items():
        day = first + timedelta(days=offset)
        for _ in range(count):
            route = _pick(rng, ROUTES)
            outcome = _pick(rng, OUTCOMES)
            held = route in ("responsibility", "inpatient")
            code, agreement = (
                rng.choices(departments, department_weights)[0] if held or rng.random() < 0.5 else ("", "")
            )
            municipality = rng.choices(municipalities, municipality_weights)[0] if held else ""
            kind = _pick(rng, KINDS) if route != "unidentified_caller" else ""
            period = "day" if rng.random() < 0.62 else "oncall"
            bucket = (day, code, period, route, outcome, kind, municipality, agreement)
            counts = sums.setdefault(bucket, Counter())
            counts.update(calls=1, attempts=rng.randint(1, 3), seconds=rng.randint(60, 600))
            if outcome in ("connected", "forwarded"):
                waited = round(25 + rng.expovariate(1 / (35 if period == "day" else 55)))
                counts.update({"answered": 1, "answer_seconds": waited, answer_band(waited): 1})
            elif outcome == "unanswered" or rng.random() < 0.5:
                counts.update(follow_ups=1)
                if rng.random() < 0.9:
                    counts.update(follow_ups_closed=1, follow_up_seconds=round(60 * rng.expovariate(1 / 50)))
    return sums


def store(session: Session, sums: dict[Bucket, Counter[str]], chunk: int = 5000) -> int:
    """Insert the buckets as statistics rows; return how many rows."""
    names = ("day", "department", "period", "route", "outcome", "caller_kind", "municipality", "agreement")
    rows = [
        {**dict(zip(names, bucket, strict=True)), **{m: counts[m] for m in MEASURES}}
        for bucket, counts in sums.items()
    ]
    for start in range(0, len(rows), chunk):
        session.execute(insert(ContactStatistic), rows[start : start + chunk])
    return len(rows)
