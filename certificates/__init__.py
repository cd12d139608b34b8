"""Completion certificates: render, sign and verify PDF documents (pure Python, no Flask)."""
