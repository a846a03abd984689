"""Developer tools: Microsoft's checkers and Teams emulator, pinned in ``package.json``."""
