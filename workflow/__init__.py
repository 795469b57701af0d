"""The filing workflow: the service opening orders and firing events on them, and what it uses.

``domain`` declares the process as pure code (states, events, deadlines, order kinds, guards,
rules, the calendar, the duties after approval). ``service`` applies it, one transaction a
change: it checks and writes the record (``records``), arms deadlines (``deadlines``), tells
people (``notices``) and owes background work (``outbox``). After approval ``obligations``
opens and closes what a record still owes, as things are recorded; the scheduler's ``sweeps``
fire what comes due. ``views`` and ``outlook`` are the read side, masked; ``privacy`` reads
personal data in full (recorded) and purges it once kept long enough.
"""
