"""Who may do what in the console: the roles and their permissions (pure rules, no database)."""

from __future__ import annotations

import enum
import re


class ConsoleRole(enum.StrEnum):
    """What an account is for."""

    ADMIN = "admin"  # everything
    PLANNER = "planner"  # the rotas of the departments given
    DEPARTMENT = "department"  # the contacts (later patients, follow-up) of the departments given
    REGION = "region"  # read-only, every department


class Permission(enum.StrEnum):
    VIEW_ONCALL = "view_oncall"  # "who answers now"
    VIEW_CONTACTS = "view_contacts"  # the contact log
    VIEW_AUDIT = "view_audit"  # the audit log
    MANAGE_USERS = "manage_users"


PERMISSIONS: dict[ConsoleRole, frozenset[Permission]] = {
    ConsoleRole.ADMIN: frozenset(Permission),
    ConsoleRole.PLANNER: frozenset({Permission.VIEW_ONCALL}),
    ConsoleRole.DEPARTMENT: frozenset({Permission.VIEW_ONCALL, Permission.VIEW_CONTACTS}),
    ConsoleRole.REGION: frozenset({Permission.VIEW_ONCALL, Permission.VIEW_CONTACTS}),
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
