"""Custom Lava processes and process models (kept in their own folder: Lava imports every module
beside a Process when it searches for that Process's models)."""
