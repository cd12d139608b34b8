"""Sequencing at run time (SCORM 2004 SN).

`sequencer` is the SN engine, built as the 4th Edition's SN book models it (Appendix C
pseudo-code, one function per named process, the process id in its docstring): the activity
tree (`tree`), the tracking model with global objectives (`tracking`), rules and conditions
(`rules`), rollup (`rollup`), navigation and termination (`termination`), flow (`flow`),
choice and jump (`choice`), the sequencing requests (`requests`), delivery (`delivery`),
selection and randomization (`selection`), and the mapping to and from the content's run-time
data (`report`). `navigation` is the older stateless `Navigator` the LMS still uses, and
`describe()`, the plain description of a package both read (`definition` adds the engine's
part of it)."""
