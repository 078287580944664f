"""Every problem type the services can answer has a Thai title: a new problem class
or slug without one fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import otog_loan_ledger
import otog_registry
import otog_shared
import otog_training
from otog_shared.errors import _HTTP_SLUGS, ProblemError
from otog_shared.i18n import TITLES_TH

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (otog_shared, otog_registry, otog_training, otog_loan_ledger)


def _problem_classes() -> set[type[ProblemError]]:
    for package in PACKAGES:
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)
    found: set[type[ProblemError]] = set()
    todo: list[type[ProblemError]] = [ProblemError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def test_every_problem_class_has_a_thai_title() -> None:
    classes = _problem_classes()
    # The walk found the services' own classes, not only the shared ones.
    assert {c.__module__.split(".")[0] for c in classes} >= {
        "otog_shared",
        "otog_registry",
        "otog_training",
        "otog_loan_ledger",
    }
    missing = sorted(
        {f"{c.slug} ({c.__module__}.{c.__qualname__})" for c in classes if c.slug not in TITLES_TH}
    )
    assert not missing, missing


def test_every_generic_http_slug_has_a_thai_title() -> None:
    missing = sorted(set(_HTTP_SLUGS.values()) - set(TITLES_TH))
    assert not missing, missing


_SLUG_LITERAL = re.compile(r"/problems/([a-z0-9-]+)")


def test_every_problem_slug_written_in_code_or_gateway_has_a_thai_title() -> None:
    # Slugs written out rather than raised through a class: the gateway's own error
    # pages and any literal in the services.
    sources = [ROOT / "deploy" / "nginx" / "nginx.conf.template"]
    for package in PACKAGES:
        sources += Path(package.__path__[0]).rglob("*.py")
    slugs = {slug for path in sources for slug in _SLUG_LITERAL.findall(path.read_text())}
    assert "not-found" in slugs
    missing = sorted(slugs - set(TITLES_TH))
    assert not missing, missing
