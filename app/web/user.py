"""The logged-in account as the pages see it: plain values, no database session attached."""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import UserMixin

from app.data.models import User
from app.values.access import Permission, allows, sees_all_departments


@dataclass(frozen=True)
class ConsoleUser(UserMixin):
    user_id: int
    email: str
    role: str
    language: str
    departments: tuple[str, ...]
    session_version: int

    @classmethod
    def of(cls, user: User) -> ConsoleUser:
        return cls(
            user.id,
            user.email,
            user.role,
            user.language,
            tuple(d.code for d in user.departments),
            user.session_version,
        )

    def get_id(self) -> str:
        # The version changes with the password: a session made before that ends.
        return f"{self.user_id}:{self.session_version}"

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)

    @property
    def visible(self) -> tuple[str, ...] | None:
        """The department codes this account may see; None for every department."""
        return None if sees_all_departments(self.role) else self.departments
