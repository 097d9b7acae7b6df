"""SQL lives here: functions that compose `select()` statements and flush, never commit."""
