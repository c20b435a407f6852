"""domain/webhooks.py: one test per rule, no database."""

from __future__ import annotations

import random

import pytest

from meetadmin.domain import webhooks as rules
from meetadmin.domain.webhooks import (
    Change,
    Registration,
    WebhookRuleError,
    parse_filter,
    receives,
    retry_delay,
)
from meetadmin.outbound.signing import signature, verify


def hook(
    owned_by: str = "org", event: str = "all", host: int | None = None, site: int | None = None
) -> Registration:
    return Registration("w", owned_by, created_by=7, event=event, filter_host_id=host, filter_site_id=site)


MOVE = Change(site_id=1, host_before=7, host_after=8)  # from person 7 to person 8 on site 1


def test_only_the_meetings_resource() -> None:
    rules.check_resource("meetings")
    with pytest.raises(WebhookRuleError, match="meetings"):
        rules.check_resource("messages")


def test_events_of_meetings_and_all() -> None:
    for event in ("created", "updated", "deleted", "started", "ended", "all"):
        rules.check_event(event)
    with pytest.raises(WebhookRuleError):
        rules.check_event("joined")


def test_owned_by_creator_or_org() -> None:
    with pytest.raises(WebhookRuleError):
        rules.check_owned_by("everyone")


def test_target_url_is_absolute_http() -> None:
    rules.check_target_url("https://example.com/x")
    for bad in ("ftp://example.com", "/relative", "http://", "http://exa mple.com/", "http://h:99999/"):
        with pytest.raises(WebhookRuleError):
            rules.check_target_url(bad)


def test_filter_pairs_keys_and_decoding() -> None:
    assert parse_filter(None, "creator") == rules.WebhookFilter()
    parsed = parse_filter("hostEmail=a%40b.com&siteUrl=s.webex.com", "org")
    assert (parsed.host_email, parsed.site_url) == ("a@b.com", "s.webex.com")
    for bad in ("roomId=1", "siteUrl", "siteUrl=a&siteUrl=b", "=x"):
        with pytest.raises(WebhookRuleError):
            parse_filter(bad, "org")


def test_host_filters_need_org_ownership() -> None:
    with pytest.raises(WebhookRuleError, match="ownedBy"):
        parse_filter("hostUserId=x", "creator")
    assert parse_filter("siteUrl=s", "creator").site_url == "s"


def test_org_webhook_matches_before_or_after_the_move() -> None:
    assert receives(hook(), "updated", MOVE)
    assert receives(hook(host=7), "updated", MOVE)  # the old host
    assert receives(hook(host=8), "updated", MOVE)  # the new host
    assert not receives(hook(host=9), "updated", MOVE)
    assert not receives(hook(site=2), "updated", MOVE)


def test_creator_webhook_of_the_old_or_new_host() -> None:
    assert receives(hook("creator"), "updated", MOVE)  # created by 7, the old host
    assert not receives(hook("creator"), "updated", Change(1, 8, 9))


def test_event_must_match_or_be_all() -> None:
    assert not receives(hook(event="created"), "updated", MOVE)
    assert receives(hook(event="updated"), "updated", MOVE)


def test_retry_delay_doubles_with_jitter() -> None:
    draw = random.Random(1)
    delays = [retry_delay(n, 30, draw) for n in range(1, 6)]
    for n, delay in enumerate(delays, start=1):
        assert 0.8 * 30 * 2 ** (n - 1) <= delay <= 1.2 * 30 * 2 ** (n - 1)
    assert 0.04 <= retry_delay(1, 0.05) <= 0.06  # fractions of a second


def test_signature_is_lowercase_hex_hmac_sha1() -> None:
    # RFC 2202 test case 2
    assert signature("Jefe", b"what do ya want for nothing?") == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    assert verify("Jefe", b"what do ya want for nothing?", "EFFCDF6AE5EB2FA2D27416D5F184DF9C259A7C79")
    assert not verify(
        "Jefe", b"what do ya want for nothing!", signature("Jefe", b"what do ya want for nothing?")
    )
