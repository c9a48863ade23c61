"""Helpers every layer shares, each written once: file hashing and text opening
(:mod:`serendip.core.files`), the strict config base and validation-error formatter
(:mod:`serendip.core.config`). Imports nothing heavy and no other Serendip package but
:mod:`serendip.errors`."""
