"""Encrypting small secrets the application must read back (e.g. webhook signing secrets).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from `settings.SECRET_KEY`, so rotating
SECRET_KEY makes stored tokens unreadable: re-create or rotate such secrets afterwards.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt"]

# Keeps this key apart from every other use of SECRET_KEY.
_PURPOSE = b"tend.core.crypto.v1:"


def _fernet() -> Fernet:
    digest = hashlib.sha256(_PURPOSE + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(text: str) -> str:
    """`text` encrypted and authenticated, as an ASCII token."""
    return _fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The text of a token made by `encrypt`; raises `InvalidToken` if it was altered or made
    with another SECRET_KEY."""
    return _fernet().decrypt(token.encode("ascii")).decode()
