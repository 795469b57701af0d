"""The filing workflow: its declaration, guards, calendar, deadlines and the service applying events."""
