"""The call corpus: planning, rendering, protocol/manifest, audit, verification, export."""
