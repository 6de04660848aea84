"""A believable demo region of the Capital Region of Denmark, seeded around `now`.

`seed_demo` loads hospital departments, registered callers, a rota from yesterday
to three days ahead and the discharges of fictional patients, and returns a
summary for the person trying the product. Running it again updates the same
records instead of adding new ones.

The CPR numbers below are fictional demo numbers (real dates, valid century
digits). They are stored like real ones, encrypted and found by a keyed hash, and
appear only in the returned summary: never log them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.cpr import CprVault
from app.models import Caller, Department, Discharge
from routing.calendar import COPENHAGEN, Calendar, DayHours
from schedules.rota import RotaEntry, replace_rota


@dataclass(frozen=True)
class DemoDepartment:
    code: str
    name: str
    hospital: str
    day_phone: str
    oncall_phone: str | None
    switchboard_phone: str
    day_hours: str | None
    day_doctors: tuple[tuple[str, str], ...]  # (name, mobile), alternating by day
    oncall_doctors: tuple[tuple[str, str], ...]  # vagthavende læger, rotating
    backup_doctor: tuple[str, str]  # bagvagt for the whole window


@dataclass(frozen=True)
class DemoCaller:
    phone: str | None
    code: str | None
    organisation: str
    kind: str
    language: str = "da"


@dataclass(frozen=True)
class DemoDischarge:
    external_id: str
    department: str
    hours_ago: int  # discharged this many hours before `now`
    stay_hours: int | None  # admitted this many hours before the discharge; None: unknown
    destination: str
    municipality: str
    gp_phone: str | None = None
    extended: bool = False  # responsibility_until tomorrow at EXTENDED_UNTIL local time


@dataclass(frozen=True)
class DemoPatient:
    cpr: str
    active: bool  # whether a call about the patient reaches the department now
    expect: str  # what the person trying the demo will hear, in a few words
    discharges: tuple[DemoDischarge, ...]


DEPARTMENTS: tuple[DemoDepartment, ...] = (
    DemoDepartment(
        "RH-KARD",
        "Hjertemedicinsk Klinik",
        "Rigshospitalet",
        "+4531102001",
        "+4531102009",
        "+4531100000",
        None,
        day_doctors=(("Anna Holm", "+4540101001"), ("Mikkel Friis", "+4540101004")),
        oncall_doctors=(
            ("Bo Jensen", "+4540101002"),
            ("Sara Lindholm", "+4540101005"),
            ("Jakob Winther", "+4540101006"),
        ),
        backup_doctor=("Cecilie Lund", "+4540101003"),
    ),
    DemoDepartment(
        "BFH-GER",
        "Geriatrisk Afdeling",
        "Bispebjerg og Frederiksberg Hospital",
        "+4531203001",
        None,  # no on-call phone of its own: the rota and the switchboard carry the nights
        "+4531200000",
        "08:00-15:30",
        day_doctors=(("Karen Bisgaard", "+4540102001"), ("Niels Overgaard", "+4540102004")),
        oncall_doctors=(
            ("Dorte Berg", "+4540102002"),
            ("Emil Vestergaard", "+4540102005"),
            ("Hanne Krogh", "+4540102006"),
        ),
        backup_doctor=("Ole Damgaard", "+4520102003"),
    ),
    DemoDepartment(
        "NOH-MED",
        "Medicinsk Afdeling",
        "Nordsjællands Hospital Hillerød",
        "+4531304001",
        "+4531304009",
        "+4531300000",
        None,
        day_doctors=(("Lotte Brandt", "+4540103001"), ("Anders Holst", "+4540103004")),
        oncall_doctors=(
            ("Birgitte Skov", "+4540103002"),
            ("Morten Kjeldsen", "+4540103005"),
            ("Pernille Dam", "+4540103006"),
        ),
        backup_doctor=("Steen Lauridsen", "+4520103003"),
    ),
    DemoDepartment(
        "HGH-LUNG",
        "Lungemedicinsk Afdeling",
        "Herlev og Gentofte Hospital",
        "+4531405001",
        "+4531405009",
        "+4531400000",
        None,
        day_doctors=(("Marianne Ebbesen", "+4540104001"), ("Christian Bak", "+4540104004")),
        oncall_doctors=(
            ("Tobias Juhl", "+4540104002"),
            ("Nanna Hvid", "+4540104005"),
            ("Jesper Munk", "+4540104006"),
        ),
        backup_doctor=("Grethe Nørgaard", "+4520104003"),
    ),
    DemoDepartment(
        "AHH-MED",
        "Medicinsk Afdeling",
        "Amager og Hvidovre Hospital",
        "+4531506001",
        "+4531506009",
        "+4531500000",
        None,
        day_doctors=(("Rikke Svendsen", "+4540105001"), ("Kristian Bonde", "+4540105004")),
        oncall_doctors=(
            ("Astrid Mikkelsen", "+4540105002"),
            ("Mathias Lykke", "+4540105005"),
            ("Helle Ravn", "+4540105006"),
        ),
        backup_doctor=("Torben Iversen", "+4520105003"),
    ),
    DemoDepartment(
        "BOH-MED",
        "Medicinsk Afdeling",
        "Bornholms Hospital",
        "+4531607001",
        "+4531607009",
        "+4531600000",
        None,
        day_doctors=(("Ulla Kofoed", "+4540106001"), ("Hans Ipsen", "+4540106004")),
        oncall_doctors=(
            ("Peter Munch", "+4540106002"),
            ("Lene Hjorth", "+4540106005"),
            ("Klaus Sonne", "+4540106006"),
        ),
        backup_doctor=("Inge Westh", "+4520106003"),
    ),
    DemoDepartment(
        "RHG-NEURO",
        "Neurologisk Afdeling, Glostrup",
        "Rigshospitalet",
        "+4531708001",
        "+4531708009",
        "+4531700000",
        None,
        day_doctors=(("Sanne Thygesen", "+4540107001"), ("Martin Ladefoged", "+4540107004")),
        oncall_doctors=(
            ("Ida Gram", "+4540107002"),
            ("Frederik Storm", "+4540107005"),
            ("Camilla Brix", "+4540107006"),
        ),
        backup_doctor=("Poul Kastrup", "+4520107003"),
    ),
)

CALLERS: tuple[DemoCaller, ...] = (
    # The four callers of spec/examples/callers.csv, as they are there.
    DemoCaller("+4532501010", "4711", "Hjemmesygeplejen Valby, Københavns Kommune", "home_nursing"),
    DemoCaller("+4532501020", "4712", "Plejecenter Solgården", "nursing_home"),
    DemoCaller(None, "4713", "Midlertidige pladser Kildegården", "temporary_stay"),
    DemoCaller("+4532501040", None, "Lægehuset Nørrebro", "gp", "en"),
    # More of the region's municipalities.
    DemoCaller("+4538211010", "4714", "Hjemmeplejen, Frederiksberg Kommune", "home_nursing"),
    DemoCaller("+4539771020", "4715", "Plejecenter Egebakken, Gentofte Kommune", "nursing_home"),
    DemoCaller("+4548201030", "4716", "Botilbud Skovbrynet, Hillerød Kommune", "residential"),
    DemoCaller("+4536321010", "4717", "Sygeplejen, Hvidovre Kommune", "home_nursing"),
    DemoCaller("+4556951010", "4718", "Hjemmesygeplejen, Bornholms Regionskommune", "home_nursing"),
    DemoCaller("+4538681813", "4719", "Akuttelefonen 1813, Region Hovedstaden", "acute_1813"),
)

DEFAULT_DAY_HOURS = DayHours(time(8), time(15))
GAP_DEPARTMENT = "HGH-LUNG"  # no on-call shift on the night after today, on purpose
EXTENDED_UNTIL = time(12)  # local time, tomorrow, of the extended responsibility

PATIENTS: tuple[DemoPatient, ...] = (
    DemoPatient(
        "0101451001",
        True,
        "active: RH-KARD, discharged 3 hours ago",
        (DemoDischarge("DEMO-0001", "RH-KARD", 3, 5 * 24, "nursing_home", "København", "+4532501040"),),
    ),
    DemoPatient(
        "0202501002",
        True,
        "active: BFH-GER, discharged 2 days ago",
        (DemoDischarge("DEMO-0002", "BFH-GER", 48, 9 * 24, "home_nursing", "Frederiksberg"),),
    ),
    DemoPatient(
        "0303351003",
        True,
        "active one more hour: NOH-MED, discharged 71 hours ago",
        (DemoDischarge("DEMO-0003", "NOH-MED", 71, 6 * 24, "temporary_stay", "Hillerød", "+4548261212"),),
    ),
    DemoPatient(
        "0404381004",
        False,
        "expired: AHH-MED 80 hours ago; goes to the GP (1813 after hours)",
        (DemoDischarge("DEMO-0004", "AHH-MED", 80, 8 * 24, "home_nursing", "Hvidovre", "+4536491122"),),
    ),
    DemoPatient(
        "0505421005",
        True,
        "extended to tomorrow 12:00: HGH-LUNG, discharged 4 days ago",
        (
            DemoDischarge(
                "DEMO-0005", "HGH-LUNG", 96, 12 * 24, "residential", "Gladsaxe", "+4539671313", extended=True
            ),
        ),
    ),
    DemoPatient(
        "0606481006",
        False,
        'none: BOH-MED discharge to "other"; goes to the GP or 1813',
        (DemoDischarge("DEMO-0006", "BOH-MED", 24, 7 * 24, "other", "Bornholm", "+4556914040"),),
    ),
    DemoPatient(
        "0707551007",
        False,
        "none: RHG-NEURO stay under 24 hours; no GP known, goes to 1813",
        (DemoDischarge("DEMO-0007", "RHG-NEURO", 10, 20, "home_nursing", "Glostrup"),),
    ),
    DemoPatient(
        "0808321008",
        True,
        "active: AHH-MED 20 hours ago (an older BFH-GER discharge)",
        (
            DemoDischarge("DEMO-0008", "BFH-GER", 60, 7 * 24, "home_nursing", "København", "+4532501040"),
            DemoDischarge("DEMO-0009", "AHH-MED", 20, 30, "home_nursing", "København", "+4532501040"),
        ),
    ),
    DemoPatient(
        "0909384009",
        True,
        "active: RHG-NEURO 26 hours ago; born 1938 (century digit 4)",
        (DemoDischarge("DEMO-0010", "RHG-NEURO", 26, 4 * 24, "temporary_stay", "Albertslund"),),
    ),
)

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class RotaWindow:
    """The local days the demo rota covers, and the gap it leaves."""

    first_day: date
    last_day: date
    gap_start: datetime | None
    gap_end: datetime | None

    @property
    def start(self) -> datetime:
        return _at(self.first_day, time(0))

    @property
    def end(self) -> datetime:
        return _at(self.last_day + timedelta(days=1), time(0))


def seed_demo(session: Session, vault: CprVault, now: datetime) -> str:
    """Load (or refresh) the demo region around `now`; flush, don't commit; return a summary."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    calendar = Calendar(day_hours=DEFAULT_DAY_HOURS)
    departments = _upsert_departments(session)
    session.flush()
    callers = _upsert_callers(session)
    window, shift_count = _replace_rota(session, departments, calendar, now)
    discharge_count = _upsert_discharges(session, vault, departments, now)
    session.flush()
    return _summary(now, window, shift_count, discharge_count, len(callers))


def _upsert_departments(session: Session) -> dict[str, Department]:
    codes = [d.code for d in DEPARTMENTS]
    existing = {
        row.code: row for row in session.scalars(select(Department).where(Department.code.in_(codes)))
    }
    result = {}
    for demo in DEPARTMENTS:
        row = existing.get(demo.code)
        if row is None:
            row = Department(code=demo.code)
            session.add(row)
        row.name = demo.name
        row.hospital = demo.hospital
        row.day_phone = demo.day_phone
        row.oncall_phone = demo.oncall_phone
        row.switchboard_phone = demo.switchboard_phone
        row.day_hours = demo.day_hours
        result[demo.code] = row
    return result


def _upsert_callers(session: Session) -> list[Caller]:
    phones = [c.phone for c in CALLERS if c.phone]
    codes = [c.code for c in CALLERS if c.code]
    rows = list(session.scalars(select(Caller).where(or_(Caller.phone.in_(phones), Caller.code.in_(codes)))))
    by_phone = {row.phone: row for row in rows if row.phone}
    by_code = {row.code: row for row in rows if row.code}
    result = []
    for demo in CALLERS:
        row = (by_phone.get(demo.phone) if demo.phone else None) or (
            by_code.get(demo.code) if demo.code else None
        )
        if row is None:
            row = Caller()
            session.add(row)
        # Take over a phone or code only when no other registered caller holds it.
        if demo.phone and by_phone.get(demo.phone, row) is row:
            row.phone = demo.phone
        if demo.code and by_code.get(demo.code, row) is row:
            row.code = demo.code
        row.organisation = demo.organisation
        row.kind = demo.kind
        row.language = demo.language
        result.append(row)
    return result


def _replace_rota(
    session: Session, departments: dict[str, Department], calendar: Calendar, now: datetime
) -> tuple[RotaWindow, int]:
    """Replace the demo departments' shifts that start from yesterday to three days ahead."""
    today = now.astimezone(COPENHAGEN).date()
    days = [today + timedelta(days=offset) for offset in range(-1, 4)]
    gap_day = today + timedelta(days=1)
    window = RotaWindow(days[0], days[-1], None, None)
    entries: list[RotaEntry] = []
    for place, demo in enumerate(DEPARTMENTS):
        department = departments[demo.code]
        hours = DayHours.parse(demo.day_hours) if demo.day_hours else calendar.day_hours
        for number, day in enumerate(days):
            morning = _at(day, hours.start)
            next_morning = _at(day + timedelta(days=1), hours.start)
            oncall_start = morning
            if calendar.is_working_day(day):
                name, phone = demo.day_doctors[number % len(demo.day_doctors)]
                oncall_start = _at(day, hours.end)
                entries.append(RotaEntry(department, "day", morning, oncall_start, phone, name))
            if demo.code == GAP_DEPARTMENT and day == gap_day:
                window = RotaWindow(days[0], days[-1], oncall_start, next_morning)
            else:
                name, phone = demo.oncall_doctors[(number + place) % len(demo.oncall_doctors)]
                entries.append(RotaEntry(department, "oncall", oncall_start, next_morning, phone, name))
            name, phone = demo.backup_doctor
            entries.append(RotaEntry(department, "backup", morning, next_morning, phone, name))
    # The same replacement a rota file gets: shifts starting inside the covered period go.
    replace_rota(session, entries)
    count = len(entries)
    return window, count


def _upsert_discharges(
    session: Session, vault: CprVault, departments: dict[str, Department], now: datetime
) -> int:
    base = now.astimezone(UTC).replace(second=0, microsecond=0)
    tomorrow = now.astimezone(COPENHAGEN).date() + timedelta(days=1)
    ids = [d.external_id for p in PATIENTS for d in p.discharges]
    existing = {
        row.external_id: row
        for row in session.scalars(select(Discharge).where(Discharge.external_id.in_(ids)))
    }
    for patient in PATIENTS:
        lookup = vault.lookup_key(patient.cpr)
        for demo in patient.discharges:
            row = existing.get(demo.external_id)
            if row is None:
                row = Discharge(external_id=demo.external_id)
                session.add(row)
            if row.cpr_lookup != lookup:
                row.cpr_lookup = lookup
                row.cpr_encrypted = vault.encrypt(patient.cpr)
            row.department = departments[demo.department]
            row.discharged_at = base - timedelta(hours=demo.hours_ago)
            row.admitted_at = (
                None if demo.stay_hours is None else row.discharged_at - timedelta(hours=demo.stay_hours)
            )
            row.destination = demo.destination
            row.municipality = demo.municipality
            row.gp_phone = demo.gp_phone
            row.responsibility_until = _at(tomorrow, EXTENDED_UNTIL) if demo.extended else None
    return len(ids)


def _at(day: date, moment: time) -> datetime:
    """Return the local wall-clock time `moment` on `day` in Copenhagen, as UTC."""
    return datetime.combine(day, moment, tzinfo=COPENHAGEN).astimezone(UTC)


def _day(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def _local(moment: datetime) -> str:
    local = moment.astimezone(COPENHAGEN)
    return f"{_day(local.date())} {local:%H:%M}"


def _summary(now: datetime, window: RotaWindow, shifts: int, discharges: int, callers: int) -> str:
    hospitals = {d.hospital for d in DEPARTMENTS}
    municipalities = {d.municipality for p in PATIENTS for d in p.discharges}
    lines = [
        f"Linje 72 demo region (Region Hovedstaden), loaded at {_local(now)}.",
        f"  {len(DEPARTMENTS)} departments at {len(hospitals)} hospitals, {callers} callers,",
        f"  {shifts} rota shifts from {_day(window.first_day)} to {_day(window.last_day)},",
        f"  {discharges} discharges of {len(PATIENTS)} patients from {len(municipalities)} municipalities.",
    ]
    if window.gap_start and window.gap_end:
        lines += [
            f"Rota gap, on purpose: {GAP_DEPARTMENT} has no on-call doctor",
            f"  from {_local(window.gap_start)} to {_local(window.gap_end)}.",
        ]
    lines += ["", "Departments (code, day hours, hospital):"]
    for demo in DEPARTMENTS:
        hours = demo.day_hours or str(DEFAULT_DAY_HOURS)
        extra = "" if demo.oncall_phone else ", no on-call phone"
        lines.append(f"  {demo.code:<10} {hours}  {demo.hospital}{extra}")
    lines += ["", "Patients to try (fictional CPR numbers; key all 10 digits):"]
    for patient in PATIENTS:
        lines.append(f"  {patient.cpr}  {patient.expect}")
    lines += ["", "Call from a number below, or from an unknown one and key the unit code:"]
    for caller in CALLERS:
        phone = caller.phone or "(no phone)"
        code = caller.code or "-"
        english = " (English)" if caller.language == "en" else ""
        lines.append(f"  {phone:<12} {code:<5} {caller.organisation}{english}")
    return "\n".join(lines)
