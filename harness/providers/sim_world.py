"""The fictional world the simulated models know: Northwind Outfitters' FAQ.

The ``sim:`` models (see :mod:`harness.providers.sim`) answer questions about a
made-up outdoor retailer, Northwind Outfitters, from the knowledge base below.
Every fact has an answer sentence and a matching rule:

* ``groups``: groups of synonym keywords (or phrases); the question must contain
  at least one keyword of *every* group;
* ``absent``: keywords that must *not* appear in the question;
* optionally a number rule, ``days`` or ``dollars``: the question must mention
  a number of days (``30 days``) or dollars (``$50``) inside the given range.

Keywords match whole words of the normalized question (lowercased, contractions
expanded: ``can't`` -> ``can not``, ``don't`` -> ``do not``; apostrophes and
punctuation other than ``$`` and ``-`` removed). When several facts match, the
most specific one wins: the one with the most conditions (groups, plus one for a
number rule); ties go to the fact listed first. So paraphrases land on the same
fact, while near-misses (another country, another number, an added "not") land
on a different fact with a different answer.

This module is data plus a matcher; it never calls a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KNOWLEDGE_VERSION = "2026-11"
"""Version of the facts below; the FAQ suite tags its cases with it."""

NO_MATCH_ANSWER = "I'm not sure about that; please contact support@northwind.example."
"""What the models say to a Northwind question that matches no fact."""

NEGATIONS = ("not", "never", "without")
"""Negation words (after contraction expansion, ``n't`` has become ``not``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    """One FAQ entry: an answer and the rule deciding which questions it answers."""

    id: str
    """Stable identifier, used by the suite generator and the tests."""
    answer: str
    """The sentence both simulated models reply with."""
    groups: tuple[tuple[str, ...], ...]
    """Synonym groups; every group needs at least one keyword in the question."""
    absent: tuple[str, ...] = ()
    """Keywords that disqualify the fact when present."""
    days: tuple[int, int] | None = None
    """When set, the question must mention ``N days`` with lo <= N <= hi."""
    dollars: tuple[int, int] | None = None
    """When set, the question must mention ``$N`` (or ``N dollars``) with lo <= N <= hi."""

    @property
    def specificity(self) -> int:
        """Number of conditions the rule checks; the most specific match wins."""
        return len(self.groups) + (self.days is not None) + (self.dollars is not None)


# Synonym groups shared by several facts. Keeping them in one place is what makes
# paraphrases converge: every fact about returns uses the same idea of "return".
RETURN = (
    "return",
    "returns",
    "returned",
    "returning",
    "returnable",
    "non-returnable",
    "send back",
    "send it back",
    "send them back",
    "sending back",
    "bring back",
)
TIME = (
    "days",
    "day",
    "how long",
    "window",
    "time limit",
    "deadline",
    "how many days",
    "how much time",
)
SALE = ("sale", "sales", "clearance", "discount", "discounted", "outlet", "marked down")
NOT_SALE = (
    "not on sale",
    "not bought on sale",
    "not in the sale",
    "not discounted",
    "not on clearance",
    "non-sale",
    "full price",
    "full-price",
    "regular price",
    "regular-priced",
)
BOUGHT = ("ago", "bought", "purchased", "received", "ordered")
WHICH = ("what", "which", "anything", "exceptions")
RECEIPT = ("receipt", "receipts", "proof of purchase")
NO_RECEIPT = ("without", "no", "lost", "not have", "missing")
REFUND = ("refund", "refunds", "refunded", "money back")
WHEN = ("how long", "when", "how soon", "how many days", "how quickly", "arrive", "take")
SHIP = (
    "shipping",
    "ship",
    "ships",
    "shipped",
    "delivery",
    "deliver",
    "delivered",
    "send",
    "mail",
    "postage",
)
COST = ("cost", "costs", "how much", "price", "fee", "fees", "charge", "rate")
SHIP_TIME = (
    "how long",
    "how many days",
    "when",
    "arrive",
    "arrives",
    "take",
    "takes",
    "transit",
    "how fast",
    "how quickly",
)
CANADA = ("canada", "canadian", "toronto", "vancouver")
UK = ("united kingdom", "uk", "britain", "great britain", "england", "scotland", "london")
AUSTRALIA = ("australia", "australian", "sydney", "melbourne")
COUNTRIES = CANADA + UK + AUSTRALIA + ("international", "abroad", "overseas")
EXPRESS = (
    "express",
    "overnight",
    "expedited",
    "next day",
    "next-day",
    "rush",
    "2-day",
    "two-day",
)
FREE = ("free", "pay for shipping", "pay shipping", "charge for shipping", "shipping charge")
THRESHOLD = ("over", "above", "more than", "at least", "minimum", "threshold")
WARRANTY = (
    "warranty",
    "warranties",
    "guarantee",
    "guaranteed",
    "defect",
    "defects",
    "defective",
    "covered",
)
TENTS = ("tent", "tents", "backpack", "backpacks")
HOURS = ("open", "opens", "opening", "close", "closes", "closed", "closing", "hours")
HOLIDAY = (
    "holiday",
    "holidays",
    "christmas",
    "thanksgiving",
    "new year",
    "new years",
    "easter",
)
SUNDAY = ("sunday", "sundays")
STORE = ("store", "stores", "shop", "shops", "location", "locations")
GIFT = ("gift card", "gift cards", "gift certificate", "gift certificates", "giftcard")
CASH = ("cash", "money", "exchange", "exchanged", "refund", "refunded")
EXPIRE = ("expire", "expires", "expiry", "expiration", "valid", "run out")
CREDIT = ("store credit", "credit note", "merchandise credit")
BALANCE = ("balance", "left", "remaining", "check")
POINTS = ("points", "trail club", "rewards", "reward")
PRICE_MATCH = (
    "price match",
    "price-match",
    "price matching",
    "match a price",
    "match the price",
    "match prices",
    "match price",
    "lower price",
    "cheaper",
    "beat a price",
)
MARKETPLACE = (
    "marketplace",
    "marketplaces",
    "auction",
    "auctions",
    "third-party",
    "third party",
    "reseller",
    "resellers",
)
MEMBER = ("membership", "member", "members", "trail club", "loyalty", "rewards program")
SUMMIT = ("summit", "top tier", "highest tier")
JOIN = (
    "cost",
    "costs",
    "how much",
    "fee",
    "price",
    "free",
    "join",
    "joining",
    "sign up",
    "signup",
)
EXCHANGE = (
    "exchange",
    "exchanges",
    "swap",
    "different size",
    "different color",
    "another size",
    "another color",
    "other size",
)

FACTS: tuple[Fact, ...] = (
    # --- returns (the most specific variants first: they win ties) -----------
    Fact(
        id="return_too_late",
        answer=(
            "No. Our return window closes 60 days after delivery, so that item can no "
            "longer be returned, though a warranty claim may still apply."
        ),
        groups=(RETURN, BOUGHT),
        days=(61, 1_000_000),
    ),
    Fact(
        id="return_in_time",
        answer=(
            "Yes. That is inside our 60-day return window, so you can still return it "
            "for a full refund."
        ),
        groups=(RETURN, BOUGHT),
        days=(0, 60),
    ),
    Fact(
        id="return_window_full_price",
        answer=(
            "Full-price items can be returned within 60 days of delivery for a refund "
            "to your original payment method."
        ),
        groups=(RETURN, TIME, NOT_SALE),
    ),
    Fact(
        id="return_window_sale",
        answer=(
            "Sale and clearance items have a shorter 14-day return window and are "
            "refunded as store credit only."
        ),
        groups=(RETURN, TIME, SALE),
        absent=NOT_SALE,
    ),
    Fact(
        id="return_no_receipt",
        answer=(
            "Without a receipt we can still take the return for store credit if we can "
            "find your order by email or phone."
        ),
        groups=(RETURN, RECEIPT, NO_RECEIPT),
    ),
    Fact(
        id="return_with_receipt",
        answer="With a receipt or order number, the return is refunded to your original card.",
        groups=(RETURN, RECEIPT),
    ),
    Fact(
        id="non_returnable",
        answer=("Gift cards, personalized items and opened socks or underwear cannot be returned."),
        groups=(WHICH, RETURN, ("not", "never", "non-returnable", "excluded", "final sale")),
    ),
    Fact(
        id="return_window",
        answer="You can return unused items within 60 days of delivery for a full refund.",
        groups=(RETURN, TIME),
        absent=SALE,
    ),
    Fact(
        id="returnable_items",
        answer="Any unused item in its original condition and packaging can be returned.",
        groups=(WHICH, RETURN),
        absent=TIME + RECEIPT,
    ),
    Fact(
        id="refund_time",
        answer=(
            "Refunds reach your original payment method within 5 business days after "
            "we receive the return."
        ),
        groups=(REFUND, WHEN),
        absent=GIFT + CREDIT,
    ),
    # --- shipping ------------------------------------------------------------
    Fact(
        id="ship_australia",
        answer="We do not ship to Australia yet, so orders there cannot be placed online.",
        groups=(SHIP, AUSTRALIA),
    ),
    Fact(
        id="ship_cost_canada",
        answer="Shipping to Canada costs a flat $15 per order, duties included.",
        groups=(SHIP, COST, CANADA),
    ),
    Fact(
        id="ship_time_canada",
        answer="Canadian orders take 5 to 8 business days to arrive.",
        groups=(SHIP, SHIP_TIME, CANADA),
    ),
    Fact(
        id="ship_cost_uk",
        answer="Sending an order to the United Kingdom costs a flat $22, import taxes included.",
        groups=(SHIP, COST, UK),
    ),
    Fact(
        id="ship_time_uk",
        answer="Delivery to the United Kingdom usually needs 7 to 10 business days.",
        groups=(SHIP, SHIP_TIME, UK),
    ),
    Fact(
        id="free_ship_yes",
        answer=(
            "That order qualifies for free standard shipping, since US orders over $75 ship free."
        ),
        groups=(SHIP, FREE),
        dollars=(76, 1_000_000_000),
        absent=COUNTRIES + THRESHOLD,
    ),
    Fact(
        id="free_ship_no",
        answer="Orders of $75 or less pay $5.95 for standard shipping.",
        groups=(SHIP, FREE),
        dollars=(0, 75),
        absent=COUNTRIES + THRESHOLD,
    ),
    Fact(
        id="express",
        answer=(
            "Express shipping is available within the United States only: $19, "
            "arriving in 1 to 2 business days."
        ),
        groups=(EXPRESS,),
        absent=RETURN,
    ),
    Fact(
        id="free_ship",
        answer="Standard shipping within the United States is free on orders over $75.",
        groups=(SHIP, FREE),
        absent=COUNTRIES + RETURN,
    ),
    Fact(
        id="ship_cost_us",
        answer="Standard shipping within the United States costs $5.95, or nothing over $75.",
        groups=(SHIP, COST),
        absent=COUNTRIES + EXPRESS + RETURN,
    ),
    Fact(
        id="ship_time_us",
        answer="Standard shipping within the United States takes 3 to 5 business days.",
        groups=(SHIP, SHIP_TIME),
        absent=COUNTRIES + EXPRESS + RETURN,
    ),
    # --- warranty ------------------------------------------------------------
    Fact(
        id="warranty_tents",
        answer=(
            "Tents and backpacks are covered for life: we repair or replace them if a "
            "seam or zip fails."
        ),
        groups=(WARRANTY, TENTS),
    ),
    Fact(
        id="warranty",
        answer="Most gear has a 2-year warranty against manufacturing defects, from delivery.",
        groups=(WARRANTY,),
        absent=TENTS,
    ),
    # --- stores --------------------------------------------------------------
    Fact(
        id="store_holiday",
        answer="All stores are closed on Thanksgiving, Christmas Day and New Year's Day.",
        groups=(HOURS, HOLIDAY),
    ),
    Fact(
        id="store_sunday",
        answer="On Sundays our stores open at 11 am and close at 5 pm.",
        groups=(HOURS, SUNDAY),
    ),
    Fact(
        id="store_hours",
        answer="Stores are open from 9 am to 8 pm, Monday through Saturday.",
        groups=(STORE, HOURS),
        absent=HOLIDAY + SUNDAY,
    ),
    # --- gift cards and store credit -----------------------------------------
    Fact(
        id="gift_cash",
        answer="Gift cards cannot be exchanged for cash unless the law requires it.",
        groups=(GIFT, CASH),
    ),
    Fact(
        id="gift_expiry",
        answer="Northwind gift cards never expire and carry no fees.",
        groups=(GIFT, EXPIRE),
    ),
    Fact(
        id="store_credit_expiry",
        answer="Store credit stays valid for 2 years from the day it is issued.",
        groups=(CREDIT, EXPIRE),
    ),
    Fact(
        id="gift_balance",
        answer="Check a gift card balance at northwind.example/giftcard or at any register.",
        groups=(GIFT, BALANCE),
    ),
    Fact(
        id="points_balance",
        answer=(
            "Your Trail Club points appear in your account under Rewards; every 200 "
            "points earn a $10 reward."
        ),
        groups=(POINTS, BALANCE),
        absent=GIFT,
    ),
    # --- price matching ------------------------------------------------------
    Fact(
        id="price_match_marketplace",
        answer=(
            "Prices from marketplaces, auction sites and third-party resellers are never matched."
        ),
        groups=(PRICE_MATCH, MARKETPLACE),
    ),
    Fact(
        id="price_match",
        answer="We match the price of any authorized US retailer within 14 days of your purchase.",
        groups=(PRICE_MATCH,),
    ),
    # --- membership ----------------------------------------------------------
    Fact(
        id="summit",
        answer=(
            "Summit status can't be bought: Trail Club members reach it after spending "
            "$1,000 in a year, then earn 2 points per dollar."
        ),
        groups=(MEMBER, SUMMIT),
    ),
    Fact(
        id="membership_cost",
        answer="Joining the Trail Club is free, and members earn 1 point per dollar spent.",
        groups=(MEMBER, JOIN),
        absent=SUMMIT,
    ),
    # --- exchanges -----------------------------------------------------------
    Fact(
        id="exchange",
        answer=(
            "Exchanges for another size or color are free; start one from your order "
            "page within 60 days."
        ),
        groups=(EXCHANGE,),
    ),
)
"""The knowledge base, in tie-break order (earlier wins among equally specific matches)."""

FACTS_BY_ID: dict[str, Fact] = {fact.id: fact for fact in FACTS}
"""The facts by id."""

DOMAIN_WORDS: tuple[str, ...] = (
    "northwind",
    "order",
    "orders",
    "purchase",
    "item",
    "items",
    *RETURN,
    *REFUND,
    *RECEIPT,
    *SHIP,
    *EXPRESS,
    *WARRANTY,
    *STORE,
    *GIFT,
    *CREDIT,
    *POINTS,
    *PRICE_MATCH,
    *MEMBER,
    *EXCHANGE,
)
"""A question mentioning one of these is a Northwind question: when no fact matches
it gets :data:`NO_MATCH_ANSWER` rather than the generic fallback."""

_CONTRACTIONS = (
    (re.compile(r"\bcan['’]t\b"), "can not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bwon['’]t\b"), "will not"),
    (re.compile(r"\bshan['’]t\b"), "shall not"),
    (re.compile(r"n['’]t\b"), " not"),
)
_DAYS = re.compile(r"(\d[\d,]*)\s*-?\s*days?\b")
_DOLLARS = re.compile(r"\$\s*(\d[\d,]*)|(\d[\d,]*)\s*(?:dollars|usd)\b")


def normalize_question(text: str) -> str:
    """Lowercase, expand negative contractions and keep only words, ``$`` and ``-``.

    The result has single spaces between words, so keywords can be found as whole
    words with :func:`contains`.
    """
    out = text.lower()
    for pattern, replacement in _CONTRACTIONS:
        out = pattern.sub(replacement, out)
    # Apostrophes vanish ("year's" -> "years") so possessives match plain keywords.
    out = re.sub(r"['’]", "", out)
    out = re.sub(r"[^a-z0-9$,\- ]+", " ", out)
    # Commas matter only inside numbers ("1,000"): drop the others.
    out = re.sub(r",(?!\d)", " ", out)
    return " ".join(out.split())


def contains(normalized: str, phrase: str) -> bool:
    """True when ``phrase`` occurs in ``normalized`` as whole words."""
    pattern = r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])"
    return re.search(pattern, normalized) is not None


def has_negation(normalized: str) -> bool:
    """True when the normalized question contains a negation word."""
    return any(contains(normalized, word) for word in NEGATIONS)


def strip_negations(normalized: str) -> str:
    """The question with every negation word deleted (what a small model "reads")."""
    return " ".join(word for word in normalized.split() if word not in NEGATIONS)


def _numbers(pattern: re.Pattern[str], normalized: str) -> list[int]:
    values: list[int] = []
    for match in pattern.finditer(normalized):
        digits = next(group for group in match.groups() if group)
        values.append(int(digits.replace(",", "")))
    return values


def _matches(fact: Fact, normalized: str) -> bool:
    if any(contains(normalized, word) for word in fact.absent):
        return False
    if not all(any(contains(normalized, word) for word in group) for group in fact.groups):
        return False
    if fact.days is not None:
        lo, hi = fact.days
        if not any(lo <= n <= hi for n in _numbers(_DAYS, normalized)):
            return False
    if fact.dollars is not None:
        lo, hi = fact.dollars
        if not any(lo <= n <= hi for n in _numbers(_DOLLARS, normalized)):
            return False
    return True


def match_fact(question: str, *, ignore_negation: bool = False) -> Fact | None:
    """The fact that answers ``question``, or None when no rule matches.

    Args:
        question: The raw question text.
        ignore_negation: Delete negation words first, as a careless reader would.
    """
    normalized = normalize_question(question)
    if ignore_negation:
        normalized = strip_negations(normalized)
    best: Fact | None = None
    for fact in FACTS:
        # Strictly greater: among equally specific matches the first listed wins.
        if _matches(fact, normalized) and (best is None or fact.specificity > best.specificity):
            best = fact
    return best


def in_domain(question: str) -> bool:
    """True when ``question`` is about Northwind Outfitters at all."""
    normalized = normalize_question(question)
    return any(contains(normalized, word) for word in DOMAIN_WORDS)
