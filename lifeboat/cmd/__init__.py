"""Console entry points, one module per binary."""
