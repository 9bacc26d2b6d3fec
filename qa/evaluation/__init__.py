"""Evaluation: question sets (`questions`), the runner that asks them against a folder of documents (`runner`),
checking and scoring one answer (`scoring`), the metric functions (`metrics`, `quote_ends`), per-question scores
and the run's figures (`scores`), the run's records (`results`), the run folder (`report`, `tables`, `plots`), the
comparison of two runs (`comparison`) and the `qa eval` commands (`cli`)."""
