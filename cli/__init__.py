"""The ``icpflow`` command line: ``main.app`` assembles the sub-commands of this package."""
