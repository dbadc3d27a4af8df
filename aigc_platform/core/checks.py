"""Django system checks of the platform: `aigc check --deploy` refuses the placeholder secrets that
deploy/ ships (the same test as `aigc doctor`'s, core/health.secret_problems)."""

from django.core.checks import Error, Tags, register

from aigc_platform.core.health import secret_problems


@register(Tags.security, deploy=True)
def check_deploy_secrets(app_configs, **kwargs) -> list[Error]:
    return [
        Error(problem, hint="Set it to a new random value (see deploy/README.md).", id="aigc.E001")
        for problem in secret_problems()
    ]
