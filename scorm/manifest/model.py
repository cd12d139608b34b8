"""Content packaging (IMS CP as profiled by SCORM): resources, items, organizations, the
manifest and a package (a manifest with its files)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from scorm.errors import Problem
from scorm.manifest.sequencing import (
    Objective,
    Sequencing,
)


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
    # adlcp:sharedDataGlobalToSystem (4th Edition): the adl.data buckets of this organization
    # are the learner's across every package (True) or only within this one (False).
    shared_data_global_to_system: bool = True
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
        return "SCORM " + label(self.version, self.edition)

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


def label(version: str, edition: int | None) -> str:
    if version == "1.2":
        return "1.2"
    return f"2004 {({2: '2nd', 3: '3rd'}).get(edition or 4, '4th')} Edition"
