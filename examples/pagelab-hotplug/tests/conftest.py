# pagelab's conformance kit is an opt-in pytest plugin.
pytest_plugins = ["pagelab.testing"]
