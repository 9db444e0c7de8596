"""The embedded shapes world: scenes, the three task generators, and the loaders.

Only the standard library, numpy, Pillow and two JSON parsers (ijson streams, msgspec parses
into typed records) are needed, no torch, so any layer may import this.
"""

from visrep.world.build import WorldIndex, build_world, build_world_from
from visrep.world.loaders import image_path, load_scenes, load_tasks
from visrep.world.predicates import parse_phrase

__all__ = ["WorldIndex", "build_world", "build_world_from", "image_path", "load_scenes", "load_tasks", "parse_phrase"]
