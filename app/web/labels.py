"""Words the pages show from data (roles, routes, outcomes, chain labels): listed so they are translated."""

from __future__ import annotations


def _n(text: str) -> str:
    """Mark a word for the translation catalogue; the template translates it when shown."""
    return text


WORDS = (
    # roles
    _n("admin"), _n("planner"), _n("department"), _n("region"),
    # periods
    _n("day"), _n("oncall"),
    # who is rung, and why
    _n("department_day"), _n("department_oncall"), _n("backup"), _n("nurse"), _n("switchboard"),
    _n("fallback"), _n("gp"), _n("after_hours"),
    # routes
    _n("responsibility"), _n("inpatient"), _n("no_responsibility"),
    _n("unidentified_caller"), _n("invalid_patient"),
    # dial statuses and outcomes
    _n("accepted"), _n("answered"), _n("rejected"), _n("no-answer"), _n("busy"), _n("failed"), _n("ringing"),
    _n("connected"), _n("forwarded"), _n("unanswered"), _n("abandoned"),
    # caller kinds
    _n("home_nursing"), _n("nursing_home"), _n("temporary_stay"), _n("residential"), _n("acute_1813"),
    _n("acute_nursing"), _n("nursing_home_doctor"), _n("other"),
    # where a rota version came from
    _n("web"), _n("cli"), _n("api"), _n("restore"), _n("demo"),
    # audit actions
    _n("login"), _n("login_failed"), _n("logout"), _n("view"), _n("export"), _n("change"),
)  # fmt: skip
