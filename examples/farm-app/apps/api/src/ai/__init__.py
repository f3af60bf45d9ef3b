"""The shop assistant's AI helpers: prompts and message shaping, no network calls.

Which model answers (and whether one is running at all) is configured in farm.toml's
``[ai.providers.*]``; farmbuild's dev runtime swaps models in process when that section changes.
"""
