"""What every process runs against: its settings and its clock (every layer may import this)."""
