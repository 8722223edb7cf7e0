"""nel-exporter-gsheets: NEL adapter for results to Google Sheets.

Not implemented yet: this distribution registers no entry point until it works.
"""
