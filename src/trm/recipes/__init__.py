"""The bundled recipes (``*.yaml``, read by :func:`trm.config.load_recipe`) and :mod:`.choose`, the rules
that pick one from a dataset's metadata and a time budget (``trm train --data D``, docs/recipes.md)."""
