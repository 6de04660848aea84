"""The demo's data: Region Østdanmark's two agreements, departments of the Capital Region's hospitals
and one of Region Zealand's, callers, fictional patients.

The CPR numbers below are fictional demo numbers (real dates, valid century
digits). They are stored like real ones, encrypted and found by a keyed hash, and
appear only in the seeding summary: never log them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from app.intake.agreements import AgreementRecord


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
    agreement: str = "HOV"
    oncall_pool: str | None = None  # the department whose on-call chain it takes at night
    nurses: tuple[tuple[str, str], ...] = ()  # (name, phone): a nurse by day, another by night


@dataclass(frozen=True)
class DemoCaller:
    phone: str | None
    code: str | None
    organisation: str
    kind: str
    language: str = "da"
    agreement: str = "HOV"  # the agreement whose line the unit calls (its greeting)


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


# Region Østdanmark from 1 January 2027: the Capital Region's agreement and Zealand's.
ZEALAND_MUNICIPALITIES = (
    "Faxe",
    "Greve",
    "Guldborgsund",
    "Holbæk",
    "Kalundborg",
    "Køge",
    "Lejre",
    "Lolland",
    "Næstved",
    "Odsherred",
    "Ringsted",
    "Roskilde",
    "Slagelse",
    "Solrød",
    "Sorø",
    "Stevns",
    "Vordingborg",
)
AGREEMENTS: tuple[AgreementRecord, ...] = (
    AgreementRecord(
        code="HOV",
        name="Region Hovedstaden",
        line_name="72-timers-linjen",
        window_hours=72,
        short_stay_hours=24,
        psychiatry=False,
        after_hours_number="+4538681813",
        fallback_number="+4538383838",
        closed_days=["12-24", "12-31", "06-05"],
    ),
    AgreementRecord(
        code="SJ",
        name="Region Sjælland",
        line_name="96-timers-linjen",
        window_hours=96,
        min_age=18,
        municipalities=list(ZEALAND_MUNICIPALITIES),
        short_stay_hours=24,
        nursing_home_short_stays=True,
        psychiatry=True,
        nurse_first=True,
        after_hours_number="+4570151818",
        fallback_number="+4747322000",
        closed_days=["12-24", "12-31"],
        half_days={"06-05": "12:00"},
    ),
)

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
    # Region Zealand: nursing callers reach the ward's nurse first; at night two wards share the
    # medical on-call team SUH-VAGT (an on-call pool).
    DemoDepartment(
        "SUH-MED",
        "Medicinsk Afdeling, Køge",
        "Sjællands Universitetshospital",
        "+4747321001",
        None,  # its nights are the pool's
        "+4747322000",
        None,
        day_doctors=(("Signe Bech", "+4540108001"), ("Rasmus Kirk", "+4540108004")),
        oncall_doctors=(),
        backup_doctor=("Erik Fog", "+4520108003"),
        agreement="SJ",
        oncall_pool="SUH-VAGT",
        nurses=(("Lene Holt, sygeplejerske", "+4540108011"), ("Mette Friis, sygeplejerske", "+4540108012")),
    ),
    DemoDepartment(
        "SUH-GER",
        "Geriatrisk Afdeling, Roskilde",
        "Sjællands Universitetshospital",
        "+4746321001",
        None,
        "+4747322000",
        None,
        day_doctors=(("Anne Holm", "+4540109001"), ("Søren Bay", "+4540109004")),
        oncall_doctors=(),
        backup_doctor=("Vibeke Skov", "+4520109003"),
        agreement="SJ",
        oncall_pool="SUH-VAGT",
    ),
    DemoDepartment(
        "SUH-VAGT",
        "Medicinsk vagtlag (fælles vagt om natten)",
        "Sjællands Universitetshospital",
        "+4747321100",
        "+4747321109",
        "+4747322000",
        None,
        day_doctors=(("Kim Dahl", "+4540110001"), ("Nina Lau", "+4540110004")),
        oncall_doctors=(
            ("Tove Borup", "+4540110002"),
            ("Jonas Hald", "+4540110005"),
            ("Maja Lund", "+4540110006"),
        ),
        backup_doctor=("Henrik Lind", "+4520110003"),
        agreement="SJ",
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
    # Region Zealand's municipalities: they hear "Velkommen til 96-timers-linjen".
    DemoCaller("+4556631010", "4720", "Hjemmesygeplejen, Køge Kommune", "home_nursing", agreement="SJ"),
    DemoCaller("+4546311020", "4721", "Akutsygeplejen, Roskilde Kommune", "acute_nursing", agreement="SJ"),
)

# No on-call shift on the night after today, on purpose, in a department without an on-call
# phone of its own: calls that night go to its backup and switchboard.
GAP_DEPARTMENT = "BFH-GER"
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
    # Region Zealand's agreement: 96 hours, adults, its own residents.
    DemoPatient(
        "2207511011",
        True,
        "active under Zealand's 96 hours: SUH-MED, discharged 80 hours ago",
        (DemoDischarge("DEMO-0011", "SUH-MED", 80, 5 * 24, "home_nursing", "Køge", "+4556651414"),),
    ),
    DemoPatient(
        "0412441014",
        True,
        "active: SUH-GER 30 hours ago; at night the pool SUH-VAGT answers",
        (DemoDischarge("DEMO-0014", "SUH-GER", 30, 6 * 24, "nursing_home", "Roskilde", "+4546351515"),),
    ),
    DemoPatient(
        "1506104012",
        False,
        "none: SUH-MED 10 h ago, 16 years old (Zealand's: adults)",
        (DemoDischarge("DEMO-0012", "SUH-MED", 10, 3 * 24, "home_nursing", "Roskilde"),),
    ),
    DemoPatient(
        "0310521013",
        False,
        "none: SUH-MED 10 h ago, lives in København (Zealand's: residents)",
        (DemoDischarge("DEMO-0013", "SUH-MED", 10, 3 * 24, "nursing_home", "København", "+4532501040"),),
    ),
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    departments: tuple[str, ...]
    password: str  # a demo's password, set again at every seeding: never use the demo in production


ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin@demo.linje72.dk", "admin", (), "demo-admin-7272"),
    DemoAccount("planner@demo.linje72.dk", "planner", ("RH-KARD", "BFH-GER"), "demo-planner-7272"),
    DemoAccount("afdeling@demo.linje72.dk", "department", ("RH-KARD",), "demo-afdeling-7272"),
    DemoAccount("region@demo.linje72.dk", "region", (), "demo-region-7272"),
)
