"""The one rule every client text passes, whichever backend stores it.

Text is a sequence of Unicode scalar values with no control character:
- no lone surrogate (U+D800 to U+DFFF), which JSON's `\\udfff` escape can carry but no UTF-8
  encoder, and so neither the journal's hash nor PostgreSQL, can take;
- no control character of Unicode's category Cc (U+0000 to U+001F, U+007F to U+009F): NUL is
  refused by PostgreSQL and kept by SQLite, and the others break logs, CSV exports and
  terminals. Tabs and newlines are control characters too: a label is one line.

Everything else is allowed, format characters (the zero-width joiner of emoji sequences) and
code points this Python's Unicode tables do not name yet included: the rule depends on no
version of those tables, so two gateways on two Pythons agree. What passes stores and reads
back identically on SQLite and PostgreSQL.
"""

import re

from wallet.domain.errors import ValidationError

# Surrogates and category Cc, listed by range: `unicodedata` would tie the rule to a version.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
RULE = "Unicode text without control characters or lone surrogates"


def is_text(raw: str) -> bool:
    return _REFUSED.search(raw) is None


def valid_text(raw: object, field: str) -> str:
    """`raw` if it is a string (not a number kept as text) that passes the rule."""
    if type(raw) is not str or not is_text(raw):
        raise ValidationError(f"{field} must be {RULE}", field)
    return raw
