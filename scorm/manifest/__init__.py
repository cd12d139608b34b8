"""imsmanifest.xml -> frozen dataclasses: version, organizations, items, resources, sequencing.

The manifest is read with lxml without network access, DTD loading or entity expansion; a
manifest that declares entities is refused outright (XXE, "billion laughs"). Every problem is
collected with its line and reported at once in a PackageError. Sequencing (IMS SS, SCORM 2004)
is parsed into plain dataclasses, references into <imsss:sequencingCollection> resolved the way
the ADL reference implementation does it: a child element of the local <imsss:sequencing>
replaces the referenced one of the same name, the others are added. Elements Hocvu does not
read are listed in `warnings`, not refused.

By part: `xml` (safe loading, namespaces, element helpers), `model` (content packaging:
resources, items, organizations), `sequencing` (the sequencing definitions an item declares),
`sequencing_reader` and `reader` (walking the XML). Callers use the names re-exported here.
"""

from scorm.manifest.model import (
    CompletionThreshold,
    DataMap,
    Item,
    Manifest,
    Organization,
    Package,
    Resource,
)
from scorm.manifest.reader import SCHEMA_VERSIONS, launch_url, parse_manifest, with_files
from scorm.manifest.sequencing import (
    ConstrainedChoice,
    ControlMode,
    DeliveryControls,
    LimitConditions,
    Objective,
    ObjectiveMap,
    Randomization,
    RollupConsiderations,
    RollupRule,
    RollupRules,
    RuleCondition,
    Sequencing,
    SequencingRule,
)
from scorm.manifest.xml import MANIFEST

__all__ = [
    "MANIFEST",
    "SCHEMA_VERSIONS",
    "CompletionThreshold",
    "ConstrainedChoice",
    "ControlMode",
    "DataMap",
    "DeliveryControls",
    "Item",
    "LimitConditions",
    "Manifest",
    "Objective",
    "ObjectiveMap",
    "Organization",
    "Package",
    "Randomization",
    "Resource",
    "RollupConsiderations",
    "RollupRule",
    "RollupRules",
    "RuleCondition",
    "Sequencing",
    "SequencingRule",
    "launch_url",
    "parse_manifest",
    "with_files",
]
