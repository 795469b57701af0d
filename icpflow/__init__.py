"""icpflow: China ICP filings (备案) as persisted, audited state machines."""
