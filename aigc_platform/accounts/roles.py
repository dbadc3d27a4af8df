"""The three roles, kept as Django groups: admin, operator (datasets, training, workers), creator."""

ADMIN = "admin"
OPERATOR = "operator"
CREATOR = "creator"
ROLES = (ADMIN, OPERATOR, CREATOR)


def user_roles(user) -> set[str]:
    if not user or not user.is_authenticated:
        return set()
    roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user.is_superuser:
        roles.add(ADMIN)
    return roles


def user_has_role(user, *roles: str) -> bool:
    """Admins hold every role; others hold the groups they are in."""
    held = user_roles(user)
    return ADMIN in held or bool(held.intersection(roles))


def role_groups() -> dict:
    from django.contrib.auth.models import Group

    return {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
