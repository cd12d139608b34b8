"""The native course format: Markdown modules and final-test banks (pure Python, no Flask)."""
