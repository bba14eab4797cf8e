"""Block Kit builders: everything the app shows in Slack is built here, escaped here."""
