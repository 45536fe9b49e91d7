"""Real services for the tests, one module each.

Each is started on a free port or reached where the machine runs it.
"""
