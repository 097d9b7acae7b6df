"""Framework-free building blocks shared by every layer: settings, logging, errors."""
