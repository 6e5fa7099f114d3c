"""Reading documents: page 1 of a PDF in sandboxed worker processes."""
