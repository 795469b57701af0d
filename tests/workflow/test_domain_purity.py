"""The pure domain (``workflow.domain``) judges what it is given: the rules and settings come
from its caller, never read behind its back, so what a check decides depends on its arguments
alone."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import workflow.domain

DOMAIN_MODULES = [
    importlib.import_module(found.name)
    for found in pkgutil.iter_modules(workflow.domain.__path__, "workflow.domain.")
]


@pytest.mark.parametrize("module", DOMAIN_MODULES, ids=lambda module: module.__name__)
def test_no_domain_module_reads_the_settings_itself(module: ModuleType) -> None:
    assert not hasattr(module, "get_settings")
