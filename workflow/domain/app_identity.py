"""An app's identity: the package name, Bundle ID or AppID it is filed with, on which
platforms, how each platform compares packages, and what a website has none of.

Separate because the order checks and the record on file (telling one app from another)
both need it, and none of it depends on the filing rules or the event guards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel

from workflow.domain.commands import app_only
from workflow.domain.errors import Reason
from workflow.domain.orders import ServiceKind
from workflow.domain.rules import Source

# What an app's identifier is written in: Android's applicationId takes letters, digits and
# "_" in dotted segments, Apple's CFBundleIdentifier letters, digits, "-" and ".", a mini
# program's AppID letters and digits (wx + 16 hex digits on WeChat).
_APP_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
APP_IDENTIFIER_SOURCE = Source(
    "Android Developers, 'Configure the app module' (applicationId); Apple Developer, "
    "CFBundleIdentifier; WeChat mini program AppID"
)


# A package name or Bundle ID on a platform is one app's, as MIIT files an app by its package
# on each platform, and it is one whatever its letters' case where the platform says so:
# Apple's Bundle IDs ("Bundle IDs are case-insensitive"). Android's applicationId is a Java
# package name, whose case counts, and nothing public says HarmonyOS's bundleName ignores it:
# both compared as given.
_CASELESS_PLATFORMS = frozenset({"ios"})
PACKAGE_SOURCE = Source(
    "docs/domain-facts.md, Apps: HW App备案咨询.md; Apple Developer, CFBundleIdentifier and "
    "glossary 'Bundle ID': Bundle IDs are case-insensitive; Android Developers, 'Configure "
    "the app module': applicationId follows Java package naming"
)


def caseless_on(platform: str) -> bool:
    """Whether ``platform`` tells apps apart by package whatever its letters' case (iOS)."""
    return platform in _CASELESS_PLATFORMS


def package_key(platform: str, package: str) -> str:
    """``package`` as ``platform`` compares it: lower-cased where case does not tell apps
    apart (identifiers are ASCII: ``_APP_IDENTIFIER``), as given elsewhere."""
    return package.lower() if caseless_on(platform) else package


def check_website_fields(kind: ServiceKind, given: BaseModel, part: str) -> list[Reason]:
    """A website has none of what only an app, a mini program or a quick app is filed with
    (docs/domain-facts.md, Apps: HW App备案咨询.md): each field of ``given``, the order's
    ``part``, its model marks ``AppOnly`` (its identifier, its platforms) and a website gives
    is refused, in the order the model declares them."""
    if kind is not ServiceKind.WEBSITE:
        return []
    given_fields = [
        f"{part}.{name}" for name in app_only(type(given)) if getattr(given, name) is not None
    ]
    return [
        Reason("unexpected_field", f"{field} is an app's: a website has none", field=field)
        for field in given_fields
    ]


def check_app_identifier(kind: ServiceKind, identifier: str | None, field: str) -> list[Reason]:
    """An app, a mini program or a quick app is filed with its package name or Bundle ID (its
    AppID for a mini program; docs/domain-facts.md, Apps: HW App备案咨询.md). Written in
    anything but the characters those allow, it is a slip: it could not be told apart from the
    same app filed again, or by another entity. A website's is refused as one it has none of
    (``check_website_fields``)."""
    if kind is ServiceKind.WEBSITE:
        return []
    if identifier is None:
        return [
            Reason(
                "missing_field",
                f"{field} is required for a service of kind {kind.label}: its package name "
                "or Bundle ID",
                field=field,
            )
        ]
    if identifier is not None and not _APP_IDENTIFIER.fullmatch(identifier):
        return [
            Reason(
                "invalid_app_identifier",
                f"{identifier!r} is no package name, Bundle ID or AppID: those are ASCII "
                "letters and digits, with '.', '_' or '-' between them",
                field=field,
                rule="app_identifier_format",
                source=str(APP_IDENTIFIER_SOURCE),
            )
        ]
    return []


def check_app_platforms(
    kind: ServiceKind, given: Mapping[str, Mapping[str, str]] | None, field: str
) -> list[Reason]:
    """An app is filed on each platform it is published on: one at least, each with its
    package name there written as one (docs/domain-facts.md, Apps: HW App备案咨询.md). A mini
    program or a quick app, run by the platform that signs it, may give them; a website's are
    refused as what it has none of (``check_website_fields``)."""
    if kind is ServiceKind.WEBSITE:
        return []
    if kind is ServiceKind.APP and not given:
        return [
            Reason(
                "missing_field",
                f"{field} is required for an app: each platform it is published on (android, "
                "ios, harmonyos), with its package name there and the public key and "
                "fingerprint of the certificate it is signed with",
                field=field,
                rule="app_platforms",
                source="docs/domain-facts.md, Apps: HW App备案咨询.md",
            )
        ]
    return [
        reason
        for platform, held in (given or {}).items()
        if (package := held.get("package")) is not None
        for reason in check_app_identifier(kind, package, f"{field}.{platform}.package")
    ]
