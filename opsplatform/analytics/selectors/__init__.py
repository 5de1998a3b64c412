"""Reads: the filters a page or API request asks for, and the figures for them."""
