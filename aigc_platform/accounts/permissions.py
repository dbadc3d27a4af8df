"""Role checks for API views and pages; admins pass every role check."""
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from aigc_platform.accounts.roles import OPERATOR, user_has_role


class IsOperator(BasePermission):
    """Operators and admins: workers, datasets, training."""

    message = "Only operators and admins may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and user_has_role(request.user, OPERATOR))


def operator_required(view):
    """For pages: signed in, then an operator or admin (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not user_has_role(request.user, OPERATOR):
            raise PermissionDenied("Only operators and admins may see this page.")
        return view(request, *args, **kwargs)

    return wrapped
