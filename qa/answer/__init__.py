"""Answering: question in, grounded Answer out. The pipeline (standalone question, retrieval, the gate,
a backend writing), the extractive backend and its question kinds and evidence, and grounding: locating every quote
in its passage, numbering citations."""
