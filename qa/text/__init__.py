"""Text as a reader and a tokenizer see it: sentences and other reading units with exact offsets, token counts.
Pure functions, no I/O beyond the encodings shipped in qa/data."""
