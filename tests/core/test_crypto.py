"""Secrets at rest: sealed under the current key, opened by any key still in the ring, and only in
the row they were sealed for."""

import pytest

from backend.core.crypto import KeyRing, KeyRingError


def test_a_sealed_secret_opens_only_where_it_belongs():
    ring = KeyRing.parse(KeyRing.new_key("k1"))
    sealed = ring.seal("whsec_abc", "webhook_endpoint:1")
    assert "whsec_abc" not in sealed and sealed.startswith("k1:")
    assert ring.open(sealed, "webhook_endpoint:1") == "whsec_abc"
    with pytest.raises(KeyRingError, match="does not open here"):
        ring.open(sealed, "webhook_endpoint:2")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(KeyRingError):
        ring.open(tampered, "webhook_endpoint:1")


def test_a_new_current_key_still_opens_what_the_old_one_sealed():
    old = KeyRing.new_key("k1")
    sealed = KeyRing.parse(old).seal("s", "ctx")
    rotated = KeyRing.parse(f"{KeyRing.new_key('k2')},{old}")
    assert rotated.open(sealed, "ctx") == "s"
    assert not rotated.is_current(sealed) and rotated.is_current(rotated.seal("s", "ctx"))
    with pytest.raises(KeyRingError, match="no key 'k1'"):
        KeyRing.parse(KeyRing.new_key("k2")).open(sealed, "ctx")
