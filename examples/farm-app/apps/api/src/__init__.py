"""Harvest Market's API: a FastAPI app selling produce from local farms."""
