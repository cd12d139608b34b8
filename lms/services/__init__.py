"""Use-cases: Flask-free functions that take a Session and flush, never commit."""
