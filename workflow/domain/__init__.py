"""The filing process as pure domain: the declaration, the machine, guards, rules, the calendar.

Nothing here touches the database, so the process can be read, tested and drawn on its own;
``workflow`` beside it holds the code that applies it to stored filings.
"""
