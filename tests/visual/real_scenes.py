"""Two real-data scenes built in memory, as the COCO and GQA loaders make them: objects named
by ``shape``, fixed attributes ``UNKNOWN``, free attribute words and relations (GQA)."""

from __future__ import annotations

from visrep.world.records import UNKNOWN, Scene, SceneObject


def real(name: str, box: tuple[float, float, float, float], attributes: tuple[str, ...] = (),
         relations: tuple[tuple[str, int], ...] = ()) -> SceneObject:
    """A real-data object: its name, box, annotated attributes and relations."""
    return SceneObject(name, UNKNOWN, UNKNOWN, UNKNOWN, box, attributes, relations)


# COCO-like: categories only.
PERSON = real("person", (10.0, 10.0, 40.0, 90.0))
CAR = real("car", (60.0, 50.0, 120.0, 90.0))
BUS = real("bus", (130.0, 20.0, 190.0, 90.0))
COCO = Scene("coco0", 200, 100, (PERSON, CAR, BUS))
COCO_OTHER = Scene("coco1", 200, 100, (real("giraffe", (50.0, 0.0, 150.0, 100.0)),))  # the world's other image

# GQA-like: names, attribute words and relations (indices into objects).
POND = real("pond", (0.0, 60.0, 100.0, 100.0), ("blue",))
CART = real("cart", (10.0, 20.0, 40.0, 50.0), ("wooden", "brown"), (("near", 0),))
TABLE = real("table", (110.0, 40.0, 190.0, 90.0), ("wooden", "white", "large"))
MAN = real("man", (120.0, 5.0, 140.0, 40.0), ("standing", "red"), (("to the left of", 4),))
WOMAN = real("woman", (150.0, 5.0, 170.0, 40.0), ("sitting",))
GQA = Scene("gqa0", 200, 100, (POND, CART, TABLE, MAN, WOMAN))
WHOLE = (0.0, 0.0, 200.0, 100.0)
