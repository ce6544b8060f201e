"""Entity extraction and the resolvers the flows call."""

from __future__ import annotations

from datetime import date

import pytest

from nlu import (
    find_case_ref,
    parse_date,
    parse_number,
    parse_phone,
    resolve_city,
    resolve_country,
)
from nlu.entities import get_extractor


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Nigeria", "NG"),
        ("Naija", "NG"),
        ("9ja", "NG"),
        ("nigerian", "NG"),
        ("نيجيريا", "NG"),
        ("le Niger", "NE"),
        ("Nijar", "NE"),
        ("Niger", "NE"),
        ("Soudan", "SD"),
        ("السودان", "SD"),
        ("من السودان", "SD"),
        ("Tchad", "TD"),
        ("تشاد", "TD"),
        ("Masr", "EG"),
        ("مصر", "EG"),
        ("Ghana", "GH"),
        ("Côte d'Ivoire", "CI"),
        ("ivory coast", "CI"),
        ("Bangladesh", "BD"),
        ("nigeira", "NG"),  # one typo
    ],
)
def test_resolve_country(text: str, code: str) -> None:
    assert resolve_country(text) == code


def test_resolve_country_rejects_everyday_words() -> None:
    assert resolve_country("my child is sick") is None
    assert resolve_country("hello") is None
    assert resolve_country("") is None


@pytest.mark.parametrize(
    ("text", "city"),
    [
        ("Sebha", "Sebha"),
        ("Sabha", "Sebha"),
        ("سبها", "Sebha"),
        ("في سبها", "Sebha"),
        ("Trablus", "Tripoli"),
        ("طرابلس", "Tripoli"),
        ("Tripolli", "Tripoli"),
        ("Misurata", "Misrata"),
        ("Zuwara", "Zwara"),
    ],
)
def test_resolve_city(text: str, city: str) -> None:
    assert resolve_city(text) == city


def test_parse_phone() -> None:
    assert parse_phone("0912345678") == "+218912345678"
    assert parse_phone("my number is 091 234 5678") == "+218912345678"
    assert parse_phone("٠٩١٢٣٤٥٦٧٨") == "+218912345678"
    assert parse_phone("+234 803 123 4567") == "+2348031234567"
    assert parse_phone("no number here") is None


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("3", None, 3),
        ("٣", None, 3),
        ("عمري ٢٥", None, 25),
        ("three", "en", 3),
        ("trois", "fr", 3),
        ("ثلاثة", "ar", 3),
        ("uku", "ha", 3),
        ("we are five", None, 5),
    ],
)
def test_parse_number(text: str, language: str | None, value: int) -> None:
    assert parse_number(text, language) == value


def test_parse_number_none() -> None:
    assert parse_number("hello") is None


def test_parse_date() -> None:
    assert parse_date("12/03/1995") == date(1995, 3, 12)
    assert parse_date("12 mars 1995") == date(1995, 3, 12)
    assert parse_date("born 12 March 1995") == date(1995, 3, 12)
    assert parse_date("١٢/٠٣/١٩٩٥") == date(1995, 3, 12)
    assert parse_date("1995") == date(1995, 1, 1)
    assert parse_date("hello") is None


def test_find_case_ref() -> None:
    assert find_case_ref("LY-7K3M9Q") == "LY-7K3M9Q"
    assert find_case_ref("my case is ly 7k3m9q") == "LY-7K3M9Q"
    assert find_case_ref("case 7K3M9Q any news") == "LY-7K3M9Q"
    assert find_case_ref("nbi nrja3 l bladi") is None
    assert find_case_ref("sa3dni wa99ef") is None


def test_extraction_offsets_and_values() -> None:
    text = "Ana min السودان, ساكن في سبها، رقمي ٠٩١٢٣٤٥٦٧٨ وعندي ٣ أطفال"
    ents = get_extractor().extract(text, "ar")
    by = {e.entity: e for e in ents}
    country = by["country"]
    assert country.value == "SD" and text[country.start : country.end] == "السودان"
    assert by["city"].value == "Sebha" and text[by["city"].start : by["city"].end] == "سبها"
    assert by["phone"].value == "+218912345678"
    assert text[by["phone"].start : by["phone"].end] == "٠٩١٢٣٤٥٦٧٨"
    assert by["number"].value == "3"
    for e in ents:
        assert e.text == text[e.start : e.end]


def test_extraction_mixed_and_case_ref() -> None:
    ents = get_extractor().extract("abeg i wan go back Naija, case LY-7K3M9Q, born 1995", "en")
    assert [(e.entity, e.value) for e in ents] == [
        ("country", "NG"),
        ("case_ref", "LY-7K3M9Q"),
        ("date", "1995"),
    ]


def test_libya_is_not_a_country_of_return_but_resolves() -> None:
    assert [e.entity for e in get_extractor().extract("i am tired of libya")] == []
    assert resolve_country("Libya") == "LY"


def test_arabizi_words_are_not_numbers() -> None:
    ents = get_extractor().extract("3andi mochkil, 5ouya ma7jouz", "ar_latn")
    assert [e for e in ents if e.entity == "number"] == []
