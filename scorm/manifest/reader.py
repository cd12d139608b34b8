"""Walking a manifest: its version, resources, organizations and items (with SCORM 1.2 and 2004
values), every problem collected with its line and reported at once in a PackageError."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import unquote

from lxml import etree

from scorm.errors import N_, PackageError, Problem
from scorm.manifest.model import (
    CompletionThreshold,
    DataMap,
    Item,
    Manifest,
    Organization,
    Package,
    Resource,
    label,
)
from scorm.manifest.sequencing import (
    TIME_LIMIT_ACTIONS,
)
from scorm.manifest.sequencing_reader import SequencingReader
from scorm.manifest.xml import (
    MANIFEST,
    NS_ADLCP_12,
    NS_ADLCP_2004,
    NS_ADLNAV,
    NS_ADLSEQ,
    NS_CP_12,
    NS_CP_2004,
    NS_IMSSS,
    XML_BASE,
    adlcp,
    attr_any,
    cp,
    elements,
    first,
    load,
    local_name,
    namespace_of,
    text,
)

# schemaversion (whitespace collapsed, lower case) -> (version, edition)
SCHEMA_VERSIONS: dict[str, tuple[str, int | None]] = {
    "1.2": ("1.2", None),
    "cam 1.3": ("2004", 2),
    "1.3": ("2004", 2),
    "2004 3rd edition": ("2004", 3),
    "2004 4th edition": ("2004", 4),
}


def launch_url(href: str, parameters: str) -> str:
    """The launch URL of an item: the resource href with the item's parameters (SCORM CAM rules).

    Leading '?' and '&' of the parameters are dropped; a '#fragment' is used only when the href
    has none; a query is joined with '&' when the href already has one, else with '?', and goes
    before the href's fragment.
    """
    params = parameters.strip().lstrip("?&")
    if not params:
        return href
    base, has_fragment, fragment = href.partition("#")
    if params.startswith("#"):
        return href if has_fragment else href + params
    query, has_param_fragment, param_fragment = params.partition("#")
    if query:
        joiner = "" if base.endswith(("?", "&")) else ("&" if "?" in base else "?")
        base = base + joiner + query
    if has_fragment:
        return f"{base}#{fragment}"
    return f"{base}#{param_fragment}" if has_param_fragment else base


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _join_base(base: str, href: str) -> str:
    if not base or _SCHEME.match(href) or href.startswith("/"):
        return href
    return base if not href else (base if base.endswith("/") else base + "/") + href


class _Reader(SequencingReader):
    """Walks one manifest, collecting problems and warnings with their lines."""

    def __init__(self, root: Any, files: Collection[str], version: str, edition: int | None):
        self.root = root
        self.files = set(files)
        self.lower: dict[str, str] = {}  # lower-cased path -> path, to spot case mistakes
        for name in sorted(self.files):
            self.lower.setdefault(name.lower(), name)
        self.version = version
        self.edition = edition
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.collection: dict[str, Any] = {}
        self.resources: dict[str, Resource] = {}
        self.activity_lines: dict[str, int | None] = {}

    def problem(self, where: Any, message: str, **params: Any) -> None:
        """Record a problem at an element, or at a line number."""
        line = where if isinstance(where, int) or where is None else where.sourceline
        self.problems.append(Problem(MANIFEST, line, message, params))

    def warn(self, where: Any, message: str, **params: Any) -> None:
        """Record a warning (something ignored) once, at an element."""
        problem = Problem(MANIFEST, where.sourceline, message, params)
        if problem not in self.warnings:
            self.warnings.append(problem)

    # Typed attributes ----------------------------------------------------------------------

    def boolean(self, element: Any, name: str, default: bool) -> bool:
        raw = element.get(name)
        if raw is None or not raw.strip():
            return default
        value = raw.strip().lower()
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        self.problem(
            element,
            N_("%(attribute)s must be true or false, not '%(value)s'."),
            attribute=etree.QName(name).localname,
            value=raw,
        )
        return default

    def number(
        self,
        element: Any,
        name: str,
        raw: str | None,
        default: float | None,
        low: float,
        high: float,
    ) -> float | None:
        if raw is None or not raw.strip():
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not low <= value <= high:
            self.problem(
                element,
                N_("%(attribute)s must be a number from %(min)s to %(max)s, not '%(value)s'."),
                attribute=name,
                min=f"{low:g}",
                max=f"{high:g}",
                value=raw,
            )
            return default
        return value

    def whole(self, element: Any, name: str) -> int | None:
        raw = element.get(name)
        if raw is None or not raw.strip():
            return None
        if not raw.strip().isdecimal():
            self.problem(
                element,
                N_("%(attribute)s must be a whole number, not '%(value)s'."),
                attribute=name,
                value=raw,
            )
            return None
        return int(raw)

    def choice(
        self,
        element: Any,
        name: str,
        raw: str | None,
        allowed: tuple[str, ...],
        default: str | None,
    ) -> str | None:
        if raw is None or not raw.strip():
            return default
        if raw.strip() in allowed:
            return raw.strip()
        self.problem(
            element,
            N_("'%(value)s' is not a valid %(attribute)s; expected one of: %(allowed)s."),
            value=raw,
            attribute=name,
            allowed=", ".join(allowed),
        )
        return default

    # Paths ---------------------------------------------------------------------------------

    def check_path(self, element: Any, resource: str, href: str, launch: bool) -> None:
        """Report an href that leaves the package or names a file that is not in it."""
        path = href.split("#", 1)[0].split("?", 1)[0]
        if not path:
            return
        if _SCHEME.match(path) or path.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", path):
            self.problem(
                element,
                N_("Resource '%(resource)s' points to '%(href)s', outside the package."),
                resource=resource,
                href=href,
            )
            return
        if path in self.files or unquote(path) in self.files:
            return
        actual = self.lower.get(path.lower()) or self.lower.get(unquote(path).lower())
        if actual is not None:
            self.problem(
                element,
                N_(
                    "Resource '%(resource)s' points to '%(href)s', which is not in the package; "
                    "it has '%(actual)s' (upper and lower case letters differ)."
                ),
                resource=resource,
                href=href,
                actual=actual,
            )
        elif launch:
            self.problem(
                element,
                N_("Resource '%(resource)s' launches '%(href)s', which is not in the package."),
                resource=resource,
                href=href,
            )
        else:
            self.problem(
                element,
                N_("Resource '%(resource)s' lists '%(href)s', which is not in the package."),
                resource=resource,
                href=href,
            )

    # Resources -----------------------------------------------------------------------------

    def read_resources(self) -> tuple[Resource, ...]:
        base = self.root.get(XML_BASE, "")
        result: list[Resource] = []
        lines: dict[str, int | None] = {}
        for container in cp(self.root, "resources"):
            container_base = _join_base(base, container.get(XML_BASE, ""))
            for element in cp(container, "resource"):
                resource = self.read_resource(element, container_base)
                if resource is None:
                    continue
                if resource.identifier in lines:
                    self.duplicate(element, resource.identifier, lines[resource.identifier])
                    continue
                lines[resource.identifier] = element.sourceline
                result.append(resource)
        self.resources = {r.identifier: r for r in result}
        for resource in result:
            for dependency in resource.dependencies:
                if dependency not in self.resources:
                    self.problem(
                        resource.line,
                        N_(
                            "Resource '%(resource)s' depends on '%(dependency)s', "
                            "which does not exist."
                        ),
                        resource=resource.identifier,
                        dependency=dependency,
                    )
        return tuple(result)

    def read_resource(self, element: Any, base: str) -> Resource | None:
        identifier = (element.get("identifier") or "").strip()
        if not identifier:
            self.problem(element, N_("This <%(element)s> has no identifier."), element="resource")
            return None
        base = _join_base(base, element.get(XML_BASE, ""))
        raw_type = (attr_any(element, "scormtype") or "asset").strip().lower()
        scorm_type = "sco" if raw_type == "sco" else "asset"
        raw_href = (element.get("href") or "").strip()
        href = _join_base(base, raw_href) if raw_href else None
        if href is not None:
            self.check_path(element, identifier, href, launch=True)
        elif scorm_type == "sco":
            self.problem(
                element,
                N_("Resource '%(resource)s' is a SCO but has no href to launch."),
                resource=identifier,
            )
        files: list[str] = []
        for file in cp(element, "file"):
            file_href = (file.get("href") or "").strip()
            if not file_href:
                continue
            path = _join_base(base, file_href)
            self.check_path(file, identifier, path, launch=False)
            files.append(path)
        dependencies = tuple(
            d.get("identifierref", "").strip()
            for d in cp(element, "dependency")
            if d.get("identifierref", "").strip()
        )
        return Resource(
            identifier=identifier,
            type=(element.get("type") or "").strip(),
            scorm_type=scorm_type,
            href=href,
            files=tuple(files),
            dependencies=dependencies,
            line=element.sourceline,
        )

    def duplicate(self, element: Any, identifier: str, first: int | None) -> None:
        self.problem(
            element,
            N_("The identifier '%(id)s' is used more than once (first on line %(first)s)."),
            id=identifier,
            first=first if first is not None else "?",
        )

    # Organizations and items ---------------------------------------------------------------

    def read_organizations(self) -> tuple[tuple[Organization, ...], str]:
        containers = cp(self.root, "organizations")
        container = containers[0] if containers else None
        elements = cp(container, "organization") if container is not None else []
        if not elements:
            self.problem(
                container if container is not None else self.root,
                N_("The package has no organization, so there is nothing to take."),
            )
            return (), ""
        organizations: list[Organization] = []
        for element in elements:
            identifier = (element.get("identifier") or "").strip()
            if not identifier:
                self.problem(
                    element, N_("This <%(element)s> has no identifier."), element="organization"
                )
                continue
            if identifier in self.activity_lines:
                self.duplicate(element, identifier, self.activity_lines[identifier])
                continue
            self.activity_lines[identifier] = element.sourceline
            items = tuple(
                item for e in cp(element, "item") if (item := self.read_item(e)) is not None
            )
            if not cp(element, "item"):
                self.problem(
                    element,
                    N_("Organization '%(id)s' has no items."),
                    id=identifier,
                )
            organizations.append(
                Organization(
                    identifier=identifier,
                    title=text(first(cp(element, "title"))) or identifier,
                    items=items,
                    sequencing=self.read_sequencing_of(element),
                    objectives_global_to_system=self.boolean(
                        element, f"{{{NS_ADLSEQ}}}objectivesGlobalToSystem", True
                    ),
                    shared_data_global_to_system=self.boolean(
                        element, f"{{{NS_ADLCP_2004}}}sharedDataGlobalToSystem", True
                    ),
                    line=element.sourceline,
                )
            )
        default = (container.get("default") or "").strip()
        if not default:
            default = organizations[0].identifier if organizations else ""
        elif default not in {o.identifier for o in organizations}:
            self.problem(
                container,
                N_("The default organization '%(id)s' does not exist."),
                id=default,
            )
        return tuple(organizations), default

    def read_item(self, element: Any) -> Item | None:
        identifier = (element.get("identifier") or "").strip()
        if not identifier:
            self.problem(element, N_("This <%(element)s> has no identifier."), element="item")
            return None
        if identifier in self.activity_lines:
            self.duplicate(element, identifier, self.activity_lines[identifier])
            return None
        self.activity_lines[identifier] = element.sourceline
        children = tuple(
            item for e in cp(element, "item") if (item := self.read_item(e)) is not None
        )
        identifierref = (element.get("identifierref") or "").strip() or None
        parameters = element.get("parameters") or ""
        launch: str | None = None
        sco = False
        if identifierref is not None:
            resource = self.resources.get(identifierref)
            if resource is None:
                self.problem(
                    element,
                    N_("Item '%(item)s' refers to resource '%(resource)s', which does not exist."),
                    item=identifier,
                    resource=identifierref,
                )
            elif resource.href is None:
                if not cp(element, "item"):
                    self.problem(
                        element,
                        N_("Item '%(item)s' launches resource '%(resource)s', which has no href."),
                        item=identifier,
                        resource=identifierref,
                    )
            else:
                launch = launch_url(resource.href, parameters)
                sco = resource.is_sco
        elif not cp(element, "item"):
            self.problem(
                element,
                N_("Item '%(item)s' has neither a resource to launch nor sub-items."),
                item=identifier,
            )
        values: dict[str, Any] = {}
        if self.version == "1.2":
            self.read_12(element, values)
        else:
            self.read_2004(element, values)
        return Item(
            identifier=identifier,
            title=text(first(cp(element, "title"))) or identifier,
            identifierref=identifierref,
            parameters=parameters,
            is_visible=self.boolean(element, "isvisible", True),
            children=children,
            launch=launch,
            sco=sco,
            line=element.sourceline,
            **values,
        )

    def read_12(self, element: Any, values: dict[str, Any]) -> None:
        mastery = adlcp(element, "masteryscore")
        if mastery is not None:
            values["mastery_score"] = self.number(
                mastery, "adlcp:masteryscore", text(mastery), None, 0, 100
            )
        for name, key in (
            ("maxtimeallowed", "max_time_allowed"),
            ("datafromlms", "data_from_lms"),
            ("prerequisites", "prerequisites"),
        ):
            child = adlcp(element, name)
            if child is not None and text(child):
                values[key] = child.text.strip() if name == "datafromlms" else text(child)
        self.time_limit_action(element, values)

    def time_limit_action(self, element: Any, values: dict[str, Any]) -> None:
        child = adlcp(element, "timelimitaction")
        if child is not None and text(child):
            raw = text(child)
            normalised = re.sub(r"\s*,\s*", ",", raw.lower())
            if normalised in TIME_LIMIT_ACTIONS:
                values["time_limit_action"] = normalised
            else:
                self.choice(child, "adlcp:timeLimitAction", raw, TIME_LIMIT_ACTIONS, None)

    def read_2004(self, element: Any, values: dict[str, Any]) -> None:
        threshold = adlcp(element, "completionThreshold")
        if threshold is not None:
            values["completion_threshold"] = self.completion_threshold(threshold)
        data = adlcp(element, "dataFromLMS")
        if data is not None and data.text and data.text.strip():
            values["data_from_lms"] = data.text.strip()
        self.time_limit_action(element, values)
        store = adlcp(element, "data")
        if store is not None and namespace_of(store) == NS_ADLCP_2004:
            maps: dict[str, DataMap] = {}
            for m in elements(store):
                if local_name(m) != "map":
                    continue
                target = (m.get("targetID") or "").strip()
                if not target:
                    self.problem(m, N_("This <adlcp:map> has no targetID."))
                elif target not in maps:  # one bucket per target: the first map decides
                    maps[target] = DataMap(
                        target_id=target,
                        read_shared_data=self.boolean(m, "readSharedData", True),
                        write_shared_data=self.boolean(m, "writeSharedData", True),
                    )
            values["data_maps"] = tuple(maps.values())
        hidden: list[str] = []
        for presentation in elements(element):
            if (
                namespace_of(presentation) == NS_ADLNAV
                and local_name(presentation) == "presentation"
            ):
                for node in presentation.iter(f"{{{NS_ADLNAV}}}hideLMSUI"):
                    if text(node):
                        hidden.append(text(node))
        values["hide_lms_ui"] = tuple(hidden)
        sequencing = self.read_sequencing_of(element)
        values["sequencing"] = sequencing
        if sequencing and sequencing.limit_conditions.attempt_absolute_duration_limit:
            values["max_time_allowed"] = sequencing.limit_conditions.attempt_absolute_duration_limit

    def completion_threshold(self, element: Any) -> CompletionThreshold:
        name = "adlcp:completionThreshold"
        if text(element):  # 2nd and 3rd Edition: the minimum progress as the element's text
            value = self.number(element, name, text(element), 1.0, 0, 1)
            return CompletionThreshold(min_progress_measure=value or 0.0, completed_by_measure=True)
        measure = self.number(
            element, "minProgressMeasure", element.get("minProgressMeasure"), 1.0, 0, 1
        )
        weight = self.number(element, "progressWeight", element.get("progressWeight"), 1.0, 0, 1)
        return CompletionThreshold(
            min_progress_measure=1.0 if measure is None else measure,
            completed_by_measure=self.boolean(element, "completedByMeasure", False),
            progress_weight=1.0 if weight is None else weight,
        )

    # Sequencing ----------------------------------------------------------------------------


def _namespaces(root: Any) -> set[str]:
    found: set[str] = set()
    for element in root.iter():
        found.update(v for v in element.nsmap.values() if v)
        found.update(etree.QName(k).namespace or "" for k in element.attrib)
    return found - {""}


def _fourth_edition_only(element: Any) -> bool:
    name, ns = local_name(element), namespace_of(element)
    if name == "completionThreshold":
        return bool(element.attrib)
    return (ns == NS_ADLNAV and name == "hideLMSUI") or (ns == NS_ADLCP_2004 and name == "data")


def _version(
    root: Any, problems: list[Problem], warnings: list[Problem]
) -> tuple[str, int | None] | None:
    """(version, edition) from <schemaversion>, or from the namespaces when it is missing."""
    for metadata in cp(root, "metadata"):
        for element in cp(metadata, "schemaversion"):
            raw = text(element)
            if not raw:
                continue
            known = SCHEMA_VERSIONS.get(raw.lower())
            if known is None:
                problems.append(
                    Problem(
                        MANIFEST,
                        element.sourceline,
                        N_(
                            "Unknown SCORM version '%(version)s': expected 1.2, CAM 1.3, "
                            "2004 3rd Edition or 2004 4th Edition."
                        ),
                        {"version": raw},
                    )
                )
                return None
            return known
    namespaces = _namespaces(root)
    if namespaces & {NS_ADLCP_12, NS_CP_12}:
        found: tuple[str, int | None] = ("1.2", None)
    elif namespaces & {NS_ADLCP_2004, NS_IMSSS, NS_ADLSEQ, NS_ADLNAV, NS_CP_2004}:
        # Only the 4th Edition has completionThreshold attributes, adlcp:data and adlnav:hideLMSUI.
        fourth = any(_fourth_edition_only(e) for e in root.iter() if isinstance(e.tag, str))
        found = ("2004", 4 if fourth else 3)
    else:
        problems.append(
            Problem(
                MANIFEST,
                root.sourceline,
                N_(
                    "The SCORM version cannot be told: there is no <schemaversion> "
                    "and no SCORM namespace."
                ),
            )
        )
        return None
    warnings.append(
        Problem(
            MANIFEST,
            root.sourceline,
            N_("There is no <schemaversion>; the package was read as SCORM %(version)s."),
            {"version": label(*found)},
        )
    )
    return found


def parse_manifest(xml: bytes, files: Collection[str]) -> Manifest:
    """Read imsmanifest.xml; `files` are the package's paths, to check every href against.

    Raises PackageError with every problem found, each with its line.
    """
    root = load(xml)
    if local_name(root) != "manifest":
        raise PackageError(
            [Problem(MANIFEST, root.sourceline, N_("The root element must be <manifest>."))]
        )
    problems: list[Problem] = []
    warnings: list[Problem] = []
    found = _version(root, problems, warnings)
    if found is None:
        raise PackageError(problems)
    reader = _Reader(root, files, *found)
    reader.warnings.extend(warnings)
    if reader.version == "2004":
        for collection in elements(root):
            if (
                namespace_of(collection) == NS_IMSSS
                and local_name(collection) == "sequencingCollection"
            ):
                for shared in elements(collection):
                    if (shared.get("ID") or "").strip():
                        reader.collection[shared.get("ID").strip()] = shared
    resources = reader.read_resources()
    organizations, default = reader.read_organizations()
    for nested in cp(root, "manifest"):
        reader.unsupported(nested)
    if reader.problems:
        raise PackageError(reader.problems)
    identifier = (root.get("identifier") or "").strip()
    title = next((o.title for o in organizations if o.identifier == default), "") or identifier
    return Manifest(
        version=found[0],
        edition=found[1],
        identifier=identifier,
        title=title,
        default_organization=default,
        organizations=organizations,
        resources=resources,
        warnings=tuple(reader.warnings),
    )


def with_files(manifest: Manifest, files: Mapping[str, bytes]) -> Package:
    """The manifest as a Package that carries the package's files."""
    values = {f.name: getattr(manifest, f.name) for f in fields(Manifest)}
    return Package(**values, files=files)
