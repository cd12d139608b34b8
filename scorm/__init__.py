"""The SCORM 1.2 and 2004 formats and their run-time rules (pure Python, no Flask)."""
