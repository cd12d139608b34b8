"""A SCORM package as the LMS keeps it: stored once by content, its SCOs, and the data
model of its standard."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from courses.errors import BundleError
from courses.errors import Problem as CourseProblem
from lms.app.storage import LocalStorage
from lms.models import (
    Activity,
)
from lms.models.scorm import ScormPackage
from lms.services import uploads
from lms.services.errors import N_, NotFound
from lms.services.tracking.shared_data import describe_data
from scorm import cmi12, cmi2004
from scorm.errors import PackageError
from scorm.external import external_urls, origin_of_url
from scorm.manifest import DeliveryControls, Package
from scorm.package import read_package
from scorm.sequencing.navigation import describe

MODELS = {"1.2": cmi12.MODEL, "2004": cmi2004.MODEL}

EXIT = {"1.2": "cmi.core.exit", "2004": "cmi.exit"}
SESSION_TIME = {"1.2": "cmi.core.session_time", "2004": "cmi.session_time"}

COMPLETIONS = ("completed", "incomplete", "not attempted", "unknown")
SUCCESSES = ("passed", "failed", "unknown")


def _as_bundle_error(error: PackageError, where: str) -> BundleError:
    return BundleError(
        [
            CourseProblem(f"{where}: {p.path}" if where else p.path, p.line, p.message, p.params)
            for p in error.problems
        ]
    )


def _read(data: bytes, where: str = "") -> Package:
    try:
        return read_package(data, uploads.package_limits())
    except PackageError as error:
        raise _as_bundle_error(error, where) from None


def describe_package(session: Session, data: bytes) -> str:
    """The title a package gets as a course, read without storing anything (BundleError when
    the package is not valid)."""
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalar(select(ScormPackage).where(ScormPackage.sha256 == digest))
    if existing is not None:
        return existing.title
    package = _read(data)
    return (describe(package)["title"] or package.identifier)[:300]


def store_package(
    session: Session, data: bytes, storage: LocalStorage, where: str = ""
) -> ScormPackage:
    """Check an uploaded package and keep its files once (by content hash).

    Raises courses' BundleError, so that a package inside a course bundle and a package
    uploaded alone report their problems the same way, each with its file and line.
    """
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalar(select(ScormPackage).where(ScormPackage.sha256 == digest))
    if existing is not None:
        return existing
    package = _read(data, where)
    description = describe_stored(package)
    if not description["scos"]:
        raise BundleError(
            [
                CourseProblem(
                    where or "imsmanifest.xml", None, N_("The package has no SCO to launch.")
                )
            ]
        )
    files_path = f"scorm/{digest}"
    storage.write_tree(files_path, dict(package.files.items()))
    record = ScormPackage(
        sha256=digest,
        standard=package.version,
        edition={2: "2nd", 3: "3rd", 4: "4th"}.get(package.edition or 0),
        title=(description["title"] or package.identifier)[:300],
        files_path=files_path,
        manifest=description,
        size=len(data),
    )
    session.add(record)
    session.flush()
    return record


def describe_stored(package: Package) -> dict[str, Any]:
    """What the LMS keeps of a package (ScormPackage.manifest): navigation's description,
    each SCO's shared data maps and delivery controls, and what the package loads from other
    sites (to warn about whatever the site's content policy blocks)."""
    description = describe(package)
    describe_data(package, description)
    _add_delivery_controls(package, description)
    description["external"] = [
        [found.path, found.line, found.url] for found in external_urls(package.files)
    ]
    return description


def _add_delivery_controls(package: Package, description: dict[str, Any]) -> None:
    """Keep each SCO's imsss:deliveryControls (SCORM 2004) with it: what the end of its
    attempt defaults (scorm.datamodel.outcome.end_attempt); left out when they are the spec's
    defaults, as they are for every SCORM 1.2 item."""
    items = {item.identifier: item for org in package.organizations for item in org.walk()}
    for entry in description["scos"]:
        item = items.get(entry["identifier"])
        controls = item.sequencing.delivery_controls if item and item.sequencing else None
        if controls is not None and controls != DeliveryControls():
            entry["delivery"] = {
                "tracked": controls.tracked,
                "completion_set_by_content": controls.completion_set_by_content,
                "objective_set_by_content": controls.objective_set_by_content,
            }


def delivery_controls(item: dict[str, Any]) -> DeliveryControls:
    """The delivery controls of a SCO's manifest entry (the spec's defaults when not kept)."""
    return DeliveryControls(**item.get("delivery", {}))


def blocked_urls(package: ScormPackage, allowed: list[str], where: str = "") -> list[CourseProblem]:
    """The URLs of other origins that the package's files load and the content policy blocks
    (those of origins not in `allowed`, HOCVU_CONTENT_ALLOWED_ORIGINS), as warnings with
    their file and line (`where`: the package's place in a course, if any)."""
    warnings = []
    for path, line, url in package.manifest.get("external", []):
        origin = origin_of_url(url)
        if origin is None or origin in allowed:
            continue
        warnings.append(
            CourseProblem(
                f"{where}: {path}" if where else path,
                line,
                N_(
                    "Loads %(url)s from another site, which the lessons' content policy "
                    "blocks: put the file in the package, or ask the site's administrator to "
                    "allow %(origin)s."
                ),
                {"url": url, "origin": origin},
            )
        )
    return warnings


def sco_of(package: ScormPackage, sco: str) -> dict[str, Any]:
    """The manifest entry of one SCO of a package; NotFound when there is none."""
    for entry in package.manifest["scos"]:
        if entry["identifier"] == sco:
            return entry
    raise NotFound(N_("This part of the package does not exist."))


def package_of(session: Session, activity: Activity) -> ScormPackage:
    """The package a SCORM activity plays."""
    package = session.get(ScormPackage, activity.content["package_id"])
    if package is None:
        raise NotFound(N_("This part of the package does not exist."))
    return package


def graded(item: dict[str, Any]) -> bool:
    """Whether the package gives this SCO a passing score (so only a pass is a pass)."""
    return item.get("mastery_score") is not None or item.get("scaled_passing_score") is not None
