"""Weight agnostic neural networks (Gaier & Ha 2019): passes, search, and the two WANN scripts."""
