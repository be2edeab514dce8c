"""YAML presets shipped with rlinfo (read with rlinfo.config.load_preset)."""
