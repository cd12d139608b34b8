"""Setting a site up and keeping it: the bundled course library, the demo organisation, and
backup and restore. Used by the `hocvu` command, on top of the services."""
