"""Benchmark: the pure routing decision against the size of the rota it is given.

The webhook hands `decide` only the shifts covering now (one indexed query), so
its cost should not grow with the rota; this prints the cost per decision for
rotas of growing size, to show what happens if a caller passes far more.

    .venv/bin/python bench/routing_decision.py
"""

from __future__ import annotations

import timeit
from datetime import UTC, datetime, timedelta

from routing import Calendar, DepartmentInfo, DischargeInfo, ShiftInfo, decide

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DEPARTMENT = DepartmentInfo(
    "RH-KARD", "Hjertemedicinsk Klinik", "Rigshospitalet", "+4531102001", "+4531100000"
)
DISCHARGES = [
    DischargeInfo(f"D{n}", "RH-KARD", NOW - timedelta(hours=20 + 24 * n), "home_nursing") for n in range(5)
]


def shifts(count: int) -> list[ShiftInfo]:
    return [
        ShiftInfo(
            "day" if n % 3 else "backup",
            NOW - timedelta(hours=n % 48),
            NOW + timedelta(hours=1 + n % 5),
            f"+45401{n % 100000:05d}",
        )
        for n in range(count)
    ]


def main() -> None:
    calendar = Calendar()
    baseline = None
    print(f"{'shifts given':>12}  {'µs per decision':>16}  {'ratio to 3 shifts':>18}")
    for count in (3, 30, 300, 3000):
        rota = shifts(count)

        def run(rota: list[ShiftInfo] = rota) -> None:
            decide(
                discharges=DISCHARGES,
                departments={"RH-KARD": DEPARTMENT},
                shifts=rota,
                calendar=calendar,
                now=NOW,
                window=timedelta(hours=72),
                fallback_number="+4538640000",
                after_hours_number="1813",
            )

        repeat = max(20, 20000 // count)
        seconds = min(timeit.repeat(run, number=repeat, repeat=5)) / repeat
        baseline = baseline or seconds
        print(f"{count:>12}  {seconds * 1e6:>16.1f}  {seconds / baseline:>18.1f}")


if __name__ == "__main__":
    main()
