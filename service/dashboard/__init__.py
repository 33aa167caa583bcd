"""The web dashboard: recent scored groups (history), what decides them (analysis) and the page (static/)."""
