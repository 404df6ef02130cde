"""The checks, one family per module, each module's checks in code order; :mod:`health_checks.registry`
registers every ``HC###`` class.

Any tree: ``imports`` (HC001), ``lint`` (HC002), ``maintenance`` (HC003, HC004), ``hygiene`` (HC005).
atft only (``Check.atft_only``): ``data`` (HC010), ``contract`` (HC011), ``loss`` (HC012), ``training``
(HC020-HC022), ``metrics`` (HC023), ``checkpoint`` (HC030, HC031), ``export`` (HC032).
Any PyTorch model through the tree's probe: ``forward`` (HC040, HC041), ``gradients`` (HC042, HC044,
HC045), ``normalisation`` (HC043, HC051), ``collapse`` (HC046), ``environment`` (HC047, static),
``datacontract`` (HC048-HC050), sharing ``probing``. A training program under the watch:
``training_watch`` (HC060-HC068).
"""
