"""Ray job entry points: the only package that imports ray."""
