"""Django's own sign-in signals, recorded in the audit log (pages sign in through Django's views)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from aigc_platform.audit.services import audit_record


@receiver(user_logged_in)
def record_sign_in(sender, request, user, **kwargs) -> None:
    audit_record(action="sign_in", actor=user, request=request)


@receiver(user_login_failed)
def record_failed_sign_in(sender, credentials, request=None, **kwargs) -> None:
    audit_record(action="sign_in_failed", actor_name=str(credentials.get("username", ""))[:150], request=request)
