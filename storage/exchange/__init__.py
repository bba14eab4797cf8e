"""A project's stories in and out of AutoDevHub: export as CSV, Markdown or JSON; import from
Jira's or Linear's CSV exports, or from our JSON."""
