"""Programs: prompt rendering from the visual API, extraction, validation, sandboxed runs."""
