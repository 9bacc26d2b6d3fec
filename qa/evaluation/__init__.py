"""Evaluation: question sets, the runner that asks them against a folder of documents, deterministic metrics,
reports and run comparison, and the `qa eval` commands."""
