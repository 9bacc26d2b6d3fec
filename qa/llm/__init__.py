"""LLM clients behind one small protocol (messages in, text deltas out; the first token's odds): any
OpenAI-compatible endpoint, or llama.cpp in process."""
