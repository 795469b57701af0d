"""The pure domain (``workflow.domain``) judges what it is given: the rules and settings come
from its caller, never read behind its back, so what a check decides depends on its arguments
alone. The read side (``workflow.views``) words what it shows by the settings it is given
likewise: a caller holding its own (a test, the bench) reads what they say."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import workflow.domain
import workflow.views

DOMAIN_MODULES = [
    importlib.import_module(found.name)
    for found in pkgutil.iter_modules(workflow.domain.__path__, "workflow.domain.")
]
VIEW_MODULES = [
    importlib.import_module(found.name)
    for found in pkgutil.iter_modules(workflow.views.__path__, "workflow.views.")
]


@pytest.mark.parametrize("module", DOMAIN_MODULES, ids=lambda module: module.__name__)
def test_no_domain_module_reads_the_settings_itself(module: ModuleType) -> None:
    assert not hasattr(module, "get_settings")


@pytest.mark.parametrize("module", VIEW_MODULES, ids=lambda module: module.__name__)
def test_no_view_module_reads_the_settings_itself(module: ModuleType) -> None:
    assert not hasattr(module, "get_settings")
