"""Reads for the generator registry."""

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from aigc_platform.core.errors import Conflict, NotFound
from models_layer.registry.models import Generator, GeneratorVersion, RemoteEndpoint, Stage, Visibility


def generators_visible_to(*, user) -> QuerySet[Generator]:
    """Built-in and public generators, the user's own, and everything for staff."""
    generators = Generator.objects.select_related("owner")
    if user.is_staff:
        return generators
    return generators.filter(Q(owner=user) | Q(owner__isnull=True) | Q(visibility=Visibility.PUBLIC))


def generator_get(*, user, slug: str) -> Generator:
    """The generator `slug` if `user` may see it; NotFound otherwise (another user's private one included)."""
    generator = generators_visible_to(user=user).filter(slug=slug).first()
    if generator is None:
        raise NotFound(gettext("No generator %(slug)r.") % {"slug": slug})
    return generator


def generator_can_manage(*, user, generator: Generator) -> bool:
    """Upload, promote and roll back: its owner, or staff (built-in generators: staff only)."""
    return user.is_staff or (generator.owner_id is not None and generator.owner_id == user.pk)


def generator_versions(*, generator: Generator) -> QuerySet[GeneratorVersion]:
    return generator.versions.select_related(
        "artifact", "remote_endpoint", "base_version", "replaced_version"
    ).order_by("-number")


def generator_version_get(*, generator: Generator, number: int) -> GeneratorVersion:
    version = generator_versions(generator=generator).filter(number=number).first()
    if version is None:
        raise NotFound(gettext("%(slug)s has no version %(number)s.") % {"slug": generator.slug, "number": number})
    return version


def generator_version_usable(*, user, generator: Generator, number: int | None = None) -> GeneratorVersion:
    """The version of `generator` that `user` may generate with: its production version when `number`
    is None; another one only once it passed validation, and outside production only for whoever may
    manage the generator (or anyone, for a built-in generator). The one rule of the generate API, the
    applications and pre-annotation: another user's public generator is used in production only."""
    if number is None:
        return generator_production_version(generator=generator)
    chosen = generator_version_get(generator=generator, number=number)
    if not chosen.is_validated:
        raise Conflict(
            gettext("Version %(number)s of %(slug)s has not passed validation.")
            % {"number": number, "slug": generator.slug},
            code="not_validated",
        )
    if (
        chosen.stage != Stage.PRODUCTION
        and generator.owner_id is not None
        and not generator_can_manage(user=user, generator=generator)
    ):
        raise NotFound(
            gettext("%(slug)s has no version %(number)s you may use.") % {"slug": generator.slug, "number": number}
        )
    return chosen


def generator_version_by_id(*, pk: int) -> GeneratorVersion:
    version = GeneratorVersion.objects.select_related("generator", "artifact", "remote_endpoint").filter(pk=pk).first()
    if version is None:
        raise NotFound(gettext("No generator version with id %(pk)s.") % {"pk": pk})
    return version


def generator_production_version(*, generator: Generator | str) -> GeneratorVersion:
    """The version applications use by default; NotFound when the generator has none in production."""
    lookup = {"generator__slug": generator} if isinstance(generator, str) else {"generator": generator}
    version = (
        GeneratorVersion.objects.select_related("generator", "artifact", "remote_endpoint")
        .filter(stage=Stage.PRODUCTION, **lookup)
        .first()
    )
    if version is None:
        raise NotFound(
            gettext("Generator %(generator)s has no production version.") % {"generator": generator},
            code="no_production_version",
        )
    return version


def default_text_version() -> GeneratorVersion:
    """The production version of the default text generator (settings.DEFAULT_TEXT_GENERATOR)."""
    return generator_production_version(generator=settings.DEFAULT_TEXT_GENERATOR)


def remote_endpoints_all() -> QuerySet[RemoteEndpoint]:
    return RemoteEndpoint.objects.all()


def remote_endpoint_get(*, pk: int | None = None, name: str | None = None) -> RemoteEndpoint:
    endpoint = RemoteEndpoint.objects.filter(**({"pk": pk} if pk is not None else {"name": name})).first()
    if endpoint is None:
        raise NotFound(gettext("No remote endpoint %(value)r.") % {"value": pk if pk is not None else name})
    return endpoint


def remote_endpoint_health(*, endpoint: RemoteEndpoint) -> dict:
    """What the workers last saw of the endpoint (models_layer.runtime.remote.endpoint_health)."""
    from models_layer.runtime import endpoint_health

    return endpoint_health(endpoint.pk)


def remote_version_config(*, version: GeneratorVersion):
    """How the runtime calls a remote version: its endpoint's settings and its key, decrypted here only."""
    from models_layer.registry.crypto import secret_decrypt
    from models_layer.runtime import RemoteConfig

    endpoint = version.remote_endpoint
    return RemoteConfig(
        endpoint_id=endpoint.pk,
        base_url=endpoint.base_url,
        model=version.remote_model,
        api_key=secret_decrypt(endpoint.api_key_encrypted),
        timeout=endpoint.timeout_seconds,
        max_concurrency=endpoint.max_concurrency,
        structured_output=endpoint.structured_output,
    )
