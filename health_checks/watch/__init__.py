"""The watcher: run a repository's own training program for a few optimiser steps with hooks on torch's
public API, and judge what its loop did against invariants every correct training loop keeps.

- :mod:`~health_checks.watch.recorder`: the hooks, and the trace they record;
- :mod:`~health_checks.watch.tensors`: what the hooks read off tensors, modules and optimiser state;
- :mod:`~health_checks.watch.trace`: what is recorded (plain data, JSON);
- :mod:`~health_checks.watch.bootstrap`: the watched process;
- :mod:`~health_checks.watch.runner`: running a program under the watcher (torchrun for several ranks);
- :mod:`~health_checks.watch.inprocess`: a probe's ``train_step`` watched in the checking process;
- :mod:`~health_checks.watch.invariants`: the verdicts the checks HC060-HC068 of
  :mod:`health_checks.checks.training_watch` report.
"""
