"""The network front ends over one `QA`: the HTTP service (REST routes, the OpenAI-compatible chat route, its
guard, errors and wire shapes) and the Model Context Protocol server."""
