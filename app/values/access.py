"""Who may do what in the console: the roles and their permissions (pure rules, no database)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class ConsoleRole(enum.StrEnum):
    """What an account is for."""

    ADMIN = "admin"  # everything
    PLANNER = "planner"  # the rotas of the departments given
    DEPARTMENT = "department"  # the contacts, patients and their responsibility of the departments given
    REGION = "region"  # read-only, every department


class Permission(enum.StrEnum):
    VIEW_ONCALL = "view_oncall"  # "who answers now"
    VIEW_CONTACTS = "view_contacts"  # the contact log
    VIEW_AUDIT = "view_audit"  # the audit log
    VIEW_COVERAGE = "view_coverage"  # the coverage timeline and the region's overview, gaps ahead
    EDIT_ROTA = "edit_rota"  # upload, publish and restore rotas, add overrides (own departments)
    MANAGE_USERS = "manage_users"
    MANAGE_FEEDS = "manage_feeds"  # calendar feeds of the rota (their departments' for planners)
    MANAGE_ALERTS = "manage_alerts"  # the numbers that hear of rota gaps, and the warnings sent
    VIEW_PATIENTS = "view_patients"  # the patients under responsibility and admitted (birth date only)
    EDIT_RESPONSIBILITY = "edit_responsibility"  # mark, extend and end a department's responsibility
    SHOW_CPR = "show_cpr"  # a stay's full CPR number, on an explicit and audited "show"
    MANAGE_AGREEMENTS = "manage_agreements"  # the regional agreements (window, limits, numbers, calendar)
    PLAY_MESSAGES = "play_messages"  # a caller's voice message on a follow-up task, audited
    # The call-back worklist (claim, close), and recording what a connected call led to. Not the
    # region's: it sees how follow-up works in counts, never the callers and patients behind them.
    FOLLOW_UP = "follow_up"
    VIEW_STATISTICS = "view_statistics"  # the region's dashboard and its exports: counts, never a patient


PERMISSIONS: dict[ConsoleRole, frozenset[Permission]] = {
    ConsoleRole.ADMIN: frozenset(Permission),
    ConsoleRole.PLANNER: frozenset(
        {
            Permission.VIEW_ONCALL,
            Permission.VIEW_COVERAGE,
            Permission.EDIT_ROTA,
            Permission.MANAGE_FEEDS,
            Permission.MANAGE_ALERTS,
        }
    ),
    ConsoleRole.DEPARTMENT: frozenset(
        {
            Permission.VIEW_ONCALL,
            Permission.VIEW_CONTACTS,
            Permission.VIEW_COVERAGE,
            Permission.VIEW_PATIENTS,
            Permission.EDIT_RESPONSIBILITY,
            Permission.SHOW_CPR,
            Permission.PLAY_MESSAGES,
            Permission.FOLLOW_UP,
        }
    ),
    # The region follows the arrangement: it sees the patients by birth date, and changes nothing.
    ConsoleRole.REGION: frozenset(
        {
            Permission.VIEW_ONCALL,
            Permission.VIEW_CONTACTS,
            Permission.VIEW_COVERAGE,
            Permission.VIEW_PATIENTS,
            Permission.VIEW_STATISTICS,
        }
    ),
}
# Roles that see every department; the others see only the departments they are given.
ALL_DEPARTMENTS = frozenset({ConsoleRole.ADMIN, ConsoleRole.REGION})
# Roles that make no sense without departments.
NEEDS_DEPARTMENTS = frozenset({ConsoleRole.PLANNER, ConsoleRole.DEPARTMENT})

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 12


def allows(role: str, permission: Permission) -> bool:
    """Return whether an account of `role` may do `permission` (an unknown role may do nothing)."""
    try:
        return permission in PERMISSIONS[ConsoleRole(role)]
    except ValueError:
        return False


def sees_all_departments(role: str) -> bool:
    return role in ALL_DEPARTMENTS


def password_problem(password: str) -> str | None:
    """Return what is wrong with a new password, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password must have at least {MIN_PASSWORD} characters"
    if password.strip() != password:
        return "a password must not start or end with a space"
    return None


@dataclass(frozen=True)
class GroupRole:
    """What one group of the region's identity provider gives in Linje 72."""

    group: str
    role: ConsoleRole
    departments: tuple[str, ...] = ()


def parse_role_map(text: str) -> tuple[GroupRole, ...]:
    """Parse `group=role[:DEPT,DEPT];…`; raise ValueError naming what is wrong. The first match wins."""
    mapping = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        group, equals, rest = item.partition("=")
        role, _, departments = rest.partition(":")
        if not equals or not group.strip():
            raise ValueError(f"expected group=role[:DEPT,DEPT], got {item!r}")
        try:
            console_role = ConsoleRole(role.strip())
        except ValueError:
            raise ValueError(
                f"no role {role.strip()!r} in {item!r} (roles: {', '.join(ConsoleRole)})"
            ) from None
        codes = tuple(code.strip() for code in departments.split(",") if code.strip())
        if console_role in NEEDS_DEPARTMENTS and not codes:
            raise ValueError(f"a {console_role} group needs its departments: {item!r}")
        mapping.append(GroupRole(group.strip(), console_role, codes))
    return tuple(mapping)


def role_for_groups(mapping: tuple[GroupRole, ...], groups: list[str]) -> GroupRole | None:
    """Return what the first mapped group the person is in gives, or None."""
    return next((entry for entry in mapping if entry.group in groups), None)
