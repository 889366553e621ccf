"""Secrets at rest (webhook signing secrets, later calendar tokens): AES-256-GCM from `cryptography`,
under a versioned key ring from configuration.

`SECRETS_KEYS` is `version:base64key,…`, the first one current: new secrets are sealed with it,
older ones still open with theirs until `frontdesk rekey` seals everything again under the current
key. What is sealed is bound to where it belongs (`context`, say "webhook_endpoint:<id>"), so a
ciphertext copied to another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class KeyRingError(Exception):
    pass


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, bytes], ...]  # (version, 32-byte key), the first is current

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        keys = []
        for item in (part.strip() for part in text.split(",") if part.strip()):
            version, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as error:
                raise KeyRingError(f"key {version!r} is not base64") from error
            if not version or not version.isalnum() or len(key) != 32:
                raise KeyRingError("each key is 'version:base64' with an alphanumeric version and 32 bytes")
            keys.append((version, key))
        if not keys:
            raise KeyRingError("no keys")
        if len({v for v, _ in keys}) != len(keys):
            raise KeyRingError("key versions must be unique")
        return cls(tuple(keys))

    @staticmethod
    def new_key(version: str = "k1") -> str:
        return f"{version}:{base64.b64encode(os.urandom(32)).decode()}"

    @property
    def current(self) -> str:
        return self.keys[0][0]

    def seal(self, plaintext: str, context: str) -> str:
        version, key = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{version}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, context: str) -> str:
        version, _, encoded = token.partition(":")
        key = dict(self.keys).get(version)
        if key is None:
            raise KeyRingError(f"no key {version!r} in the ring")
        raw = base64.b64decode(encoded)
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except InvalidTag as error:
            raise KeyRingError("the secret does not open here (tampered, or another row's)") from error

    def is_current(self, token: str) -> bool:
        return token.partition(":")[0] == self.current

    def resealed(self, token: str, context: str) -> str | None:
        """`token` sealed again under the current key (for `frontdesk rekey`); None if it already is."""
        return None if self.is_current(token) else self.seal(self.open(token, context), context)
