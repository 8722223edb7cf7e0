"""nel-exporter-local: NEL adapter for results to local JSON/CSV files.

Not implemented yet: this distribution registers no entry point until it works.
"""
