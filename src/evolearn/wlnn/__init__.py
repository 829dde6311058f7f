"""Weight learning networks (Rieke 2020): networks, learning rules, their evolution, baseline."""
