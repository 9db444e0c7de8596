"""The tools' primitive grammar over real annotations (COCO categories, GQA names and attributes).

On real data an object's ``shape`` is its annotated name and ``attributes`` its annotated
attribute words (``visrep.world.records.SceneObject``); the grammar's words are those of
the world's scenes, and a query's words reach them through WordNet
(``visrep.visual.lexicon``), never through a hand list:

- **noun phrase**: ``[determiner] [attribute words] name`` ("the wooden table", "white
  cars", "people"), or attribute words alone ("white": any white object).  The last words
  name the object: an annotated name (up to three words, "traffic light") or one word
  WordNet relates to annotated names.  Every annotated name is read in its first (most
  frequent) WordNet sense; a query word that is, or is a form of, an annotated name means
  that name (plurals by WordNet's morphy: "cars", "men"), any other word its senses that
  WordNet's sense-tagged corpus attests.  A name matches when it is the word, a synonym
  (they share a sense: "automobile" ~ car), a kind of it ("vehicle" finds cars, "person"
  finds men), or a member of it ("people" finds persons: WordNet's member meronym).  Only
  when no annotated name is any of these is a word narrower than annotated names read as
  the nearest of them ("man" over COCO, which annotates only "person", reads as person: the
  annotations cannot tell more, and RefCOCO's expressions say "man" of its persons).
  "object(s)"/"thing(s)" leave the name open.  WordNet decides, quirks included: it files a
  bus under public transport, not under vehicle, so "vehicles" finds no bus.
  Words before the name are attributes: an annotated attribute word, a form of one, or a
  WordNet synonym of one (they share their first sense: "big" ~ large); an object has the
  attribute when it is annotated with one of them.
- **property** (``verify_property``): attribute words only.
- **question** (``simple_query``): what colour an object has ("what color is the car",
  "what is the colour of the car") or what it is made of ("what material is the table",
  "what is the table made of"); the answer is the first of the object's annotated attribute
  words that WordNet files under colours (or materials), and ``UNKNOWN`` when it has none:
  the annotation does not say.  Other single-hop questions (what is the name of the object
  on X, what is X doing) name relations or need annotations beyond attributes: they stay
  out of the grammar.

A word the world's annotations cannot mean (unknown to WordNet, or related to no annotated
name or attribute), an annotated relation ("car near the pond"), or any other text raises
``UnsupportedQuery`` naming the text and why: never a silent "no".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from visrep.visual.grammar import PROGRAM_JOB, SHAPES, Grammar, Question, UnsupportedQuery
from visrep.visual.lexicon import ADJ, DERIVED, MEMBERS, NOUN, SIMILAR, Sense, WordNet, wordnet
from visrep.world.predicates import DETERMINERS, OPEN_NOUNS
from visrep.world.records import UNKNOWN, Scene, SceneObject

# Question attribute → the WordNet nouns whose first sense roots it ("building material":
# brick and concrete are not filed under material).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "color": ("color",),
    "material": ("material", "solid", "fabric", "building material"),
}
_QUESTIONS = (
    (re.compile(r"^what (?:is the |are the )?(colou?r|material)s?(?: of| is| are| does| do)? (.+?)(?: have)?$"),
     lambda m: ("material" if m.group(1) == "material" else "color", m.group(2))),
    (re.compile(r"^what (?:is|are) (.+?) made (?:of|from|out of)$"), lambda m: ("material", m.group(1))),
)
_LONGEST = 3  # words in the longest name or attribute looked up as one


@dataclass(frozen=True)
class Described:
    """What a real-data phrase asks of an object: one of ``names`` (None: any name) and, per
    attribute word of the phrase, one of the annotated words that mean it."""

    text: str  # the phrase without its determiner (what a text tower reads)
    names: frozenset[str] | None
    attributes: tuple[frozenset[str], ...]

    def matches(self, obj: SceneObject) -> bool:
        """Whether the object has the name and every attribute the phrase asks for."""
        return ((self.names is None or obj.shape in self.names)
                and all(words & set(obj.attributes) for words in self.attributes))

    def agreement(self, obj: SceneObject) -> int:
        """Name and annotated attributes the phrase gets right minus the name it gets wrong
        (an attribute the object is not annotated with counts 0: absence is not annotated)."""
        name = 0 if self.names is None else (1 if obj.shape in self.names else -1)
        return name + sum(bool(words & set(obj.attributes)) for words in self.attributes)


class AnnotationGrammar:
    """The grammar over the names, attribute words and relations annotated in some scenes."""

    def __init__(self, names: Iterable[str], attributes: Iterable[str], relations: Iterable[str],
                 lexicon: WordNet | None = None) -> None:
        self.names = frozenset(names)
        self.attribute_words = frozenset(attributes)
        self._relations = frozenset(relations)
        self._lexicon = lexicon
        self._name_cache: dict[str, frozenset[str]] = {}
        self._attribute_cache: dict[str, frozenset[str]] = {}
        self._category_cache: dict[tuple[str, str], bool] = {}

    @classmethod
    def from_scenes(cls, scenes: Mapping[str, Scene]) -> AnnotationGrammar:
        """The grammar of every name, attribute and relation the scenes annotate."""
        objects = [o for s in scenes.values() for o in s.objects]
        return cls((o.shape for o in objects), (a for o in objects for a in o.attributes),
                   (r for o in objects for r, _ in o.relations))

    @property
    def lexicon(self) -> WordNet:
        """WordNet, loaded on first use (a world whose words are all annotated never needs it)."""
        if self._lexicon is None:
            self._lexicon = wordnet()
        return self._lexicon

    # ------------------------------------------------------------ what a word means here

    def _first_sense(self, word: str, pos: str) -> Sense | None:
        senses = self.lexicon.senses(word, pos)
        return senses[0] if senses else None

    @cached_property
    def _name_senses(self) -> dict[str, Sense]:
        """Each annotated name's first WordNet noun sense (names WordNet lacks are left out)."""
        senses = {n: self._first_sense(n, NOUN) for n in self.names}
        return {n: s for n, s in senses.items() if s is not None}

    @cached_property
    def _name_ancestry(self) -> dict[str, frozenset[Sense]]:
        """Each annotated name's first sense and everything it is a kind of."""
        return {n: self.lexicon.ancestors(s) for n, s in self._name_senses.items()}

    def names_for(self, word: str) -> frozenset[str]:
        """The annotated names ``word`` (one noun) may denote."""
        if word not in self._name_cache:
            self._name_cache[word] = self._names_for(word)
        return self._name_cache[word]

    def _names_for(self, word: str) -> frozenset[str]:
        # A form that is itself an annotated name means that name, read as names are (first
        # sense: "men" is man's plural here, not a workforce); other words in their attested senses.
        named = [f for f in (word, *(b.replace("_", " ") for b in self.lexicon.base_forms(word, NOUN)))
                 if f in self.names]
        senses = ({self._name_senses[f] for f in named if f in self._name_senses} if named
                  else set(self.lexicon.senses(word, NOUN, attested=True)))
        groups = {m for s in senses for m in self.lexicon.related(s, MEMBERS)}  # people → person
        kinds = {n for n, up in self._name_ancestry.items() if up & (senses | groups)}
        if named or kinds or not senses:
            return frozenset(named) | kinds
        # Narrower than every annotated name it relates to: the nearest annotated ancestors.
        above = self.lexicon.ancestors(self.lexicon.senses(word, NOUN)[0])
        broader = {n for n, s in self._name_senses.items() if s in above}
        return frozenset(n for n in broader
                         if not any(m != n and self._name_senses[n] in self._name_ancestry[m] for m in broader))

    def _annotated_name(self, words: str) -> frozenset[str]:
        """The annotated name ``words`` is, or the one it is a plural of ("traffic lights")."""
        forms = {words, *(f.replace("_", " ") for f in self.lexicon.base_forms(words, NOUN))}
        return frozenset(forms & self.names)

    def _firsts(self, word: str) -> frozenset[Sense]:
        """The word's first adjective and first noun sense (those it has)."""
        return frozenset(s for pos in (ADJ, NOUN) if (s := self._first_sense(word, pos)) is not None)

    @cached_property
    def _attribute_firsts(self) -> dict[str, frozenset[Sense]]:
        return {a: self._firsts(a) for a in self.attribute_words}

    def attributes_for(self, word: str) -> frozenset[str]:
        """The annotated attribute words that mean ``word``: itself, its base forms, and those
        sharing its first adjective or noun sense."""
        if word not in self._attribute_cache:
            forms = {word, *(f.replace("_", " ") for pos in (ADJ, NOUN) for f in self.lexicon.base_forms(word, pos))}
            firsts = self._firsts(word)
            self._attribute_cache[word] = frozenset(
                a for a, senses in self._attribute_firsts.items() if a in forms or firsts & senses)
        return self._attribute_cache[word]

    def category(self, word: str, attribute: str) -> bool:
        """Whether the attribute word is a colour (``attribute`` "color") or a material: its
        first noun sense, or a noun its first adjective sense derives from, is filed there."""
        if (word, attribute) not in self._category_cache:
            self._category_cache[word, attribute] = self._category(word, attribute)
        return self._category_cache[word, attribute]

    def _category(self, word: str, attribute: str) -> bool:
        roots = {s for r in CATEGORIES[attribute] if (s := self._first_sense(r, NOUN)) is not None}
        nouns = [s for s in (self._first_sense(word, NOUN),) if s is not None]
        adj = self._first_sense(word, ADJ)
        if adj is not None:
            nouns += [n for a in (adj, *self.lexicon.related(adj, SIMILAR))
                      for n in self.lexicon.related(a, DERIVED) if n.pos == NOUN]
        return any(roots & self.lexicon.ancestors(n) for n in nouns)

    # ------------------------------------------------------------ the Grammar protocol

    def _words(self, text: str, kind: str) -> list[str]:
        words = re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower())
        for relation in self._relations:
            rel = relation.lower().split()
            if any(words[i:i + len(rel)] == rel for i in range(1, len(words) - len(rel))):
                raise UnsupportedQuery(kind, text, f"names the relation {relation!r} ({PROGRAM_JOB})")
        return [w for w in words if w not in DETERMINERS]

    def _unknown(self, kind: str, text: str, word: str) -> UnsupportedQuery:
        return UnsupportedQuery(kind, text, f"no annotated name or attribute of this world means {word!r} "
                                            f"(a noun phrase is [attribute words] name; {PROGRAM_JOB})")

    def _attributes(self, words: list[str], kind: str, text: str) -> tuple[frozenset[str], ...]:
        """Each attribute (the longest run of words that is one) and the words that mean it."""
        found, i = [], 0
        while i < len(words):
            for n in range(min(_LONGEST, len(words) - i), 0, -1):
                meaning = self.attributes_for(" ".join(words[i:i + n]))
                if meaning:
                    found.append(meaning)
                    i += n
                    break
            else:
                raise self._unknown(kind, text, words[i])
        return tuple(found)

    def phrase(self, text: str) -> Described:
        """A noun phrase's meaning; UnsupportedQuery when a word means nothing annotated."""
        words = self._words(text, "noun phrase")
        if not words:
            raise UnsupportedQuery("noun phrase", text, "names no object")
        if words[-1] in OPEN_NOUNS:
            return Described(" ".join(words), None, self._attributes(words[:-1], "noun phrase", text))
        for n in range(min(_LONGEST, len(words)), 0, -1):
            head = " ".join(words[-n:])
            # A run of words is a name only when annotated as one ("traffic light"): WordNet's
            # compounds would swallow attributes ("white house" is a white house, here).
            names = self.names_for(head) if n == 1 else self._annotated_name(head)
            if names:
                return Described(" ".join(words), names, self._attributes(words[:-n], "noun phrase", text))
        try:  # attribute words alone ("white") describe any object, as "red" does in the shapes world
            return Described(" ".join(words), None, self._attributes(words, "noun phrase", text))
        except UnsupportedQuery:
            raise self._unknown("noun phrase", text, words[-1]) from None

    def property(self, text: str) -> Described:
        """A property's attributes (at least one); UnsupportedQuery otherwise."""
        words = self._words(text, "property")
        if not words:
            raise UnsupportedQuery("property", text, "names no attribute")
        return Described(" ".join(words), None, self._attributes(words, "property", text))

    def question(self, text: str) -> Question:
        """The colour or material question ``text`` asks; UnsupportedQuery for any other."""
        words = " ".join(re.findall(r"[a-z]+", text.lower()))
        for pattern, read in _QUESTIONS:
            m = pattern.match(words)
            if m is not None:
                attribute, phrase = read(m)
                self.phrase(phrase)
                return Question(attribute, phrase)
        raise UnsupportedQuery("question", text, "simple_query answers what colour an object of the patch "
                                                 f"has or what it is made of; {PROGRAM_JOB}")

    def answer(self, obj: SceneObject, attribute: str) -> str:
        """The object's first annotated word of the asked category, UNKNOWN when none is."""
        return next((a for a in obj.attributes if self.category(a, attribute)), UNKNOWN)

    def values(self, attribute: str) -> list[str]:
        """The annotated words of one category (a pixel backend's candidate answers)."""
        return sorted(a for a in self.attribute_words if self.category(a, attribute))


def is_real(scenes: Mapping[str, Scene]) -> bool:
    """Whether the scenes are real annotations (objects named, colours ``UNKNOWN``) rather than
    the shapes world; ValueError when they mix both."""
    kinds = {o.color == UNKNOWN for s in scenes.values() for o in s.objects}
    if len(kinds) > 1:
        raise ValueError("scenes mix the shapes world with real annotations (some objects have "
                         "colours, some are UNKNOWN): one grammar cannot read both")
    return kinds == {True}


def grammar_for(scenes: Mapping[str, Scene]) -> Grammar:
    """The grammar of the world the scenes come from: the shapes world's (``visrep.visual.
    grammar``) or, for real annotations, this module's (WordNet loads only when it is used)."""
    return AnnotationGrammar.from_scenes(scenes) if is_real(scenes) else SHAPES
