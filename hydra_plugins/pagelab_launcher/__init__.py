"""pagelab's batch launcher as Hydra sees it: ``hydra/launcher=batch``.

Hydra 1.3 discovers launchers only by walking the ``hydra_plugins`` namespace package,
so this package is a top-level folder of the project, mapped as that namespace in
``pyproject.toml`` (under an editable install a namespace has a real folder only when
it is mapped itself; hydra issue #3252). The launcher's logic is in
:mod:`pagelab.sweep.batch`; this package holds its config and the class Hydra
instantiates, and imports nothing heavy, because Hydra imports it whenever it starts.
"""
