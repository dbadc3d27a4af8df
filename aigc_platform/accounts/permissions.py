"""Role checks for API views and pages, the one way views check roles: a view names a permission class here
(or a page `operator_required`); services check rules about data with `roles.user_has_role`. Admins pass every role check."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext, gettext_lazy
from rest_framework.permissions import SAFE_METHODS, BasePermission

from aigc_platform.accounts.roles import ADMIN, OPERATOR, user_has_role


class HasRole(BasePermission):
    """Signed in and holding one of `roles`."""

    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and user_has_role(request.user, *self.roles))


class IsOperator(HasRole):
    """Operators and admins: workers, datasets, training."""

    roles = (OPERATOR,)
    message = gettext_lazy("Only operators and admins may do this.")


class IsAdmin(HasRole):
    """Admins: remote engines."""

    roles = (ADMIN,)
    message = gettext_lazy("Only admins may do this.")


class IsOperatorToWrite(IsOperator):
    """Anyone signed in reads; operators and admins create and change (generators, evaluations, labeling projects)."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


def operator_required(view):
    """For pages: signed in, then an operator or admin (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not user_has_role(request.user, OPERATOR):
            raise PermissionDenied(gettext("Only operators and admins may see this page."))
        return view(request, *args, **kwargs)

    return wrapped
