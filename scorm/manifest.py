"""imsmanifest.xml -> frozen dataclasses: version, organizations, items, resources, sequencing.

The manifest is read with lxml without network access, DTD loading or entity expansion; a
manifest that declares entities is refused outright (XXE, "billion laughs"). Every problem is
collected with its line and reported at once in a PackageError. Sequencing (IMS SS, SCORM 2004)
is parsed into plain dataclasses, references into <imsss:sequencingCollection> resolved the way
the ADL reference implementation does it: a child element of the local <imsss:sequencing>
replaces the referenced one of the same name, the others are added. Elements Hocvu does not
read are listed in `warnings`, not refused.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import unquote

from lxml import etree

from scorm.errors import N_, PackageError, Problem

MANIFEST = "imsmanifest.xml"

NS_IMSSS = "http://www.imsglobal.org/xsd/imsss"
NS_ADLSEQ = "http://www.adlnet.org/xsd/adlseq_v1p3"
NS_ADLNAV = "http://www.adlnet.org/xsd/adlnav_v1p3"
NS_ADLCP_12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
NS_ADLCP_2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"
NS_CP_12 = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
NS_CP_2004 = "http://www.imsglobal.org/xsd/imscp_v1p1"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# Elements in these namespaces are never content-packaging elements, whatever their name.
_EXTENSION_NS = {NS_IMSSS, NS_ADLSEQ, NS_ADLNAV, NS_ADLCP_12, NS_ADLCP_2004}

# schemaversion (whitespace collapsed, lower case) -> (version, edition)
SCHEMA_VERSIONS: dict[str, tuple[str, int | None]] = {
    "1.2": ("1.2", None),
    "cam 1.3": ("2004", 2),
    "1.3": ("2004", 2),
    "2004 3rd edition": ("2004", 3),
    "2004 4th edition": ("2004", 4),
}

TIME_LIMIT_ACTIONS = ("exit,message", "exit,no message", "continue,message", "continue,no message")
RULE_CONDITIONS = (
    "satisfied",
    "objectiveStatusKnown",
    "objectiveMeasureKnown",
    "objectiveMeasureGreaterThan",
    "objectiveMeasureLessThan",
    "completed",
    "activityProgressKnown",
    "attempted",
    "attemptLimitExceeded",
    "timeLimitExceeded",
    "outsideAvailableTimeRange",
    "always",
)
ROLLUP_CONDITIONS = tuple(
    c
    for c in RULE_CONDITIONS
    if c not in ("always", "objectiveMeasureGreaterThan", "objectiveMeasureLessThan")
)
RULE_ACTIONS = {
    "pre": ("skip", "disabled", "hiddenFromChoice", "stopForwardTraversal"),
    "exit": ("exit",),
    "post": ("exitParent", "exitAll", "retry", "retryAll", "continue", "previous"),
}
ROLLUP_ACTIONS = ("satisfied", "notSatisfied", "completed", "incomplete")
CHILD_ACTIVITY_SETS = ("all", "any", "none", "atLeastCount", "atLeastPercent")
ROLLUP_CONSIDERATIONS = ("always", "ifAttempted", "ifNotSkipped", "ifNotSuspended")


# --- Sequencing (IMS SS as profiled by SCORM 2004) --------------------------------------------


@dataclass(frozen=True)
class ControlMode:
    """imsss:controlMode: which navigation requests the learner may make inside a cluster."""

    choice: bool = True
    choice_exit: bool = True
    flow: bool = False
    forward_only: bool = False
    use_current_attempt_objective_info: bool = True
    use_current_attempt_progress_info: bool = True


@dataclass(frozen=True)
class RuleCondition:
    """One imsss:ruleCondition (or rollupCondition); `negated` is operator="not"."""

    condition: str
    negated: bool = False
    referenced_objective: str | None = None
    measure_threshold: float | None = None


@dataclass(frozen=True)
class SequencingRule:
    """A pre-, exit- or post-condition rule: if the conditions hold, do `action`."""

    kind: str  # "pre", "exit" or "post"
    conditions: tuple[RuleCondition, ...]
    combination: str = "all"  # "all" or "any"
    action: str = ""
    line: int | None = None


@dataclass(frozen=True)
class LimitConditions:
    """imsss:limitConditions; only the attempt limits are part of SCORM 2004."""

    attempt_limit: int | None = None
    attempt_absolute_duration_limit: str | None = None  # ISO 8601 duration, e.g. "PT1H"


@dataclass(frozen=True)
class ObjectiveMap:
    """imsss:mapInfo: how a local objective reads and writes a global (shared) objective."""

    target_objective_id: str
    read_satisfied_status: bool = True
    read_normalized_measure: bool = True
    write_satisfied_status: bool = False
    write_normalized_measure: bool = False


@dataclass(frozen=True)
class Objective:
    """imsss:primaryObjective or imsss:objective of an activity."""

    identifier: str | None
    primary: bool = False
    satisfied_by_measure: bool = False
    min_normalized_measure: float = 1.0
    maps: tuple[ObjectiveMap, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class RollupRule:
    """imsss:rollupRule: when the children in `child_activity_set` meet the conditions."""

    action: str
    conditions: tuple[RuleCondition, ...]
    combination: str = "any"
    child_activity_set: str = "all"
    minimum_count: int = 0
    minimum_percent: float = 0.0


@dataclass(frozen=True)
class RollupRules:
    """imsss:rollupRules: whether and how this activity counts in its parent's rollup."""

    rollup_objective_satisfied: bool = True
    rollup_progress_completion: bool = True
    objective_measure_weight: float = 1.0
    rules: tuple[RollupRule, ...] = ()


@dataclass(frozen=True)
class DeliveryControls:
    """imsss:deliveryControls."""

    tracked: bool = True
    completion_set_by_content: bool = False
    objective_set_by_content: bool = False


@dataclass(frozen=True)
class RollupConsiderations:
    """adlseq:rollupConsiderations: when a child is required for each rollup result."""

    required_for_satisfied: str = "always"
    required_for_not_satisfied: str = "always"
    required_for_completed: str = "always"
    required_for_incomplete: str = "always"
    measure_satisfaction_if_active: bool = True


@dataclass(frozen=True)
class Sequencing:
    """The sequencing of one activity (item or organization); the defaults are IMS SS's."""

    control_mode: ControlMode = ControlMode()
    pre_condition_rules: tuple[SequencingRule, ...] = ()
    exit_condition_rules: tuple[SequencingRule, ...] = ()
    post_condition_rules: tuple[SequencingRule, ...] = ()
    limit_conditions: LimitConditions = LimitConditions()
    objectives: tuple[Objective, ...] = ()  # the primary objective first, when there is one
    rollup_rules: RollupRules = RollupRules()
    delivery_controls: DeliveryControls = DeliveryControls()
    rollup_considerations: RollupConsiderations = RollupConsiderations()
    idref: str | None = None  # the imsss:sequencingCollection entry it was combined with

    @property
    def primary_objective(self) -> Objective | None:
        """The primary objective, if the manifest declares one."""
        return next((o for o in self.objectives if o.primary), None)


# --- Content packaging ------------------------------------------------------------------------


@dataclass(frozen=True)
class CompletionThreshold:
    """adlcp:completionThreshold (4th Edition attributes; 2nd/3rd Edition text = the minimum)."""

    min_progress_measure: float = 1.0
    completed_by_measure: bool = False
    progress_weight: float = 1.0


@dataclass(frozen=True)
class DataMap:
    """adlcp:data/adlcp:map (4th Edition): a shared data bucket, adl.data.n at run time."""

    target_id: str
    read_shared_data: bool = True
    write_shared_data: bool = True


@dataclass(frozen=True)
class Resource:
    """A <resource>; `href` (may hold a query) and `files` are package paths, xml:base applied."""

    identifier: str
    type: str
    scorm_type: str  # "sco" or "asset"
    href: str | None
    files: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    line: int | None = None

    @property
    def is_sco(self) -> bool:
        """True when the resource talks to the LMS through the SCORM API."""
        return self.scorm_type == "sco"


@dataclass(frozen=True)
class Item:
    """An <item> of an organization: an aggregation (children) or a launchable leaf."""

    identifier: str
    title: str
    identifierref: str | None = None
    parameters: str = ""
    is_visible: bool = True
    children: tuple[Item, ...] = ()
    launch: str | None = None  # resource href + parameters, relative to the package root
    sco: bool = False
    line: int | None = None
    # SCORM 1.2 (adlcp:masteryscore is 0-100)
    mastery_score: float | None = None
    prerequisites: str | None = None  # AICC script, as written
    # Both: 1.2 adlcp:maxtimeallowed; 2004 imsss:attemptAbsoluteDurationLimit
    max_time_allowed: str | None = None
    time_limit_action: str | None = None  # "exit,message", ..., normalised
    data_from_lms: str | None = None  # 1.2 adlcp:datafromlms, 2004 adlcp:dataFromLMS
    # SCORM 2004
    completion_threshold: CompletionThreshold | None = None
    sequencing: Sequencing | None = None  # None in SCORM 1.2
    data_maps: tuple[DataMap, ...] = ()
    hide_lms_ui: tuple[str, ...] = ()  # adlnav:hideLMSUI values

    @property
    def is_leaf(self) -> bool:
        """True when the item has no sub-items."""
        return not self.children

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The item's sequencing objectives (SCORM 2004), primary first."""
        return self.sequencing.objectives if self.sequencing else ()

    @property
    def scaled_passing_score(self) -> float | None:
        """cmi.scaled_passing_score: the primary objective's minNormalizedMeasure, if by measure."""
        primary = self.sequencing.primary_objective if self.sequencing else None
        if primary is None or not primary.satisfied_by_measure:
            return None
        return primary.min_normalized_measure

    def walk(self) -> Iterator[Item]:
        """This item and all its descendants, in tree order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Organization:
    """An <organization>: a tree of items with a title and (2004) sequencing."""

    identifier: str
    title: str
    items: tuple[Item, ...]
    sequencing: Sequencing | None = None
    objectives_global_to_system: bool = True
    line: int | None = None

    def walk(self) -> Iterator[Item]:
        """Every item, in tree order."""
        for item in self.items:
            yield from item.walk()


@dataclass(frozen=True)
class Manifest:
    """What imsmanifest.xml says: version, organizations and resources."""

    version: str  # "1.2" or "2004"
    edition: int | None  # 2, 3 or 4 for SCORM 2004; None for 1.2
    identifier: str
    title: str
    default_organization: str
    organizations: tuple[Organization, ...]
    resources: tuple[Resource, ...]
    warnings: tuple[Problem, ...]

    @property
    def label(self) -> str:
        """The version as people say it: "SCORM 1.2", "SCORM 2004 3rd Edition"."""
        return "SCORM " + _label(self.version, self.edition)

    @property
    def organization(self) -> Organization:
        """The default organization (the one learners take)."""
        return next(o for o in self.organizations if o.identifier == self.default_organization)

    def resource(self, identifier: str) -> Resource | None:
        """The resource with this identifier."""
        return next((r for r in self.resources if r.identifier == identifier), None)

    def item(self, identifier: str) -> Item | None:
        """The item with this identifier, in any organization."""
        for organization in self.organizations:
            for item in organization.walk():
                if item.identifier == identifier:
                    return item
        return None

    def leaves(self) -> list[Item]:
        """Leaf items of the default organization that launch something (SCO or asset)."""
        return [i for i in self.organization.walk() if i.is_leaf and i.launch is not None]

    def scos(self) -> list[Item]:
        """Leaf items of the default organization that launch a SCO, in tree order."""
        return [i for i in self.leaves() if i.sco]


@dataclass(frozen=True)
class Package(Manifest):
    """A read package: the manifest and its files ({relative path: bytes}, read on demand)."""

    files: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)


# --- Reading ----------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _ns(element: Any) -> str | None:
    return etree.QName(element).namespace if isinstance(element.tag, str) else None


def _elements(parent: Any) -> list[Any]:
    return [c for c in parent if isinstance(c.tag, str)]


def _cp(parent: Any, name: str) -> list[Any]:
    """Content-packaging children called `name`, whatever namespace the 1.2 tool used."""
    return [c for c in _elements(parent) if _local(c) == name and _ns(c) not in _EXTENSION_NS]


def _adlcp(parent: Any, name: str) -> Any | None:
    """The first adlcp child called `name`, matched without case (1.2 and 2004 spell them apart)."""
    for child in _elements(parent):
        if _local(child).lower() == name.lower() and _ns(child) not in (NS_IMSSS, NS_ADLSEQ):
            return child
    return None


def _text(element: Any | None) -> str:
    if element is None:
        return ""
    return unicodedata.normalize("NFC", " ".join("".join(element.itertext()).split()))


def _attr_any(element: Any, name: str) -> str | None:
    """An attribute by local name, in any namespace, without case (adlcp:scormtype/scormType)."""
    for key, value in element.attrib.items():
        if etree.QName(key).localname.lower() == name.lower():
            return value
    return None


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


class _Reader:
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
        base = self.root.get(_XML_BASE, "")
        result: list[Resource] = []
        lines: dict[str, int | None] = {}
        for container in _cp(self.root, "resources"):
            container_base = _join_base(base, container.get(_XML_BASE, ""))
            for element in _cp(container, "resource"):
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
        base = _join_base(base, element.get(_XML_BASE, ""))
        raw_type = (_attr_any(element, "scormtype") or "asset").strip().lower()
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
        for file in _cp(element, "file"):
            file_href = (file.get("href") or "").strip()
            if not file_href:
                continue
            path = _join_base(base, file_href)
            self.check_path(file, identifier, path, launch=False)
            files.append(path)
        dependencies = tuple(
            d.get("identifierref", "").strip()
            for d in _cp(element, "dependency")
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
        containers = _cp(self.root, "organizations")
        container = containers[0] if containers else None
        elements = _cp(container, "organization") if container is not None else []
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
                item for e in _cp(element, "item") if (item := self.read_item(e)) is not None
            )
            if not _cp(element, "item"):
                self.problem(
                    element,
                    N_("Organization '%(id)s' has no items."),
                    id=identifier,
                )
            organizations.append(
                Organization(
                    identifier=identifier,
                    title=_text(_first(_cp(element, "title"))) or identifier,
                    items=items,
                    sequencing=self.read_sequencing_of(element),
                    objectives_global_to_system=self.boolean(
                        element, f"{{{NS_ADLSEQ}}}objectivesGlobalToSystem", True
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
            item for e in _cp(element, "item") if (item := self.read_item(e)) is not None
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
                if not _cp(element, "item"):
                    self.problem(
                        element,
                        N_("Item '%(item)s' launches resource '%(resource)s', which has no href."),
                        item=identifier,
                        resource=identifierref,
                    )
            else:
                launch = launch_url(resource.href, parameters)
                sco = resource.is_sco
        elif not _cp(element, "item"):
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
            title=_text(_first(_cp(element, "title"))) or identifier,
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
        mastery = _adlcp(element, "masteryscore")
        if mastery is not None:
            values["mastery_score"] = self.number(
                mastery, "adlcp:masteryscore", _text(mastery), None, 0, 100
            )
        for name, key in (
            ("maxtimeallowed", "max_time_allowed"),
            ("datafromlms", "data_from_lms"),
            ("prerequisites", "prerequisites"),
        ):
            child = _adlcp(element, name)
            if child is not None and _text(child):
                values[key] = child.text.strip() if name == "datafromlms" else _text(child)
        self.time_limit_action(element, values)

    def time_limit_action(self, element: Any, values: dict[str, Any]) -> None:
        child = _adlcp(element, "timelimitaction")
        if child is not None and _text(child):
            raw = _text(child)
            normalised = re.sub(r"\s*,\s*", ",", raw.lower())
            if normalised in TIME_LIMIT_ACTIONS:
                values["time_limit_action"] = normalised
            else:
                self.choice(child, "adlcp:timeLimitAction", raw, TIME_LIMIT_ACTIONS, None)

    def read_2004(self, element: Any, values: dict[str, Any]) -> None:
        threshold = _adlcp(element, "completionThreshold")
        if threshold is not None:
            values["completion_threshold"] = self.completion_threshold(threshold)
        data = _adlcp(element, "dataFromLMS")
        if data is not None and data.text and data.text.strip():
            values["data_from_lms"] = data.text.strip()
        self.time_limit_action(element, values)
        store = _adlcp(element, "data")
        if store is not None and _ns(store) == NS_ADLCP_2004:
            values["data_maps"] = tuple(
                DataMap(
                    target_id=(m.get("targetID") or "").strip(),
                    read_shared_data=self.boolean(m, "readSharedData", True),
                    write_shared_data=self.boolean(m, "writeSharedData", True),
                )
                for m in _elements(store)
                if _local(m) == "map"
            )
        hidden: list[str] = []
        for presentation in _elements(element):
            if _ns(presentation) == NS_ADLNAV and _local(presentation) == "presentation":
                for node in presentation.iter(f"{{{NS_ADLNAV}}}hideLMSUI"):
                    if _text(node):
                        hidden.append(_text(node))
        values["hide_lms_ui"] = tuple(hidden)
        sequencing = self.read_sequencing_of(element)
        values["sequencing"] = sequencing
        if sequencing and sequencing.limit_conditions.attempt_absolute_duration_limit:
            values["max_time_allowed"] = sequencing.limit_conditions.attempt_absolute_duration_limit

    def completion_threshold(self, element: Any) -> CompletionThreshold:
        name = "adlcp:completionThreshold"
        if _text(element):  # 2nd and 3rd Edition: the minimum progress as the element's text
            value = self.number(element, name, _text(element), 1.0, 0, 1)
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

    def read_sequencing_of(self, element: Any) -> Sequencing | None:
        if self.version == "1.2":
            return None
        found = [c for c in _elements(element) if _ns(c) == NS_IMSSS and _local(c) == "sequencing"]
        return self.sequencing(found[0]) if found else Sequencing()

    def sequencing(self, element: Any) -> Sequencing:
        children = _elements(element)
        idref = (element.get("IDRef") or "").strip() or None
        if idref is not None:
            shared = self.collection.get(idref)
            if shared is None:
                self.problem(
                    element,
                    N_(
                        "The sequencing '%(id)s' named by IDRef is not in the sequencingCollection."
                    ),
                    id=idref,
                )
            else:
                local = {c.tag for c in children}
                children += [c for c in _elements(shared) if c.tag not in local]
        values: dict[str, Any] = {"idref": idref}
        for child in children:
            ns, name = _ns(child), _local(child)
            if ns == NS_IMSSS and name == "controlMode":
                values["control_mode"] = ControlMode(
                    choice=self.boolean(child, "choice", True),
                    choice_exit=self.boolean(child, "choiceExit", True),
                    flow=self.boolean(child, "flow", False),
                    forward_only=self.boolean(child, "forwardOnly", False),
                    use_current_attempt_objective_info=self.boolean(
                        child, "useCurrentAttemptObjectiveInfo", True
                    ),
                    use_current_attempt_progress_info=self.boolean(
                        child, "useCurrentAttemptProgressInfo", True
                    ),
                )
            elif ns == NS_IMSSS and name == "sequencingRules":
                rules = self.sequencing_rules(child)
                for kind in ("pre", "exit", "post"):
                    values[f"{kind}_condition_rules"] = tuple(r for r in rules if r.kind == kind)
            elif ns == NS_IMSSS and name == "limitConditions":
                values["limit_conditions"] = self.limit_conditions(child)
            elif ns == NS_IMSSS and name == "objectives":
                values["objectives"] = self.objectives(child)
            elif ns == NS_IMSSS and name == "rollupRules":
                values["rollup_rules"] = self.rollup_rules(child)
            elif ns == NS_IMSSS and name == "deliveryControls":
                values["delivery_controls"] = DeliveryControls(
                    tracked=self.boolean(child, "tracked", True),
                    completion_set_by_content=self.boolean(child, "completionSetByContent", False),
                    objective_set_by_content=self.boolean(child, "objectiveSetByContent", False),
                )
            elif ns == NS_ADLSEQ and name == "rollupConsiderations":
                values["rollup_considerations"] = self.rollup_considerations(child)
            else:
                self.unsupported(child)
        return Sequencing(**values)

    def unsupported(self, element: Any) -> None:
        prefix = {NS_IMSSS: "imsss:", NS_ADLSEQ: "adlseq:", NS_ADLNAV: "adlnav:"}.get(
            _ns(element), ""
        )
        self.warn(
            element,
            N_("<%(element)s> is not supported by Hocvu; it is ignored."),
            element=prefix + _local(element),
        )

    def sequencing_rules(self, element: Any) -> list[SequencingRule]:
        rules: list[SequencingRule] = []
        kinds = {
            "preConditionRule": "pre",
            "exitConditionRule": "exit",
            "postConditionRule": "post",
        }
        for rule in _elements(element):
            kind = kinds.get(_local(rule)) if _ns(rule) == NS_IMSSS else None
            if kind is None:
                self.unsupported(rule)
                continue
            conditions_element = _imsss(rule, "ruleConditions")
            action_element = _imsss(rule, "ruleAction")
            conditions = self.conditions(conditions_element, "ruleCondition", RULE_CONDITIONS)
            if not conditions or action_element is None:
                self.problem(
                    rule,
                    N_("This sequencing rule needs conditions and an action."),
                )
                continue
            action = self.choice(
                action_element, "action", action_element.get("action"), RULE_ACTIONS[kind], None
            )
            if action is None:
                continue
            rules.append(
                SequencingRule(
                    kind=kind,
                    conditions=conditions,
                    combination=self.choice(
                        conditions_element,
                        "conditionCombination",
                        conditions_element.get("conditionCombination"),
                        ("all", "any"),
                        "all",
                    )
                    or "all",
                    action=action,
                    line=rule.sourceline,
                )
            )
        return rules

    def conditions(
        self, element: Any | None, tag: str, allowed: tuple[str, ...]
    ) -> tuple[RuleCondition, ...]:
        if element is None:
            return ()
        result: list[RuleCondition] = []
        for condition in _elements(element):
            if _ns(condition) != NS_IMSSS or _local(condition) != tag:
                self.unsupported(condition)
                continue
            name = self.choice(condition, "condition", condition.get("condition"), allowed, None)
            if name is None:
                if not (condition.get("condition") or "").strip():
                    self.problem(condition, N_("This condition has no condition attribute."))
                continue
            operator = self.choice(
                condition, "operator", condition.get("operator"), ("not", "noOp"), "noOp"
            )
            threshold = self.number(
                condition, "measureThreshold", condition.get("measureThreshold"), None, -1, 1
            )
            result.append(
                RuleCondition(
                    condition=name,
                    negated=operator == "not",
                    referenced_objective=(condition.get("referencedObjective") or "").strip()
                    or None,
                    measure_threshold=threshold,
                )
            )
        return tuple(result)

    def limit_conditions(self, element: Any) -> LimitConditions:
        for name in (
            "attemptExperiencedDurationLimit",
            "activityAbsoluteDurationLimit",
            "activityExperiencedDurationLimit",
            "beginTimeLimit",
            "endTimeLimit",
        ):
            if element.get(name) is not None:
                self.warn(
                    element,
                    N_("<%(element)s> is not supported by Hocvu; it is ignored."),
                    element=f"imsss:limitConditions {name}",
                )
        return LimitConditions(
            attempt_limit=self.whole(element, "attemptLimit"),
            attempt_absolute_duration_limit=(
                element.get("attemptAbsoluteDurationLimit") or ""
            ).strip()
            or None,
        )

    def objectives(self, element: Any) -> tuple[Objective, ...]:
        result: list[Objective] = []
        for child in _elements(element):
            name = _local(child)
            if _ns(child) != NS_IMSSS or name not in ("primaryObjective", "objective"):
                self.unsupported(child)
                continue
            measure_element = _imsss(child, "minNormalizedMeasure")
            measure = self.number(
                measure_element if measure_element is not None else child,
                "imsss:minNormalizedMeasure",
                _text(measure_element),
                1.0,
                -1,
                1,
            )
            maps = tuple(
                ObjectiveMap(
                    target_objective_id=(m.get("targetObjectiveID") or "").strip(),
                    read_satisfied_status=self.boolean(m, "readSatisfiedStatus", True),
                    read_normalized_measure=self.boolean(m, "readNormalizedMeasure", True),
                    write_satisfied_status=self.boolean(m, "writeSatisfiedStatus", False),
                    write_normalized_measure=self.boolean(m, "writeNormalizedMeasure", False),
                )
                for m in _elements(child)
                if _ns(m) == NS_IMSSS and _local(m) == "mapInfo"
            )
            objective = Objective(
                identifier=(child.get("objectiveID") or "").strip() or None,
                primary=name == "primaryObjective",
                satisfied_by_measure=self.boolean(child, "satisfiedByMeasure", False),
                min_normalized_measure=1.0 if measure is None else measure,
                maps=maps,
                line=child.sourceline,
            )
            if objective.identifier is None and not objective.primary:
                self.problem(child, N_("This objective has no objectiveID."))
                continue
            result.append(objective)
        result.sort(key=lambda o: not o.primary)
        return tuple(result)

    def rollup_rules(self, element: Any) -> RollupRules:
        rules: list[RollupRule] = []
        for child in _elements(element):
            if _ns(child) != NS_IMSSS or _local(child) != "rollupRule":
                self.unsupported(child)
                continue
            conditions_element = _imsss(child, "rollupConditions")
            action_element = _imsss(child, "rollupAction")
            conditions = self.conditions(conditions_element, "rollupCondition", ROLLUP_CONDITIONS)
            if not conditions or action_element is None:
                self.problem(child, N_("This rollup rule needs conditions and an action."))
                continue
            action = self.choice(
                action_element, "action", action_element.get("action"), ROLLUP_ACTIONS, None
            )
            if action is None:
                continue
            rules.append(
                RollupRule(
                    action=action,
                    conditions=conditions,
                    combination=self.choice(
                        conditions_element,
                        "conditionCombination",
                        conditions_element.get("conditionCombination"),
                        ("all", "any"),
                        "any",
                    )
                    or "any",
                    child_activity_set=self.choice(
                        child,
                        "childActivitySet",
                        child.get("childActivitySet"),
                        CHILD_ACTIVITY_SETS,
                        "all",
                    )
                    or "all",
                    minimum_count=self.whole(child, "minimumCount") or 0,
                    minimum_percent=self.number(
                        child, "minimumPercent", child.get("minimumPercent"), 0.0, 0, 1
                    )
                    or 0.0,
                )
            )
        weight = self.number(
            element, "objectiveMeasureWeight", element.get("objectiveMeasureWeight"), 1.0, 0, 1
        )
        return RollupRules(
            rollup_objective_satisfied=self.boolean(element, "rollupObjectiveSatisfied", True),
            rollup_progress_completion=self.boolean(element, "rollupProgressCompletion", True),
            objective_measure_weight=1.0 if weight is None else weight,
            rules=tuple(rules),
        )

    def rollup_considerations(self, element: Any) -> RollupConsiderations:
        def required(name: str) -> str:
            value = self.choice(element, name, element.get(name), ROLLUP_CONSIDERATIONS, "always")
            return value or "always"

        return RollupConsiderations(
            required_for_satisfied=required("requiredForSatisfied"),
            required_for_not_satisfied=required("requiredForNotSatisfied"),
            required_for_completed=required("requiredForCompleted"),
            required_for_incomplete=required("requiredForIncomplete"),
            measure_satisfaction_if_active=self.boolean(
                element, "measureSatisfactionIfActive", True
            ),
        )


def _first(elements: list[Any]) -> Any | None:
    return elements[0] if elements else None


def _imsss(parent: Any, name: str) -> Any | None:
    return next((c for c in _elements(parent) if _ns(c) == NS_IMSSS and _local(c) == name), None)


def _namespaces(root: Any) -> set[str]:
    found: set[str] = set()
    for element in root.iter():
        found.update(v for v in element.nsmap.values() if v)
        found.update(etree.QName(k).namespace or "" for k in element.attrib)
    return found - {""}


def _label(version: str, edition: int | None) -> str:
    if version == "1.2":
        return "1.2"
    return f"2004 {({2: '2nd', 3: '3rd'}).get(edition or 4, '4th')} Edition"


def _fourth_edition_only(element: Any) -> bool:
    name, ns = _local(element), _ns(element)
    if name == "completionThreshold":
        return bool(element.attrib)
    return (ns == NS_ADLNAV and name == "hideLMSUI") or (ns == NS_ADLCP_2004 and name == "data")


def _version(
    root: Any, problems: list[Problem], warnings: list[Problem]
) -> tuple[str, int | None] | None:
    """(version, edition) from <schemaversion>, or from the namespaces when it is missing."""
    for metadata in _cp(root, "metadata"):
        for element in _cp(metadata, "schemaversion"):
            raw = _text(element)
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
            {"version": _label(*found)},
        )
    )
    return found


_ENTITY_DECLARATIONS = [
    "<!ENTITY".encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be")
]


def _entities_refused(line: int | None) -> PackageError:
    return PackageError(
        [
            Problem(
                MANIFEST,
                line,
                N_("The manifest declares XML entities (<!ENTITY>); they are refused for safety."),
            )
        ]
    )


def _load(xml: bytes) -> Any:
    """The root element, or PackageError for broken XML and entity declarations."""
    # Looked for before parsing: libxml2 reports an entity bomb as a cryptic syntax error.
    for declaration in _ENTITY_DECLARATIONS:
        at = xml.find(declaration)
        if at != -1:
            utf8 = declaration == _ENTITY_DECLARATIONS[0]
            raise _entities_refused(xml[:at].count(b"\n") + 1 if utf8 else None)
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as error:
        line = getattr(error, "lineno", None)
        raise PackageError(
            [Problem(MANIFEST, line, N_("XML syntax error: %(detail)s"), {"detail": str(error)})]
        ) from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.entities()):
        raise _entities_refused(None)
    return root


def parse_manifest(xml: bytes, files: Collection[str]) -> Manifest:
    """Read imsmanifest.xml; `files` are the package's paths, to check every href against.

    Raises PackageError with every problem found, each with its line.
    """
    root = _load(xml)
    if _local(root) != "manifest":
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
        for collection in _elements(root):
            if _ns(collection) == NS_IMSSS and _local(collection) == "sequencingCollection":
                for shared in _elements(collection):
                    if (shared.get("ID") or "").strip():
                        reader.collection[shared.get("ID").strip()] = shared
    resources = reader.read_resources()
    organizations, default = reader.read_organizations()
    for nested in _cp(root, "manifest"):
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
