"""The evaluation report: build (runs x splits), the headline metric registry, seed groups, render (report.md) and plots."""
