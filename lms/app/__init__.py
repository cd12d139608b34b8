"""The application's wiring: settings, extensions, the database base, i18n, logs, metrics,
file storage and mail. Everything else in lms may import these; they import nothing of lms
above them."""
