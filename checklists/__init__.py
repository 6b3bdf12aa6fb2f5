"""The checklists inspectors walk through, as versioned TOML files, and their loader."""
