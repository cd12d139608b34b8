"""Reading an item's <imsss:sequencing> (with the references into <sequencingCollection>
resolved as the ADL reference implementation does): the sequencing half of the manifest
reader, mixed into it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scorm.errors import N_
from scorm.manifest.sequencing import (
    ADLSEQ_MAP_FIELDS,
    CHILD_ACTIVITY_SETS,
    ROLLUP_ACTIONS,
    ROLLUP_CONDITIONS,
    ROLLUP_CONSIDERATIONS,
    RULE_ACTIONS,
    RULE_CONDITIONS,
    TIMINGS,
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
from scorm.manifest.xml import (
    NS_ADLNAV,
    NS_ADLSEQ,
    NS_IMSSS,
    elements,
    imsss,
    local_name,
    namespace_of,
    text,
)


class SequencingReader:
    """Reads sequencing definitions; needs the reader's problem/warn and value helpers."""

    def read_sequencing_of(self, element: Any) -> Sequencing | None:
        if self.version == "1.2":
            return None
        found = [
            c
            for c in elements(element)
            if namespace_of(c) == NS_IMSSS and local_name(c) == "sequencing"
        ]
        return self.sequencing(found[0]) if found else Sequencing()

    def sequencing(self, element: Any) -> Sequencing:
        children = elements(element)
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
                children += [c for c in elements(shared) if c.tag not in local]
        values: dict[str, Any] = {"idref": idref}
        extended_maps: list[Any] = []
        for child in children:
            ns, name = namespace_of(child), local_name(child)
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
            elif ns == NS_ADLSEQ and name == "constrainedChoiceConsiderations":
                values["constrained_choice"] = ConstrainedChoice(
                    choose_only_next_or_previous=self.boolean(child, "constrainChoice", False),
                    prevent_activation=self.boolean(child, "preventActivation", False),
                )
            elif ns == NS_IMSSS and name == "randomizationControls":
                values["randomization"] = self.randomization(child)
            elif ns == NS_ADLSEQ and name == "objectives":
                extended_maps.append(child)
            else:
                self.unsupported(child)
        for element_ in extended_maps:
            values["objectives"] = self.extended_objectives(element_, values.get("objectives", ()))
        return Sequencing(**values)

    def randomization(self, element: Any) -> Randomization:
        """imsss:randomizationControls (SN book 3.10: selection, then randomization)."""

        def timing(name: str) -> str:
            return self.choice(element, name, element.get(name), TIMINGS, "never") or "never"

        return Randomization(
            randomization_timing=timing("randomizationTiming"),
            select_count=self.whole(element, "selectCount"),
            reorder_children=self.boolean(element, "reorderChildren", False),
            selection_timing=timing("selectionTiming"),
        )

    def extended_objectives(
        self, element: Any, objectives: tuple[Objective, ...]
    ) -> tuple[Objective, ...]:
        """adlseq:objectives: the 4th Edition's completion, progress and score maps, added to
        the imsss:mapInfo of the same objective and target (CAM 5.1.10)."""
        by_id = {o.identifier: o for o in objectives}
        for child in elements(element):
            if namespace_of(child) != NS_ADLSEQ or local_name(child) != "objective":
                self.unsupported(child)
                continue
            identifier = (child.get("objectiveID") or "").strip()
            objective = by_id.get(identifier)
            if objective is None:
                self.problem(
                    child,
                    N_("The adlseq:objective '%(id)s' names no objective of this activity."),
                    id=identifier,
                )
                continue
            maps = {m.target_objective_id: m for m in objective.maps}
            for info in elements(child):
                if namespace_of(info) != NS_ADLSEQ or local_name(info) != "mapInfo":
                    self.unsupported(info)
                    continue
                target = (info.get("targetObjectiveID") or "").strip()
                if not target:
                    self.problem(info, N_("This mapInfo has no targetObjectiveID."))
                    continue
                # Without an imsss:mapInfo of the same target, the objective reads and writes
                # only what adlseq:mapInfo says: satisfaction and measure are not shared.
                base = maps.get(target) or ObjectiveMap(
                    target,
                    read_satisfied_status=False,
                    read_normalized_measure=False,
                )
                flags = {
                    field: self.boolean(info, attribute, attribute.startswith("read"))
                    for attribute, field in ADLSEQ_MAP_FIELDS.items()
                }
                maps[target] = replace(base, **flags)
            by_id[identifier] = replace(objective, maps=tuple(maps.values()))
        return tuple(by_id[o.identifier] for o in objectives)

    def unsupported(self, element: Any) -> None:
        prefix = {NS_IMSSS: "imsss:", NS_ADLSEQ: "adlseq:", NS_ADLNAV: "adlnav:"}.get(
            namespace_of(element), ""
        )
        self.warn(
            element,
            N_("<%(element)s> is not supported by Hocvu; it is ignored."),
            element=prefix + local_name(element),
        )

    def sequencing_rules(self, element: Any) -> list[SequencingRule]:
        rules: list[SequencingRule] = []
        kinds = {
            "preConditionRule": "pre",
            "exitConditionRule": "exit",
            "postConditionRule": "post",
        }
        for rule in elements(element):
            kind = kinds.get(local_name(rule)) if namespace_of(rule) == NS_IMSSS else None
            if kind is None:
                self.unsupported(rule)
                continue
            conditions_element = imsss(rule, "ruleConditions")
            action_element = imsss(rule, "ruleAction")
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
        for condition in elements(element):
            if namespace_of(condition) != NS_IMSSS or local_name(condition) != tag:
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
        def raw(name: str) -> str | None:
            return (element.get(name) or "").strip() or None

        return LimitConditions(
            attempt_limit=self.whole(element, "attemptLimit"),
            attempt_absolute_duration_limit=raw("attemptAbsoluteDurationLimit"),
            attempt_experienced_duration_limit=raw("attemptExperiencedDurationLimit"),
            activity_absolute_duration_limit=raw("activityAbsoluteDurationLimit"),
            activity_experienced_duration_limit=raw("activityExperiencedDurationLimit"),
            begin_time_limit=raw("beginTimeLimit"),
            end_time_limit=raw("endTimeLimit"),
        )

    def objectives(self, element: Any) -> tuple[Objective, ...]:
        result: list[Objective] = []
        for child in elements(element):
            name = local_name(child)
            if namespace_of(child) != NS_IMSSS or name not in ("primaryObjective", "objective"):
                self.unsupported(child)
                continue
            measure_element = imsss(child, "minNormalizedMeasure")
            measure = self.number(
                measure_element if measure_element is not None else child,
                "imsss:minNormalizedMeasure",
                text(measure_element),
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
                for m in elements(child)
                if namespace_of(m) == NS_IMSSS and local_name(m) == "mapInfo"
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
        for child in elements(element):
            if namespace_of(child) != NS_IMSSS or local_name(child) != "rollupRule":
                self.unsupported(child)
                continue
            conditions_element = imsss(child, "rollupConditions")
            action_element = imsss(child, "rollupAction")
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
