"""Everything linkwatch knows about UN documents: symbols, where they live, citations, resolver quirks."""
