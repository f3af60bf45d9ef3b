"""FARM plugins. With the project root on sys.path, a plugin's backend imports as
``plugins.<name>.backend.<module>``, the path its plugin.json names."""
