"""Cell-meeting oversight: the logic behind the dashboard, the CLI and the exports."""
