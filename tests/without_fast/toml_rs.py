"""Put first on PYTHONPATH, this hides the `fast` extra: `.ci/run` runs the registry tests
again as the default install (tomli alone) reads registries."""

raise ModuleNotFoundError("toml_rs hidden: the default install's parser (tomli) alone")
