"""Search index settings (JSON), shipped with the package so that every back end reads the same files."""
