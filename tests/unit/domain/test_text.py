"""domain/text.py: the one rule for client text, the same on every backend."""

import pytest
from wallet.domain.errors import ValidationError
from wallet.domain.labels import valid_metadata, valid_reference
from wallet.domain.text import is_text, valid_text

# Every class the rule refuses, at both ends of each range.
REFUSED = ["\x00", "\x1f", "\t", "\n", "\r", "\x7f", "\x80", "\x9f", "\ud800", "\udfff"]
# What it keeps: emoji joined by U+200D, the line separator, a private-use and a
# noncharacter code point, the last scalar value, and a code point no Unicode names yet.
KEPT = ["ok", " ", "Facture n° 42 — €", "👩\u200d💻", "\u2028", "\ue000", "\ufffe",
        "\U0010ffff", "\U000e0080", ""]


@pytest.mark.parametrize("character", REFUSED)
def test_control_characters_and_lone_surrogates_are_refused_anywhere(character: str) -> None:
    for text in (character, f"a{character}", f"{character}b", f"a{character}b"):
        assert not is_text(text)
        with pytest.raises(ValidationError) as refused:
            valid_text(text, "name")
        assert refused.value.field == "name"


@pytest.mark.parametrize("text", KEPT)
def test_any_other_scalar_value_is_text(text: str) -> None:
    assert valid_text(text, "name") == text


def test_a_number_kept_as_text_is_no_text() -> None:
    class Number(str):
        pass

    with pytest.raises(ValidationError):
        valid_text(Number("5"), "name")


@pytest.mark.parametrize("character", REFUSED)
def test_labels_follow_the_rule(character: str) -> None:
    with pytest.raises(ValidationError) as reference:
        valid_reference(f"order{character}")
    assert reference.value.field == "reference"
    with pytest.raises(ValidationError) as metadata:
        valid_metadata({"note": f"x{character}"})
    assert metadata.value.field == "metadata.note"


def test_labels_keep_what_the_rule_keeps() -> None:
    assert valid_reference("👩\u200d💻 #1") == "👩\u200d💻 #1"
    assert valid_metadata({"note": "\U0010ffff", "empty": ""}) == (
        ("empty", ""), ("note", "\U0010ffff"))
