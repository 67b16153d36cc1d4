"""PII-shaped strings out of production prompts before they become suite cases.

Shapes, not meaning: e-mail addresses, payment-card numbers (13-19 digits that
pass the Luhn check, spaces or dashes allowed) and phone numbers (7-15 digits,
with the separators people type: ``+1 (555) 010-4477``, ``020 7946 0958``).
Each becomes a placeholder (``[EMAIL]``, ``[CARD]``, ``[PHONE]``) so the case
still reads naturally. Names and addresses are not detected: review the
sampled suite before committing it.
"""

from __future__ import annotations

import re

__all__ = ["redact_pii"]

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?!\w)"
)
MIN_PHONE_DIGITS = 7
"""Fewer digits are an order number or a year, not a phone number."""
DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
"""A date has the digit count of a phone number: kept."""


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[CARD]" if _luhn(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    # A bare run of 7+ digits is read as a phone number too: better one placeholder too
    # many than a customer's number in a committed suite.
    if MIN_PHONE_DIGITS <= len(digits) <= 15 and not DATE.fullmatch(text):
        return "[PHONE]"
    return text


def redact_pii(text: str) -> str:
    """``text`` with e-mail addresses, card numbers and phone numbers replaced."""
    text = EMAIL.sub("[EMAIL]", text)
    text = CARD.sub(_card, text)
    return PHONE.sub(_phone, text)
