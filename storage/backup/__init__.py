"""Verified backups and restore: backup files, the server's hold, SQLite and PostgreSQL copies."""
