"""Configuration: defaults, then a settings file, then the environment; checked once at start.

A deployment may keep its settings in one file of `NAME=value` lines (the
instance folder's `linje72.env`, or the file `LINJE72_SETTINGS_FILE` names); the
environment overrides it. The configurable parts of the routing policy are parsed
here into a `Policy`, so that a bad value stops the start with its name.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any
from urllib.parse import urlsplit

import limits
from dotenv import dotenv_values

from app.values.access import GroupRole, parse_role_map
from app.values.phones import PhoneError, normalise
from routing import Calendar, DayHours
from routing.calendar import DEFAULT_CLOSED_DAYS, DEFAULT_DAY_HOURS, DEFAULT_GP_HOURS
from routing.decision import DESTINATIONS


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names the variable."""


SETTINGS_FILE = "linje72.env"
SETTINGS_FILE_VARIABLE = "LINJE72_SETTINGS_FILE"
INSTANCE_PATH_VARIABLE = "LINJE72_INSTANCE_PATH"
REQUIRED = (
    "TWILIO_AUTH_TOKEN",
    "LINJE72_SECRET_KEY",
    "LINJE72_PUBLIC_URL",
    "LINJE72_FALLBACK_NUMBER",
    "LINJE72_AFTER_HOURS_NUMBER",
)
MIN_SECRET_LENGTH = 32

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # a SQLite file in the instance folder
    "TWILIO_AUTH_TOKEN": None,
    "TWILIO_AUTH_TOKEN_SECONDARY": None,  # a second token accepted while the token is rotated
    "LINJE72_SECRET_KEY": None,
    "LINJE72_PUBLIC_URL": None,
    "LINJE72_FALLBACK_NUMBER": None,
    # The region's after-hours line for professionals: a full number, no default (1813 is
    # a short number and a citizens' queue).
    "LINJE72_AFTER_HOURS_NUMBER": None,
    "LINJE72_RESPONSIBILITY_HOURS": "72",
    "LINJE72_DAY_HOURS": str(DEFAULT_DAY_HOURS),
    "LINJE72_GP_HOURS": str(DEFAULT_GP_HOURS),
    "LINJE72_CLOSED_DAYS": ",".join(f"{m:02d}-{d:02d}" for m, d in sorted(DEFAULT_CLOSED_DAYS, reverse=True)),
    "LINJE72_RING_SECONDS": "20",
    # Every webhook answers within this many seconds whatever the database does (the
    # provider gives up at 15 s; the policy says 5).
    "LINJE72_WEBHOOK_DEADLINE": "4",
    "LINJE72_DB_TIMEOUT": "3",
    # The misuse limits (routing-policy.md, "Misuse").
    "LINJE72_LOCKOUT_FAILURES": "10",  # failed unit codes from one number within an hour
    "LINJE72_LOCKOUT_MINUTES": "60",  # how long the number is then not asked again
    "LINJE72_LOOKUPS_PER_HOUR": "30",  # patient look-ups per identified caller
    # The console's accounts.
    "LINJE72_LOGIN_FAILURES": "5",  # failed logins before the account is locked for a while
    "LINJE72_LOGIN_LOCK_MINUTES": "15",
    "LINJE72_SESSION_IDLE_MINUTES": "30",  # a console session ends after this long unused
    # Single sign-on with the region's identity provider (OpenID Connect); off when no issuer.
    "LINJE72_OIDC_ISSUER": None,
    "LINJE72_OIDC_CLIENT_ID": None,
    "LINJE72_OIDC_CLIENT_SECRET": None,
    "LINJE72_OIDC_GROUPS_CLAIM": "groups",
    "LINJE72_OIDC_ROLE_MAP": "",  # group=role[:DEPT,DEPT];…
    "LINJE72_VOICE_DA": "Polly.Naja",
    "LINJE72_VOICE_EN": "Polly.Amy",
    "LINJE72_LOG_LEVEL": "INFO",
    # Warnings of rota gaps to the planners (SMS, or a call to a number not marked mobile).
    # Sending is on when both the account and the sender are set; off, alerts are still recorded.
    "TWILIO_ACCOUNT_SID": None,
    "LINJE72_SMS_FROM": None,  # an E.164 number of the account, or an alphanumeric sender id
    "LINJE72_CALL_FROM": None,  # the number warning calls come from; default LINJE72_SMS_FROM
    "TWILIO_REGION": None,  # e.g. ie1 (Ireland); none: the provider's default (us1)
    "TWILIO_EDGE": None,  # e.g. dublin
    "LINJE72_ALERT_TIME": "07:00",  # the morning's check of the days ahead, Copenhagen time
    "LINJE72_ALERT_DAYS": "7",  # how many days ahead the checks look
    # Key rotation: the old secret, accepted beside LINJE72_SECRET_KEY until `linje72 rotate-key`
    # has rewritten every CPR number; and the export pseudonyms' own key, which does not rotate.
    "LINJE72_SECRET_KEY_PREVIOUS": None,
    "LINJE72_PSEUDONYM_KEY": None,  # 64 hex digits; none: derived from LINJE72_SECRET_KEY
    # How long personal data is kept after a stay's responsibility ended or a call was made.
    "LINJE72_RETENTION_DAYS": "180",
    # A TOML file mapping the hospitals' department and disposition codes to ours (HL7 feeds).
    "LINJE72_FEED_MAPPINGS": None,
    # The follow-up worklist: when an open task is overdue, and when its reminders go out (to whoever
    # answers first for the department, then to the backup), in minutes after the call.
    "LINJE72_FOLLOWUP_OVERDUE_MINUTES": "60",
    "LINJE72_REMINDER_FIRST_MINUTES": "15",
    "LINJE72_REMINDER_SECOND_MINUTES": "45",
    # Operations: log lines as text (a terminal) or JSON (a log collector); who may read /metrics.
    "LINJE72_LOG_FORMAT": "text",
    "LINJE72_METRICS_TOKEN": None,  # a bearer token that reads /metrics from anywhere
    "LINJE72_METRICS_NETWORKS": "",  # networks (CIDR, comma-separated) that read it without one
    # The scheduler's own metrics (it has no web server): a port to serve them on (off when unset),
    # and the address it listens at (this machine only unless told otherwise, as /metrics).
    "LINJE72_SCHEDULER_METRICS_PORT": None,
    "LINJE72_SCHEDULER_METRICS_ADDRESS": "127.0.0.1",
    # Rate limits ("N per M minutes"); shared by every process when Redis is given, else per process.
    "LINJE72_LOGIN_RATE_LIMIT": "10 per 15 minutes",  # login attempts from one client address
    "LINJE72_API_RATE_LIMIT": "600 per minute",  # API requests with one token
    "LINJE72_REDIS_URL": None,
    # How many proxies (load balancer, ingress) stand in front and set X-Forwarded-For/-Proto.
    "LINJE72_TRUSTED_PROXIES": "0",
}


def instance_path_from(environ: Mapping[str, str]) -> str | None:
    """Return the instance folder the environment names (absolute), or None for the default one."""
    named = environ.get(INSTANCE_PATH_VARIABLE)
    return os.path.abspath(named) if named else None


def settings_file(environ: Mapping[str, str], instance_path: str | None) -> str | None:
    """Return the settings file to read: the one named in the environment, else the instance folder's."""
    named = environ.get(SETTINGS_FILE_VARIABLE)
    if named:
        if not os.path.isfile(named):
            raise ConfigError(f"{SETTINGS_FILE_VARIABLE} names {named}, which is not a file")
        return named
    if instance_path:
        path = os.path.join(instance_path, SETTINGS_FILE)
        if os.path.isfile(path):
            return path
    return None


def read_settings_file(path: str) -> dict[str, str]:
    """Return the known settings of a `NAME=value` file; an unknown name is an error (a typo)."""
    values = {name: value for name, value in dotenv_values(path).items() if value is not None}
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]} (known: {', '.join(DEFAULTS)})")
    return values


def load(
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
    *,
    instance_path: str | None = None,
) -> dict[str, Any]:
    """Return the settings: defaults, the settings file, `environ`, then `overrides` (tests, the demo)."""
    settings = dict(DEFAULTS)
    path = settings_file(environ, instance_path)
    layers: list[Mapping[str, str]] = [read_settings_file(path)] if path else []
    for layer in [*layers, environ]:
        for name in DEFAULTS:
            value = layer.get(name)
            if value not in (None, ""):
                settings[name] = value
    settings.update(overrides or {})
    return settings


def check(settings: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the first setting that is missing or wrong."""
    for name in REQUIRED:
        if not settings.get(name):
            raise ConfigError(f"{name} is not set: the service cannot start without it")
    if len(str(settings["LINJE72_SECRET_KEY"])) < MIN_SECRET_LENGTH:
        raise ConfigError(f"LINJE72_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
    problem = public_url_problem(str(settings["LINJE72_PUBLIC_URL"]))
    if problem:
        raise ConfigError(f"LINJE72_PUBLIC_URL {problem}")
    keys_from(settings)
    retention_from(settings)
    follow_ups_from(settings)
    operations_from(settings)


# Less than this and a mistyped setting (18 for 180) would erase the contacts the departments
# still follow up; more than ten years is not a retention.
RETENTION_DAYS = (30, 3650)


def retention_from(settings: Mapping[str, Any]) -> timedelta:
    """Return how long personal data is kept; raise ConfigError naming a bad value."""
    text = str(settings.get("LINJE72_RETENTION_DAYS") or "")
    low, high = RETENTION_DAYS
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise ConfigError(
            f"LINJE72_RETENTION_DAYS must be a whole number of days from {low} to {high}, not {text!r}"
        )
    return timedelta(days=int(text))


@dataclass(frozen=True)
class FollowUps:
    """When a call-back task is overdue on the worklist, and when its two reminders go out."""

    overdue: timedelta = timedelta(minutes=60)
    first_reminder: timedelta = timedelta(minutes=15)
    second_reminder: timedelta = timedelta(minutes=45)


def follow_ups_from(settings: Mapping[str, Any]) -> FollowUps:
    """Parse the worklist's settings; raise ConfigError naming a bad one."""

    def minutes(name: str) -> timedelta:
        return timedelta(minutes=_setting(settings, name, _positive_int))

    first = minutes("LINJE72_REMINDER_FIRST_MINUTES")
    second = minutes("LINJE72_REMINDER_SECOND_MINUTES")
    if second <= first:
        raise ConfigError(
            "LINJE72_REMINDER_SECOND_MINUTES must be later than LINJE72_REMINDER_FIRST_MINUTES: "
            "the backup hears after whoever answers first"
        )
    return FollowUps(minutes("LINJE72_FOLLOWUP_OVERDUE_MINUTES"), first, second)


@dataclass(frozen=True)
class Keys:
    """The secrets CPR numbers are kept with: the current one, the previous one while rotating,
    and the export pseudonyms' own key (None: derived from the current secret)."""

    secret: str
    previous: str | None = None
    pseudonym_key: bytes | None = None


PSEUDONYM_KEY = re.compile(r"[0-9a-fA-F]{64}")


def keys_from(settings: Mapping[str, Any]) -> Keys:
    """Parse the key settings; raise ConfigError naming a bad one (never quoting a secret)."""
    secret = str(settings["LINJE72_SECRET_KEY"])
    previous = settings.get("LINJE72_SECRET_KEY_PREVIOUS") or None
    pseudonym = settings.get("LINJE72_PSEUDONYM_KEY") or None
    if pseudonym is not None and not PSEUDONYM_KEY.fullmatch(str(pseudonym)):
        raise ConfigError("LINJE72_PSEUDONYM_KEY must be 64 hex digits, as `linje72 pseudonym-key` prints it")
    if previous is not None:
        if len(str(previous)) < MIN_SECRET_LENGTH:
            raise ConfigError(f"LINJE72_SECRET_KEY_PREVIOUS must be at least {MIN_SECRET_LENGTH} characters")
        if str(previous) == secret:
            raise ConfigError(
                "LINJE72_SECRET_KEY_PREVIOUS is the same as LINJE72_SECRET_KEY: set the new secret as "
                "LINJE72_SECRET_KEY and the old one as LINJE72_SECRET_KEY_PREVIOUS"
            )
        if pseudonym is None:
            raise ConfigError(
                "LINJE72_PSEUDONYM_KEY is not set: a new LINJE72_SECRET_KEY would give every patient a "
                "new export pseudonym (P-…). Before rotating, with the old secret still as "
                "LINJE72_SECRET_KEY and no LINJE72_SECRET_KEY_PREVIOUS, run `linje72 pseudonym-key` and "
                "set what it prints as LINJE72_PSEUDONYM_KEY"
            )
    return Keys(secret, str(previous) if previous else None, bytes.fromhex(pseudonym) if pseudonym else None)


def public_url_problem(url: str) -> str | None:
    """Return what is wrong with the base URL the provider calls, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"must be the base URL the provider calls, e.g. https://linje72.example.dk, not {url!r}"
    if parts.query or parts.fragment:
        return f"must not carry a query or fragment: {url!r}"
    return None


@dataclass(frozen=True)
class Limits:
    """How much guessing and looking up the line allows (routing-policy.md, "Misuse")."""

    lockout_failures: int = 10
    lockout: timedelta = timedelta(hours=1)
    lookups_per_hour: int = 30
    failure_window: timedelta = timedelta(hours=1)
    lookup_window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Console:
    """How the console's logins and sessions behave."""

    login_failures: int = 5
    login_lock: timedelta = timedelta(minutes=15)
    idle: timedelta = timedelta(minutes=30)
    sso: Sso | None = None


@dataclass(frozen=True)
class Sso:
    """The region's identity provider, and which of its groups give which role."""

    issuer: str
    client_id: str
    client_secret: str
    groups_claim: str
    roles: tuple[GroupRole, ...]


def console_from(settings: Mapping[str, Any]) -> Console:
    """Parse the console's settings; raise ConfigError naming a bad one."""

    def minutes(name: str) -> timedelta:
        return timedelta(minutes=_setting(settings, name, _positive_int))

    return Console(
        login_failures=_setting(settings, "LINJE72_LOGIN_FAILURES", _positive_int),
        login_lock=minutes("LINJE72_LOGIN_LOCK_MINUTES"),
        idle=minutes("LINJE72_SESSION_IDLE_MINUTES"),
        sso=_sso(settings),
    )


def _sso(settings: Mapping[str, Any]) -> Sso | None:
    issuer = settings.get("LINJE72_OIDC_ISSUER")
    if not issuer:
        return None
    for name in ("LINJE72_OIDC_CLIENT_ID", "LINJE72_OIDC_CLIENT_SECRET", "LINJE72_OIDC_ROLE_MAP"):
        if not settings.get(name):
            raise ConfigError(f"{name} is not set: single sign-on (LINJE72_OIDC_ISSUER) needs it")
    if public_url_problem(str(issuer)):
        raise ConfigError(f"LINJE72_OIDC_ISSUER must be the provider's base URL, not {issuer!r}")
    return Sso(
        issuer=str(issuer).rstrip("/"),
        client_id=str(settings["LINJE72_OIDC_CLIENT_ID"]),
        client_secret=str(settings["LINJE72_OIDC_CLIENT_SECRET"]),
        groups_claim=str(settings["LINJE72_OIDC_GROUPS_CLAIM"]),
        roles=_setting(settings, "LINJE72_OIDC_ROLE_MAP", parse_role_map),
    )


def _setting(settings: Mapping[str, Any], name: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(str(settings[name]))
    except (ValueError, PhoneError) as exc:
        raise ConfigError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class Policy:
    """The configurable parts of the routing policy, parsed once at start."""

    calendar: Calendar
    window: timedelta
    fallback_number: str
    after_hours_number: str
    ring_seconds: int
    voices: dict[str, str]
    webhook_deadline: float = 4.0
    limits: Limits = Limits()


def policy_from(settings: Mapping[str, Any]) -> Policy:
    """Parse the policy settings; raise ConfigError naming a bad one."""

    def parsed(name: str, parse: Callable[[str], Any]) -> Any:
        return _setting(settings, name, parse)

    calendar = Calendar(
        day_hours=parsed("LINJE72_DAY_HOURS", DayHours.parse),
        gp_hours=parsed("LINJE72_GP_HOURS", DayHours.parse),
        closed_days=parsed("LINJE72_CLOSED_DAYS", _closed_days),
    )
    return Policy(
        calendar=calendar,
        window=timedelta(hours=parsed("LINJE72_RESPONSIBILITY_HOURS", _positive_hours)),
        fallback_number=parsed("LINJE72_FALLBACK_NUMBER", normalise),
        after_hours_number=parsed("LINJE72_AFTER_HOURS_NUMBER", _full_number),
        ring_seconds=parsed("LINJE72_RING_SECONDS", int),
        voices={"da": settings["LINJE72_VOICE_DA"], "en": settings["LINJE72_VOICE_EN"]},
        webhook_deadline=parsed("LINJE72_WEBHOOK_DEADLINE", _deadline),
        limits=Limits(
            lockout_failures=parsed("LINJE72_LOCKOUT_FAILURES", _positive_int),
            lockout=timedelta(minutes=parsed("LINJE72_LOCKOUT_MINUTES", _positive_int)),
            lookups_per_hour=parsed("LINJE72_LOOKUPS_PER_HOUR", _positive_int),
        ),
    )


# The provider's regions and edges (its "Global Infrastructure"): a typo such as "ireland"
# would send the API requests, and the messages' data, somewhere else.
REGIONS = ("us1", "ie1", "au1")
EDGES = ("dublin", "frankfurt", "ashburn", "umatilla", "sydney", "tokyo", "singapore", "sao-paulo", "roaming")
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
# An alphanumeric sender id: at most 11 letters, digits and spaces, at least one letter.
SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")


@dataclass(frozen=True)
class Sending:
    """The provider account and senders that warnings go out through."""

    account_sid: str
    auth_token: str
    sms_from: str
    call_from: str
    region: str | None = None
    edge: str | None = None


@dataclass(frozen=True)
class Alerts:
    """When the rota's gaps are checked, and how the planners hear of them (`sending` None: off)."""

    public_url: str
    morning: time = time(7)
    days: int = 7
    sending: Sending | None = None


def alerts_from(settings: Mapping[str, Any]) -> Alerts:
    """Parse the warnings' settings; raise ConfigError naming a bad or missing one."""
    days = _setting(settings, "LINJE72_ALERT_DAYS", _positive_int)
    if days > 60:
        raise ConfigError("LINJE72_ALERT_DAYS: at most 60 days ahead")
    return Alerts(
        public_url=str(settings["LINJE72_PUBLIC_URL"]).rstrip("/"),
        morning=_setting(settings, "LINJE72_ALERT_TIME", _clock_time),
        days=days,
        sending=_sending(settings),
    )


def _sending(settings: Mapping[str, Any]) -> Sending | None:
    account, sender = settings.get("TWILIO_ACCOUNT_SID"), settings.get("LINJE72_SMS_FROM")
    if not account and not sender:
        return None
    if not account:
        raise ConfigError("TWILIO_ACCOUNT_SID is not set: sending warnings (LINJE72_SMS_FROM) needs it")
    if not sender:
        raise ConfigError("LINJE72_SMS_FROM is not set: sending warnings (TWILIO_ACCOUNT_SID) needs it")
    if not ACCOUNT_SID.fullmatch(str(account)):
        raise ConfigError(f"TWILIO_ACCOUNT_SID must be AC and 32 hex digits, not {str(account)[:40]!r}")
    sms_from = _setting(settings, "LINJE72_SMS_FROM", _sender)
    call_from = settings.get("LINJE72_CALL_FROM")
    if call_from:
        call_from = _setting(settings, "LINJE72_CALL_FROM", _account_number)
    elif sms_from.startswith("+"):
        call_from = sms_from
    else:
        raise ConfigError(
            "LINJE72_CALL_FROM is not set: LINJE72_SMS_FROM is a sender id, which cannot place the "
            "calls to numbers not marked mobile; give a number of the account"
        )
    region, edge = _region_edge(settings)
    return Sending(str(account), str(settings["TWILIO_AUTH_TOKEN"]), sms_from, call_from, region, edge)


def _region_edge(settings: Mapping[str, Any]) -> tuple[str | None, str | None]:
    region, edge = settings.get("TWILIO_REGION") or None, settings.get("TWILIO_EDGE") or None
    if region is not None and region not in REGIONS:
        raise ConfigError(f"TWILIO_REGION must be one of {', '.join(REGIONS)}, not {region!r}")
    if edge is not None and edge not in EDGES:
        raise ConfigError(f"TWILIO_EDGE must be one of {', '.join(EDGES)}, not {edge!r}")
    return region, edge


@dataclass(frozen=True)
class ProviderApi:
    """How the callers' voice messages are fetched and deleted at the provider: the account's token
    (the account itself comes with each recording's signed callback) and where the API is."""

    auth_token: str
    region: str | None = None
    edge: str | None = None


def provider_api_from(settings: Mapping[str, Any]) -> ProviderApi:
    """Parse the provider API's settings; raise ConfigError naming a bad region or edge."""
    region, edge = _region_edge(settings)
    return ProviderApi(str(settings["TWILIO_AUTH_TOKEN"]), region, edge)


def _sender(text: str) -> str:
    if text.strip().startswith("+") or text.strip().isdigit():
        return _account_number(text)
    if not SENDER_ID.fullmatch(text):
        raise ValueError(
            f"must be a number of the account (E.164) or a sender id of at most 11 letters and digits, "
            f"not {text!r}"
        )
    return text


def _account_number(text: str) -> str:
    return normalise(text, allow_short=False)


def _clock_time(text: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a time of day as HH:MM, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be a whole number above 0, not {text!r}")
    return value


def database_timeout(settings: Mapping[str, Any]) -> float:
    """Return how long one database wait (connect, statement, lock) may last, in seconds."""
    try:
        seconds = float(settings["LINJE72_DB_TIMEOUT"])
    except ValueError:
        raise ConfigError(
            f"LINJE72_DB_TIMEOUT: not a number of seconds: {settings['LINJE72_DB_TIMEOUT']!r}"
        ) from None
    if not 0 < seconds <= 10:
        raise ConfigError("LINJE72_DB_TIMEOUT: must be more than 0 and at most 10 seconds")
    return seconds


def _full_number(text: str) -> str:
    """A number the line dials for professionals: a full number, not a short one such as 1813."""
    try:
        return normalise(text, allow_short=False)
    except PhoneError:
        normalise(text)  # a short number is a clearer error than "not a phone number"
        raise PhoneError(f"must be a full number for professionals, not the short number {text!r}") from None


def _deadline(text: str) -> float:
    seconds = float(text)
    if not 1 <= seconds <= 5:
        raise ValueError("must be between 1 and 5 seconds (the policy's limit is 5)")
    return seconds


def _positive_hours(text: str) -> float:
    hours = float(text)
    if hours <= 0:
        raise ValueError("must be a positive number of hours")
    return hours


def _closed_days(text: str) -> frozenset[tuple[int, int]]:
    """Parse `MM-DD,MM-DD,…` into (month, day) pairs."""
    days = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        month, _, day = item.partition("-")
        date(2024, int(month), int(day))  # a leap year, so 02-29 is allowed
        days.add((int(month), int(day)))
    return frozenset(days)


@dataclass(frozen=True)
class FeedMappings:
    """The hospital systems' codes and ours: department codes, and discharge dispositions to destinations."""

    departments: dict[str, str]
    dispositions: dict[str, str]
    path: str | None = None


MAPPING_TABLES = ("departments", "dispositions")
OUR_CODE_LENGTH = 20  # a department's code (String(20) in the database)


def feed_mappings_from(settings: Mapping[str, Any]) -> FeedMappings:
    """Read the file LINJE72_FEED_MAPPINGS names (none: empty tables); raise ConfigError on a fault."""
    path = settings.get("LINJE72_FEED_MAPPINGS")
    if not path:
        return FeedMappings({}, {})
    name = f"LINJE72_FEED_MAPPINGS ({path})"
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"{name}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not UTF-8 text") from None
    unknown = sorted(set(data) - set(MAPPING_TABLES))
    if unknown:
        raise ConfigError(
            f"{name}: unknown table or key {unknown[0]!r} (expected [departments], [dispositions])"
        )
    tables: dict[str, dict[str, str]] = {}
    for table in MAPPING_TABLES:
        given = data.get(table, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{name}: {table} must be a table ([{table}]), not a single value")
        tables[table] = {}
        for code, ours in given.items():
            if not isinstance(ours, str) or not ours.strip():
                raise ConfigError(f"{name}: [{table}] {code!r} must map to a name in quotes, not {ours!r}")
            tables[table][str(code)] = ours.strip()
    for code, ours in tables["dispositions"].items():
        if ours not in DESTINATIONS:
            raise ConfigError(
                f"{name}: [dispositions] {code!r} maps to {ours!r}, which is not a destination "
                f"(one of {', '.join(sorted(DESTINATIONS))})"
            )
    for code, ours in tables["departments"].items():
        if len(ours) > OUR_CODE_LENGTH:
            raise ConfigError(
                f"{name}: [departments] {code!r} maps to {ours!r}, longer than a department code"
            )
    return FeedMappings(tables["departments"], tables["dispositions"], str(path))


@dataclass(frozen=True)
class Operations:
    """How the service is run and watched: logs, /metrics, rate limits, the proxies in front."""

    log_format: str = "text"
    metrics_token: str | None = None
    metrics_networks: tuple[IPv4Network | IPv6Network, ...] = ()
    login_rate_limit: str = "10 per 15 minutes"
    api_rate_limit: str = "600 per minute"
    redis_url: str | None = None
    trusted_proxies: int = 0
    scheduler_metrics_port: int | None = None  # None: the scheduler serves no metrics
    scheduler_metrics_address: str = "127.0.0.1"


MIN_METRICS_TOKEN_LENGTH = 24


def operations_from(settings: Mapping[str, Any]) -> Operations:
    """Parse the operations settings; raise ConfigError naming a bad one (never quoting a secret)."""
    log_format = str(settings.get("LINJE72_LOG_FORMAT") or "text").lower()
    if log_format not in ("text", "json"):
        raise ConfigError(f"LINJE72_LOG_FORMAT must be text or json, not {log_format!r}")
    token = settings.get("LINJE72_METRICS_TOKEN") or None
    if token is not None and len(str(token)) < MIN_METRICS_TOKEN_LENGTH:
        raise ConfigError(f"LINJE72_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} characters")
    redis_url = settings.get("LINJE72_REDIS_URL") or None
    if redis_url is not None and urlsplit(str(redis_url)).scheme not in ("redis", "rediss"):
        raise ConfigError("LINJE72_REDIS_URL must be a redis:// or rediss:// URL")
    proxies = str(settings.get("LINJE72_TRUSTED_PROXIES") or "0").strip()
    if not proxies.isdigit() or int(proxies) > 5:
        raise ConfigError(f"LINJE72_TRUSTED_PROXIES must be a whole number from 0 to 5, not {proxies!r}")
    return Operations(
        log_format=log_format,
        metrics_token=str(token) if token else None,
        metrics_networks=_setting(settings, "LINJE72_METRICS_NETWORKS", _networks),
        login_rate_limit=_setting(settings, "LINJE72_LOGIN_RATE_LIMIT", _rate_limit),
        api_rate_limit=_setting(settings, "LINJE72_API_RATE_LIMIT", _rate_limit),
        redis_url=str(redis_url) if redis_url else None,
        trusted_proxies=int(proxies),
        scheduler_metrics_port=_scheduler_metrics_port(settings),
        scheduler_metrics_address=_setting(settings, "LINJE72_SCHEDULER_METRICS_ADDRESS", _listen_address),
    )


def _scheduler_metrics_port(settings: Mapping[str, Any]) -> int | None:
    text = str(settings.get("LINJE72_SCHEDULER_METRICS_PORT") or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(
            "LINJE72_SCHEDULER_METRICS_PORT must be a port number from 1 to 65535 (or empty: off), "
            f"not {text!r}"
        )
    return int(text)


def _listen_address(text: str) -> str:
    """An IP address of this machine to listen at: `127.0.0.1`, `0.0.0.0` (every interface), `::`."""
    try:
        return str(ip_address(text.strip()))
    except ValueError:
        raise ValueError(
            f"expected an IP address to listen at, e.g. 127.0.0.1 or 0.0.0.0 (every interface), not {text!r}"
        ) from None


def _networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated networks, e.g. `10.0.0.0/8, fd00::/8`; a bare address is a network of one."""
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def _rate_limit(text: str) -> str:
    """A limit as `N per M minutes` (or second, hour, day), as the limiter reads it."""
    try:
        item = limits.parse(text)
    except ValueError:
        item = None
    if item is None or item.amount < 1:
        raise ValueError(f"expected a limit such as '10 per 15 minutes', not {text!r}")
    return text
