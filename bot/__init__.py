"""oohbot composition root: configuration, directory loading, engine, worker, CLI and HTTP app."""
