"""The one way an adapter's contract test fails: with the adapter's name and the version it was written
for, so that an upgrade that moves a framework's internals says which module to rewrite."""

import contextlib
import inspect
from types import ModuleType

import pytest


@contextlib.contextmanager
def holds(adapter: ModuleType, what: str):
    """Run the body; any error in it fails the test naming `adapter`, its WRITTEN_FOR and `what`."""
    try:
        yield
    except Exception as error:  # the contract is broken by any error: name the adapter, keep the cause
        pytest.fail(
            f"{adapter.__name__} (written for {adapter.WRITTEN_FOR}) no longer fits: {what}: "
            f"{type(error).__name__}: {error}",
            pytrace=False,
        )


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)
