"""Connection codes, approval modes and the lookup rate limit."""

import pytest

from connections.memberships import codes, ratelimit
from connections.memberships.approval import Approval, ApprovalMode, approval
from connections.platform.errors import InvalidInput


def test_generated_codes_avoid_look_alike_characters():
    generated = {codes.generate() for _ in range(500)}
    assert len(generated) == 500
    for code in generated:
        assert len(code) == codes.GENERATED_LENGTH
        assert not set(code) & set("01OIL")
        assert codes.is_well_formed(code)


def test_codes_are_case_insensitive_and_ignore_spaces_and_dashes():
    assert codes.normalize(" acme-2024 x") == "ACME2024X"
    assert codes.chosen("Acme-Staff") == "ACMESTAFF"


@pytest.mark.parametrize("bad", ["abc", "A" * 21, "acme_staff", "café123"])
def test_chosen_codes_have_6_to_20_letters_or_digits(bad):
    with pytest.raises(InvalidInput) as refused:
        codes.chosen(bad)
    assert "code" in refused.value.fields


@pytest.mark.parametrize(
    ("mode", "domains", "email", "how"),
    [
        (ApprovalMode.MANUAL, [], "a@acme.com", Approval.BY_ADMIN),
        (ApprovalMode.AUTO, [], None, Approval.AT_ONCE),
        (ApprovalMode.EMAIL_DOMAIN, ["acme.com"], "a@ACME.com", Approval.BY_EMAIL_CODE),
        (ApprovalMode.EMAIL_DOMAIN, ["Acme.com", "b.example"], "a@b.example", Approval.BY_EMAIL_CODE),
        (ApprovalMode.EMAIL_DOMAIN, ["acme.com"], "a@evil-acme.com", Approval.BY_ADMIN),
        (ApprovalMode.EMAIL_DOMAIN, ["acme.com"], "a@sub.acme.com", Approval.BY_ADMIN),
        (ApprovalMode.EMAIL_DOMAIN, ["acme.com"], "a@acme.com.evil.example", Approval.BY_ADMIN),
        (ApprovalMode.EMAIL_DOMAIN, ["acme.com"], None, Approval.BY_ADMIN),
    ],
)
def test_approval_modes(mode, domains, email, how):
    assert approval(mode, domains, email) is how


RULE = ratelimit.Limit(limit=3, window=100)


def test_a_caller_under_the_limit_may_try():
    assert ratelimit.retry_after([1000, 1010], 1020, RULE) is None


def test_a_caller_at_the_limit_waits_until_the_oldest_miss_leaves_the_window():
    # Given three misses at 1000, 1010 and 1020
    misses = [1010, 1000, 1020]
    # Then at 1050 the caller waits until 1100, when the miss at 1000 leaves the window
    assert ratelimit.retry_after(misses, 1050, RULE) == 50
    assert ratelimit.retry_after(misses, 1100, RULE) is None


def test_old_misses_do_not_count():
    assert ratelimit.recent([1, 2, 950, 990], 1000, RULE) == [950, 990]
    assert ratelimit.retry_after([1, 2, 3, 990], 1000, RULE) is None


def test_the_wait_is_at_least_one_second():
    assert ratelimit.retry_after([900, 901, 902], 999.9, RULE) >= 1
