"""Audio fingerprints for the campaign track: landmark hashes and an inverted index."""
