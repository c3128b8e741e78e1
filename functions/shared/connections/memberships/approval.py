"""Approval modes: who decides whether a driver who asks becomes a member."""

from enum import StrEnum


class ApprovalMode(StrEnum):
    MANUAL = "manual"  # an admin decides every request
    AUTO = "auto"  # everyone who asks is approved at once
    # approved once the driver confirms, with a code sent there, an address in a listed domain
    EMAIL_DOMAIN = "email_domain"


class Approval(StrEnum):
    """How one request is decided."""

    AT_ONCE = "at_once"
    BY_EMAIL_CODE = "by_email_code"  # a code goes to the address; confirming it approves
    BY_ADMIN = "by_admin"


def in_domains(email: str, domains: list[str]) -> bool:
    """The address is in one of the domains exactly (a subdomain is another organization's)."""
    return email.rsplit("@", 1)[-1].lower() in {d.lower() for d in domains}


def approval(mode: ApprovalMode, domains: list[str], email: str | None) -> Approval:
    """How a request to confirm `email` is decided. A verified sign-in address is not enough by email
    domain: it proves the address once, at sign-up, while a work address must still be the driver's now."""
    if mode is ApprovalMode.AUTO:
        return Approval.AT_ONCE
    if mode is ApprovalMode.EMAIL_DOMAIN and email and in_domains(email, domains):
        return Approval.BY_EMAIL_CODE
    return Approval.BY_ADMIN
