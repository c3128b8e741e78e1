"""Approval modes: who decides whether a driver who asks becomes a member."""

from enum import StrEnum


class ApprovalMode(StrEnum):
    MANUAL = "manual"  # an admin decides every request
    AUTO = "auto"  # everyone who asks is approved at once
    EMAIL_DOMAIN = "email_domain"  # approved at once when the driver's verified email is in a listed domain


def auto_approves(mode: ApprovalMode, domains: list[str], email: str | None, email_verified: bool) -> bool:
    if mode is ApprovalMode.AUTO:
        return True
    if mode is ApprovalMode.EMAIL_DOMAIN and email and email_verified:
        return email.rsplit("@", 1)[-1].lower() in {d.lower() for d in domains}
    return False
