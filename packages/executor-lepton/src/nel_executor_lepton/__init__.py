"""nel-executor-lepton: NEL adapter for the Lepton cloud, over its REST API.

Not implemented yet: this distribution registers no entry point until it works.
"""
