"""Opening an order against the record: entities, services and the people answering the SMS.

``check_order`` judges an order against the record (one order in flight per entity, the
domain's holder, mobile numbers, records that exist) and ``write_order`` writes its rows, inside
the service's transaction. What the machine reads of an order is ``order_facts``; the SMS's
part in each verifier's row is ``verifiers``; what an order's end does to the record is
``outcomes``.

One module per concern, each to be read on its own:

- ``parties``: the shared pieces (the entity and service an order concerns, loaded from its
  command; how the checks name them); it imports no other module of the package, and every
  other one imports it.
- ``checking``: ``check_order``, every check below in the order they run.
- ``entity``: the checks on the entity and its record, and on the orders in flight.
- ``services``: the checks on the service (its domain's holder, a domain or an app elsewhere or
  on file here, a new access's record).
- ``people``: the checks on the people the order lists (the entity's responsible person,
  contacts, mobiles), and the details a changed person goes on record with (``keeps_record``,
  ``taken_document``), which approval writes.
- ``changes``: the checks on what a change order changes (names, an app's platforms, persons).
- ``filing_body``: today's filing body as an order, and an order as the body
  ``check_creation`` judges.
- ``writing``: ``write_order``, the rows an order opened writes.

Other packages import what they use from here, so the split stays the package's own affair.
"""

from workflow.records.checking import check_order
from workflow.records.filing_body import order_from_filing, unnamed_responsible
from workflow.records.parties import service_named
from workflow.records.people import keeps_record, taken_document
from workflow.records.writing import write_order

__all__ = [
    "check_order",
    "keeps_record",
    "order_from_filing",
    "service_named",
    "taken_document",
    "unnamed_responsible",
    "write_order",
]
