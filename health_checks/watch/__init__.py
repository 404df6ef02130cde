"""The watcher: run a repository's own training program for a few optimiser steps with hooks on torch's
public API, and judge what its loop did against invariants every correct training loop keeps.

:mod:`~health_checks.watch.recorder` (the hooks), :mod:`~health_checks.watch.bootstrap` (the watched
process), :mod:`~health_checks.watch.runner` (running it), :mod:`~health_checks.watch.trace` (what is
recorded), :mod:`~health_checks.watch.invariants` (the verdicts the HC06x checks report).
"""
