"""`make chaos`: a bank test in the style of Jepsen, on the split topology and the embedded default.

Modules, in the order a run uses them: `stacks` starts a configuration from
the pieces in `processes` (and `proxy` sits between its processes and their
servers), `clients` send random operations and record every answer,
`nemesis` injects faults, `observe` listens to the websocket and reads the
final books, `checker` proves the invariants, `run` puts one configuration
through its phases, and `__main__` runs the configurations and writes the
report. See docs/RELIABILITY.md.
"""
