"""Secrets the registry keeps (remote engines' API keys), encrypted at rest with Fernet.

The keys come from settings.AIGC_ENCRYPTION_KEYS (any strings; the first encrypts, all decrypt, so a
new key goes first and the old one stays until every secret was saved again), or SECRET_KEY where
that is empty. Each is stretched into a Fernet key with HKDF, so a passphrase of any length works.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.translation import gettext

from aigc_platform.core.errors import ApplicationError

_PURPOSE = b"aigc-platform registry secrets v1"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    def derive(key: str) -> Fernet:
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(key.encode())
        return Fernet(base64.urlsafe_b64encode(raw))

    return MultiFernet([derive(key) for key in keys])


def _keys() -> tuple[str, ...]:
    keys = tuple(key for key in getattr(settings, "AIGC_ENCRYPTION_KEYS", []) if key)
    return keys or (settings.SECRET_KEY,)


def secret_encrypt(plain: str) -> str:
    """The Fernet token of `plain` (empty for an empty secret)."""
    return _fernet(_keys()).encrypt(plain.encode()).decode() if plain else ""


def secret_decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ApplicationError(
            gettext(
                "A stored API key cannot be decrypted with the configured keys (AIGC_ENCRYPTION_KEYS or SECRET_KEY "
                "changed?); an admin must enter it again."
            ),
            code="secret_unreadable",
        ) from None
