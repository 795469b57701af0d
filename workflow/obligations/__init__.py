"""A record's life after approval: obligations opened and closed by what is recorded.

One module per concern, each to be read on its own:

- ``rows``: the shared pieces (the order a service's duties are filed under; finding, opening
  and closing its obligations; the figures they are armed with); it imports no other module
  of the package, and every other one imports it.
- ``reading``: what clients read (a service's duties and its audit trail, the overdue ones,
  failing footers).
- ``recording``: the one transaction each recording function takes, and its audit row;
  ``going_live``, ``psb_filing``, ``expiry`` (the domain's and the server's),
  ``leaving_host`` and ``rectifications`` record what happened to a service.
- ``approval``: what an approved order does to them.
- ``firing``: the scheduler's half.
- ``footer``: the footer check's results, the worker's half.

Other packages import what they use from here, so the split stays the package's own affair.
"""

from workflow.obligations.approval import on_approval
from workflow.obligations.expiry import renewal, server_renewal
from workflow.obligations.firing import due_ids, fire
from workflow.obligations.footer import checked, footer_target, record_footer
from workflow.obligations.going_live import go_live
from workflow.obligations.leaving_host import left_host
from workflow.obligations.psb_filing import psb_number
from workflow.obligations.reading import (
    FailingFooterPage,
    ObligationOut,
    ObligationPage,
    OverdueFilter,
    ServiceAuditOut,
    ServiceAuditPage,
    ServiceDutiesOut,
    audit_trail,
    count_overdue,
    duties,
    failing_footers,
    overdue,
    services_named,
)
from workflow.obligations.rectifications import (
    extend,
    recount_rectifications,
    rectification,
    rectified,
)

__all__ = [
    "FailingFooterPage",
    "ObligationOut",
    "ObligationPage",
    "OverdueFilter",
    "ServiceAuditOut",
    "ServiceAuditPage",
    "ServiceDutiesOut",
    "audit_trail",
    "checked",
    "count_overdue",
    "due_ids",
    "duties",
    "extend",
    "failing_footers",
    "fire",
    "footer_target",
    "go_live",
    "left_host",
    "on_approval",
    "overdue",
    "psb_number",
    "record_footer",
    "recount_rectifications",
    "rectification",
    "rectified",
    "renewal",
    "server_renewal",
    "services_named",
]
