"""factory_boy factories for the suite."""

from functools import cache

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from aigc_platform.accounts.roles import role_groups

PASSWORD = "correct horse battery staple"


@cache
def hashed_password() -> str:
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    # Hashed once for the whole run: PBKDF2 is slow on purpose, and every test makes users.
    password = factory.LazyFunction(lambda: hashed_password())

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        role = extracted or "creator"
        if role == "admin":
            user.is_staff = user.is_superuser = True
        user.save()
        user.groups.add(role_groups()[role])
