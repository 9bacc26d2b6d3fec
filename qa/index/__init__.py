"""The index: embedders (text to vectors), the Chroma store, the BM25 lexical index over the same chunks,
and hybrid retrieval that fuses the two rankings."""
