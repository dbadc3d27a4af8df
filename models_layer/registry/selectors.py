"""Reads for the generator registry."""
from django.db.models import Q, QuerySet

from aigc_platform.core.errors import NotFound
from models_layer.registry.models import Generator, GeneratorVersion, Stage, Visibility


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
        raise NotFound(f"No generator {slug!r}.")
    return generator


def generator_can_manage(*, user, generator: Generator) -> bool:
    """Upload, promote and roll back: its owner, or staff (built-in generators: staff only)."""
    return user.is_staff or (generator.owner_id is not None and generator.owner_id == user.pk)


def generator_versions(*, generator: Generator) -> QuerySet[GeneratorVersion]:
    return generator.versions.select_related("artifact", "base_version", "replaced_version").order_by("-number")


def generator_version_get(*, generator: Generator, number: int) -> GeneratorVersion:
    version = generator_versions(generator=generator).filter(number=number).first()
    if version is None:
        raise NotFound(f"{generator.slug} has no version {number}.")
    return version


def generator_version_by_id(*, pk: int) -> GeneratorVersion:
    version = GeneratorVersion.objects.select_related("generator", "artifact").filter(pk=pk).first()
    if version is None:
        raise NotFound(f"No generator version with id {pk}.")
    return version


def generator_production_version(*, generator: Generator | str) -> GeneratorVersion:
    """The version applications use by default; NotFound when the generator has none in production."""
    lookup = {"generator__slug": generator} if isinstance(generator, str) else {"generator": generator}
    version = GeneratorVersion.objects.select_related("generator", "artifact").filter(stage=Stage.PRODUCTION, **lookup).first()
    if version is None:
        raise NotFound(f"Generator {generator} has no production version.", code="no_production_version")
    return version
