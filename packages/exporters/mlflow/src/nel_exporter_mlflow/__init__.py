"""nel-exporter-mlflow: NEL adapter for results to an MLflow tracking server.

Not implemented yet: this distribution registers no entry point until it works.
"""
