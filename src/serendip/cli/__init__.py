"""The ``serendip`` command line (Typer + Rich). Each command only parses, calls the API, prints."""
