"""Real services for the tests: one module each, started on free ports or reached where the machine runs them."""
