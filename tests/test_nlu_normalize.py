"""Normalisation: Arabic letter variants, digits, repeats, diacritics, offsets."""

from __future__ import annotations

from nlu.normalize import ascii_digits, normalize, normalize_with_offsets, tokens_with_offsets


def test_arabic_letter_variants_and_marks() -> None:
    assert normalize("أحمد") == normalize("احمد") == normalize("إحمد")
    assert normalize("مدرسة") == "مدرسه"  # ta marbuta
    assert normalize("مستشفى") == "مستشفي"  # alef maqsura
    assert normalize("مَرْحَبًا") == "مرحبا"  # tashkeel
    assert normalize("مـــرحبا") == "مرحبا"  # tatweel
    assert normalize("ﻻ") == "لا"  # presentation-form ligature


def test_digits_of_every_script_become_ascii_one_for_one() -> None:
    assert ascii_digits("٠٩١٢٣٤٥٦٧٨") == "0912345678"
    assert ascii_digits("۳ و ٣") == "3 و 3"
    assert len(ascii_digits("عمري ٢٥")) == len("عمري ٢٥")
    assert normalize("عمري ٢٥ سنة") == "عمري 25 سنه"


def test_case_diacritics_repeats_and_punctuation() -> None:
    assert normalize("Je suis MALADE, à Sébha!!") == "je suis malade a sebha"
    assert normalize("pleeeeease heeelp") == "please help"
    assert normalize("salaam") == normalize("salam")
    assert normalize("don't") == "dont"
    assert normalize("nbi nrja3 l bladi") == "nbi nrja3 l bladi"  # digits are kept
    assert normalize("0022") == "0022"  # digits are never squeezed
    assert normalize("   ") == ""


def test_offsets_point_into_the_original_text() -> None:
    text = "Salut, je suis à  Sébha"
    norm, offs = normalize_with_offsets(text)
    assert len(norm) == len(offs)
    start = norm.index("sebha")
    assert text[offs[start] : offs[start + 4] + 1] == "Sébha"
    toks = tokens_with_offsets("انا في  سَبْها")
    assert [text for text, _, _ in toks] == ["انا", "في", "سبها"]
    _, s, e = toks[-1]
    assert "انا في  سَبْها"[s:e] == "سَبْها"
