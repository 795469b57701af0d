"""How big each stored value may be, stated once.

The tables size their columns from these and the input models refuse anything larger, so
SQLite (which ignores a column's length) and PostgreSQL (which enforces it) give the same
answer: a 422 naming the field, never a 201 on one and a 500 on the other.
"""

from __future__ import annotations

# Ids are PostgreSQL INTEGER columns (SQLite's are 64-bit): the smaller range is the API's.
MAX_ROW_ID = 2**31 - 1
# A list can never skip more rows than there can be ids.
MAX_OFFSET = MAX_ROW_ID
# Rows one page of a list holds at most (the API's ``limit``, the CLI's ``--limit``).
MAX_PAGE = 500
# Days a filing may have sat in its state, as a search asks: a century (more overflows dates).
MAX_DAYS = 36_500
# How far ahead a list of what falls due may look: a month.
MAX_WITHIN_HOURS = 24 * 30
# Rows ``keys rotate`` re-encrypts in one transaction, held in memory until it commits: past a
# few thousand a larger batch gains nothing, and past 2**63 the database driver overflows.
MAX_BATCH = 10_000

DOMAIN = 253  # the longest DNS name
PROVINCE = 2
CODE = 16  # licence and applicant kinds
KIND = 20  # entity, service and order kinds, their statuses, verifier roles and results
PERSON = 100  # an assignee: a token's name
NAME = 200  # applicant, entity, website, a responsible person (for an organisation, its name)
DOCUMENT_TYPE = 40
SECTOR = 40
ID_NUMBER = 64
PHONE = 32
EMAIL = 254  # RFC 5321's longest path
SERVICE_NUMBER = 64
SERVER_IP = 45  # the longest textual IPv6 address
DOCUMENT = 200
ICP_NUMBER = 64
PSB_NUMBER = 32  # 京公网安备11010502030143号 is 20 characters
FINGERPRINT = 64  # a SHA-1 with colons between its pairs is 59 characters
PUBLIC_KEY = 4000  # a 4096-bit RSA key: 1,030 hex digits, 800 in a PEM with its armour
URL = 2000  # a home page's address
MATERIAL = 64  # one material key
MATERIALS = 50  # keys in one submission
STATE = 32
EVENT = 40
DEADLINE_KIND = 40
RECORDED = 40  # what a service's audit row says was recorded (``Recorded``)
ACTOR = 100
CHANNEL = 20
REASON = 2000  # a reason is written into the history and every notification about it
IDEMPOTENCY_KEY = 200  # the API's Idempotency-Key header

# A notification's key is ``<notice key>:<channel>:<recipient>`` in a NOTIFICATION_KEY column;
# a notice key (filing id, deadline kind and row or event, due time or version) stays within
# NOTICE_KEY, so the recipient a filing's route may name is what is left.
NOTIFICATION_KEY = 300
NOTICE_KEY = 80
RECIPIENT = NOTIFICATION_KEY - NOTICE_KEY - CHANNEL - len("::")
STORED_RECIPIENT = 500  # team routes in the settings may name longer ones
MAX_ROUTES = 20  # a filing's own notification routes


def sealed(characters: int) -> int:
    """The column length a value of ``characters`` needs once encrypted at rest: a Fernet
    token (version, time, IV, AES blocks of up to four UTF-8 bytes a character, HMAC) in
    URL-safe base64."""
    raw = 1 + 8 + 16 + (characters * 4 // 16 + 1) * 16 + 32
    return -(-raw // 3) * 4


LOOKUP_HASH = 64  # a keyed SHA-256 of an identity or phone number, in hex
