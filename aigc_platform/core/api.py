"""API base classes: object lookup scoped to the caller, and the JSON 404 for API paths."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from rest_framework.request import Request

from aigc_platform.core.errors import NotFound


def owned_by(queryset: QuerySet, user, *, owner_field: str = "owner") -> QuerySet:
    """What a user may see: their own objects, or everything for staff."""
    if user.is_staff:
        return queryset
    return queryset.filter(**{owner_field: user})


class OwnedObjectMixin:
    """For API views over owned objects: another user's object answers 404, so ids do not leak."""

    owner_field = "owner"
    # The 404's words, one sentence per kind of object (a model's verbose name is English only).
    not_found_message = gettext_lazy("No object with id %(pk)s.")

    def get_owned_object(self, queryset: QuerySet, pk, request: Request):
        try:
            return owned_by(queryset, request.user, owner_field=self.owner_field).get(pk=pk)
        except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError):
            raise NotFound(self.not_found_message % {"pk": pk}) from None
