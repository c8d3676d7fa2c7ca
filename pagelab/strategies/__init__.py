"""Strategies as plugins: the hook specification, the registry that loads them, the contract
every allocation is checked against.

- :mod:`~pagelab.strategies.hookspecs`: the pluggy hook a plugin implements;
- :mod:`~pagelab.strategies.registry`: built-in, installed and local plugins, loaded once;
- :mod:`~pagelab.strategies.contract`: one-line errors naming the plugin and the rule it broke.

Plugins themselves import :mod:`pagelab.plugin` only.
"""
