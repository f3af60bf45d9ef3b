"""Wishlist plugin: shoppers keep a list of products to buy later."""
