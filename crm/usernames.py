"""What a username may be: Unicode letters and digits, normalised, never two that look alike.

Chinese teams sign in as ``张三``, ``Zhāng.San`` or ``zhangsan``. A name is read as people type
it: NFKC folds the full-width forms a Chinese input method leaves on (``ｚｈａｎｇ＿三`` is
``zhang_三``) and compatibility ideographs; the middle dots of transliterated names
(``迪丽热巴·迪力木拉提``) are all written ``·``. What could make two people look identical in a
list is refused: spaces and invisible characters, mixed scripts beyond the ones CJK names mix
(Latin with Han, kana or Hangul), and a name whose look-alike key (``username_key``) another user
already has (Cyrillic ``сор`` beside Latin ``cop``, katakana ``カ`` beside Han ``力``).
Letter case is kept and matters, as it always has for the ASCII names.
"""

from __future__ import annotations

import unicodedata

MIN_LENGTH = 2
MAX_LENGTH = 64
MAX_MARKS_IN_A_ROW = 3  # Thai and Devanagari stack two or three; more only hides what it covers
PUNCTUATION = frozenset("_.-·")
# Middle dots people type between the parts of a transliterated name, written as one.
_MIDDLE_DOTS = str.maketrans(dict.fromkeys("\u30fb\u2027\u2022\u2219\u22c5\u16eb", "\u00b7"))
# Characters a list shows as another one: the key holds the one they look like. Keyed by
# their NFKC form, the one names hold (the Hangul letters ㅁ ㅣ are stored as ᄆ ᅵ).
_LOOK_ALIKE_FORMS = {
    # Cyrillic and Greek letters drawn as Latin ones
    **dict(zip("аВсеԁһіјКМНоРрԛЅѕТԝхУу", "aBcedhijKMHoPpqSsTwxYy", strict=True)),
    **dict(zip("АЕІЈОСХӏЬ", "AEIJOCXlb", strict=True)),
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧονικ", "ABEZHIKMNOPTYXovik", strict=True)),
    # Latin letters of other alphabets, and a Han stroke, drawn as basic Latin ones
    **dict(zip("ɑıɩȷɡǀ丨ㅣ", "aiijglll", strict=True)),
    # kana, Bopomofo and Hangul drawn as Han characters
    **dict(zip("カエロニトハタムヒヌヨーㅡヘ", "力工口二卜八夕厶匕又彐一一へ", strict=True)),
    **dict(zip("ㄇㄈㄏㄋㄎㄚㄙㄩㄦㄅㄍ", "冂匚厂乃丂丫厶凵儿勹巜", strict=True)),
    **dict(zip("ㄐㄒㄔㄕㄖㄗㄠㄡㄤㄧ", "丩丅彳尸日卩幺又尢一", strict=True)),
    **dict(zip("ㅁㅅㅏ", "口人卜", strict=True)),
    "·": ".",
}
_LOOK_ALIKES = str.maketrans(
    {unicodedata.normalize("NFKC", char): like for char, like in _LOOK_ALIKE_FORMS.items()}
)
# Scripts CJK names mix; any other name keeps to one script (digits and _ . - · go with all).
_SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_OF_NAME = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "KATAKANA-HIRAGANA": "KATAKANA",
    "HALFWIDTH": "KATAKANA",
}
# Letters and marks that show nothing (default-ignorable code points of category L or M).
_INVISIBLE = frozenset(
    [
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0),
        *range(0x180B, 0x1810),  # Mongolian variation selectors
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0xE0100, 0xE01F0),  # their supplement
    ]
)


def split_names(text: str) -> list[str]:
    """The names of a list as Chinese modelers write it: ``张三,李四``, ``张三，李四`` or
    ``张三、李四``; blanks dropped."""
    parts = text.replace("，", ",").replace("、", ",").split(",")
    return [part.strip() for part in parts if part.strip()]


def normalise_username(raw: str | None) -> str:
    """The name as stored and looked up: NFKC, one middle dot, no surrounding spaces."""
    return unicodedata.normalize("NFKC", raw or "").translate(_MIDDLE_DOTS).strip()


def username_key(name: str) -> str:
    """What the name looks like in a list: two users may not share it."""
    return unicodedata.normalize("NFKC", name).translate(_MIDDLE_DOTS).translate(_LOOK_ALIKES)


def username_problem(name: str) -> str | None:
    """Why a normalised name cannot be a username, or None."""
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        return f"Usernames are {MIN_LENGTH}–{MAX_LENGTH} characters."
    for char in name:
        if not _allowed(char):
            return (
                f"Usernames are letters, digits, dots, dashes, underscores or middle dots (·); "
                f"{_describe(char)} is none of these."
            )
    scripts = {_script(char) for char in name} - {None}
    if len(scripts) > 1 and not any(scripts <= mix for mix in _SCRIPT_MIXES):
        return (
            "A username keeps to one script, or mixes Latin only with Chinese, Japanese or "
            f"Korean characters; this one mixes {', '.join(sorted(s.title() for s in scripts))}, "
            "which could look like another user's name."
        )
    if unicodedata.category(name[0]).startswith("M"):
        return "A username cannot start with a combining mark."
    marks = 0
    for char in name:
        marks = marks + 1 if unicodedata.category(char).startswith("M") else 0
        if marks > MAX_MARKS_IN_A_ROW:
            return f"A username stacks at most {MAX_MARKS_IN_A_ROW} marks on one letter."
    return None


def _allowed(char: str) -> bool:
    if ord(char) in _INVISIBLE:
        return False
    category = unicodedata.category(char)
    return (
        char in PUNCTUATION
        or "0" <= char <= "9"
        or category.startswith("L")
        or category in ("Mn", "Mc")
    )


def _script(char: str) -> str | None:
    """The script of a letter or mark, read from its Unicode name; None for what all share."""
    if char in PUNCTUATION or "0" <= char <= "9":
        return None
    first = unicodedata.name(char, "UNKNOWN").split(" ")[0]
    if first in ("COMBINING", "MODIFIER"):
        return None
    return _SCRIPT_OF_NAME.get(first, first)


def _describe(char: str) -> str:
    if char.isspace():
        return "a space"
    name = f"U+{ord(char):04X} {unicodedata.name(char, '')}".strip()
    visible = unicodedata.category(char)[0] not in "CZ" and ord(char) not in _INVISIBLE
    return f"{name} ({char})" if visible else name
