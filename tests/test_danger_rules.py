"""The rules of decide() added for the Latin-script languages (nlu/danger.py): each one on a
sentence written for this test, with the message that must stay calm next to it."""

from __future__ import annotations

import pytest

from nlu.danger import default_detector


def level(text: str) -> str:
    return default_detector().detect(text).level


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a threat said in jest is no threat; the same threat without the joke is
        ("my boss says he will kill me if the car is dirty again haha", "none"),
        ("my boss says he will kill me if I tell anyone", "urgent"),
        # a fire word at work or in the kitchen does not ask; with people trapped it is fire
        ("the fire at my work is for the welding, I need a paper", "none"),
        ("fire in the kitchen and the children are trapped", "emergency"),
        # left in the desert: two signs of being stranded
        ("the driver abandoned us in the sahara and the water is finished", "emergency"),
        ("I crossed the desert in 2019, now I live in Tripoli", "none"),
        # fell and does not answer
        ("my cousin fell down at work and he does not answer", "emergency"),
        # escaping is not safety while someone looks for the person
        ("I escaped from the madam but her men are looking for me", "urgent"),
        ("I escaped from the madam last year and I am safe in Kano now", "none"),
        # released, but someone else is still held
        ("they released me last week but my husband is still in the prison", "urgent"),
        ("they released me last week, now I am fine", "none"),
        # papers taken; a girl married off
        ("the police took my phone and my passport at the gate", "urgent"),
        ("they want to marry my daughter of 13 to their boss", "urgent"),
        # torture told as past is still a case
        ("they tortured me in the warehouse two years ago, I cannot sleep", "urgent"),
        # a kidnapping weeks ago is a case (ransom), not over
        ("my brother was kidnapped three weeks ago and they ask money", "urgent"),
        # Hausa "sace" is to steal and to kidnap: a thing stolen is no kidnapping
        ("an sace min fasfo da waya a kasuwa jiya", "none"),
        ("barayi sun sace mana kudi a hanya", "none"),
        ("an sace min yaro a kasuwa yanzu", "emergency"),
        ("sun sace wayata kuma sun sace yata", "emergency"),
        # suicide in the third person and said indirectly
        ("my roommate says he will hang himself tonight", "emergency"),
        ("je suis fatiguée de cette vie, j'ai avalé tous les cachets", "emergency"),
        ("na gaji da wannan rayuwa, igiya ta shirya", "emergency"),
    ],
)
def test_rule(text: str, expected: str) -> None:
    assert level(text) == expected, text


def test_hausa_last_year_does_not_take_arabizi_outside() -> None:
    """'bara' is last year in Hausa and outside in Arabizi: only Hausa phrases count."""
    assert level("an kama shi bara a Kano amma yanzu yana lafiya") == "none"
    assert level("el 7ouch cha3el w ennas msakrin mn bara") == "emergency"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Tigrinya: ሐ/ሓ, ዐ/ዓ and ቐ/ቀ spelt either way; ብ-, ኣብ-, ናብ- and -ን attached
        ("ሐዊ ተላዒሉ ኣብ ገዛና ቆልዑ ኣብ ውሽጢ ኣለዉ", "emergency"),
        ("ሓዊ ተላኢሉ አብ ገዛና ቆልዑ ውሽጢ ኣለዉ", "emergency"),
        ("ኣብ ቤት ማእሰርቲ ይወቅዑና ኣለዉ ሕጂ ሓግዙና", "emergency"),
        ("ብካራ ወጊኦምዎ ደሙ ኣይጠጠወን", "emergency"),
        ("ጀልባና ትጥሕል ኣላ ማይ ይኣቱና", "emergency"),
        ("ሓወይ ኣብ ማእሰርቲ ተኣሲሩ ኣሎ", "urgent"),
        ("ነብሰይ ክቐትል ደልየ", "emergency"),
        ("ሰላም ከመይ ኣለኹም ሓበሬታ ምምላስ እደሊ", "none"),
        ("ጉዳየይ ተዓጽዩ ዶ", "none"),
        # Amharic: ሀ/ሐ/ኀ and ሰ/ሠ spelt either way; በ-, የ-, ለ- attached
        ("ቤታችን እየተቃጠለ ነው ልጆቹ ውስጥ ናቸው", "emergency"),
        ("በቢላ ወጉት ደሙ አልቆመም", "emergency"),
        ("አሁን እየደበደቡን ነው እርዱን", "emergency"),
        ("ከወለደች በኋላ ደሟ አልቆመም", "emergency"),
        ("ፖሊሶች ወሰዷቸው የት እንዳሉ አናውቅም", "urgent"),
        ("ራሴን ማጥፋት እፈልጋለሁ", "emergency"),
        ("ከሁለት ወር በፊት ደፈረኝ ለማንም አልነገርኩም", "urgent"),
        ("ሰላም የመመለሻ ምዝገባ እፈልጋለሁ", "none"),
    ],
)
def test_geez(text: str, expected: str) -> None:
    assert level(text) == expected, text


def test_geez_letters_spelt_alike_are_one() -> None:
    from nlu.danger import fold

    assert fold("ሐዊ ሓዊ ኀዊ ሀዊ ሃዊ") == " ".join(["ሀዊ"] * 5)
    assert fold("ሠ ሰ ዐ አ ዓ ኣ ፀ ጸ") == "ሰ ሰ አ አ አ አ ጸ ጸ"
