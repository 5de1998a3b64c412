"""The home page's cards: one module per card, each a bounded read (fixed query count, a limit)."""
