"""The navigation every page shows, per role. Each app declares its own entries as `nav_items` on
its AppConfig: `[("Storage", "storage", EVERYONE)]` (label, URL name, roles that see it)."""

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from aigc_platform.accounts.roles import ADMIN, CREATOR, OPERATOR, user_roles

EVERYONE = (ADMIN, OPERATOR, CREATOR)
OPERATORS = (ADMIN, OPERATOR)


def nav_entries() -> list[tuple[str, str, tuple[str, ...]]]:
    """Every app's entries, in INSTALLED_APPS order."""
    return [entry for config in apps.get_app_configs() for entry in getattr(config, "nav_items", [])]


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    roles = user_roles(user)
    current = request.resolver_match.url_name if request.resolver_match else None
    items = []
    for label, name, allowed in nav_entries():
        if not (roles.intersection(allowed) or user.is_staff):
            continue
        try:
            items.append({"label": label, "url": reverse(name), "active": current == name})
        except NoReverseMatch:
            continue
    return {"nav_items": items, "user_roles": sorted(roles)}
