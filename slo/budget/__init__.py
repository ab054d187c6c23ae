"""Error-budget analytics with pandas: remaining budget, burndown, forecasts, reports."""
