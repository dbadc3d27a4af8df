"""Writes for accounts: users with roles, and the API key lifecycle."""
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from aigc_platform.accounts.models import ApiKey
from aigc_platform.accounts.roles import ADMIN, ROLES, role_groups
from aigc_platform.audit.services import audit_record
from aigc_platform.core.errors import ApplicationError, Conflict

KEY_PREFIX = "aigc"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def user_create(*, username: str, password: str, role: str, email: str = "", validate: bool = True):
    if role not in ROLES:
        raise ApplicationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", fields={"role": ["Unknown role."]})
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise Conflict(f"A user named {username!r} exists already.")
    user = User(username=username, email=email, is_staff=role == ADMIN, is_superuser=role == ADMIN)
    if validate:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ApplicationError("The password is too weak.", fields={"password": list(error.messages)}) from None
    user.set_password(password)
    user.save()
    user.groups.add(role_groups()[role])
    return user


@transaction.atomic
def admin_ensure(*, password: str) -> tuple[object, bool]:
    """The `admin` account of `aigc up`: created once; its password is never reset behind a person's back."""
    User = get_user_model()
    user = User.objects.filter(username="admin").first()
    if user is not None:
        return user, False
    return user_create(username="admin", password=password, role=ADMIN, validate=False), True


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str


@transaction.atomic
def api_key_create(*, owner, name: str) -> IssuedKey:
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(owner=owner, name=name, prefix=prefix, key_hash=hash_key(raw_key))
    audit_record(action="api_key_created", actor=owner, target=api_key, detail={"name": name, "prefix": prefix})
    return IssuedKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey, actor) -> ApiKey:
    if ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        audit_record(action="api_key_revoked", actor=actor, target=api_key, detail={"prefix": api_key.prefix})
    api_key.refresh_from_db()
    return api_key
