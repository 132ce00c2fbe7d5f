"""Human speech sources (config group ``source/``): each scans a folder under the corpora root."""

from .base import HumanSource, Skipped, SourceItem, load_item

__all__ = ["HumanSource", "Skipped", "SourceItem", "load_item"]
