"""Who may do what: API tokens and their roles, shared by the web app and the CLI."""
