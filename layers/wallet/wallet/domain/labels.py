"""A write's labels: its `reference` and `metadata`, checked the same way at every door.

The HTTP edge checks what a client sent, and the codec checks what a log
record carries; both call these, so the two can never disagree.
"""

from collections.abc import Mapping
from typing import Any

from wallet.domain.commands import (
    METADATA_KEY,
    METADATA_KEYS_MAX,
    METADATA_VALUE_LENGTH_MAX,
    REFERENCE_LENGTH_MAX,
    Metadata,
)
from wallet.domain.errors import ValidationError
from wallet.domain.text import RULE, is_text


def valid_reference(raw: object, field: str = "reference") -> str:
    if type(raw) is not str or not 0 < len(raw) <= REFERENCE_LENGTH_MAX or not is_text(raw):
        raise ValidationError(
            f"{field} must be 1 to {REFERENCE_LENGTH_MAX} characters of {RULE}", field)
    return raw


def valid_metadata(raw: object, field: str = "metadata") -> Metadata:
    """A JSON object of string values, each text as a reference is (domain/text.py) but
    possibly empty; `type(...) is str` refuses numbers kept as text."""
    if not isinstance(raw, Mapping):
        raise ValidationError(f"{field} must be a JSON object of strings", field)
    if len(raw) > METADATA_KEYS_MAX:
        raise ValidationError(f"{field} may have at most {METADATA_KEYS_MAX} keys", field)
    for key, value in raw.items():
        if type(key) is not str or not METADATA_KEY.fullmatch(key):
            raise ValidationError(
                f"{field} keys must be 1 to 40 of A-Z a-z 0-9 _ . -", f"{field}.{str(key)[:40]}")
        if type(value) is not str or len(value) > METADATA_VALUE_LENGTH_MAX \
                or not is_text(value):
            raise ValidationError(
                f"{field}.{key} must be a string of at most {METADATA_VALUE_LENGTH_MAX} "
                f"characters of {RULE}", f"{field}.{key}")
    return tuple(sorted(raw.items()))


def labels_json(reference: str | None, metadata: Metadata) -> dict[str, Any]:
    """A write's labels as JSON shows them, on the wire and to clients alike: each only when
    it was given, never as null."""
    shown: dict[str, Any] = {} if reference is None else {"reference": reference}
    return shown | ({"metadata": dict(metadata)} if metadata else {})
