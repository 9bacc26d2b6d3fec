"""Ingestion: files found and read into text (loaders, office formats), cut into token-bounded chunks,
embedded and written to the index idempotently (pipeline)."""
