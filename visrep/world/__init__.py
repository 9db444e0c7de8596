"""The embedded shapes world: scenes, the three task generators, and the loaders.

Importing this package loads only numpy/Pillow-free modules until a builder or loader is
used; the names below are the public surface other layers use.
"""

from visrep.world.build import WorldIndex, build_world
from visrep.world.loaders import image_path, load_scenes, load_tasks
from visrep.world.predicates import parse_phrase

__all__ = ["WorldIndex", "build_world", "image_path", "load_scenes", "load_tasks", "parse_phrase"]
