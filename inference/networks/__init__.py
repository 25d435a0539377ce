"""Neural networks of the engine: SPADE blocks, correspondence feature networks, generator."""
