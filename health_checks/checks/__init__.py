"""The checks, one topic per module; each ``HC###`` class is registered by :mod:`health_checks.registry`."""
