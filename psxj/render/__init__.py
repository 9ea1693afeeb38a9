"""Views that are text: ps's own table, escaping of untrusted strings, JSON and CSV."""
