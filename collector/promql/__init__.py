"""PromQL: parsing (promql-parser), evaluation with numpy, promqltest scripts."""
