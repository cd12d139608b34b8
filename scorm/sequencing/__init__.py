"""Sequencing at run time (SCORM 2004 SN, as far as Hocvu goes today): from the activity tree
of the manifest and the learner's statuses, what the table of contents offers and where
previous and next lead (`navigation`). The sequencing definitions themselves are read with the
manifest (scorm.manifest.sequencing); the engine of the full SN behaviours belongs here."""
