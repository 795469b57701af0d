"""The read side: filings as clients see them, and the queries behind lists and filters.

Identity and phone numbers are masked in everything read here, for every role, the reasons
quoted in history included (a case manager pastes what the bureau wrote, numbers and all):
the full numbers are read only through ``workflow.privacy.reveal``, which records who saw
them.

One module per concern, each to be read on its own, its dependencies pointing one way:

- ``describing``: one filing as clients see it, with its open deadlines, and finding it
  (``get_filing``); it imports no other module of the package.
- ``history``: what happened to a filing (its history, assignments, notifications, SMS
  verifiers, why it was sent back, its timeline); imports ``describing``.
- ``search``: lists of filings, their filters, sorting and searching, and how lists name
  filings; imports ``describing``.
- ``held_up``: the filings held up (stuck or overdue) and the counts behind the pipeline;
  imports ``search`` and ``describing``.
- ``deliveries``: jobs failed for good and deliveries retrying; imports ``history``.
- ``entities``: entities and their services; imports ``search``.

Nothing is re-exported here: callers import the module that holds what they use.
"""
