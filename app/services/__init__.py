"""Business rules, as plain async functions over a session. No HTTP concepts here."""
