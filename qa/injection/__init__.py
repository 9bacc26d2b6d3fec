"""Text in a document that speaks to the answering model instead of about the world (prompt injection):
detection in English and other languages. Pure functions, no I/O."""
